//! The patient's eye: where disc, cup and fovea lie, and the colours of the fundus.
//!
//! Coordinates are field units (field radius 1, origin at the field centre, y down) in the
//! orientation of a right eye: the disc lies right of centre (nasal), the fovea left of it.
//! Left eyes are mirrored when the image is rendered.

use super::class_signs::ClassSigns;
use super::geometry::{Ellipse, Vec2};
use super::sampling::Draw;

/// Which eye was photographed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eye {
    /// Oculus dexter: disc on the right of the image.
    Right,
    /// Oculus sinister: mirror image, disc on the left.
    Left,
}

/// Geometry and colour of one eye.
#[derive(Debug, Clone, PartialEq)]
pub struct Anatomy {
    /// Which eye.
    pub eye: Eye,
    /// Optic disc outline.
    pub disc: Ellipse,
    /// Cup outline: the disc ellipse scaled down (same rotation), possibly shifted.
    pub cup: Ellipse,
    /// Centre of the fovea.
    pub fovea: Vec2,
    /// The darker macula and its reflexes.
    pub macula: Macula,
    /// Background colour and texture.
    pub fundus: FundusColour,
    /// Temporal peripapillary atrophy crescent, if any.
    pub ppa: Option<Crescent>,
    /// How pale and deep the cup looks, 0..=1.
    pub cup_pallor: f32,
}

/// The macula: a darker, less yellow-red area around the fovea.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Macula {
    /// Gaussian radius of the darker area.
    pub sigma: f32,
    /// Darkening at its centre, 0..=1.
    pub depth: f32,
    /// Extra darkening of the foveal pit.
    pub fovea_depth: f32,
    /// Brightness of the small foveal light reflex.
    pub reflex: f32,
    /// Brightness of the ring reflex around the macula (young eyes).
    pub ring: f32,
}

/// Colour and texture of the fundus background.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FundusColour {
    /// Linear RGB of the background at the posterior pole, before illumination.
    pub base: [f32; 3],
    /// Amplitude of the fine choroidal mottling.
    pub texture: f32,
    /// Seed of the mottling noise.
    pub texture_seed: u32,
    /// Visibility of choroidal vessels (tigroid pattern), 0..=1.
    pub tessellation: f32,
    /// Seed of the choroidal vessel pattern.
    pub tessellation_seed: u32,
    /// Disc rim colour (neuroretinal rim).
    pub rim: [f32; 3],
}

/// A crescent of atrophy hugging the temporal disc margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crescent {
    /// Outer boundary: a widened disc ellipse shifted temporally.
    pub outer: Ellipse,
    /// Seed of its irregular border and pigment.
    pub seed: u32,
}

/// Light and dark patients: fundus colour of a lightly and of a heavily pigmented eye.
const LIGHT_FUNDUS: [f32; 3] = [0.93, 0.50, 0.22];
const DARK_FUNDUS: [f32; 3] = [0.60, 0.24, 0.10];
/// Colour a pale (myopic) fundus tends to.
const PALE_FUNDUS: [f32; 3] = [0.97, 0.68, 0.46];

impl Anatomy {
    /// Draws an eye with the given class signs; `variation` scales the spread between patients.
    pub fn draw(signs: &ClassSigns, variation: f32, rng: &mut impl Draw) -> Self {
        let v = variation;
        let eye = if rng.chance(0.5) {
            Eye::Right
        } else {
            Eye::Left
        };
        let disc_center = Vec2::new(
            0.47 + rng.normal(0.0, 0.03 * v),
            -0.03 + rng.normal(0.0, 0.03 * v),
        );
        let disc_ry = (0.15 * (1.0 + rng.normal(0.0, 0.07 * v))).clamp(0.12, 0.18);
        let disc = Ellipse::new(
            disc_center,
            disc_ry * signs.disc_ovality,
            disc_ry,
            signs.disc_tilt,
        );
        let cup = cup_inside(&disc, signs, rng);
        let fovea = disc_center
            + Vec2::new(
                -(0.63 + rng.normal(0.0, 0.04 * v)),
                0.06 + rng.normal(0.0, 0.02 * v),
            );
        let macula = Macula {
            sigma: rng.uniform(0.13, 0.2),
            depth: rng.uniform(0.12, 0.3),
            fovea_depth: rng.uniform(0.06, 0.16),
            reflex: rng.uniform(0.15, 0.6),
            ring: rng.uniform(0.0, 0.05),
        };
        let fundus = draw_colour(signs, v, rng);
        let ppa = (signs.ppa_width > 0.0).then(|| {
            let w = signs.ppa_width;
            Crescent {
                outer: Ellipse::new(
                    disc.center + Vec2::new(-disc.rx * w * 0.75, 0.0),
                    disc.rx * (1.0 + 0.6 * w),
                    disc.ry * (1.0 + 0.15 * w),
                    disc.rotation(),
                ),
                seed: rng.noise_seed(),
            }
        });
        Anatomy {
            eye,
            disc,
            cup,
            fovea,
            macula,
            fundus,
            ppa,
            cup_pallor: signs.cup_pallor,
        }
    }

    /// Distance from `p` to the disc centre, in disc radii (vertical).
    pub fn disc_distance(&self, p: Vec2) -> f32 {
        (p - self.disc.center).length() / self.disc.ry
    }
}

/// The cup: the disc scaled by the CDR (vertically) and elongation (horizontally), moved
/// slightly temporally and down within the room the rim leaves.
fn cup_inside(disc: &Ellipse, signs: &ClassSigns, rng: &mut impl Draw) -> Ellipse {
    let ky = signs.vertical_cdr;
    let kx = signs.vertical_cdr * signs.cup_elongation;
    let room_x = disc.rx * (1.0 - kx);
    let room_y = disc.ry * (1.0 - ky);
    let local_shift = Vec2::new(
        -room_x * rng.uniform(0.1, 0.4),
        room_y * (signs.cup_inferior_shift * 0.6 + rng.normal(0.0, 0.05)).clamp(-0.3, 0.6),
    );
    let mut cup = disc.scaled(kx, ky);
    cup.center = disc.center + local_shift.rotated_by(disc.rotation());
    cup
}

fn draw_colour(signs: &ClassSigns, v: f32, rng: &mut impl Draw) -> FundusColour {
    let pigment = (0.45 + rng.normal(0.0, 0.22 * v)).clamp(0.0, 1.0);
    let green_shift = 1.0 + rng.normal(0.0, 0.06 * v);
    let mut base: [f32; 3] =
        std::array::from_fn(|c| LIGHT_FUNDUS[c] + (DARK_FUNDUS[c] - LIGHT_FUNDUS[c]) * pigment);
    base[1] *= green_shift;
    for (c, value) in base.iter_mut().enumerate() {
        *value += (PALE_FUNDUS[c] - *value) * signs.pallor;
    }
    let rim_warmth = rng.uniform(0.0, 1.0);
    FundusColour {
        base,
        texture: rng.uniform(0.04, 0.09),
        texture_seed: rng.noise_seed(),
        tessellation: signs.tessellation,
        tessellation_seed: rng.noise_seed(),
        rim: [0.93, 0.53 + 0.08 * rim_warmth, 0.36 + 0.06 * rim_warmth],
    }
}
