//! Locating the circular fundus field on its black surround, and cropping to it.

use image::RgbImage;

/// Where the illuminated fundus field lies in an image, in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FundusField {
    /// Centre of the field circle (x, y); may lie anywhere when the frame cuts the circle.
    pub center: (f32, f32),
    /// Radius of the field circle in pixels.
    pub radius: f32,
    /// Bounding box of the bright pixels: (x0, y0, x1, y1), exclusive upper bounds.
    pub bbox: (u32, u32, u32, u32),
    /// False when no black border was found and the whole image is taken as the field.
    pub border_found: bool,
}

/// Darkest threshold that still counts as "inside the field" (8-bit, max channel).
const MIN_THRESHOLD: f32 = 10.0;
/// Fraction of the bright level (98th percentile) used as the field threshold.
const THRESHOLD_FRACTION: f32 = 0.12;
/// A row or column belongs to the field when it has at least this share of the longest one's
/// bright pixels (rejects burnt-in text and specks in the border).
const PROFILE_FRACTION: f32 = 0.05;
/// Rows (columns) within this fraction of the widest (tallest) one locate the circle's centre.
const PLATEAU_FRACTION: f32 = 0.01;

/// Finds the bright fundus field on a black border.
///
/// The threshold adapts to the exposure (a fraction of the 98th-percentile brightness of the
/// maximum channel, never below 10/255). The radius comes from the widest row or tallest
/// column, whichever is longer, so fields cut by the top and bottom of the frame are measured
/// correctly. With no border (bright pixels nearly everywhere) or no field (all dark), the whole
/// image is returned with `border_found = false`.
pub fn find_fundus_field(img: &RgbImage) -> FundusField {
    let (width, height) = img.dimensions();
    let whole = whole_image(width, height);
    if width == 0 || height == 0 {
        return whole;
    }
    let brightness: Vec<u8> = img
        .pixels()
        .map(|p| p.0[0].max(p.0[1]).max(p.0[2]))
        .collect();
    let threshold = (percentile(&brightness, 0.98) * THRESHOLD_FRACTION).max(MIN_THRESHOLD);
    let bright = |x: u32, y: u32| f32::from(brightness[(y * width + x) as usize]) > threshold;

    let rows: Vec<Extent> = (0..height)
        .map(|y| Extent::scan((0..width).map(|x| bright(x, y))))
        .collect();
    let cols: Vec<Extent> = (0..width)
        .map(|x| Extent::scan((0..height).map(|y| bright(x, y))))
        .collect();
    let bright_total: u64 = rows.iter().map(|r| u64::from(r.count)).sum();
    let area = u64::from(width) * u64::from(height);
    if bright_total * 100 < area || bright_total * 100 > area * 97 {
        return whole;
    }

    let row_span = robust_spans(&rows);
    let col_span = robust_spans(&cols);
    let (Some((widest, cy)), Some((tallest, cx))) = (row_span, col_span) else {
        return whole;
    };
    let radius = widest.max(tallest) / 2.0;
    let x0 = first_member(&cols).unwrap_or(0);
    let x1 = last_member(&cols).map_or(width, |x| x + 1);
    let y0 = first_member(&rows).unwrap_or(0);
    let y1 = last_member(&rows).map_or(height, |y| y + 1);
    FundusField {
        center: (cx, cy),
        radius,
        bbox: (x0, y0, x1, y1),
        border_found: true,
    }
}

/// A square crop of side `2 * radius` around the field, padded with black wherever the field
/// extends beyond the frame. Without a border the image is padded to a centred square.
///
/// The crop is built at full resolution, so it can hold far more pixels than `img` when the
/// image is much longer than wide; the import pipeline ([`crate::preprocess`]) resizes the window
/// without building it.
pub fn crop_fundus(img: &RgbImage) -> RgbImage {
    let (left, top, side) = fundus_window(img);
    copy_window(img, left, top, side)
}

