//! What each class shows, and how strongly: per-image severity turned into sign parameters.

use super::class::PhantomClass;
use super::difficulty::Difficulty;
use super::sampling::Draw;

/// Cup-to-disc ratio of eyes without glaucoma (vertical, before the look-alike).
const NORMAL_CDR: (f32, f32) = (0.22, 0.42);
/// A large physiological cup, the glaucoma look-alike.
const LARGE_PHYSIOLOGICAL_CDR: (f32, f32) = (0.40, 0.48);
/// Glaucomatous cup-to-disc ratio at severity 0 and 1.
const GLAUCOMA_CDR: (f32, f32) = (0.67, 0.88);

/// The measurable signs of one image; severity 0 means "at the class boundary".
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSigns {
    /// Severity of the class's own signs, 0..=1 (0 for normal images).
    pub severity: f32,
    /// Vertical cup-to-disc ratio (cup and disc share their rotation).
    pub vertical_cdr: f32,
    /// Horizontal over vertical cup scale, 0.92..=1 (glaucomatous cups are vertically long).
    pub cup_elongation: f32,
    /// Downward shift of the cup as a fraction of the room left inside the disc (inferior notch).
    pub cup_inferior_shift: f32,
    /// How pale and deep the cup looks, 0..=1.
    pub cup_pallor: f32,
    /// Sideways displacement of vessels where they climb out of the cup, relative to the rim.
    pub vessel_kink: f32,
    /// Disc width over height, < 1 is a vertically oval disc; myopic discs are strongly oval.
    pub disc_ovality: f32,
    /// Rotation of the disc's axes in radians (torsion of a tilted disc).
    pub disc_tilt: f32,
    /// Visibility of the choroidal vessel pattern (tigroid fundus), 0..=1.
    pub tessellation: f32,
    /// Width of the temporal peripapillary atrophy crescent relative to the disc radius.
    pub ppa_width: f32,
    /// Paleness of the whole fundus, 0..=1.
    pub pallor: f32,
    /// Diabetic lesion counts.
    pub dr: DrSigns,
    /// Number of drusen (yellow dots of ageing, the look-alike of exudates).
    pub drusen: u32,
    /// A splinter haemorrhage at the disc margin (a glaucoma sign).
    pub disc_haemorrhage: bool,
}

/// How many diabetic lesions of each kind an image shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrSigns {
    /// Tiny red dots.
    pub microaneurysms: u32,
    /// Round dark-red blots.
    pub blot_haemorrhages: u32,
    /// Streaks along the nerve fibres near the disc.
    pub flame_haemorrhages: u32,
    /// Clusters of yellow specks.
    pub exudate_clusters: u32,
    /// Rings (circinate patterns) of yellow specks.
    pub exudate_rings: u32,
    /// Fluffy white patches.
    pub cotton_wool_spots: u32,
}

/// Benign findings that resemble another class's sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LookAlike {
    Drusen,
    MildTessellation,
    LargeCup,
}

