//! Inputs found by the `image_import` fuzz target (fuzz/README.md), kept as regression tests.

use std::sync::mpsc;
use std::time::Duration;

use eyegan_imaging::{preprocess, resize_square, DecodeLimits, PreprocessOptions};
use image::{Rgb, RgbImage};

/// Runs `work` on its own thread and fails when it has not finished within `limit`: the bugs
/// these inputs found were runaway computations, not panics.
fn within<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}

/// A 401-byte BMP announcing 7x63749 pixels (inside a 1-megapixel budget). Padding it to a
/// square at full resolution built a 63749x63749 image (4 gigapixels, 12 GB) and area-averaged
/// all of it: the fuzzer's run hung in `resize_square` for minutes.
const THIN_BMP: &[u8] = include_bytes!("data/fuzz-thin-bmp-7x63749.bmp");

#[test]
fn a_thin_image_inside_the_pixel_budget_is_not_padded_at_full_resolution() {
    for crop_fundus in [true, false] {
        let options = PreprocessOptions {
            target_size: 32,
            crop_fundus,
            limits: DecodeLimits {
                max_pixels: 1 << 20,
            },
        };
        let done = within(Duration::from_secs(30), move || {
            preprocess(THIN_BMP, &options)
        })
        .expect("the thin BMP decodes");
        assert_eq!((done.original_width, done.original_height), (7, 63749));
        assert_eq!(done.image.dimensions(), (32, 32));
    }
}

#[test]
fn resize_square_of_a_one_pixel_column_is_a_centred_line() {
    let column = RgbImage::from_pixel(1, 200_000, Rgb([200, 100, 50]));
    let out = within(Duration::from_secs(30), move || resize_square(&column, 16));
    assert_eq!(out.dimensions(), (16, 16));
    // The content keeps its place in the middle; the padding stays black.
    assert!(out.get_pixel(8, 8).0[0] > 0, "{:?}", out.get_pixel(8, 8));
    assert_eq!(out.get_pixel(0, 8).0, [0, 0, 0]);
    assert_eq!(out.get_pixel(15, 8).0, [0, 0, 0]);
}
