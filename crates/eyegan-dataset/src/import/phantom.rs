//! The phantom source: fundus photographs rendered by `eyegan_imaging::phantom`, fed through the
//! same pipeline as uploaded files (as `<class>/<class>_<index>.png`).

use std::ops::RangeInclusive;

use bytes::Bytes;
use eyegan_imaging::phantom::{self, Difficulty, PhantomClass};
use eyegan_proto::dataset::v1 as pb;

use super::importer::Importer;
use crate::error::DatasetError;
use crate::model::{ProvenanceRecord, SourceKind};

/// Default side of the rendered images before preprocessing.
pub const DEFAULT_RENDER_SIZE: u32 = 128;

/// Accepted `per_class` values.
pub const PER_CLASS_RANGE: RangeInclusive<u32> = 1..=10_000;

/// Images rendered per blocking task.
const RENDER_BATCH: u32 = 16;

/// A checked phantom request.
#[derive(Debug, Clone)]
pub struct PhantomPlan {
    /// Classes to render, in request order (deduplicated).
    pub classes: Vec<PhantomClass>,
    /// Images per class.
    pub per_class: u32,
    /// Side of the rendered images.
    pub render_size: u32,
    /// Rendering seed.
    pub seed: u64,
    /// Difficulty preset.
    pub difficulty: Difficulty,
}

impl PhantomPlan {
    /// Checks the phantom fields of a request.
    pub fn from_request(request: &pb::ImportPhantomRequest) -> Result<Self, DatasetError> {
        if !PER_CLASS_RANGE.contains(&request.per_class) {
            return Err(DatasetError::invalid(
                "per_class",
                format!(
                    "{} is outside {}..={}",
                    request.per_class,
                    PER_CLASS_RANGE.start(),
                    PER_CLASS_RANGE.end()
                ),
            ));
        }
        let render_size = match request.render_size {
            0 => DEFAULT_RENDER_SIZE,
            size if phantom::SIZE_RANGE.contains(&size) => size,
            size => {
                return Err(DatasetError::invalid(
                    "render_size",
                    format!(
                        "{size} is outside {}..={}",
                        phantom::SIZE_RANGE.start(),
                        phantom::SIZE_RANGE.end()
                    ),
                ))
            }
        };
        let mut classes = Vec::new();
        for (index, name) in request.classes.iter().enumerate() {
            let class: PhantomClass = name.parse().map_err(|error| {
                DatasetError::invalid(format!("classes[{index}]"), format!("{error}"))
            })?;
            if !classes.contains(&class) {
                classes.push(class);
            }
        }
        if classes.is_empty() {
            classes = PhantomClass::ALL.to_vec();
        }
        let difficulty = match request.difficulty() {
            pb::PhantomDifficulty::Unspecified => Difficulty::default(),
            pb::PhantomDifficulty::Easy => Difficulty::easy(),
            pb::PhantomDifficulty::Hard => Difficulty::hard(),
        };
        Ok(Self {
            classes,
            per_class: request.per_class,
            render_size,
            seed: request.seed,
            difficulty,
        })
    }
}

/// Renders every image of `plan` (off the async runtime) and feeds it to `importer`.
pub async fn ingest_phantom(
    plan: &PhantomPlan,
    importer: &mut Importer,
) -> Result<(), DatasetError> {
    for &class in &plan.classes {
        let mut start = 0;
        while start < plan.per_class {
            let end = (start + RENDER_BATCH).min(plan.per_class);
            let (seed, size, difficulty) = (plan.seed, plan.render_size, plan.difficulty);
            let rendered = tokio::task::spawn_blocking(move || {
                let images = phantom::render_batch(seed, class, start..end, size, &difficulty)
                    .map_err(|error| DatasetError::invalid("render_size", error.to_string()))?;
                images
                    .iter()
                    .map(|image| {
                        eyegan_imaging::encode_png(image)
                            .map_err(|error| DatasetError::Internal(error.to_string()))
                    })
                    .collect::<Result<Vec<Vec<u8>>, DatasetError>>()
            })
            .await??;
            for (offset, png) in rendered.into_iter().enumerate() {
                let index = start + offset as u32;
                let relative_path =
                    format!("{}/{}", class.name(), phantom::file_name(class, index));
                let provenance = ProvenanceRecord {
                    source: SourceKind::Phantom,
                    generator_checkpoint: None,
                    seed: Some(plan.seed),
                    index: Some(u64::from(index)),
                    discriminator_score: None,
                };
                importer
                    .ingest(relative_path, Bytes::from(png), provenance)
                    .await?;
            }
            start = end;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_and_defaulted() {
        let plan = PhantomPlan::from_request(&pb::ImportPhantomRequest {
            per_class: 3,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(plan.classes.len(), 4);
        assert_eq!(plan.render_size, DEFAULT_RENDER_SIZE);

        for (request, field) in [
            (pb::ImportPhantomRequest::default(), "per_class"),
            (
                pb::ImportPhantomRequest {
                    per_class: 1,
                    render_size: 4,
                    ..Default::default()
                },
                "render_size",
            ),
            (
                pb::ImportPhantomRequest {
                    per_class: 1,
                    classes: vec!["normal".into(), "cataract".into()],
                    ..Default::default()
                },
                "classes[1]",
            ),
        ] {
            let error = PhantomPlan::from_request(&request).unwrap_err();
            assert!(error.to_string().contains(field), "{error}");
        }
    }
}
