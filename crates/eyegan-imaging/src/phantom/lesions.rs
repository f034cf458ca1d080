//! Placing the diabetic lesions (and the drusen look-alike) on the fundus.

use std::f32::consts::{FRAC_PI_2, PI, TAU};

use super::anatomy::Anatomy;
use super::class_signs::{ClassSigns, DrSigns};
use super::geometry::{Ellipse, Vec2};
use super::sampling::Draw;

/// The kinds of spot the phantom paints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LesionKind {
    /// Tiny round dark-red dot.
    Microaneurysm,
    /// Round dark-red blot (deeper retina).
    BlotHaemorrhage,
    /// Streak along the nerve fibres (superficial), also the glaucomatous disc haemorrhage.
    FlameHaemorrhage,
    /// Sharp-edged yellow speck.
    HardExudate,
    /// Fluffy white patch with a soft edge.
    CottonWoolSpot,
    /// Soft yellow-white dot of ageing (not diabetic).
    Drusen,
}

/// One spot: its outline and how opaque it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lesion {
    /// What it is.
    pub kind: LesionKind,
    /// Outline in field units.
    pub shape: Ellipse,
    /// Opacity at the centre, 0..=1.
    pub strength: f32,
}

/// Lesions must lie inside this radius of the field (not on the dark rim).
const FIELD_LIMIT: f32 = 0.9;

/// Places every lesion the signs call for.
pub fn place_lesions(anatomy: &Anatomy, signs: &ClassSigns, rng: &mut impl Draw) -> Vec<Lesion> {
    let mut lesions = Vec::new();
    place_dr(anatomy, &signs.dr, rng, &mut lesions);
    for _ in 0..signs.drusen {
        let p = near(anatomy, anatomy.fovea, 0.14, rng);
        lesions.push(round(
            LesionKind::Drusen,
            p,
            rng.uniform(0.006, 0.014),
            rng.uniform(0.35, 0.6),
        ));
    }
    if signs.disc_haemorrhage {
        let angle = rng.uniform(-0.5, 0.5)
            + if rng.chance(0.6) {
                FRAC_PI_2
            } else {
                -FRAC_PI_2
            };
        let direction = Vec2::new(1.0, 0.0).rotated_by(angle);
        let at = anatomy.disc.center + direction * (anatomy.disc.radius_towards(direction) * 1.05);
        lesions.push(flame(at, angle, rng));
    }
    lesions
}

fn place_dr(anatomy: &Anatomy, dr: &DrSigns, rng: &mut impl Draw, out: &mut Vec<Lesion>) {
    let pole = anatomy.fovea + (anatomy.disc.center - anatomy.fovea) * 0.35;
    for _ in 0..dr.microaneurysms {
        let p = near(anatomy, pole, 0.3, rng);
        out.push(round(
            LesionKind::Microaneurysm,
            p,
            rng.uniform(0.004, 0.008),
            rng.uniform(0.7, 0.95),
        ));
    }
    for _ in 0..dr.blot_haemorrhages {
        let p = near(anatomy, pole, 0.38, rng);
        let radius = rng.uniform(0.012, 0.032);
        let strength = rng.uniform(0.65, 0.9);
        // A blot is a few overlapping round patches.
        for _ in 0..rng.count(1, 3) {
            let offset = Vec2::new(rng.normal(0.0, 0.5), rng.normal(0.0, 0.5)) * radius;
            out.push(round(
                LesionKind::BlotHaemorrhage,
                p + offset,
                radius * rng.uniform(0.6, 1.0),
                strength,
            ));
        }
    }
    for _ in 0..dr.flame_haemorrhages {
        let angle = rng.uniform(0.0, TAU);
        let direction = Vec2::new(1.0, 0.0).rotated_by(angle);
        let at = anatomy.disc.center + direction * (anatomy.disc.ry * rng.uniform(1.3, 2.8));
        out.push(flame(at, angle, rng));
    }
    for _ in 0..dr.exudate_clusters {
        let centre = near(anatomy, anatomy.fovea, 0.2, rng);
        for _ in 0..rng.count(4, 14) {
            let p = centre + Vec2::new(rng.normal(0.0, 0.025), rng.normal(0.0, 0.025));
            out.push(exudate(p, rng));
        }
    }
    for _ in 0..dr.exudate_rings {
        let centre = near(anatomy, anatomy.fovea, 0.22, rng);
        let radius = rng.uniform(0.05, 0.11);
        let count = rng.count(10, 24);
        for k in 0..count {
            let angle = k as f32 / count as f32 * TAU + rng.normal(0.0, 0.12);
            let r = radius * rng.uniform(0.85, 1.15);
            out.push(exudate(centre + Vec2::new(r, 0.0).rotated_by(angle), rng));
        }
    }
    for _ in 0..dr.cotton_wool_spots {
        let side = rng.sign();
        let angle = side * rng.uniform(0.8, 2.2);
        let direction = Vec2::new(-1.0, 0.0).rotated_by(angle);
        let at = anatomy.disc.center + direction * rng.uniform(0.18, 0.5);
        let radius = rng.uniform(0.03, 0.06);
        out.push(Lesion {
            kind: LesionKind::CottonWoolSpot,
            shape: Ellipse::new(
                at,
                radius,
                radius * rng.uniform(0.6, 0.9),
                rng.uniform(0.0, PI),
            ),
            strength: rng.uniform(0.5, 0.8),
        });
    }
}

/// A point scattered around `centre`, kept inside the field and off the disc.
fn near(anatomy: &Anatomy, centre: Vec2, spread: f32, rng: &mut impl Draw) -> Vec2 {
    let mut p = centre;
    for _ in 0..8 {
        p = centre + Vec2::new(rng.normal(0.0, spread), rng.normal(0.0, spread));
        if p.length() < FIELD_LIMIT && anatomy.disc_distance(p) > 1.3 {
            break;
        }
    }
    p
}

fn round(kind: LesionKind, center: Vec2, radius: f32, strength: f32) -> Lesion {
    Lesion {
        kind,
        shape: Ellipse::circle(center, radius),
        strength,
    }
}

fn exudate(center: Vec2, rng: &mut impl Draw) -> Lesion {
    round(
        LesionKind::HardExudate,
        center,
        rng.uniform(0.004, 0.011),
        rng.uniform(0.7, 0.95),
    )
}

/// A streak pointing away from the disc at `angle` (radians).
fn flame(at: Vec2, angle: f32, rng: &mut impl Draw) -> Lesion {
    Lesion {
        kind: LesionKind::FlameHaemorrhage,
        shape: Ellipse::new(
            at,
            rng.uniform(0.025, 0.045),
            rng.uniform(0.007, 0.012),
            angle,
        ),
        strength: rng.uniform(0.6, 0.85),
    }
}
