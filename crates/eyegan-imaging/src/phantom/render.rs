//! Painting a scene at a given size: base layer, vessels, lesions, field edge, camera.

use image::{GrayImage, RgbImage};

use super::frame::{pixel_center, Frame};
use super::fundus_layer::base_colour;
use super::geometry::Ellipse;
use super::paint_lesions::paint_lesions;
use super::paint_vessels::paint_vessels;
use super::scene::Scene;

/// Paints `scene` as a `size`x`size` photograph.
pub fn render_scene(scene: &Scene, size: u32) -> RgbImage {
    let frame = Frame::new(scene, size);
    let n = (size * size) as usize;
    let pixel = 1.0 / frame.radius;
    let mut colour = vec![0.0_f32; n * 3];
    let mut light = vec![0.0_f32; n];
    for y in 0..size {
        for x in 0..size {
            let image_field = frame.to_image_field(pixel_center(x, y));
            let edge = ((1.0 - image_field.length()) * frame.radius + 0.5).clamp(0.0, 1.0);
            if edge <= 0.0 {
                continue;
            }
            let i = (y * size + x) as usize;
            let p = frame.to_anatomy(image_field);
            colour[i * 3..i * 3 + 3].copy_from_slice(&base_colour(&scene.anatomy, p, pixel));
            light[i] = edge * scene.camera.illumination(image_field);
        }
    }
    paint_vessels(&scene.vessels, &frame, &mut colour);
    paint_lesions(&scene.lesions, &frame, &mut colour);
    for (rgb, l) in colour.chunks_exact_mut(3).zip(&light) {
        for value in rgb {
            *value *= l;
        }
    }
    scene.camera.develop(colour, size, frame.radius)
}

/// Anti-aliased masks (0..=255 coverage) of the optic disc and of the cup.
pub fn render_disc_masks(scene: &Scene, size: u32) -> (GrayImage, GrayImage) {
    let frame = Frame::new(scene, size);
    let mask = |shape: &Ellipse| {
        GrayImage::from_fn(size, size, |x, y| {
            let sd_px = shape.signed_distance(frame.pixel_to_anatomy(x, y)) * frame.radius;
            image::Luma([((0.5 - sd_px).clamp(0.0, 1.0) * 255.0).round() as u8])
        })
    };
    (mask(&scene.anatomy.disc), mask(&scene.anatomy.cup))
}
