//! The paper's `during-training` generation: after each epoch G makes images, D scores them and
//! the ones passing the filter are kept (PNG blobs plus a manifest), for the generator service
//! to add to a dataset later.

use eyegan_jobs::JobError;
use eyegan_nn::rng::derive_seed;
use eyegan_nn::{generate_filtered, GanTrainer, GenerationRequest, NnError};
use eyegan_store::{BlobRef, Store};
use serde::{Deserialize, Serialize};

use crate::output::StoredObject;
use crate::sample_grid::{encode_chw_png, GridError};
use crate::spec::CollectionSpec;

/// Version of the manifest layout.
pub const MANIFEST_VERSION: u32 = 1;

/// Salt of the seeds of multi-image epochs (one image per epoch uses eyegan-nn's own seeds).
const MULTI_IMAGE_SALT: u64 = 0x7A11_C011_EC7E_D5EE;

/// Largest generator batch used for collection.
const MAX_COLLECTION_BATCH: usize = 64;

/// One kept image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectedSample {
    /// The PNG blob.
    pub png: StoredObject,
    /// Completed epochs when it was made (1-based epoch number).
    pub epoch: u64,
    /// Index of the image: the epoch count for one image per epoch, else the attempt index
    /// within that epoch.
    pub index: u64,
    /// Seed of its latent vector (`eyegan_nn::generate_from_seeds` remakes it with the same G).
    pub seed: u64,
    /// D(G(z)) in [0, 1].
    pub score: f32,
}

/// Collection state carried through checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectionState {
    /// Images generated so far.
    pub attempted: u64,
    /// Images kept so far.
    pub samples: Vec<CollectedSample>,
}

/// The manifest stored at the end (`collected/manifest.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectedManifest {
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// Job that collected the images.
    pub job_id: String,
    /// Dataset id trained on.
    pub dataset_id: String,
    /// Dataset version trained on.
    pub dataset_version: u64,
    /// Class of every image.
    pub class_name: String,
    /// Image side in pixels.
    pub image_size: u32,
    /// The filter (`paper-code`, `paper-text`, `none` or the threshold).
    pub filter: String,
    /// Its threshold on D(G(z)).
    pub min_score: f32,
    /// Key of the job's final checkpoint pointer.
    pub final_checkpoint: String,
    /// Images generated.
    pub attempted: u64,
    /// Images kept (`samples.len()`).
    pub accepted: u64,
    /// The kept images, in the order they were made.
    pub samples: Vec<CollectedSample>,
}

/// One kept image before it is stored.
#[derive(Debug)]
pub struct EncodedCandidate {
    /// PNG bytes.
    pub png: Vec<u8>,
    /// See [`CollectedSample::index`].
    pub index: u64,
    /// Latent seed.
    pub seed: u64,
    /// D score.
    pub score: f32,
}

/// Why collection failed.
#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    /// The networks failed.
    #[error(transparent)]
    Model(#[from] NnError),
    /// Encoding failed.
    #[error(transparent)]
    Grid(#[from] GridError),
}

impl CollectionState {
    /// Whether more images may still be kept.
    pub fn wants_more(&self, spec: &CollectionSpec) -> bool {
        spec.max_kept == 0 || (self.samples.len() as u64) < spec.max_kept
    }
}

/// Generates and scores this epoch's images (blocking compute): `(attempted, kept)`.
pub fn end_of_epoch_candidates(
    trainer: &GanTrainer,
    spec: &CollectionSpec,
) -> Result<(u64, Vec<EncodedCandidate>), CollectionError> {
    let side = trainer.model_config().image_size as u32;
    let images_per_epoch = spec.images_per_epoch as usize;
    let (attempted, kept) = if images_per_epoch == 1 {
        let kept = trainer.end_of_epoch_candidate(&spec.filter)?;
        (1, kept.into_iter().collect::<Vec<_>>())
    } else {
        let outcome = generate_filtered(
            trainer.generator(),
            trainer.discriminator(),
            GenerationRequest {
                count: images_per_epoch,
                filter: spec.filter,
                max_attempts: images_per_epoch as u64,
                batch_size: images_per_epoch.min(MAX_COLLECTION_BATCH),
                seed: derive_seed(trainer.seed() ^ MULTI_IMAGE_SALT, trainer.epoch()),
            },
        )?;
        (outcome.attempted, outcome.kept)
    };
    let encoded = kept
        .into_iter()
        .map(|image| {
            Ok(EncodedCandidate {
                png: encode_chw_png(&image.pixels, side)?,
                index: image.index,
                seed: image.seed,
                score: image.score,
            })
        })
        .collect::<Result<Vec<_>, CollectionError>>()?;
    Ok((attempted, encoded))
}

/// Stores kept images as blobs and adds them to `state` (up to `max_kept`).
pub async fn keep_candidates(
    store: &Store,
    state: &mut CollectionState,
    spec: &CollectionSpec,
    epoch: u64,
    attempted: u64,
    candidates: Vec<EncodedCandidate>,
) -> Result<usize, JobError> {
    state.attempted += attempted;
    let mut kept = 0;
    for candidate in candidates {
        if !state.wants_more(spec) {
            break;
        }
        let blob: BlobRef = store.put_blob(candidate.png).await?;
        state.samples.push(CollectedSample {
            png: StoredObject::at(blob.key(), &blob),
            epoch,
            index: candidate.index,
            seed: candidate.seed,
            score: candidate.score,
        });
        kept += 1;
    }
    Ok(kept)
}
