//! The phantom is a pure function of (seed, class, index, size, difficulty): same pixels every
//! time, for any thread count, and pinned by golden hashes; different indices differ.

use std::collections::HashSet;

use eyegan_imaging::phantom::{
    self, file_name, render, try_render, write_image_folder, Difficulty, PhantomClass, PhantomError,
};
use eyegan_imaging::{decode_png_rgb, find_fundus_field};
use image::RgbImage;
use sha2::{Digest, Sha256};

fn pixel_hash(img: &RgbImage) -> String {
    let mut hasher = Sha256::new();
    hasher.update(img.width().to_le_bytes());
    hasher.update(img.height().to_le_bytes());
    hasher.update(img.as_raw());
    hex::encode(hasher.finalize())
}

#[test]
fn the_same_request_gives_the_same_pixels() {
    let d = Difficulty::default();
    for class in PhantomClass::ALL {
        let a = render(7, class, 3, 48, &d);
        let b = render(7, class, 3, 48, &d);
        assert_eq!(pixel_hash(&a), pixel_hash(&b), "{class}");
    }
}

#[test]
fn thread_count_does_not_change_pixels() {
    let d = Difficulty::default();
    let batch_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            PhantomClass::ALL
                .iter()
                .flat_map(|&class| phantom::render_batch(11, class, 0..6, 40, &d).unwrap())
                .map(|img| pixel_hash(&img))
                .collect::<Vec<_>>()
        })
    };
    let one = batch_with(1);
    assert_eq!(one, batch_with(2));
    // A batch equals image-by-image rendering.
    assert_eq!(
        one[7],
        pixel_hash(&render(11, PhantomClass::Glaucoma, 1, 40, &d))
    );
}

/// Pinned pixels. If a deliberate change to the renderer alters them, update the hashes and say
/// so in the change: stored phantom data sets will differ from then on.
#[test]
fn golden_hashes_are_stable() {
    let d = Difficulty::default();
    let cases = [
        (
            PhantomClass::Glaucoma,
            0,
            64,
            "828200c13a16db5058e982c2c5d90ecce83cbd290975eeb2fe050f89229319be",
        ),
        (
            PhantomClass::DiabeticRetinopathy,
            5,
            32,
            "b8ad17e9f9955f85760bfa6e6904ed5b80791c8930cd6c0a52b947bef0e65681",
        ),
    ];
    for (class, index, size, expected) in cases {
        let got = pixel_hash(&render(42, class, index, size, &d));
        assert_eq!(got, expected, "{class} #{index} at {size}");
    }
}

#[test]
fn no_two_images_of_a_four_by_fifty_set_are_identical() {
    let d = Difficulty::default();
    let mut seen = HashSet::new();
    for class in PhantomClass::ALL {
        for img in phantom::render_batch(0, class, 0..50, 32, &d).unwrap() {
            assert!(
                seen.insert(pixel_hash(&img)),
                "duplicate image in class {class}"
            );
        }
    }
    assert_eq!(seen.len(), 200);
    // Seeds matter too.
    assert_ne!(
        pixel_hash(&render(0, PhantomClass::Normal, 0, 32, &d)),
        pixel_hash(&render(1, PhantomClass::Normal, 0, 32, &d))
    );
}

#[test]
fn sizes_outside_16_to_512_and_bad_difficulties_are_refused() {
    let d = Difficulty::default();
    for size in [0, 15, 513] {
        let err = try_render(0, PhantomClass::Normal, 0, size, &d).unwrap_err();
        assert!(
            matches!(err, PhantomError::SizeOutOfRange { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(&size.to_string()), "{err}");
    }
    assert_eq!(
        try_render(0, PhantomClass::Normal, 0, 16, &d)
            .unwrap()
            .dimensions(),
        (16, 16)
    );
    let bad = Difficulty {
        severity_min: 0.9,
        severity_max: 0.2,
        ..d
    };
    let err = try_render(0, PhantomClass::Myopia, 0, 32, &bad).unwrap_err();
    assert!(err.to_string().contains("severity_min"), "{err}");
    let bad = Difficulty {
        noise: f32::NAN,
        ..d
    };
    assert!(try_render(0, PhantomClass::Myopia, 0, 32, &bad)
        .unwrap_err()
        .to_string()
        .contains("noise"));
}

#[test]
fn the_field_is_a_bright_circle_on_black_that_the_preprocessor_finds() {
    let d = Difficulty::default();
    for class in PhantomClass::ALL {
        let (img, truth) = phantom::render_with_truth(3, class, 0, 128, &d).unwrap();
        assert!(
            img.get_pixel(0, 0).0.iter().all(|&v| v < 16),
            "{class}: corner not black"
        );
        let centre = img.get_pixel(64, 64).0;
        assert!(
            centre[0] > 60 && centre[0] > centre[2],
            "{class}: centre {centre:?} not orange-red"
        );
        let field = find_fundus_field(&img);
        assert!(field.border_found, "{class}");
        assert!(
            (field.radius - truth.field_radius).abs() < 2.5,
            "{class}: {field:?} vs {}",
            truth.field_radius
        );
        assert!(
            (field.center.0 - truth.field_center.0).abs() < 2.0,
            "{class}: {field:?}"
        );
        assert!(
            (field.center.1 - truth.field_center.1).abs() < 2.0,
            "{class}: {field:?}"
        );
    }
}

#[test]
fn the_image_folder_holds_every_class_with_the_rendered_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let d = Difficulty::default();
    let summary = write_image_folder(dir.path(), 2, 32, 5, &d).unwrap();
    assert_eq!(summary.images, 8);
    for class in PhantomClass::ALL {
        for index in 0..2 {
            let path = dir.path().join(class.name()).join(file_name(class, index));
            let stored = decode_png_rgb(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(
                stored,
                render(5, class, index, 32, &d),
                "{}",
                path.display()
            );
        }
    }
    assert_eq!(
        file_name(PhantomClass::DiabeticRetinopathy, 7),
        "diabetic_retinopathy_0007.png"
    );
    let sheet = phantom::contact_sheet(3, 32, 5, &d).unwrap();
    assert_eq!(sheet.dimensions(), (3 * 32 + 4 * 2, 4 * 32 + 5 * 2));
}
