//! What a generation job has done so far: saved with every checkpoint, so a restarted job
//! continues at the next batch without generating or adding any image twice.

use eyegan_store::BlobRef;
use serde::{Deserialize, Serialize};

/// One kept image: its PNG blob in the store and its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptImage {
    /// The stored PNG.
    pub png: BlobRef,
    /// Provenance seed: the class's run seed (the image's latent seed is
    /// `image_seed(seed, index)`), or the trainer's seed for collected samples.
    pub seed: u64,
    /// Attempt index within the run seed (or the trainer's noise index).
    pub index: u64,
    /// D(G(z)); `None` when no discriminator scored it.
    pub score: Option<f64>,
    /// Store key of the generator checkpoint (or collected manifest) it came from.
    pub checkpoint: String,
}

/// Progress of one class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassProgress {
    /// Class name.
    pub class_name: String,
    /// Images generated and scored.
    pub attempted: u64,
    /// Images kept, in attempt order.
    pub kept: Vec<KeptImage>,
    /// Whether the class is finished (count kept or attempt cap reached).
    pub done: bool,
}

impl ClassProgress {
    /// Images kept so far.
    pub fn accepted(&self) -> u64 {
        self.kept.len() as u64
    }
}

/// The checkpoint state of a generation job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenerationState {
    /// Per class, in request order (only classes started so far).
    pub classes: Vec<ClassProgress>,
    /// Batches done over every class (the checkpoint step).
    pub batches: u64,
}

impl GenerationState {
    /// The progress of `class_name`, created (empty) if it has not started.
    pub fn class_mut(&mut self, class_name: &str) -> &mut ClassProgress {
        let position = match self.classes.iter().position(|c| c.class_name == class_name) {
            Some(position) => position,
            None => {
                self.classes.push(ClassProgress {
                    class_name: class_name.to_owned(),
                    ..ClassProgress::default()
                });
                self.classes.len() - 1
            }
        };
        &mut self.classes[position]
    }

    /// The progress of `class_name`, if started.
    pub fn class(&self, class_name: &str) -> Option<&ClassProgress> {
        self.classes.iter().find(|c| c.class_name == class_name)
    }

    /// Images kept over every class.
    pub fn accepted(&self) -> u64 {
        self.classes.iter().map(ClassProgress::accepted).sum()
    }
}
