//! The class signs are measurable in what is rendered: cup-to-disc ratio from the disc and cup
//! masks, disc ovality from the disc mask's moments, lesions in DR only, both eyes present.

use eyegan_imaging::phantom::{render_with_truth, Difficulty, Eye, PhantomClass, PhantomTruth};
use image::GrayImage;

/// Severity pinned at the subtle end, the default spread, and pinned at the obvious end.
fn difficulties() -> [Difficulty; 3] {
    let d = Difficulty::default();
    [
        Difficulty {
            severity_min: 0.0,
            severity_max: 0.0,
            ..d
        },
        d,
        Difficulty {
            severity_min: 1.0,
            severity_max: 1.0,
            ..d
        },
    ]
}

fn truths(class: PhantomClass, count: u32, size: u32) -> Vec<PhantomTruth> {
    difficulties()
        .iter()
        .flat_map(|d| (0..count).map(move |i| render_with_truth(21, class, i, size, d).unwrap().1))
        .collect()
}

/// Vertical extent of an anti-aliased mask: per row the largest coverage, summed (sub-pixel).
fn vertical_extent(mask: &GrayImage) -> f32 {
    (0..mask.height())
        .map(|y| {
            (0..mask.width())
                .map(|x| mask.get_pixel(x, y).0[0])
                .max()
                .unwrap_or(0) as f32
                / 255.0
        })
        .sum()
}

/// Minor over major axis of a mask, from its second moments.
fn ovality(mask: &GrayImage) -> f32 {
    let (mut m, mut sx, mut sy) = (0.0_f64, 0.0, 0.0);
    for (x, y, p) in mask.enumerate_pixels() {
        let w = f64::from(p.0[0]);
        m += w;
        sx += w * f64::from(x);
        sy += w * f64::from(y);
    }
    let (cx, cy) = (sx / m, sy / m);
    let (mut cxx, mut cyy, mut cxy) = (0.0, 0.0, 0.0);
    for (x, y, p) in mask.enumerate_pixels() {
        let w = f64::from(p.0[0]) / m;
        let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
        cxx += w * dx * dx;
        cyy += w * dy * dy;
        cxy += w * dx * dy;
    }
    let mean = (cxx + cyy) / 2.0;
    let spread = (((cxx - cyy) / 2.0).powi(2) + cxy * cxy).sqrt();
    ((mean - spread) / (mean + spread)).sqrt() as f32
}

#[test]
fn vertical_cdr_measured_from_the_masks_is_in_the_class_range() {
    for class in PhantomClass::ALL {
        for truth in truths(class, 6, 256) {
            let measured = vertical_extent(&truth.cup_mask) / vertical_extent(&truth.disc_mask);
            assert!(
                (measured - truth.vertical_cdr).abs() < 0.03,
                "{class}: measured {measured:.3} vs drawn {:.3}",
                truth.vertical_cdr
            );
            let range = if class == PhantomClass::Glaucoma {
                0.6..=0.9
            } else {
                0.2..=0.5
            };
            assert!(
                range.contains(&measured),
                "{class}: vertical CDR {measured:.3} outside {range:?}"
            );
        }
    }
}

#[test]
fn myopic_discs_are_oval_and_others_nearly_round() {
    for class in PhantomClass::ALL {
        for truth in truths(class, 6, 128) {
            let measured = ovality(&truth.disc_mask);
            assert!(
                (measured - truth.disc_ovality).abs() < 0.04,
                "{class}: {measured} vs {}",
                truth.disc_ovality
            );
            if class == PhantomClass::Myopia {
                assert!(measured < 0.85, "{class}: ovality {measured:.3}");
                assert!(
                    truth.ppa_width > 0.1 && truth.tessellation >= 0.3,
                    "{class}: {truth:?}"
                );
            } else {
                assert!(measured > 0.86, "{class}: ovality {measured:.3}");
            }
        }
    }
}

#[test]
fn only_diabetic_images_have_diabetic_lesions() {
    for class in PhantomClass::ALL {
        for truth in truths(class, 8, 32) {
            let lesions = truth.lesions.diabetic();
            match class {
                PhantomClass::DiabeticRetinopathy => {
                    assert!(lesions >= 2, "{class}: {:?}", truth.lesions)
                }
                PhantomClass::Glaucoma => assert!(lesions <= 1, "{class}: {:?}", truth.lesions),
                _ => assert_eq!(lesions, 0, "{class}: {:?}", truth.lesions),
            }
        }
    }
    // Severe DR shows many lesions of several kinds.
    let severe = Difficulty {
        severity_min: 1.0,
        ..Difficulty::default()
    };
    let (_, truth) =
        render_with_truth(1, PhantomClass::DiabeticRetinopathy, 0, 32, &severe).unwrap();
    assert!(
        truth.lesions.microaneurysms > 15 && truth.lesions.blot_haemorrhages > 5,
        "{:?}",
        truth.lesions
    );
}

#[test]
fn both_eyes_occur_and_the_disc_sits_nasally() {
    let mut eyes = [0, 0];
    for truth in truths(PhantomClass::Normal, 12, 32) {
        let right_of_centre = truth.disc_center.0 > truth.field_center.0;
        match truth.eye {
            Eye::Right => {
                eyes[0] += 1;
                assert!(right_of_centre, "{truth:?}");
            }
            Eye::Left => {
                eyes[1] += 1;
                assert!(!right_of_centre, "{truth:?}");
            }
        }
    }
    assert!(eyes[0] > 0 && eyes[1] > 0, "{eyes:?}");
}
