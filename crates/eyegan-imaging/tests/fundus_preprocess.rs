//! Fundus field detection, cropping, resizing, the preprocess pipeline and the small
//! conversions around it.

use std::io::Cursor;

use eyegan_imaging::{
    crop_fundus, decode_png_rgb, encode_png, find_fundus_field, from_chw_f32, image_grid,
    preprocess, resize_square, to_chw_f32, ImagingError, PreprocessOptions,
};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// A fundus-like disc (orange-red, brighter in the middle, with a dark "vessel") of radius `r`
/// at (cx, cy) on a black `width`x`height` canvas, with JPEG-like dark noise in the border and a
/// few bright specks of burnt-in text in a corner.
fn synthetic_fundus(width: u32, height: u32, cx: f32, cy: f32, r: f32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let d = (dx * dx + dy * dy).sqrt();
        if d <= r {
            let shade = 1.0 - 0.5 * (d / r) * (d / r);
            let vessel = if (dy - 0.3 * dx).abs() < 2.0 {
                0.5
            } else {
                1.0
            };
            Rgb([
                (200.0 * shade * vessel) as u8,
                (90.0 * shade * vessel) as u8,
                (40.0 * shade) as u8,
            ])
        } else if x < 12 && y < 4 && x % 3 == 0 {
            Rgb([255, 255, 255])
        } else {
            let n = ((x * 7 + y * 13) % 5) as u8;
            Rgb([n, n, n])
        }
    })
}

#[test]
fn finds_the_circle_on_a_larger_non_square_canvas() {
    let img = synthetic_fundus(300, 200, 170.0, 95.0, 80.0);
    let field = find_fundus_field(&img);
    assert!(field.border_found);
    assert!((field.center.0 - 170.0).abs() < 1.5, "{field:?}");
    assert!((field.center.1 - 95.0).abs() < 1.5, "{field:?}");
    assert!((field.radius - 80.0).abs() < 1.5, "{field:?}");
    let (x0, y0, x1, y1) = field.bbox;
    assert!(
        (89..=91).contains(&x0) && (249..=251).contains(&x1),
        "{field:?}"
    );
    assert!(
        (14..=16).contains(&y0) && (174..=176).contains(&y1),
        "{field:?}"
    );

    let crop = crop_fundus(&img);
    assert_eq!(crop.dimensions(), (160, 160));
    assert_eq!(crop.get_pixel(80, 80), img.get_pixel(170, 95));
    for corner in [(0, 0), (159, 0), (0, 159), (159, 159)] {
        assert!(
            crop.get_pixel(corner.0, corner.1).0[0] < 10,
            "corner {corner:?} is not black"
        );
    }
}

#[test]
fn a_field_cut_by_the_frame_is_measured_by_its_widest_row_and_padded_back() {
    // Radius 100 on a 160-pixel-high canvas: top and bottom of the circle are cut off.
    let img = synthetic_fundus(260, 160, 130.0, 80.0, 100.0);
    let field = find_fundus_field(&img);
    assert!(field.border_found);
    assert!((field.radius - 100.0).abs() < 1.5, "{field:?}");
    assert!(
        (field.center.0 - 130.0).abs() < 1.5 && (field.center.1 - 80.0).abs() < 1.5,
        "{field:?}"
    );
    let crop = crop_fundus(&img);
    assert_eq!(crop.dimensions(), (200, 200));
    // The 20 padded rows above and below are black; the field's middle is kept.
    assert_eq!(crop.get_pixel(100, 5).0, [0, 0, 0]);
    assert_eq!(crop.get_pixel(100, 195).0, [0, 0, 0]);
    assert_eq!(crop.get_pixel(100, 100), img.get_pixel(130, 80));
}

#[test]
fn without_a_border_the_whole_image_is_the_field() {
    let bright = RgbImage::from_pixel(90, 60, Rgb([180, 80, 40]));
    let field = find_fundus_field(&bright);
    assert!(!field.border_found);
    assert_eq!(field.bbox, (0, 0, 90, 60));
    let crop = crop_fundus(&bright);
    assert_eq!(crop.dimensions(), (90, 90));
    assert_eq!(crop.get_pixel(45, 45).0, [180, 80, 40]);
    assert_eq!(crop.get_pixel(45, 2).0, [0, 0, 0]);

    let black = RgbImage::new(50, 40);
    assert!(!find_fundus_field(&black).border_found);
}

