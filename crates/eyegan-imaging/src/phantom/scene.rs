//! The complete, size-independent description of one phantom photograph, drawn from its seed.

use super::anatomy::Anatomy;
use super::camera::Camera;
use super::class::PhantomClass;
use super::class_signs::ClassSigns;
use super::difficulty::Difficulty;
use super::lesions::{place_lesions, Lesion};
use super::sampling::image_rng;
use super::vessels::{grow_vessel_tree, Vessel};

/// Everything needed to paint one image at any size: all randomness is spent here.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The class drawn.
    pub class: PhantomClass,
    /// The class signs and their severity.
    pub signs: ClassSigns,
    /// The eye's geometry and colours.
    pub anatomy: Anatomy,
    /// The vessel tree.
    pub vessels: Vec<Vessel>,
    /// Lesions (diabetic, drusen, disc haemorrhage).
    pub lesions: Vec<Lesion>,
    /// Camera settings.
    pub camera: Camera,
}

impl Scene {
    /// Draws the scene of image `index` of `class` under `seed`.
    pub fn plan(seed: u64, class: PhantomClass, index: u32, difficulty: &Difficulty) -> Self {
        let mut rng = image_rng(seed, class, index);
        let signs = ClassSigns::draw(class, difficulty, &mut rng);
        let anatomy = Anatomy::draw(&signs, difficulty.patient_variation, &mut rng);
        let vessels = grow_vessel_tree(&anatomy, signs.vessel_kink, &mut rng);
        let lesions = place_lesions(&anatomy, &signs, &mut rng);
        let camera = Camera::draw(difficulty, &mut rng);
        Scene {
            class,
            signs,
            anatomy,
            vessels,
            lesions,
            camera,
        }
    }
}
