//! The per-pixel base layer: fundus background with choroidal texture and tessellation, the
//! macula, the peripapillary crescent and the optic disc with its cup.

use super::anatomy::{Anatomy, Crescent};
use super::detmath::{exp, lerp, smoothstep};
use super::geometry::Vec2;
use std::f32::consts::PI;

use super::detmath;
use super::noise::{fractal_noise, gradient_noise};

/// Colour of the cup floor (pale, yellow-white).
const CUP_COLOUR: [f32; 3] = [1.0, 0.90, 0.72];
/// Colour of an atrophic crescent (bare sclera seen through thin choroid).
const ATROPHY_COLOUR: [f32; 3] = [0.96, 0.84, 0.64];
/// Tessellation: the dark pigmented spaces between choroidal vessels, and the vessels.
const INTERVASCULAR_TINT: [f32; 3] = [0.78, 0.66, 0.72];
const CHOROIDAL_VESSEL_TINT: [f32; 3] = [1.05, 0.98, 0.92];
/// Macular pigment darkens blue and green more than red.
const MACULAR_ABSORPTION: [f32; 3] = [0.8, 1.0, 1.15];

/// Evaluates the base layer at anatomical field position `p`.
///
/// `pixel` is the size of one pixel in field units; it limits texture frequencies and sets the
/// width of anti-aliased edges.
pub fn base_colour(anatomy: &Anatomy, p: Vec2, pixel: f32) -> [f32; 3] {
    let nyquist = 0.5 / pixel;
    let fundus = &anatomy.fundus;
    let mottle =
        1.0 + fundus.texture * 2.0 * fractal_noise(p.x, p.y, fundus.texture_seed, 6.0, 4, nyquist);
    let mut colour = fundus.base.map(|c| c * mottle);

    if fundus.tessellation > 0.01 {
        let pattern = tessellation(anatomy, p, fundus.tessellation_seed, nyquist);
        for c in 0..3 {
            let tint = lerp(INTERVASCULAR_TINT[c], CHOROIDAL_VESSEL_TINT[c], pattern);
            colour[c] *= lerp(1.0, tint, fundus.tessellation);
        }
    }

    apply_macula(anatomy, p, pixel, &mut colour);
    if let Some(crescent) = &anatomy.ppa {
        apply_crescent(crescent, p, pixel, nyquist, &mut colour);
    }
    apply_disc(anatomy, p, pixel, &mut colour);
    colour
}

/// 1 on the choroidal vessels, 0 in the pigmented spaces between them: ridges of a warped
/// noise field in polar coordinates around the posterior pole, so the vessels run radially.
fn tessellation(anatomy: &Anatomy, p: Vec2, seed: u32, nyquist: f32) -> f32 {
    let warp = Vec2::new(
        fractal_noise(p.x, p.y, seed ^ 0x51, 2.0, 2, nyquist),
        fractal_noise(p.x, p.y, seed ^ 0xA3, 2.0, 2, nyquist),
    ) * 0.3;
    let offset = p + warp - anatomy.fovea;
    let radius = offset.length().max(1e-3);
    let angle = detmath::atan2(offset.y, offset.x);
    // Two angular noise fields whose seams (at +-pi and at 0) are hidden by blending.
    let behind = if angle > 0.0 { angle - PI } else { angle + PI };
    let blend = 0.5 * (1.0 - offset.x / radius);
    let along = |theta: f32, salt: u32| polar_noise(radius, theta, seed ^ salt, nyquist);
    let n = along(angle, 0) * (1.0 - blend) + along(behind, 0x7F) * blend;
    // Near the pole the angular pattern would converge into a star: let it fade there.
    let ridge = 1.0 - smoothstep(0.03, 0.15, n.abs());
    let fade = smoothstep(0.05, 0.3, radius);
    0.5 + (ridge - 0.5) * fade
}