/// The square window around the fundus field that [`crop_fundus`] copies: its top-left corner
/// (which may lie outside `img`) and its side.
pub(crate) fn fundus_window(img: &RgbImage) -> (i64, i64, u32) {
    let field = find_fundus_field(img);
    let side = (2.0 * field.radius).round().max(1.0) as u32;
    let left = (field.center.0 - side as f32 / 2.0).round() as i64;
    let top = (field.center.1 - side as f32 / 2.0).round() as i64;
    (left, top, side)
}

/// Copies a `side`x`side` window whose top-left corner is at (left, top), black outside `img`.
pub(crate) fn copy_window(img: &RgbImage, left: i64, top: i64, side: u32) -> RgbImage {
    let (width, height) = img.dimensions();
    let mut out = RgbImage::new(side, side);
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let sx = left + i64::from(x);
        let sy = top + i64::from(y);
        if (0..i64::from(width)).contains(&sx) && (0..i64::from(height)).contains(&sy) {
            *pixel = *img.get_pixel(sx as u32, sy as u32);
        }
    }
    out
}

fn whole_image(width: u32, height: u32) -> FundusField {
    FundusField {
        center: (width as f32 / 2.0, height as f32 / 2.0),
        radius: width.max(height) as f32 / 2.0,
        bbox: (0, 0, width, height),
        border_found: false,
    }
}

/// The bright run of one row or column: how many bright pixels, and the first/last of them.
#[derive(Debug, Clone, Copy)]
struct Extent {
    count: u32,
    first: u32,
    last: u32,
}

impl Extent {
    fn scan(bright: impl Iterator<Item = bool>) -> Self {
        let mut extent = Extent {
            count: 0,
            first: 0,
            last: 0,
        };
        for (i, is_bright) in bright.enumerate() {
            if is_bright {
                if extent.count == 0 {
                    extent.first = i as u32;
                }
                extent.last = i as u32;
                extent.count += 1;
            }
        }
        extent
    }

    fn span(&self) -> f32 {
        if self.count == 0 {
            0.0
        } else {
            (self.last - self.first + 1) as f32
        }
    }
}

/// Longest span among the lines that belong to the field, and the mean position of the lines
/// whose span is within [`PLATEAU_FRACTION`] of it (the centre of a circle).
fn robust_spans(lines: &[Extent]) -> Option<(f32, f32)> {
    let max_count = lines.iter().map(|l| l.count).max()?;
    let member = |l: &Extent| l.count as f32 >= max_count as f32 * PROFILE_FRACTION;
    // A line's span counts only if most of it is bright, so stray specks cannot stretch it.
    let solid_span = |l: &Extent| {
        if member(l) && l.count as f32 >= 0.8 * l.span() {
            l.span()
        } else {
            0.0
        }
    };
    let longest = lines.iter().map(solid_span).fold(0.0_f32, f32::max);
    if longest <= 0.0 {
        return None;
    }
    let (sum, n) = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| solid_span(l) >= longest * (1.0 - PLATEAU_FRACTION))
        .fold((0.0_f64, 0_u32), |(s, n), (i, _)| {
            (s + i as f64 + 0.5, n + 1)
        });
    Some((longest, (sum / f64::from(n)) as f32))
}

fn first_member(lines: &[Extent]) -> Option<u32> {
    let max_count = lines.iter().map(|l| l.count).max()?;
    lines
        .iter()
        .position(|l| l.count as f32 >= max_count as f32 * PROFILE_FRACTION)
        .map(|i| i as u32)
}

fn last_member(lines: &[Extent]) -> Option<u32> {
    let max_count = lines.iter().map(|l| l.count).max()?;
    lines
        .iter()
        .rposition(|l| l.count as f32 >= max_count as f32 * PROFILE_FRACTION)
        .map(|i| i as u32)
}

/// The `q` quantile of 8-bit values, via a histogram.
fn percentile(values: &[u8], q: f32) -> f32 {
    let mut histogram = [0_u64; 256];
    for &v in values {
        histogram[usize::from(v)] += 1;
    }
    let target = (values.len() as f64 * f64::from(q)).ceil() as u64;
    let mut seen = 0;
    for (value, &count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= target.max(1) {
            return value as f32;
        }
    }
    255.0
}
