//! Decoding: every kind of bad input is refused with its own reason, and every supported pixel
//! layout decodes to the right 8-bit RGB.

use std::io::Cursor;

use eyegan_imaging::bad_inputs;
use eyegan_imaging::{decode, read_dimensions, DecodeLimits, ImagingError};
use image::codecs::png::PngEncoder;
use image::{
    DynamicImage, ExtendedColorType, GrayImage, ImageBuffer, ImageEncoder, ImageFormat, Luma, Rgb,
    Rgba, RgbaImage,
};

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[test]
fn zero_bytes_are_empty() {
    assert!(matches!(decode(&[], &limits()), Err(ImagingError::Empty)));
    assert!(matches!(read_dimensions(&[]), Err(ImagingError::Empty)));
}

#[test]
fn a_text_file_is_not_an_image_and_the_message_shows_its_start() {
    let err = decode(&bad_inputs::text_file(), &limits()).unwrap_err();
    assert!(matches!(err, ImagingError::NotAnImage { .. }), "{err:?}");
    assert!(err.to_string().contains("patient"), "{err}");
}

#[test]
fn a_truncated_jpeg_is_corrupt() {
    let err = decode(&bad_inputs::truncated_jpeg(64, 48), &limits()).unwrap_err();
    assert!(matches!(err, ImagingError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn a_jpeg_with_garbage_after_its_marker_is_corrupt() {
    let err = decode(&bad_inputs::corrupt_jpeg(), &limits()).unwrap_err();
    assert!(matches!(err, ImagingError::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_truncated_png_is_corrupt() {
    let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(40, 30, |x, y| {
        Rgb([x as u8 * 5, y as u8 * 7, (x * y) as u8])
    }));
    let mut png = encode(&img, ImageFormat::Png);
    png.truncate(png.len() - 40);
    let err = decode(&png, &limits()).unwrap_err();
    assert!(matches!(err, ImagingError::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_png_claiming_100000_squared_is_too_large_before_decoding() {
    let png = bad_inputs::png_claiming_size(100_000, 100_000);
    assert!(
        png.len() < 100,
        "the fixture itself is tiny: {} bytes",
        png.len()
    );
    assert_eq!(read_dimensions(&png).unwrap(), (100_000, 100_000));
    match decode(&png, &limits()) {
        Err(ImagingError::TooLarge {
            width,
            height,
            max_pixels,
        }) => {
            assert_eq!((width, height, max_pixels), (100_000, 100_000, 40_000_000));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn the_pixel_limit_is_configurable_and_inclusive() {
    let img = DynamicImage::ImageRgb8(image::RgbImage::new(20, 10));
    let png = encode(&img, ImageFormat::Png);
    assert!(decode(&png, &DecodeLimits { max_pixels: 200 }).is_ok());
    let err = decode(&png, &DecodeLimits { max_pixels: 199 }).unwrap_err();
    assert!(err.to_string().contains("20x10"), "{err}");
}

#[test]
fn a_valid_png_with_a_modest_header_passes_the_claim_check() {
    // The hand-built PNG is well-formed: with a 1x1 header it decodes to one black pixel,
    // proving the rejection above comes from the claimed size alone.
    let png = bad_inputs::png_claiming_size(1, 1);
    assert_eq!(read_dimensions(&png).unwrap(), (1, 1));
    let img = decode(&png, &limits()).unwrap();
    assert_eq!(img.dimensions(), (1, 1));
    assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0]);
    // A modest but wrong claim fails for lack of data, not for size.
    let short = bad_inputs::png_claiming_size(30, 30);
    assert!(matches!(
        decode(&short, &limits()),
        Err(ImagingError::Corrupt { .. })
    ));
}

#[test]
fn read_dimensions_reads_every_format_header() {
    let img = DynamicImage::ImageRgb8(image::RgbImage::new(37, 21));
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
    ] {
        let bytes = encode(&img, format);
        assert_eq!(read_dimensions(&bytes).unwrap(), (37, 21), "{format:?}");
        assert_eq!(
            decode(&bytes, &limits()).unwrap().dimensions(),
            (37, 21),
            "{format:?}"
        );
    }
}

#[test]
fn sixteen_bit_rgb_png_maps_to_the_high_byte() {
    let img: ImageBuffer<Rgb<u16>, Vec<u16>> =
        ImageBuffer::from_fn(8, 4, |x, y| Rgb([x as u16 * 8000, y as u16 * 16000, 65535]));
    let mut png = Vec::new();
    let raw: Vec<u8> = img.as_raw().iter().flat_map(|v| v.to_ne_bytes()).collect();
    PngEncoder::new(&mut png)
        .write_image(&raw, 8, 4, ExtendedColorType::Rgb16)
        .unwrap();
    let rgb = decode(&png, &limits()).unwrap();
    for (x, y, p) in rgb.enumerate_pixels() {
        let expected = [x as u16 * 8000, y as u16 * 16000, 65535]
            .map(|v| (f64::from(v) / 257.0).round() as u8);
        assert_eq!(p.0, expected, "pixel ({x}, {y})");
    }
}

#[test]
fn sixteen_bit_tiff_decodes() {
    let img: ImageBuffer<Rgb<u16>, Vec<u16>> =
        ImageBuffer::from_fn(6, 5, |x, _| Rgb([x as u16 * 10000, 0, 30000]));
    let bytes = encode(&DynamicImage::ImageRgb16(img), ImageFormat::Tiff);
    let rgb = decode(&bytes, &limits()).unwrap();
    assert_eq!(rgb.get_pixel(5, 0).0, [195, 0, 117]);
}

#[test]
fn grayscale_is_replicated_to_three_channels() {
    let gray = GrayImage::from_fn(9, 9, |x, y| Luma([(x * 20 + y) as u8]));
    for format in [ImageFormat::Png, ImageFormat::Bmp, ImageFormat::Tiff] {
        let bytes = encode(&DynamicImage::ImageLuma8(gray.clone()), format);
        let rgb = decode(&bytes, &limits()).unwrap();
        for (x, y, p) in rgb.enumerate_pixels() {
            let v = gray.get_pixel(x, y).0[0];
            assert_eq!(p.0, [v, v, v], "{format:?} ({x}, {y})");
        }
    }
    let gray16: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_fn(4, 4, |x, _| Luma([x as u16 * 20000]));
    let rgb = decode(
        &encode(&DynamicImage::ImageLuma16(gray16), ImageFormat::Png),
        &limits(),
    )
    .unwrap();
    assert_eq!(rgb.get_pixel(3, 0).0, [233, 233, 233]);
}

#[test]
fn rgba_drops_alpha() {
    let rgba = RgbaImage::from_fn(5, 5, |x, y| {
        Rgba([x as u8 * 40, y as u8 * 40, 7, (x * 50) as u8])
    });
    let rgb = decode(
        &encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
        &limits(),
    )
    .unwrap();
    assert_eq!(rgb.get_pixel(4, 2).0, [160, 80, 7]);
    assert_eq!(rgb.get_pixel(0, 0).0, [0, 0, 7]);
}

#[test]
fn a_jpeg_round_trips_within_compression_error() {
    let jpeg = bad_inputs::gradient_jpeg(64, 32);
    let rgb = decode(&jpeg, &limits()).unwrap();
    assert_eq!(rgb.dimensions(), (64, 32));
    let p = rgb.get_pixel(32, 16).0;
    assert!(
        (i32::from(p[0]) - 127).abs() <= 6 && (i32::from(p[2]) - 128).abs() <= 6,
        "{p:?}"
    );
}
