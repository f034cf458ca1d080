//! `report.html`: one self-contained page (figures embedded as base64 PNG) with the loss and
//! accuracy curves, the sample grids, the tables and the verdict.

use std::fmt::Write;
use std::path::Path;

use super::chart::{line_chart, Series, PALETTE};
use super::model::Report;

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(BASE64[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn png_tag(png: &[u8], alt: &str) -> String {
    format!(
        "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
        escape(alt),
        base64(png)
    )
}

fn chart_tag(series: &[(String, Series)], alt: &str) -> String {
    let curves: Vec<Series> = series.iter().map(|(_, s)| s.clone()).collect();
    let (image, ranges) = line_chart(&curves, 420, 220);
    let png = eyegan_imaging::encode_png(&image).unwrap_or_default();
    let legend: Vec<String> = series
        .iter()
        .map(|(name, s)| {
            format!(
                "<span style=\"color:rgb({},{},{})\">&#9632; {}</span>",
                s.color[0],
                s.color[1],
                s.color[2],
                escape(name)
            )
        })
        .collect();
    format!(
        "<figure>{}<figcaption>{} — x {:.0}..{:.0}, y {:.3}..{:.3}<br>{}</figcaption></figure>",
        png_tag(&png, alt),
        escape(alt),
        ranges.x.0,
        ranges.x.1,
        ranges.y.0,
        ranges.y.1,
        legend.join(" ")
    )
}

/// Turns a Markdown table into HTML (the report's tables are simple pipes tables).
fn table_html(markdown: &str) -> String {
    let mut out = String::from("<table>");
    for (i, line) in markdown.lines().enumerate() {
        if i == 1 || !line.starts_with('|') {
            continue;
        }
        let cell = if i == 0 { "th" } else { "td" };
        out.push_str("<tr>");
        for value in line.trim_matches('|').split(" | ") {
            let _ = write!(
                out,
                "<{cell}>{}</{cell}>",
                escape(value.trim().trim_matches('*'))
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

/// Converts the report's Markdown (headings, paragraphs, pipe tables) to HTML.
fn markdown_html(markdown: &str) -> String {
    let mut out = String::new();
    let mut table = String::new();
    for line in markdown.lines() {
        if line.starts_with('|') {
            table.push_str(line);
            table.push('\n');
            continue;
        }
        if !table.is_empty() {
            out.push_str(&table_html(&table));
            table.clear();
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        if level > 0 {
            let _ = write!(out, "<h{level}>{}</h{level}>", escape(line[level..].trim()));
        } else if !line.trim().is_empty() {
            let _ = write!(out, "<p>{}</p>", escape(line));
        }
    }
    if !table.is_empty() {
        out.push_str(&table_html(&table));
    }
    out
}

/// The whole HTML page from the report and its Markdown; sample grids are read from `run_dir`.
pub fn render_html(report: &Report, run_dir: &Path, markdown: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>EyeGAN {0}</title><style>\
         body{{font-family:sans-serif;max-width:1100px;margin:auto}}table{{border-collapse:collapse;margin:8px 0}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}figure{{display:inline-block;margin:6px}}\
         img{{image-rendering:pixelated}}</style></head><body>",
        escape(&report.experiment)
    );
    out.push_str(&markdown_html(markdown));
    out.push_str("<h2>GAN loss curves and samples per class (Figs. 7-11)</h2>");
    for gan in &report.gans {
        let _ = write!(
            out,
            "<h3>{} (seed {})</h3>",
            escape(&gan.class_name),
            gan.seed
        );
        if let Some(curve) = report_curve(report, gan.seed, &gan.class_name) {
            out.push_str(&chart_tag(
                &curve,
                &format!("GAN losses {} seed {}", gan.class_name, gan.seed),
            ));
        }
        if let Some(grid) = &gan.sample_grid {
            if let Ok(png) = std::fs::read(run_dir.join(grid)) {
                let _ = write!(
                    out,
                    "<figure>{}<figcaption>synthetic samples</figcaption></figure>",
                    png_tag(&png, "synthetic samples")
                );
            }
        }
    }
    out.push_str("<h2>Classifier accuracy and loss per epoch (Figs. 12-13)</h2>");
    for metric in ["accuracy", "loss"] {
        let mut series = Vec::new();
        for (i, run) in report.runs.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let pick = |train: bool| -> Vec<(f64, f64)> {
                run.history
                    .iter()
                    .filter_map(|e| {
                        let value = match (metric, train) {
                            ("accuracy", true) => Some(e.train_accuracy),
                            ("accuracy", false) => e.val_accuracy,
                            (_, true) => Some(e.train_loss),
                            (_, false) => e.val_loss,
                        };
                        value.map(|v| (f64::from(e.epoch), v))
                    })
                    .collect()
            };
            series.push((
                format!("{} s{} train", run.arm, run.seed),
                Series {
                    points: pick(true),
                    color,
                },
            ));
            let light = color.map(|c| c / 2 + 110);
            series.push((
                format!("{} s{} val", run.arm, run.seed),
                Series {
                    points: pick(false),
                    color: light,
                },
            ));
        }
        out.push_str(&chart_tag(
            &series,
            &format!("classifier {metric} per epoch"),
        ));
    }
    out.push_str("</body></html>\n");
    out
}

fn report_curve(report: &Report, seed: u64, class: &str) -> Option<Vec<(String, Series)>> {
    let curve = report
        .curves
        .iter()
        .find(|c| c.seed == seed && c.class_name == class)?;
    let points = |f: fn(&crate::steps::records::GanPoint) -> f64| -> Vec<(f64, f64)> {
        curve
            .points
            .iter()
            .map(|p| (p.iteration as f64, f(p)))
            .collect()
    };
    Some(vec![
        (
            "loss D".to_owned(),
            Series {
                points: points(|p| p.loss_d),
                color: PALETTE[0],
            },
        ),
        (
            "loss G".to_owned(),
            Series {
                points: points(|p| p.loss_g),
                color: PALETTE[1],
            },
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
