//! Ground truth of a rendered phantom image, for tests and for measuring the class signs.

use image::GrayImage;

use super::anatomy::Eye;
use super::class::PhantomClass;
use super::frame::Frame;
use super::geometry::Ellipse;
use super::render::render_disc_masks;
use super::scene::Scene;

/// What was drawn, in the pixel coordinates of the rendered image.
#[derive(Debug, Clone)]
pub struct PhantomTruth {
    /// The class.
    pub class: PhantomClass,
    /// Severity of the class signs, 0..=1 (0 for normal images).
    pub severity: f32,
    /// Which eye (left eyes are mirrored).
    pub eye: Eye,
    /// Centre of the circular field, pixels.
    pub field_center: (f32, f32),
    /// Radius of the circular field, pixels.
    pub field_radius: f32,
    /// Centre of the optic disc, pixels.
    pub disc_center: (f32, f32),
    /// Semi-axes of the disc (across, along its long axis), pixels.
    pub disc_radii: (f32, f32),
    /// Rotation of the disc's axes in the image, degrees.
    pub disc_rotation_deg: f32,
    /// Semi-axes of the cup, pixels.
    pub cup_radii: (f32, f32),
    /// Vertical cup-to-disc ratio: vertical extent of the cup over that of the disc.
    pub vertical_cdr: f32,
    /// Disc width over height in its own frame; < 1 is oval.
    pub disc_ovality: f32,
    /// Visibility of the choroidal vessel pattern, 0..=1.
    pub tessellation: f32,
    /// Width of the peripapillary atrophy crescent relative to the disc radius (0 = none).
    pub ppa_width: f32,
    /// Lesions drawn.
    pub lesions: LesionCounts,
    /// Anti-aliased coverage of the disc, 0..=255.
    pub disc_mask: GrayImage,
    /// Anti-aliased coverage of the cup, 0..=255.
    pub cup_mask: GrayImage,
}

/// Numbers of lesions drawn, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LesionCounts {
    /// Tiny red dots.
    pub microaneurysms: u32,
    /// Dark-red blots.
    pub blot_haemorrhages: u32,
    /// Streak haemorrhages, including a glaucomatous disc haemorrhage.
    pub flame_haemorrhages: u32,
    /// Yellow specks, in clusters and rings.
    pub hard_exudate_groups: u32,
    /// Fluffy white patches.
    pub cotton_wool_spots: u32,
    /// Drusen (not diabetic).
    pub drusen: u32,
}

impl LesionCounts {
    /// All diabetic lesions (everything but drusen).
    pub fn diabetic(&self) -> u32 {
        self.microaneurysms
            + self.blot_haemorrhages
            + self.flame_haemorrhages
            + self.hard_exudate_groups
            + self.cotton_wool_spots
    }
}

impl PhantomTruth {
    /// Collects the truth of `scene` rendered at `size`.
    pub fn of(scene: &Scene, size: u32) -> Self {
        let frame = Frame::new(scene, size);
        let anatomy = &scene.anatomy;
        let in_image = |e: &Ellipse| {
            let mirror = if anatomy.eye == Eye::Left { -1.0 } else { 1.0 };
            Ellipse::new(
                frame.to_pixel(e.center),
                e.rx * frame.radius,
                e.ry * frame.radius,
                mirror * e.rotation() + scene.camera.rotation,
            )
        };
        let disc = in_image(&anatomy.disc);
        let cup = in_image(&anatomy.cup);
        let (disc_mask, cup_mask) = render_disc_masks(scene, size);
        let dr = &scene.signs.dr;
        PhantomTruth {
            class: scene.class,
            severity: scene.signs.severity,
            eye: anatomy.eye,
            field_center: (frame.center.x, frame.center.y),
            field_radius: frame.radius,
            disc_center: (disc.center.x, disc.center.y),
            disc_radii: (disc.rx, disc.ry),
            disc_rotation_deg: disc.rotation().to_degrees(),
            cup_radii: (cup.rx, cup.ry),
            vertical_cdr: cup.half_height() / disc.half_height(),
            disc_ovality: anatomy.disc.rx / anatomy.disc.ry,
            tessellation: anatomy.fundus.tessellation,
            ppa_width: scene.signs.ppa_width,
            lesions: LesionCounts {
                microaneurysms: dr.microaneurysms,
                blot_haemorrhages: dr.blot_haemorrhages,
                flame_haemorrhages: dr.flame_haemorrhages + u32::from(scene.signs.disc_haemorrhage),
                hard_exudate_groups: dr.exudate_clusters + dr.exudate_rings,
                cotton_wool_spots: dr.cotton_wool_spots,
                drusen: scene.signs.drusen,
            },
            disc_mask,
            cup_mask,
        }
    }
}
