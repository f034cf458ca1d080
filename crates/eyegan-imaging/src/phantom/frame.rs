//! The mapping between image pixels and the eye's field coordinates.

use super::anatomy::Eye;
use super::detmath;
use super::geometry::Vec2;
use super::scene::Scene;

/// Where the field lies in an image of a given size, and how the eye is turned in it.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// Image side in pixels.
    pub size: u32,
    /// Field centre in pixel coordinates.
    pub center: Vec2,
    /// Field radius in pixels.
    pub radius: f32,
    /// (sin, cos) of the eye's rotation.
    rotation: (f32, f32),
    /// Left eyes are the mirror image of right eyes.
    mirrored: bool,
}

impl Frame {
    /// The frame of `scene` at `size`x`size` pixels.
    pub fn new(scene: &Scene, size: u32) -> Self {
        let camera = &scene.camera;
        let side = size as f32;
        Frame {
            size,
            center: Vec2::new(
                side * (0.5 + camera.field_offset.x),
                side * (0.5 + camera.field_offset.y),
            ),
            radius: side * camera.field_radius,
            rotation: detmath::sin_cos(camera.rotation),
            mirrored: scene.anatomy.eye == Eye::Left,
        }
    }

    /// Field position of a pixel-space point, in image orientation (for illumination and the
    /// field edge): not rotated or mirrored.
    pub fn to_image_field(self, pixel: Vec2) -> Vec2 {
        (pixel - self.center) * (1.0 / self.radius)
    }

    /// Anatomical (right-eye) field coordinates of an image-oriented field position.
    pub fn to_anatomy(self, image_field: Vec2) -> Vec2 {
        let (s, c) = self.rotation;
        let q = image_field.rotated((-s, c));
        if self.mirrored {
            Vec2::new(-q.x, q.y)
        } else {
            q
        }
    }

    /// Pixel-space position of an anatomical point.
    pub fn to_pixel(self, anatomy: Vec2) -> Vec2 {
        let q = if self.mirrored {
            Vec2::new(-anatomy.x, anatomy.y)
        } else {
            anatomy
        };
        self.center + q.rotated(self.rotation) * self.radius
    }

    /// Anatomical coordinates of the centre of pixel (x, y).
    pub fn pixel_to_anatomy(&self, x: u32, y: u32) -> Vec2 {
        self.to_anatomy(self.to_image_field(pixel_center(x, y)))
    }

    /// Pixel rows and columns (clamped to the image) covering `center` ± `half` pixels.
    pub fn pixel_box(&self, center: Vec2, half: f32) -> (u32, u32, u32, u32) {
        let clamp = |v: f32| v.clamp(0.0, self.size as f32) as u32;
        (
            clamp((center.x - half).floor()),
            clamp((center.y - half).floor()),
            clamp((center.x + half).ceil() + 1.0),
            clamp((center.y + half).ceil() + 1.0),
        )
    }
}

/// The centre of pixel (x, y).
pub fn pixel_center(x: u32, y: u32) -> Vec2 {
    Vec2::new(x as f32 + 0.5, y as f32 + 0.5)
}
