//! Conversions from stored records to their protobuf summaries.

use eyegan_proto::common::v1::DatasetRef;
use eyegan_proto::dataset::v1 as pb;

use crate::import::settings_to_proto;
use crate::model::{
    DatasetRecord, ImageRecord, ProvenanceRecord, SourceKind, SplitName, SplitSpecRecord,
    VersionRecord,
};

/// A protobuf timestamp from milliseconds since the Unix epoch.
pub fn timestamp(unix_ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: unix_ms.div_euclid(1000),
        nanos: i32::try_from(unix_ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// The protobuf split of a stored one.
pub fn split_to_proto(split: Option<SplitName>) -> pb::Split {
    match split {
        None => pb::Split::Unspecified,
        Some(SplitName::Train) => pb::Split::Train,
        Some(SplitName::Val) => pb::Split::Val,
        Some(SplitName::Test) => pb::Split::Test,
    }
}

/// The stored split of a protobuf one (`None` for unspecified).
pub fn split_from_proto(split: pb::Split) -> Option<SplitName> {
    match split {
        pb::Split::Unspecified => None,
        pb::Split::Train => Some(SplitName::Train),
        pb::Split::Val => Some(SplitName::Val),
        pb::Split::Test => Some(SplitName::Test),
    }
}

/// The protobuf provenance of a stored one.
pub fn provenance_to_proto(provenance: &ProvenanceRecord) -> pb::Provenance {
    pb::Provenance {
        source: match provenance.source {
            SourceKind::Imported => pb::ImageSource::Imported,
            SourceKind::Phantom => pb::ImageSource::Phantom,
            SourceKind::Synthetic => pb::ImageSource::Synthetic,
        } as i32,
        generator_checkpoint: provenance.generator_checkpoint.clone().unwrap_or_default(),
        seed: provenance.seed.unwrap_or(0),
        index: provenance.index.unwrap_or(0),
        discriminator_score: provenance.discriminator_score,
    }
}

/// The protobuf image of a stored record, with its PNG bytes.
pub fn image_to_proto(image: &ImageRecord, label: u32, png: Vec<u8>) -> pb::Image {
    pb::Image {
        image_id: image.id.clone(),
        class_name: image.class.clone(),
        label,
        split: split_to_proto(image.split) as i32,
        png,
        provenance: Some(provenance_to_proto(&image.provenance)),
        source_file: image.source_file.clone(),
        png_sha256: image.png.sha256.clone(),
        original_sha256: image.original_sha256.clone(),
        original_bytes: image.original_bytes,
        original_width: image.original_width,
        original_height: image.original_height,
    }
}

fn split_spec_to_proto(spec: &SplitSpecRecord) -> pb::SplitSpec {
    pb::SplitSpec {
        train_ratio: spec.train_ratio,
        val_ratio: spec.val_ratio,
        test_ratio: spec.test_ratio,
        seed: spec.seed,
        group_regex: spec.group_regex.clone().unwrap_or_default(),
        made_in_version: spec.made_in_version,
        created_at: Some(timestamp(spec.created_at_unix_ms)),
    }
}

/// The summary of a version: per-class and per-split counts.
pub fn version_summary(version: &VersionRecord) -> pb::VersionSummary {
    let mut class_counts: Vec<pb::ClassCounts> = version
        .classes
        .iter()
        .enumerate()
        .map(|(label, class)| pb::ClassCounts {
            class_name: class.clone(),
            label: u32::try_from(label).unwrap_or(u32::MAX),
            ..Default::default()
        })
        .collect();
    let mut split_counts = pb::SplitCounts::default();
    for image in &version.images {
        let class = version
            .label_of(&image.class)
            .and_then(|label| class_counts.get_mut(label as usize));
        match image.split {
            Some(SplitName::Train) => split_counts.train += 1,
            Some(SplitName::Val) => split_counts.val += 1,
            Some(SplitName::Test) => split_counts.test += 1,
            None => split_counts.unassigned += 1,
        }
        if let Some(counts) = class {
            counts.total += 1;
            match image.split {
                Some(SplitName::Train) => counts.train += 1,
                Some(SplitName::Val) => counts.val += 1,
                Some(SplitName::Test) => counts.test += 1,
                None => {}
            }
            if image.provenance.source == SourceKind::Synthetic {
                counts.synthetic += 1;
            }
        }
    }
    pb::VersionSummary {
        r#ref: Some(DatasetRef {
            dataset_id: version.dataset_id.clone(),
            version: version.version,
        }),
        parent_version: version.parent_version.unwrap_or(0),
        created_at: Some(timestamp(version.created_at_unix_ms)),
        classes: version.classes.clone(),
        class_counts,
        split_counts: Some(split_counts),
        total_images: version.images.len() as u64,
        image_size: version.image_size,
        split: version.split.as_ref().map(split_spec_to_proto),
        note: version.note.clone(),
    }
}

/// The protobuf form of a dataset document.
pub fn dataset_to_proto(dataset: &DatasetRecord, latest_version: u64) -> pb::Dataset {
    pb::Dataset {
        dataset_id: dataset.dataset_id.clone(),
        description: dataset.description.clone(),
        created_at: Some(timestamp(dataset.created_at_unix_ms)),
        latest_version,
        import_options: Some(settings_to_proto(&dataset.import)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_split_milliseconds() {
        let t = timestamp(1_700_000_000_123);
        assert_eq!((t.seconds, t.nanos), (1_700_000_000, 123_000_000));
        let t = timestamp(-1);
        assert_eq!((t.seconds, t.nanos), (-1, 999_000_000));
    }

    #[test]
    fn splits_round_trip() {
        for split in [
            None,
            Some(SplitName::Train),
            Some(SplitName::Val),
            Some(SplitName::Test),
        ] {
            assert_eq!(split_from_proto(split_to_proto(split)), split);
        }
    }
}
