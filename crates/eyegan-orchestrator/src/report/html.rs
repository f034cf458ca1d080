//! `report.html`: one self-contained page (figures embedded as base64 PNG) with the loss and
//! accuracy curves, the sample grids, the tables and the verdict.

use std::fmt::Write;
use std::path::Path;

use super::chart::ChartError;
use super::figures;
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

/// `text` with HTML's special characters escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An `<img>` with `png` inline; small images (sample grids) are shown enlarged.
pub fn png_tag(png: &[u8], alt: &str) -> String {
    let width = eyegan_imaging::read_dimensions(png).map_or(0, |(w, _)| w);
    let size = 400u32.checked_div(width).map_or(String::new(), |scale| {
        format!(" width=\"{}\"", width * scale.clamp(1, 4))
    });
    format!(
        "<img alt=\"{}\"{size} src=\"data:image/png;base64,{}\">",
        escape(alt),
        base64(png)
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

/// The whole HTML page from the report and its Markdown; stored figures are read from
/// `run_dir`.
pub fn render_html(report: &Report, run_dir: &Path, markdown: &str) -> Result<String, ChartError> {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>EyeGAN {0}</title><style>\
         body{{font-family:sans-serif;max-width:1200px;margin:auto}}table{{border-collapse:collapse;margin:8px 0}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}figure{{display:inline-block;margin:6px;vertical-align:top}}\
         figcaption{{max-width:560px;font-size:90%}}img{{image-rendering:pixelated}}</style></head><body>",
        escape(&report.experiment)
    );
    out.push_str(&markdown_html(markdown));
    out.push_str(&figures::gan_section(report, run_dir)?);
    out.push_str(&figures::samples_section(report, run_dir));
    out.push_str(&figures::classifier_section(report)?);
    out.push_str(&figures::confusion_section(report)?);
    out.push_str(&figures::memorisation_section(report, run_dir)?);
    out.push_str("</body></html>\n");
    Ok(out)
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
