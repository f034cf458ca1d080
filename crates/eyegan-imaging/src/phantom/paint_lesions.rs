//! Painting lesions: red spots darken, yellow and white ones cover the fundus.

use super::frame::{pixel_center, Frame};
use super::geometry::Ellipse;
use super::lesions::{Lesion, LesionKind};

/// Smallest drawn lesion radius in pixels; smaller lesions keep their energy, spread wider.
const MIN_RADIUS_PX: f32 = 0.8;

/// How a lesion changes the colour under it.
enum Effect {
    /// Multiply by this tint (haemorrhages).
    Tint([f32; 3]),
    /// Blend towards this colour (exudates, cotton wool, drusen).
    Cover([f32; 3]),
}

/// Paints every lesion onto `colour` (interleaved RGB, `frame.size` square).
pub fn paint_lesions(lesions: &[Lesion], frame: &Frame, colour: &mut [f32]) {
    for lesion in lesions {
        paint(lesion, frame, colour);
    }
}

fn paint(lesion: &Lesion, frame: &Frame, colour: &mut [f32]) {
    let (effect, softness) = match lesion.kind {
        LesionKind::Microaneurysm => (Effect::Tint([0.42, 0.16, 0.22]), 0.3),
        LesionKind::BlotHaemorrhage => (Effect::Tint([0.40, 0.14, 0.18]), 0.35),
        LesionKind::FlameHaemorrhage => (Effect::Tint([0.50, 0.18, 0.20]), 0.5),
        LesionKind::HardExudate => (Effect::Cover([1.0, 0.90, 0.45]), 0.3),
        LesionKind::CottonWoolSpot => (Effect::Cover([0.97, 0.92, 0.86]), 0.9),
        LesionKind::Drusen => (Effect::Cover([0.98, 0.86, 0.58]), 0.7),
    };
    let radius_px = lesion.shape.rx.min(lesion.shape.ry) * frame.radius;
    let inflate = (MIN_RADIUS_PX / radius_px.max(1e-3)).max(1.0);
    let shape: Ellipse = lesion.shape.scaled(inflate, inflate);
    let strength = lesion.strength / (inflate * inflate);
    let small_px = shape.rx.min(shape.ry) * frame.radius;
    let large_px = shape.rx.max(shape.ry) * frame.radius;
    let center = frame.to_pixel(shape.center);
    let (x0, y0, x1, y1) = frame.pixel_box(center, large_px * 1.6 + 1.5);
    // The blend band straddles the outline: at least a pixel wide, wider for soft lesions.
    let band = (softness * small_px).max(1.0);
    for y in y0..y1 {
        for x in x0..x1 {
            let field = frame.to_anatomy(frame.to_image_field(pixel_center(x, y)));
            let sd_px = shape.signed_distance(field) * frame.radius;
            let alpha =
                strength * (1.0 - super::detmath::smoothstep(-0.5 * band, 0.5 * band, sd_px));
            if alpha <= 0.0 {
                continue;
            }
            let i = (y * frame.size + x) as usize * 3;
            for c in 0..3 {
                let value = &mut colour[i + c];
                *value = match effect {
                    Effect::Tint(tint) => *value * (1.0 - alpha * (1.0 - tint[c])),
                    Effect::Cover(cover) => *value + (cover[c] - *value) * alpha,
                };
            }
        }
    }
}
