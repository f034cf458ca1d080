//! The report's figures as HTML fragments: GAN loss curves (Figs. 8-11), real and synthetic
//! samples (Fig. 7), classifier accuracy and loss per epoch (Figs. 12-13), confusion matrices,
//! and the memorisation check's distance distributions and closest pairs.

use std::fmt::Write;
use std::path::Path;

use super::chart::{confusion_png, line_chart_png, ChartError, LineChart, Series, PALETTE};
use super::html::{escape, png_tag};
use super::model::Report;
use crate::steps::records::MetricsRecord;

/// Width and height of line charts.
const CHART_SIZE: (u32, u32) = (560, 340);
/// Bins of the distance histograms.
const HISTOGRAM_BINS: usize = 12;

fn figure(png: &[u8], caption: &str) -> String {
    format!(
        "<figure>{}<figcaption>{}</figcaption></figure>",
        png_tag(png, caption),
        escape(caption)
    )
}

fn stored_figure(run_dir: &Path, relative: Option<&String>, caption: &str) -> String {
    relative
        .and_then(|r| std::fs::read(run_dir.join(r)).ok())
        .map_or_else(
            || {
                format!(
                    "<figure><figcaption>{} (none)</figcaption></figure>",
                    escape(caption)
                )
            },
            |png| figure(&png, caption),
        )
}

fn series(name: &str, points: Vec<(f64, f64)>, color: [u8; 3], dashed: bool) -> Series {
    Series {
        name: name.to_owned(),
        points,
        color,
        dashed,
    }
}

fn line_figure(title: &str, x: &str, y: &str, curves: Vec<Series>) -> Result<String, ChartError> {
    let chart = LineChart {
        title: title.to_owned(),
        x_label: x.to_owned(),
        y_label: y.to_owned(),
        series: curves,
    };
    let png = line_chart_png(&chart, CHART_SIZE.0, CHART_SIZE.1)?;
    Ok(figure(&png, title))
}

/// GAN loss curves per seed and class, with the final fixed-noise samples.
pub fn gan_section(report: &Report, run_dir: &Path) -> Result<String, ChartError> {
    let mut out = String::from("<h2>GAN losses per class (Figs. 8-11)</h2>");
    for curve in &report.curves {
        let pick = |f: fn(&crate::steps::records::GanPoint) -> f64| -> Vec<(f64, f64)> {
            curve
                .points
                .iter()
                .map(|p| (p.iteration as f64, f(p)))
                .collect()
        };
        let title = format!("GAN losses, {} (seed {})", curve.class_name, curve.seed);
        out.push_str(&line_figure(
            &title,
            "iteration",
            "loss",
            vec![
                series("loss D", pick(|p| p.loss_d), PALETTE[0], false),
                series("loss G", pick(|p| p.loss_g), PALETTE[1], false),
            ],
        )?);
        let grid = report
            .gans
            .iter()
            .find(|g| g.seed == curve.seed && g.class_name == curve.class_name)
            .and_then(|g| g.sample_grid.as_ref());
        out.push_str(&stored_figure(
            run_dir,
            grid,
            &format!("final G samples from fixed noise, {}", curve.class_name),
        ));
    }
    Ok(out)
}

/// Real training images next to the synthetic images that joined them, per class.
pub fn samples_section(report: &Report, run_dir: &Path) -> String {
    let mut out = String::from("<h2>Real and synthetic training images per class (Fig. 7)</h2>");
    for m in &report.memorisation {
        let _ = write!(
            out,
            "<h3>{} (seed {})</h3>{}{}",
            escape(&m.class_name),
            m.seed,
            stored_figure(
                run_dir,
                m.real_grid.as_ref(),
                &format!("real: {}", m.class_name)
            ),
            stored_figure(
                run_dir,
                m.synthetic_grid.as_ref(),
                &format!("synthetic (kept): {}", m.class_name)
            )
        );
    }
    out
}

/// Classifier accuracy and loss per epoch, one chart each per seed, every arm in it.
pub fn classifier_section(report: &Report) -> Result<String, ChartError> {
    let mut out = String::from("<h2>Classifier accuracy and loss per epoch (Figs. 12-13)</h2>");
    let mut seeds: Vec<u64> = report.runs.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    for seed in seeds {
        for metric in ["accuracy", "loss"] {
            let mut curves = Vec::new();
            for (i, run) in report.runs.iter().filter(|r| r.seed == seed).enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                for train in [true, false] {
                    let points = run
                        .history
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
                        .collect();
                    let split = if train { "train" } else { "val" };
                    curves.push(series(
                        &format!("{} {split}", run.arm),
                        points,
                        color,
                        !train,
                    ));
                }
            }
            out.push_str(&line_figure(
                &format!("classifier {metric} per epoch (seed {seed}; dashed: val)"),
                "epoch",
                metric,
                curves,
            )?);
        }
    }
    Ok(out)
}

