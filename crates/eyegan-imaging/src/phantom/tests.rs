//! Tests that look inside a scene: painted signs change the pixels where they are drawn.

use super::class::PhantomClass;
use super::difficulty::Difficulty;
use super::render::render_scene;
use super::scene::Scene;

fn max_difference(a: &image::RgbImage, b: &image::RgbImage) -> u8 {
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

fn pinned(severity: f32) -> Difficulty {
    Difficulty {
        severity_min: severity,
        severity_max: severity,
        ..Difficulty::default()
    }
}

#[test]
fn diabetic_lesions_are_visible_in_the_pixels() {
    for (severity, min_change) in [(1.0, 60), (0.0, 1)] {
        for index in 0..3 {
            let scene = Scene::plan(
                9,
                PhantomClass::DiabeticRetinopathy,
                index,
                &pinned(severity),
            );
            assert!(!scene.lesions.is_empty());
            let with = render_scene(&scene, 128);
            let without = render_scene(
                &Scene {
                    lesions: Vec::new(),
                    ..scene
                },
                128,
            );
            let change = max_difference(&with, &without);
            assert!(
                change >= min_change,
                "severity {severity}: lesions change pixels by only {change}"
            );
        }
    }
}

#[test]
fn glaucomatous_cups_are_larger_and_paler_than_normal_ones() {
    let glaucoma = Scene::plan(4, PhantomClass::Glaucoma, 0, &pinned(1.0));
    let normal = Scene::plan(4, PhantomClass::Normal, 0, &Difficulty::default());
    assert!(glaucoma.anatomy.cup.ry / glaucoma.anatomy.disc.ry > 0.85);
    assert!(normal.anatomy.cup.ry / normal.anatomy.disc.ry < 0.5);
    assert!(glaucoma.signs.vessel_kink > normal.signs.vessel_kink);
    assert!(glaucoma.anatomy.cup_pallor > normal.anatomy.cup_pallor);
}

#[test]
fn tessellation_changes_the_background() {
    let scene = Scene::plan(2, PhantomClass::Myopia, 0, &pinned(1.0));
    let mut flat = scene.clone();
    flat.anatomy.fundus.tessellation = 0.0;
    let change = max_difference(&render_scene(&scene, 64), &render_scene(&flat, 64));
    assert!(change > 30, "tessellation changes pixels by only {change}");
}

#[test]
fn severity_follows_the_difficulty() {
    let easy = Difficulty::easy();
    for index in 0..20 {
        let s = Scene::plan(1, PhantomClass::Myopia, index, &easy)
            .signs
            .severity;
        assert!((easy.severity_min..=easy.severity_max).contains(&s), "{s}");
        assert_eq!(
            Scene::plan(1, PhantomClass::Normal, index, &easy)
                .signs
                .severity,
            0.0
        );
    }
}
