//! The report's charts, drawn with `plotters` into an RGB buffer and encoded as PNG: line charts
//! with titled, ticked axes and a legend, and confusion-matrix heatmaps with counts. Text uses
//! the DejaVu Sans font vendored in `assets/`, so no system fonts are needed.

use std::sync::OnceLock;

use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// The vendored font (DejaVu Sans, Bitstream Vera licence: `assets/DejaVuSans-LICENSE.txt`).
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The family name the font is registered under.
const FAMILY: &str = "sans-serif";

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The vendored font did not load.
    #[error("the vendored chart font is not a valid TrueType font")]
    Font,
    /// Plotters failed to draw.
    #[error("drawing the chart {title:?} failed: {message}")]
    Draw {
        /// The chart's title.
        title: String,
        /// Plotters' error.
        message: String,
    },
    /// PNG encoding failed.
    #[error("encoding the chart {title:?} as PNG failed: {message}")]
    Encode {
        /// The chart's title.
        title: String,
        /// The encoder's error.
        message: String,
    },
}

/// Palette for series, distinguishable on white.
pub const PALETTE: [[u8; 3]; 6] = [
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [255, 127, 14],
    [148, 103, 189],
    [23, 190, 207],
];

/// One curve of a line chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Points (x, y); non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Line colour.
    pub color: [u8; 3],
    /// Dashed instead of solid (e.g. validation curves).
    pub dashed: bool,
}

/// A line chart's text and curves.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// x-axis description.
    pub x_label: String,
    /// y-axis description.
    pub y_label: String,
    /// The curves.
    pub series: Vec<Series>,
}

fn font_ready() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    ok.then_some(()).ok_or(ChartError::Font)
}

/// Draws with `draw` on a white `width`×`height` canvas and returns the PNG.
fn render(
    title: &str,
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<Vec<u8>, ChartError> {
    font_ready()?;
    let mut buffer = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        let drawn = draw(&root).and_then(|()| root.present().map_err(|e| e.to_string()));
        drawn.map_err(|message| ChartError::Draw {
            title: title.to_owned(),
            message,
        })?;
    }
    let image = RgbImage::from_raw(width, height, buffer).ok_or_else(|| ChartError::Encode {
        title: title.to_owned(),
        message: "buffer size mismatch".to_owned(),
    })?;
    eyegan_imaging::encode_png(&image).map_err(|e| ChartError::Encode {
        title: title.to_owned(),
        message: e.to_string(),
    })
}

/// The value range of the finite points, widened when flat and padded by 5% in y.
fn ranges(series: &[Series]) -> ((f64, f64), (f64, f64)) {
    let mut x = (f64::INFINITY, f64::NEG_INFINITY);
    let mut y = (f64::INFINITY, f64::NEG_INFINITY);
    for &(px, py) in series.iter().flat_map(|s| s.points.iter()) {
        if px.is_finite() && py.is_finite() {
            x = (x.0.min(px), x.1.max(px));
            y = (y.0.min(py), y.1.max(py));
        }
    }
    if !x.0.is_finite() {
        return ((0.0, 1.0), (0.0, 1.0));
    }
    if x.1 <= x.0 {
        x = (x.0 - 0.5, x.1 + 0.5);
    }
    if y.1 <= y.0 {
        y = (y.0 - 0.5, y.1 + 0.5);
    }
    let pad = (y.1 - y.0) * 0.05;
    (x, (y.0 - pad, y.1 + pad))
}

