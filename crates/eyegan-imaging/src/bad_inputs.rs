//! Hand-made malformed files for tests of every component that accepts uploads.
//!
//! Each function returns bytes that a robust importer must refuse with a clear reason; the
//! dataset service's tests use them as well as this crate's.

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};

/// A well-formed PNG (valid CRCs, a real IDAT, IEND) whose header announces `width`x`height`
/// 8-bit RGB pixels while carrying the data of a single black pixel. With a 1x1 header it is a
/// valid image; with a large one, decoding it naively would allocate `3 * width * height` bytes.
pub fn png_claiming_size(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, adaptive, no interlace
    push_chunk(&mut png, b"IHDR", &ihdr);
    // zlib header, one final stored block of 4 zero bytes (filter byte + one black RGB pixel),
    // Adler-32 of those bytes.
    let idat = [
        0x78, 0x01, 0x01, 0x04, 0x00, 0xFB, 0xFF, 0, 0, 0, 0, 0x00, 0x04, 0x00, 0x01,
    ];
    push_chunk(&mut png, b"IDAT", &idat);
    push_chunk(&mut png, b"IEND", &[]);
    png
}

/// A valid baseline JPEG of a smooth gradient, cut to its first half (no end-of-image marker).
pub fn truncated_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut jpeg = gradient_jpeg(width, height);
    jpeg.truncate(jpeg.len() / 2);
    jpeg
}

/// A file that starts like a JPEG (SOI and an APP0 marker) followed by garbage.
pub fn corrupt_jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    bytes.extend((0..600_u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    bytes
}

/// Plain text, as if someone named a note `photo.png`.
pub fn text_file() -> Vec<u8> {
    b"patient notes: not an image at all\n".to_vec()
}

/// A complete, valid JPEG of a smooth colour gradient (quality 90).
pub fn gradient_jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            128,
        ])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(img.as_raw(), width, height, ExtendedColorType::Rgb8)
        .expect("encoding an in-memory gradient as JPEG cannot fail");
    out
}

fn push_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (IEEE 802.3, reflected), as PNG chunks use.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_png_specification_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}
