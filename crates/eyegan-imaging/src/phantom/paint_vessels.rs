//! Painting the vessel tree with anti-aliased, width-tapered segments.

use super::frame::{pixel_center, Frame};
use super::geometry::Vec2;
use super::vessels::{Vessel, VesselKind};

/// Colour multipliers of fully opaque vessels over the fundus.
const VEIN_TINT: [f32; 3] = [0.48, 0.24, 0.36];
const ARTERY_TINT: [f32; 3] = [0.74, 0.42, 0.48];
/// Peak opacity of the widest veins and arteries.
const VEIN_OPACITY: f32 = 0.85;
const ARTERY_OPACITY: f32 = 0.72;
/// Vessels this wide (field units) or wider show full contrast.
const FULL_CONTRAST_WIDTH: f32 = 0.018;
/// Central light reflex: share of the width, brightness, and the pixel width it needs.
const REFLEX_SHARE: f32 = 0.2;
const REFLEX_MIN_WIDTH_PX: f32 = 2.5;
/// Shortest segment drawn, pixels.
const MIN_SEGMENT_PX: f32 = 1.0;

/// Per-pixel opacity of arteries, veins and their light reflex.
struct Coverage {
    artery: Vec<f32>,
    vein: Vec<f32>,
    reflex: Vec<f32>,
}

/// Darkens `colour` (interleaved RGB, `frame.size` square) along every vessel.
pub fn paint_vessels(vessels: &[Vessel], frame: &Frame, colour: &mut [f32]) {
    let n = (frame.size * frame.size) as usize;
    let mut coverage = Coverage {
        artery: vec![0.0; n],
        vein: vec![0.0; n],
        reflex: vec![0.0; n],
    };
    for vessel in vessels {
        rasterise(vessel, frame, &mut coverage);
    }
    for i in 0..n {
        let (a, v, r) = (coverage.artery[i], coverage.vein[i], coverage.reflex[i]);
        if a == 0.0 && v == 0.0 {
            continue;
        }
        for c in 0..3 {
            let value = &mut colour[i * 3 + c];
            *value *= 1.0 - v * (1.0 - VEIN_TINT[c]);
            *value *= 1.0 - a * (1.0 - ARTERY_TINT[c]);
            *value += r;
        }
    }
}

fn rasterise(vessel: &Vessel, frame: &Frame, coverage: &mut Coverage) {
    let (opacity, reflex_brightness) = match vessel.kind {
        VesselKind::Artery => (ARTERY_OPACITY, 0.12),
        VesselKind::Vein => (VEIN_OPACITY, 0.05),
    };
    // Consecutive samples closer than a pixel are merged into one segment.
    let mut start = match vessel.points.first() {
        Some(first) => first,
        None => return,
    };
    let mut a = frame.to_pixel(start.pos);
    for (k, end) in vessel.points.iter().enumerate().skip(1) {
        let b = frame.to_pixel(end.pos);
        if (b - a).length() < MIN_SEGMENT_PX && k + 1 < vessel.points.len() {
            continue;
        }
        let half = 0.5 * start.width * frame.radius;
        // Sub-pixel vessels spread over a pixel with proportionally less contrast.
        let (half_drawn, thin_factor) = if half < 0.5 {
            (0.5, half / 0.5)
        } else {
            (half, 1.0)
        };
        let contrast = (start.width / FULL_CONTRAST_WIDTH).clamp(0.0, 1.0);
        let alpha = opacity * (0.45 + 0.55 * contrast) * thin_factor * start.visibility;
        let reflex_half = half * REFLEX_SHARE;
        let with_reflex = 2.0 * half >= REFLEX_MIN_WIDTH_PX;
        let reach = half_drawn + 1.0;
        let (x0, y0, x1, y1) = bounding_box(frame, a, b, reach);
        let target = match vessel.kind {
            VesselKind::Artery => &mut coverage.artery,
            VesselKind::Vein => &mut coverage.vein,
        };
        for y in y0..y1 {
            for x in x0..x1 {
                let d = distance_to_segment(pixel_center(x, y), a, b);
                if d >= reach {
                    continue;
                }
                let i = (y * frame.size + x) as usize;
                let cover = (half_drawn + 0.5 - d).clamp(0.0, 1.0) * alpha;
                target[i] = target[i].max(cover);
                if with_reflex {
                    let r = (reflex_half + 0.5 - d).clamp(0.0, 1.0)
                        * reflex_brightness
                        * start.visibility;
                    coverage.reflex[i] = coverage.reflex[i].max(r);
                }
            }
        }
        start = end;
        a = b;
    }
}

fn bounding_box(frame: &Frame, a: Vec2, b: Vec2, reach: f32) -> (u32, u32, u32, u32) {
    let min = Vec2::new(a.x.min(b.x), a.y.min(b.y));
    let max = Vec2::new(a.x.max(b.x), a.y.max(b.y));
    let center = (min + max) * 0.5;
    let half = ((max.x - min.x).max(max.y - min.y)) * 0.5 + reach;
    frame.pixel_box(center, half)
}

/// Distance from `p` to the segment `a`–`b`.
pub fn distance_to_segment(p: Vec2, a: Vec2, b: Vec2) -> f32 {
    let ab = b - a;
    let len2 = ab.dot(ab);
    let t = if len2 > 0.0 {
        ((p - a).dot(ab) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p - (a + ab * t)).length()
}
