//! Contact sheets: many images tiled into one.

use image::RgbImage;

/// Tiles `images` row by row into `columns` columns with `padding` black pixels around and
/// between tiles. Each cell is as large as the largest image; smaller images sit top-left.
/// An empty slice gives a 1x1 black image.
pub fn image_grid(images: &[RgbImage], columns: u32, padding: u32) -> RgbImage {
    if images.is_empty() {
        return RgbImage::new(1, 1);
    }
    let columns = columns.clamp(1, images.len() as u32);
    let rows = (images.len() as u32).div_ceil(columns);
    let cell_w = images.iter().map(RgbImage::width).max().unwrap_or(1);
    let cell_h = images.iter().map(RgbImage::height).max().unwrap_or(1);
    let width = columns * cell_w + (columns + 1) * padding;
    let height = rows * cell_h + (rows + 1) * padding;
    let mut sheet = RgbImage::new(width, height);
    for (i, tile) in images.iter().enumerate() {
        let i = i as u32;
        let x = padding + (i % columns) * (cell_w + padding);
        let y = padding + (i / columns) * (cell_h + padding);
        image::imageops::replace(&mut sheet, tile, i64::from(x), i64::from(y));
    }
    sheet
}
