//! Minimal line charts drawn with `image` (no fonts): a framed plot with grid lines and one
//! polyline per series. Axis ranges are printed next to the figure by the HTML.

use image::{Rgb, RgbImage};

/// One curve.
#[derive(Debug, Clone)]
pub struct Series {
    /// Points (x, y); non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Line colour.
    pub color: [u8; 3],
}

/// The value ranges a chart was drawn with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranges {
    /// x from..to.
    pub x: (f64, f64),
    /// y from..to.
    pub y: (f64, f64),
}

const MARGIN: u32 = 8;

/// Palette for series, distinguishable on white.
pub const PALETTE: [[u8; 3]; 6] = [
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [255, 127, 14],
    [148, 103, 189],
    [23, 190, 207],
];

/// Draws `series` into a `width`×`height` image; returns it with the ranges used.
pub fn line_chart(series: &[Series], width: u32, height: u32) -> (RgbImage, Ranges) {
    let mut image = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let finite = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in finite {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let plot_w = (width - 2 * MARGIN - 1) as f64;
    let plot_h = (height - 2 * MARGIN - 1) as f64;
    let to_pixel = |x: f64, y: f64| -> (i64, i64) {
        let px = MARGIN as f64 + (x - x0) / (x1 - x0) * plot_w;
        let py = MARGIN as f64 + (1.0 - (y - y0) / (y1 - y0)) * plot_h;
        (px.round() as i64, py.round() as i64)
    };
    let grey = Rgb([225, 225, 225]);
    for i in 0..=4 {
        let y = MARGIN + (i * (height - 2 * MARGIN - 1)) / 4;
        let x = MARGIN + (i * (width - 2 * MARGIN - 1)) / 4;
        line(
            &mut image,
            (MARGIN as i64, y as i64),
            ((width - MARGIN - 1) as i64, y as i64),
            grey,
        );
        line(
            &mut image,
            (x as i64, MARGIN as i64),
            (x as i64, (height - MARGIN - 1) as i64),
            grey,
        );
    }
    let frame = Rgb([90, 90, 90]);
    let (l, t, r, b) = (
        MARGIN as i64,
        MARGIN as i64,
        (width - MARGIN - 1) as i64,
        (height - MARGIN - 1) as i64,
    );
    for (from, to) in [
        ((l, t), (r, t)),
        ((r, t), (r, b)),
        ((r, b), (l, b)),
        ((l, b), (l, t)),
    ] {
        line(&mut image, from, to, frame);
    }
    for s in series {
        let points: Vec<(i64, i64)> = s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| to_pixel(x, y))
            .collect();
        for pair in points.windows(2) {
            line(&mut image, pair[0], pair[1], Rgb(s.color));
        }
        if points.len() == 1 {
            line(&mut image, points[0], points[0], Rgb(s.color));
        }
    }
    (
        image,
        Ranges {
            x: (x0, x1),
            y: (y0, y1),
        },
    )
}

/// Bresenham line, clipped to the image.
fn line(image: &mut RgbImage, from: (i64, i64), to: (i64, i64), color: Rgb<u8>) {
    let (mut x, mut y) = from;
    let dx = (to.0 - x).abs();
    let dy = -(to.1 - y).abs();
    let sx = if x < to.0 { 1 } else { -1 };
    let sy = if y < to.1 { 1 } else { -1 };
    let mut error = dx + dy;
    loop {
        if x >= 0 && y >= 0 && (x as u32) < image.width() && (y as u32) < image.height() {
            image.put_pixel(x as u32, y as u32, color);
        }
        if x == to.0 && y == to.1 {
            break;
        }
        let e2 = 2 * error;
        if e2 >= dy {
            error += dy;
            x += sx;
        }
        if e2 <= dx {
            error += dx;
            y += sy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rising_line_goes_from_bottom_left_to_top_right() {
        let series = [Series {
            points: vec![(0.0, 0.0), (10.0, 5.0)],
            color: [255, 0, 0],
        }];
        let (image, ranges) = line_chart(&series, 100, 60);
        assert_eq!(ranges.x, (0.0, 10.0));
        assert_eq!(ranges.y, (0.0, 5.0));
        assert_eq!(image.get_pixel(MARGIN, 60 - MARGIN - 1), &Rgb([255, 0, 0]));
        assert_eq!(image.get_pixel(100 - MARGIN - 1, MARGIN), &Rgb([255, 0, 0]));
        assert_eq!(
            image.get_pixel(100 - MARGIN - 1, 60 - MARGIN - 1),
            &Rgb([90, 90, 90])
        );
    }
}