/// Band-limited fractal noise of (radius, angle): low frequency along the radius, high around.
fn polar_noise(radius: f32, angle: f32, seed: u32, nyquist: f32) -> f32 {
    const RADIAL: f32 = 2.2;
    const ANGULAR: f32 = 2.5;
    let mut sum = 0.0;
    let mut amplitude = 1.0;
    let mut norm = 0.0;
    for octave in 0..3_u32 {
        let scale = (1_u32 << octave) as f32;
        // Highest frequency in field units: around the pole, ANGULAR cycles per radian.
        let highest = scale * RADIAL.max(ANGULAR / radius);
        let band_limit = (2.0 - 2.0 * highest / nyquist).clamp(0.0, 1.0);
        if band_limit > 0.0 {
            let n = gradient_noise(
                radius * RADIAL * scale,
                angle * ANGULAR * scale,
                seed.wrapping_add(octave * 7919),
            );
            sum += amplitude * band_limit * n;
        }
        norm += amplitude;
        amplitude *= 0.5;
    }
    sum / norm
}

fn apply_macula(anatomy: &Anatomy, p: Vec2, pixel: f32, colour: &mut [f32; 3]) {
    let m = &anatomy.macula;
    let d2 = (p - anatomy.fovea).dot(p - anatomy.fovea);
    let darkening = m.depth * exp(-d2 / (2.0 * m.sigma * m.sigma))
        + m.fovea_depth * exp(-d2 / (2.0 * 0.035 * 0.035));
    for c in 0..3 {
        colour[c] *= (1.0 - darkening * MACULAR_ABSORPTION[c]).max(0.0);
    }
    // Reflexes thinner than a pixel keep their energy but spread over one pixel.
    let reflex_sigma = 0.006_f32.max(0.6 * pixel);
    let reflex = m.reflex
        * (0.006 / reflex_sigma)
        * (0.006 / reflex_sigma)
        * exp(-d2 / (2.0 * reflex_sigma * reflex_sigma));
    let ring_width = 0.02_f32.max(0.6 * pixel);
    let ring_offset = d2.sqrt() - 1.1 * m.sigma;
    let ring = m.ring
        * (0.02 / ring_width)
        * exp(-ring_offset * ring_offset / (2.0 * ring_width * ring_width));
    for value in colour.iter_mut() {
        *value += reflex + ring;
    }
}

fn apply_crescent(crescent: &Crescent, p: Vec2, pixel: f32, nyquist: f32, colour: &mut [f32; 3]) {
    let ragged = 0.012 * fractal_noise(p.x, p.y, crescent.seed, 30.0, 2, nyquist);
    let sd = crescent.outer.signed_distance(p) + ragged;
    let edge = pixel.max(0.004);
    let inside = 1.0 - smoothstep(-edge, edge, sd);
    if inside <= 0.0 && sd > 0.05 {
        return;
    }
    let mottled =
        1.0 - 0.25 * fractal_noise(p.x, p.y, crescent.seed ^ 0x77, 25.0, 2, nyquist).max(0.0);
    let pigment_rim = 0.45 * exp(-(sd * sd) / (2.0 * 0.007 * 0.007));
    // Pigment gathers at the crescent's outer border.
    for c in 0..3 {
        let atrophy = ATROPHY_COLOUR[c] * mottled;
        colour[c] = lerp(colour[c], atrophy, inside) * (1.0 - pigment_rim);
    }
}

fn apply_disc(anatomy: &Anatomy, p: Vec2, pixel: f32, colour: &mut [f32; 3]) {
    let disc = &anatomy.disc;
    let sd = disc.signed_distance(p);
    if sd > 0.05 {
        return;
    }
    let edge = pixel.max(0.006);
    let inside = 1.0 - smoothstep(-edge, edge, sd);
    // The nasal rim is pinker, the temporal rim paler.
    let local = disc.to_local(p);
    let nasal = (local.x / disc.rx).clamp(-1.0, 1.0);
    let rim = anatomy.fundus.rim;
    let rim_colour = [rim[0], rim[1] - 0.05 * nasal, rim[2] - 0.04 * nasal];

    let cup = &anatomy.cup;
    let cup_sd = cup.signed_distance(p);
    let wall = (0.25 * cup.ry).max(pixel);
    let in_cup = 1.0 - smoothstep(-0.5 * wall, 0.5 * wall, cup_sd);
    let cup_strength = 0.55 + 0.45 * anatomy.cup_pallor;
    for c in 0..3 {
        let disc_colour = lerp(rim_colour[c], CUP_COLOUR[c], in_cup * cup_strength);
        colour[c] = lerp(colour[c], disc_colour, inside);
    }
}
