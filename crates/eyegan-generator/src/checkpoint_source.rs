//! Reading the G and D a trainer job stored.
//!
//! Layout (the one `eyegan-trainer` writes through `eyegan_jobs::JobCheckpoints`): a
//! `CheckpointRef.key` is the store key of an `eyegan_jobs::Checkpoint` pointer record
//! (`jobs/trainer/<job>/checkpoints/<iteration:020>.json`), whose files include
//! [`STATE_FILE`] (`eyegan_nn::GanCheckpointState` JSON, i.e. `GanCheckpointBlobs::state_json`),
//! [`GENERATOR_FILE`] and [`DISCRIMINATOR_FILE`] (safetensors). The class is checked against
//! a `class_name` string in the pointer's runner state when there is one, else against
//! `CheckpointRef.class_name`.

use bytes::Bytes;
use candle_core::Device;
use eyegan_jobs::Checkpoint;
use eyegan_nn::{load_gan_models, DcganConfig, Discriminator, GanCheckpointState, Generator};
use eyegan_service::ServiceError;
use eyegan_store::{BlobRef, Store};

/// Name of the GAN state JSON (`GanCheckpointBlobs::state_json`) in a trainer checkpoint.
pub const STATE_FILE: &str = "gan_state.json";
/// Name of the generator weights (`GanCheckpointBlobs::generator`) in a trainer checkpoint.
pub const GENERATOR_FILE: &str = "generator.safetensors";
/// Name of the discriminator weights (`GanCheckpointBlobs::discriminator`).
pub const DISCRIMINATOR_FILE: &str = "discriminator.safetensors";
/// Name of the optimizer moments (`GanCheckpointBlobs::optimizer`); not needed to generate.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";

/// One trainer checkpoint's pointer, read from the store.
#[derive(Debug, Clone)]
pub struct StoredGanCheckpoint {
    pointer: Checkpoint,
}

impl StoredGanCheckpoint {
    /// Reads the pointer at `key`; NOT_FOUND naming `field` when it does not exist,
    /// FAILED_PRECONDITION when it is not a GAN checkpoint.
    pub async fn open(store: &Store, key: &str, field: &str) -> Result<Self, ServiceError> {
        let pointer: Option<Checkpoint> = match store.get_json(key).await {
            Ok(pointer) => pointer,
            Err(error) if error.is_not_found() => None,
            Err(eyegan_store::StoreError::InvalidKey { reason, .. }) => {
                return Err(ServiceError::invalid_argument(
                    format!("{field}.key"),
                    reason,
                ))
            }
            Err(eyegan_store::StoreError::Corrupt { .. }) => {
                return Err(ServiceError::failed_precondition(format!(
                    "{field}: {key:?} is not a checkpoint record"
                )))
            }
            Err(error) => return Err(error.into()),
        };
        let pointer = pointer
            .ok_or_else(|| ServiceError::not_found(format!("checkpoint {key:?} ({field})")))?;
        for name in [STATE_FILE, GENERATOR_FILE, DISCRIMINATOR_FILE] {
            if pointer.file(name).is_none() {
                return Err(ServiceError::failed_precondition(format!(
                    "{field}: checkpoint {key:?} has no {name}; it is not a GAN checkpoint"
                )));
            }
        }
        Ok(Self { pointer })
    }

    /// The pointer's store key.
    pub fn key(&self) -> &str {
        &self.pointer.key
    }

    /// The class the trainer recorded in the pointer's state, if any.
    pub fn class_name(&self) -> Option<&str> {
        self.pointer.state.get("class_name")?.as_str()
    }

    /// Reads one file of the checkpoint, verifying size and SHA-256 against the pointer.
    pub async fn read(&self, store: &Store, name: &str) -> Result<Bytes, ServiceError> {
        let file = self.pointer.file(name).ok_or_else(|| {
            ServiceError::failed_precondition(format!(
                "checkpoint {:?} has no {name}",
                self.pointer.key
            ))
        })?;
        let bytes = store.get_bytes(&file.key).await?.ok_or_else(|| {
            ServiceError::not_found(format!("file {name} of checkpoint {:?}", self.pointer.key))
        })?;
        let actual = BlobRef::of(&bytes);
        if actual.size != file.size || actual.sha256 != file.sha256 {
            return Err(ServiceError::failed_precondition(format!(
                "file {name} of checkpoint {:?} does not match its record",
                self.pointer.key
            )));
        }
        Ok(bytes)
    }

    /// The network configuration stored with the checkpoint.
    pub async fn model_config(&self, store: &Store) -> Result<DcganConfig, ServiceError> {
        let state = self.read(store, STATE_FILE).await?;
        GanCheckpointState::from_json(&state)
            .map(|state| state.model)
            .map_err(|error| {
                ServiceError::failed_precondition(format!(
                    "checkpoint {:?} has an unreadable state: {error}",
                    self.pointer.key
                ))
            })
    }

    /// The three blobs needed to build G and D.
    pub async fn gan_blobs(&self, store: &Store) -> Result<GanBlobs, ServiceError> {
        Ok(GanBlobs {
            state_json: self.read(store, STATE_FILE).await?,
            generator: self.read(store, GENERATOR_FILE).await?,
            discriminator: self.read(store, DISCRIMINATOR_FILE).await?,
        })
    }
}

/// The blobs of one checkpoint that [`load_gan_models`] needs.
#[derive(Debug, Clone)]
pub struct GanBlobs {
    /// `GanCheckpointState` JSON.
    pub state_json: Bytes,
    /// Generator safetensors.
    pub generator: Bytes,
    /// Discriminator safetensors.
    pub discriminator: Bytes,
}

impl GanBlobs {
    /// Builds G and D on `device` (blocking: call from a blocking thread).
    pub fn build(
        &self,
        device: &Device,
    ) -> eyegan_nn::Result<(DcganConfig, Generator, Discriminator)> {
        let (state, generator, discriminator) = load_gan_models(
            &self.state_json,
            &self.generator,
            &self.discriminator,
            device,
        )?;
        Ok((state.model, generator, discriminator))
    }
}