fn confusion_figure(title: &str, metrics: &MetricsRecord) -> Result<String, ChartError> {
    let png = confusion_png(title, &metrics.confusion_classes, &metrics.confusion)?;
    Ok(figure(&png, title))
}

/// Test confusion matrices of every arm and seed, then GAN-train's and GAN-test's.
pub fn confusion_section(report: &Report) -> Result<String, ChartError> {
    let mut out = String::from("<h2>Confusion matrices on the real test split</h2>");
    for run in &report.runs {
        out.push_str(&confusion_figure(
            &format!(
                "{} (seed {}), {} test images",
                run.arm, run.seed, run.test.total
            ),
            &run.test,
        )?);
    }
    out.push_str("<h2>GAN-train and GAN-test confusion matrices</h2>");
    for quality in &report.gan_quality {
        if let Some(train) = &quality.gan_train {
            out.push_str(&confusion_figure(
                &format!("GAN-train (seed {}): real test", quality.seed),
                train,
            )?);
        }
        if let Some(test) = &quality.gan_test {
            out.push_str(&confusion_figure(
                &format!("GAN-test (seed {}): synthetic", quality.seed),
                test,
            )?);
        }
    }
    Ok(out)
}

/// Fractions of `values` in `bins` equal bins over `range`, as (bin centre, fraction) points.
fn histogram(values: &[f64], range: (f64, f64), bins: usize) -> Vec<(f64, f64)> {
    let width = (range.1 - range.0) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let bin = (((v - range.0) / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let total = values.len().max(1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| (range.0 + (i as f64 + 0.5) * width, c as f64 / total))
        .collect()
}

/// Per seed, the distribution of nearest-neighbour distances; per class, the closest pairs.
pub fn memorisation_section(report: &Report, run_dir: &Path) -> Result<String, ChartError> {
    let mut out = String::from("<h2>Memorisation check: nearest training image</h2>");
    let _ = write!(out, "<p>{}</p>", escape(&report.memorisation_verdict));
    let mut seeds: Vec<u64> = report.memorisation.iter().map(|m| m.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    for seed in seeds {
        let of_seed: Vec<_> = report
            .memorisation
            .iter()
            .filter(|m| m.seed == seed)
            .collect();
        let synthetic: Vec<f64> = of_seed
            .iter()
            .flat_map(|m| m.synthetic_nearest.clone())
            .collect();
        let real: Vec<f64> = of_seed
            .iter()
            .flat_map(|m| m.real_nearest.clone())
            .collect();
        let high = synthetic
            .iter()
            .chain(&real)
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-3);
        let range = (0.0, high * 1.05);
        out.push_str(&line_figure(
            &format!("nearest-neighbour distance (seed {seed})"),
            "RMS pixel distance to the nearest real training image",
            "fraction of images",
            vec![
                series(
                    "synthetic → train",
                    histogram(&synthetic, range, HISTOGRAM_BINS),
                    PALETTE[1],
                    false,
                ),
                series(
                    "real → other real",
                    histogram(&real, range, HISTOGRAM_BINS),
                    PALETTE[0],
                    true,
                ),
            ],
        )?);
        for m in of_seed {
            let distances: Vec<String> = m
                .closest_pairs
                .iter()
                .map(|p| format!("{:.3}", p.distance))
                .collect();
            out.push_str(&stored_figure(
                run_dir,
                m.pairs_figure.as_ref(),
                &format!(
                    "closest pairs, {} (seed {seed}): synthetic above, nearest real below; \
                     distances {}",
                    m.class_name,
                    distances.join(", ")
                ),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_fractions_sum_to_one_and_the_maximum_lands_in_the_last_bin() {
        let points = histogram(&[0.0, 0.5, 1.0, 1.0], (0.0, 1.0), 4);
        assert_eq!(points.len(), 4);
        let total: f64 = points.iter().map(|p| p.1).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert_eq!(points[3].1, 0.5);
        assert_eq!(points[0], (0.125, 0.25));
    }
}