impl ClassSigns {
    /// Draws the signs of one image of `class`.
    pub fn draw(class: PhantomClass, difficulty: &Difficulty, rng: &mut impl Draw) -> Self {
        let u = rng.uniform(0.0, 1.0);
        let severity = match class {
            PhantomClass::Normal => 0.0,
            _ => {
                let span = difficulty.severity_max - difficulty.severity_min;
                difficulty.severity_min
                    + span * super::detmath::powf(u.max(1e-6), difficulty.severity_skew)
            }
        };
        let look_alike = draw_look_alike(class, difficulty.confounder_rate, rng);
        let s = severity;

        let mut signs = ClassSigns {
            severity,
            vertical_cdr: rng.uniform(NORMAL_CDR.0, NORMAL_CDR.1),
            cup_elongation: rng.uniform(0.94, 1.0),
            cup_inferior_shift: rng.uniform(0.0, 0.2),
            cup_pallor: rng.uniform(0.35, 0.7),
            vessel_kink: rng.uniform(0.0, 0.15),
            disc_ovality: rng.uniform(0.88, 0.98),
            disc_tilt: rng.normal(0.0, 0.08),
            tessellation: rng.uniform(0.0, 0.15),
            ppa_width: 0.0,
            pallor: rng.uniform(0.0, 0.08),
            dr: DrSigns::default(),
            drusen: 0,
            disc_haemorrhage: false,
        };
        match look_alike {
            Some(LookAlike::Drusen) => signs.drusen = rng.count(3, 12),
            Some(LookAlike::MildTessellation) => {
                signs.tessellation = rng.uniform(0.25, 0.5);
                signs.ppa_width = rng.uniform(0.08, 0.25);
            }
            Some(LookAlike::LargeCup) => {
                signs.vertical_cdr =
                    rng.uniform(LARGE_PHYSIOLOGICAL_CDR.0, LARGE_PHYSIOLOGICAL_CDR.1)
            }
            None => {}
        }

        match class {
            PhantomClass::Normal => {}
            PhantomClass::Glaucoma => {
                let jitter = rng.normal(0.0, 0.015);
                signs.vertical_cdr =
                    (GLAUCOMA_CDR.0 + (GLAUCOMA_CDR.1 - GLAUCOMA_CDR.0) * s + jitter)
                        .clamp(GLAUCOMA_CDR.0 - 0.01, GLAUCOMA_CDR.1);
                signs.cup_elongation = (0.985 - 0.06 * s).max(0.92);
                signs.cup_inferior_shift = rng.uniform(0.2, 0.7) * (0.3 + 0.7 * s);
                signs.cup_pallor = 0.7 + 0.3 * s;
                signs.vessel_kink = 0.35 + 0.65 * s;
                if rng.chance(0.4) {
                    signs.ppa_width = signs.ppa_width.max(rng.uniform(0.05, 0.2) * (0.5 + s));
                }
                signs.disc_haemorrhage = rng.chance(0.35 * s);
            }
            PhantomClass::Myopia => {
                signs.disc_ovality = 0.80 - 0.24 * s - rng.uniform(0.0, 0.03);
                signs.disc_tilt = rng.sign() * rng.uniform(0.08, 0.25 + 0.35 * s);
                signs.tessellation = 0.3 + 0.6 * s;
                signs.ppa_width = 0.15 + 0.95 * s * rng.uniform(0.7, 1.2);
                signs.pallor = 0.1 + 0.35 * s;
            }
            PhantomClass::DiabeticRetinopathy => signs.dr = draw_dr(s, rng),
        }
        signs
    }
}

fn draw_look_alike(class: PhantomClass, rate: f32, rng: &mut impl Draw) -> Option<LookAlike> {
    if !rng.chance(rate) {
        return None;
    }
    let candidates: &[LookAlike] = match class {
        PhantomClass::DiabeticRetinopathy => &[LookAlike::MildTessellation, LookAlike::LargeCup],
        PhantomClass::Glaucoma => &[LookAlike::Drusen, LookAlike::MildTessellation],
        PhantomClass::Myopia => &[LookAlike::Drusen, LookAlike::LargeCup],
        PhantomClass::Normal => &[
            LookAlike::Drusen,
            LookAlike::MildTessellation,
            LookAlike::LargeCup,
        ],
    };
    let pick = rng.count(0, candidates.len() as u32 - 1) as usize;
    Some(candidates[pick])
}

/// Lesion counts grow with severity; at severity 0 only a couple of microaneurysms remain.
fn draw_dr(s: f32, rng: &mut impl Draw) -> DrSigns {
    let scaled = |rng: &mut dyn FnMut() -> f32, max: f32, exponent: f32| {
        (max * super::detmath::powf(s.max(1e-4), exponent) * rng()).round() as u32
    };
    let mut spread = || rng.uniform(0.6, 1.4);
    DrSigns {
        microaneurysms: 2 + scaled(&mut spread, 26.0, 1.0),
        blot_haemorrhages: scaled(&mut spread, 16.0, 1.1),
        flame_haemorrhages: scaled(&mut spread, 4.0, 2.0),
        exudate_clusters: scaled(&mut spread, 6.0, 1.1),
        exudate_rings: scaled(&mut spread, 2.0, 2.0),
        cotton_wool_spots: scaled(&mut spread, 5.0, 1.8),
    }
}