/// Renders `chart` as a `width`×`height` PNG.
pub fn line_chart_png(chart: &LineChart, width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let (x_range, y_range) = ranges(&chart.series);
    // Epochs and iterations: whole-number ticks without decimals.
    let integer_x = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .all(|(x, _)| !x.is_finite() || x.fract() == 0.0);
    let x_labels = if integer_x {
        ((x_range.1 - x_range.0) as usize + 1).clamp(2, 10)
    } else {
        10
    };
    let x_format = move |x: &f64| {
        if integer_x && x.fract().abs() < 1e-9 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    };
    render(&chart.title, width, height, |root| {
        let mut context = ChartBuilder::on(root)
            .caption(&chart.title, (FAMILY, 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
            .map_err(|e| e.to_string())?;
        context
            .configure_mesh()
            .x_labels(x_labels)
            .x_label_formatter(&x_format)
            .x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .label_style((FAMILY, 12))
            .axis_desc_style((FAMILY, 14))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|e| e.to_string())?;
        for series in &chart.series {
            let color = RGBColor(series.color[0], series.color[1], series.color[2]);
            let points: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            let style = color.stroke_width(2);
            let drawn = if series.dashed {
                context.draw_series(DashedLineSeries::new(points, 6, 4, style))
            } else {
                context.draw_series(LineSeries::new(points, style))
            };
            drawn
                .map_err(|e| e.to_string())?
                .label(series.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        if chart.series.iter().any(|s| !s.name.is_empty()) {
            context
                .configure_series_labels()
                .label_font((FAMILY, 12))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// Renders a confusion matrix (rows = true class, columns = predicted; `counts` row-major) as
/// a heatmap with the count in every cell.
pub fn confusion_png(
    title: &str,
    classes: &[String],
    counts: &[u64],
) -> Result<Vec<u8>, ChartError> {
    let n = classes.len().max(1);
    let cell = 70u32;
    let (left, top, bottom) = (150u32, 40u32, 64u32);
    let width = left + cell * n as u32 + 20;
    let height = top + cell * n as u32 + bottom;
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    render(title, width, height, |root| {
        let text = |size: u32| TextStyle::from((FAMILY, size).into_font()).color(&BLACK);
        root.draw(&Text::new(title.to_owned(), (10, 10), text(16)))
            .map_err(|e| e.to_string())?;
        for (row, true_class) in classes.iter().enumerate() {
            for (col, _) in classes.iter().enumerate() {
                let count = counts.get(row * n + col).copied().unwrap_or(0);
                let shade = count as f64 / max;
                let fill = RGBColor(
                    (255.0 - shade * 224.0) as u8,
                    (255.0 - shade * 136.0) as u8,
                    (255.0 - shade * 75.0) as u8,
                );
                let x0 = (left + col as u32 * cell) as i32;
                let y0 = (top + row as u32 * cell) as i32;
                let corner = (x0 + cell as i32, y0 + cell as i32);
                root.draw(&Rectangle::new([(x0, y0), corner], fill.filled()))
                    .map_err(|e| e.to_string())?;
                root.draw(&Rectangle::new([(x0, y0), corner], RGBColor(120, 120, 120)))
                    .map_err(|e| e.to_string())?;
                let color = if shade > 0.55 { WHITE } else { BLACK };
                let label = count.to_string();
                let offset = (label.len() as i32) * 4;
                root.draw(&Text::new(
                    label,
                    (x0 + cell as i32 / 2 - offset, y0 + cell as i32 / 2 - 8),
                    text(16).color(&color),
                ))
                .map_err(|e| e.to_string())?;
            }
            let y = (top + row as u32 * cell + cell / 2) as i32 - 6;
            root.draw(&Text::new(short(true_class), (8, y), text(12)))
                .map_err(|e| e.to_string())?;
        }
        let below = (top + n as u32 * cell) as i32;
        for (col, predicted) in classes.iter().enumerate() {
            let x = (left + col as u32 * cell) as i32 + 4;
            root.draw(&Text::new(short(predicted), (x, below + 6), text(11)))
                .map_err(|e| e.to_string())?;
        }
        root.draw(&Text::new(
            "rows: true class, columns: predicted class".to_owned(),
            (8, below + 36),
            text(12),
        ))
        .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// A class name cut to fit a heatmap cell.
fn short(name: &str) -> String {
    if name.chars().count() <= 11 {
        name.to_owned()
    } else {
        let mut cut: String = name.chars().take(10).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> RgbImage {
        eyegan_imaging::decode_png_rgb(png).unwrap()
    }

    #[test]
    fn a_line_chart_has_its_size_and_draws_the_series_colour() {
        let chart = LineChart {
            title: "losses".to_owned(),
            x_label: "iteration".to_owned(),
            y_label: "loss".to_owned(),
            series: vec![Series {
                name: "loss D".to_owned(),
                points: vec![(0.0, 1.0), (10.0, 0.5), (20.0, f64::NAN)],
                color: [214, 39, 40],
                dashed: false,
            }],
        };
        let image = decode(&line_chart_png(&chart, 480, 300).unwrap());
        assert_eq!(image.dimensions(), (480, 300));
        let red = image.pixels().filter(|p| p.0 == [214, 39, 40]).count();
        assert!(red > 50, "the series is drawn ({red} pixels)");
        let dark = image
            .pixels()
            .filter(|p| p.0.iter().all(|&c| c < 80))
            .count();
        assert!(dark > 200, "axes and text are drawn ({dark} dark pixels)");
    }

    #[test]
    fn the_darkest_heatmap_cell_holds_the_largest_count() {
        let classes = vec!["a".to_owned(), "b".to_owned()];
        let image = decode(&confusion_png("confusion", &classes, &[9, 1, 0, 3]).unwrap());
        // Cell (0, 0) starts at (150, 40) and is 70 px; sample near its corner.
        let top_left = image.get_pixel(150 + 5, 40 + 5).0;
        let bottom_left = image.get_pixel(150 + 5, 40 + 70 + 5).0;
        assert_eq!(top_left, [31, 119, 180]);
        assert_eq!(bottom_left, [255, 255, 255]);
    }
}
