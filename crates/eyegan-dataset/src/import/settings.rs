//! Turning the protobuf `ImportOptions` into checked [`ImportSettings`] with defaults applied.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use eyegan_proto::dataset::v1 as pb;

use crate::error::DatasetError;
use crate::model::ImportSettings;
use crate::names::validate_class_mapping;

/// Default side of stored images (the paper's 64×64).
pub const DEFAULT_TARGET_SIZE: u32 = 64;

/// Accepted `target_size` values.
pub const TARGET_SIZE_RANGE: RangeInclusive<u32> = 8..=1024;

/// Limits the server enforces on every import, whatever the request says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest `width * height` decoded (checked from the header before decoding).
    pub max_pixels: u64,
    /// Largest accepted file, in bytes.
    pub max_file_bytes: u64,
    /// Most files one import may send; past it the import fails with RESOURCE_EXHAUSTED and
    /// publishes nothing.
    pub max_import_files: u64,
    /// Most bytes (all files together) one import may send; past it RESOURCE_EXHAUSTED.
    pub max_import_bytes: u64,
}

impl Default for ServerLimits {
    /// 40 megapixels, 256 MiB per file; 100 000 files and 64 GiB per import.
    fn default() -> Self {
        Self {
            max_pixels: 40_000_000,
            max_file_bytes: 256 * 1024 * 1024,
            max_import_files: 100_000,
            max_import_bytes: 64 * 1024 * 1024 * 1024,
        }
    }
}

/// Checks `options` (absent = all defaults) against `limits`. Field names in errors are
/// prefixed with `prefix` (e.g. `header.options`).
pub fn import_settings(
    options: Option<&pb::ImportOptions>,
    limits: &ServerLimits,
    prefix: &str,
) -> Result<ImportSettings, DatasetError> {
    let defaults = pb::ImportOptions::default();
    let options = options.unwrap_or(&defaults);
    let field = |name: &str| format!("{prefix}.{name}");

    let class_mapping: BTreeMap<String, String> = options
        .class_mapping
        .iter()
        .map(|(from, to)| (from.clone(), to.clone()))
        .collect();
    validate_class_mapping(&class_mapping).map_err(|error| match error {
        DatasetError::InvalidArgument { field: f, reason } => DatasetError::invalid(
            format!("{prefix}.{}", f.trim_start_matches("options.")),
            reason,
        ),
        other => other,
    })?;

    let target_size = match options.target_size {
        0 => DEFAULT_TARGET_SIZE,
        size if TARGET_SIZE_RANGE.contains(&size) => size,
        size => {
            return Err(DatasetError::invalid(
                field("target_size"),
                format!(
                    "{size} is outside {}..={}",
                    TARGET_SIZE_RANGE.start(),
                    TARGET_SIZE_RANGE.end()
                ),
            ))
        }
    };

    let max_pixels = match options.max_pixels {
        0 => limits.max_pixels,
        pixels if pixels <= limits.max_pixels => pixels,
        pixels => {
            return Err(DatasetError::invalid(
                field("max_pixels"),
                format!(
                    "{pixels} is above the server's limit of {}",
                    limits.max_pixels
                ),
            ))
        }
    };

    Ok(ImportSettings {
        class_mapping,
        per_class_cap: options.per_class_cap,
        seed: options.seed,
        target_size,
        keep_originals: options.keep_originals.unwrap_or(true),
        strict: options.strict,
        max_pixels,
        crop_fundus: options.crop_fundus.unwrap_or(true),
    })
}

/// The protobuf form of stored settings (for `Dataset.import_options`).
pub fn settings_to_proto(settings: &ImportSettings) -> pb::ImportOptions {
    pb::ImportOptions {
        class_mapping: settings
            .class_mapping
            .iter()
            .map(|(from, to)| (from.clone(), to.clone()))
            .collect(),
        per_class_cap: settings.per_class_cap,
        seed: settings.seed,
        target_size: settings.target_size,
        keep_originals: Some(settings.keep_originals),
        strict: settings.strict,
        max_pixels: settings.max_pixels,
        crop_fundus: Some(settings.crop_fundus),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_to_zero_fields() {
        let settings = import_settings(None, &ServerLimits::default(), "options").unwrap();
        assert_eq!(settings.target_size, 64);
        assert!(settings.keep_originals);
        assert!(settings.crop_fundus);
        assert_eq!(settings.max_pixels, 40_000_000);
        assert_eq!(
            import_settings(
                Some(&settings_to_proto(&settings)),
                &ServerLimits::default(),
                "o"
            )
            .unwrap(),
            settings
        );
    }

    #[test]
    fn out_of_range_fields_are_named() {
        let limits = ServerLimits::default();
        let cases = [
            (
                pb::ImportOptions {
                    target_size: 5000,
                    ..Default::default()
                },
                "header.options.target_size",
            ),
            (
                pb::ImportOptions {
                    max_pixels: u64::MAX,
                    ..Default::default()
                },
                "header.options.max_pixels",
            ),
            (
                pb::ImportOptions {
                    class_mapping: [("dr".to_string(), "../x".to_string())].into(),
                    ..Default::default()
                },
                "header.options.class_mapping",
            ),
        ];
        for (options, field) in cases {
            let error = import_settings(Some(&options), &limits, "header.options").unwrap_err();
            assert!(error.to_string().contains(field), "{error}");
        }
    }
}