#[test]
fn resize_square_pads_non_square_images_instead_of_stretching() {
    let img = RgbImage::from_pixel(200, 100, Rgb([200, 100, 50]));
    let out = resize_square(&img, 50);
    assert_eq!(out.dimensions(), (50, 50));
    assert_eq!(out.get_pixel(25, 25).0, [200, 100, 50]);
    assert_eq!(out.get_pixel(25, 2).0, [0, 0, 0]);
    // Large downscales (pre-reduction + Lanczos) keep flat colours flat.
    let big = RgbImage::from_pixel(1000, 1000, Rgb([10, 200, 90]));
    let small = resize_square(&big, 32);
    assert!(small.pixels().all(|p| p.0 == [10, 200, 90]));
}

#[test]
fn preprocess_crops_resizes_and_encodes() {
    let img = synthetic_fundus(300, 200, 170.0, 95.0, 80.0);
    let mut jpeg = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img)
        .write_to(&mut jpeg, ImageFormat::Jpeg)
        .unwrap();
    let opts = PreprocessOptions {
        target_size: 32,
        ..PreprocessOptions::default()
    };
    let out = preprocess(jpeg.get_ref(), &opts).unwrap();
    assert_eq!((out.original_width, out.original_height), (300, 200));
    assert_eq!(out.image.dimensions(), (32, 32));
    assert_eq!(decode_png_rgb(&out.png).unwrap(), out.image);
    // The field fills the square: inside it is bright (off the dark "vessel"), corners black.
    assert!(
        out.image.get_pixel(16, 8).0[0] > 150,
        "{:?}",
        out.image.get_pixel(16, 8)
    );
    assert!(out.image.get_pixel(0, 0).0[0] < 20);

    let uncropped = preprocess(
        jpeg.get_ref(),
        &PreprocessOptions {
            crop_fundus: false,
            ..opts
        },
    )
    .unwrap();
    // Without cropping, the 300x200 canvas is padded to a square: the top rows are black.
    assert!(uncropped.image.get_pixel(16, 2).0[0] < 20);
}

#[test]
fn preprocess_refuses_an_absurd_target_size_and_bad_input() {
    let png = encode_png(&RgbImage::new(4, 4)).unwrap();
    let err = preprocess(
        &png,
        &PreprocessOptions {
            target_size: 0,
            ..PreprocessOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("target_size"), "{err}");
    assert!(matches!(
        preprocess(&[], &PreprocessOptions::default()),
        Err(ImagingError::Empty)
    ));
}

#[test]
fn png_round_trips_and_bad_stored_pngs_are_reported() {
    let img = RgbImage::from_fn(17, 9, |x, y| Rgb([x as u8 * 15, y as u8 * 28, 99]));
    let png = encode_png(&img).unwrap();
    assert_eq!(decode_png_rgb(&png).unwrap(), img);
    assert!(matches!(decode_png_rgb(&[]), Err(ImagingError::Empty)));
    assert!(matches!(
        decode_png_rgb(b"garbage"),
        Err(ImagingError::Corrupt { .. })
    ));
}

#[test]
fn chw_layout_round_trips_and_is_planar() {
    let img = RgbImage::from_fn(3, 2, |x, y| Rgb([x as u8 * 100, y as u8 * 255, 0]));
    let chw = to_chw_f32(&img);
    assert_eq!(chw.len(), 18);
    assert_eq!(chw[2], 200.0 / 127.5 - 1.0); // red plane, pixel (2, 0)
    assert_eq!(chw[6 + 3], 1.0); // green plane, pixel (0, 1)
    assert_eq!(chw[12], -1.0); // blue plane
    assert!(chw.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(from_chw_f32(&chw, 3, 2), img);
    let clamped = from_chw_f32(&[2.0, -3.0, f32::NAN], 1, 1);
    assert_eq!(clamped.get_pixel(0, 0).0, [255, 0, 0]);
}

#[test]
fn image_grid_tiles_with_padding() {
    let tiles: Vec<RgbImage> = (0..5)
        .map(|i| RgbImage::from_pixel(4, 3, Rgb([i * 50, 0, 0])))
        .collect();
    let grid = image_grid(&tiles, 3, 1);
    assert_eq!(grid.dimensions(), (3 * 4 + 4, 2 * 3 + 3));
    assert_eq!(grid.get_pixel(1, 1).0, [0, 0, 0]);
    assert_eq!(grid.get_pixel(6, 1).0, [50, 0, 0]);
    assert_eq!(grid.get_pixel(6, 5).0, [200, 0, 0]);
    assert_eq!(grid.get_pixel(0, 0).0, [0, 0, 0]);
    assert_eq!(image_grid(&[], 3, 1).dimensions(), (1, 1));
}
