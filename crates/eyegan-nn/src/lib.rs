//! eyegan-nn: the paper's networks on Candle — the reference DCGAN (per-class generator and
//! discriminator) and the GMD classifier — with exact, resumable training loops, the paper's
//! discriminator-score filter for generation, and checkpoints as in-memory blobs.
//!
//! Services drive the loops step by step on a blocking thread:
//! [`GanTrainer::step`] / [`GanTrainer::train_iteration`] per iteration,
//! [`ClassifierTrainer::train_epoch`] with a per-batch callback that can stop it,
//! [`FilteredGeneration::step`] per generated batch. Randomness comes only from seeded ChaCha
//! streams (Candle's CPU RNG cannot be seeded), and every checkpoint holds the stream positions
//! and optimizer moments, so N steps + checkpoint + M steps equals N + M steps.

pub mod allocator;
pub mod augment;
pub mod batches;
pub mod checkpoint;
pub mod classifier_inference;
pub mod classifier_trainer;
pub mod config;
pub mod dcgan;
pub mod device;
pub mod diff_augment;
pub mod error;
pub mod filter;
pub mod gan_trainer;
pub mod generation;
pub mod gmd;
pub mod input_standardization;
pub mod layers;
pub mod loss;
pub mod optim;
pub mod params;
pub mod rng;
pub mod tensor_io;

pub use augment::ClassicalAugmentation;
pub use batches::{EpochBatches, LastBatch};
pub use checkpoint::{
    load_classifier, load_gan_models, ClassifierCheckpointBlobs, ClassifierCheckpointState,
    GanCheckpointBlobs, GanCheckpointState,
};
pub use classifier_trainer::{BatchProgress, ClassifierTrainer, EpochMetrics};
pub use config::{ClassifierTrainingConfig, DcganConfig, GanTrainingConfig, GmdConfig, GmdPadding};
pub use dcgan::{Discriminator, Generator};
pub use device::{default_device_spec, parse_device, resolve_device};
pub use diff_augment::DiffAugmentPolicy;
pub use error::{DivergenceReason, NnError, Result};
pub use filter::{FilterPreset, GenerationMode, ScoredImage};
pub use gan_trainer::{GanTrainer, IterationMetrics};
pub use generation::{
    generate_filtered, generate_from_seeds, FilteredGeneration, GenerationOutcome,
    GenerationRequest, ImageScorer,
};
pub use gmd::Gmd;
pub use input_standardization::InputStandardization;

#[cfg(test)]
mod tests {
    /// The services move trainers and models onto blocking threads.
    #[test]
    fn trainers_and_models_are_send() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<crate::GanTrainer>();
        assert_send::<crate::ClassifierTrainer>();
        assert_send::<crate::Generator>();
        assert_send::<crate::Discriminator>();
        assert_send::<crate::Gmd>();
        assert_send::<crate::FilteredGeneration>();
    }
}
