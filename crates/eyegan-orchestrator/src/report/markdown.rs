//! `report.md`: the report as Markdown tables and the plain-words verdict.

use std::fmt::Write;

use super::model::{Report, LEVEL};
use super::synthetic::COPY_DISTANCE;
use crate::steps::records::{ClassCountsRecord, MetricsRecord};

fn percent(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

/// A Markdown table of per-class split counts.
pub fn counts_table(counts: &[ClassCountsRecord]) -> String {
    let mut out = String::from(
        "| class | train | (synthetic) | val | test | total |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let mut sums = [0u64; 4];
    for c in counts {
        let total = c.train + c.val + c.test;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            c.class_name, c.train, c.synthetic, c.val, c.test, total
        );
        for (sum, value) in sums.iter_mut().zip([c.train, c.synthetic, c.val, c.test]) {
            *sum += value;
        }
    }
    let _ = writeln!(
        out,
        "| **all** | {} | {} | {} | {} | {} |",
        sums[0],
        sums[1],
        sums[2],
        sums[3],
        sums[0] + sums[2] + sums[3]
    );
    out
}

/// A Markdown confusion matrix (rows = true class, columns = predicted class).
pub fn confusion_table(metrics: &MetricsRecord) -> String {
    let classes = &metrics.confusion_classes;
    let n = classes.len();
    let mut out = format!(
        "| true \\ predicted | {} |\n|---|{}\n",
        classes.join(" | "),
        "---:|".repeat(n)
    );
    for (row, class) in classes.iter().enumerate() {
        let cells: Vec<String> = (0..n)
            .map(|col| {
                metrics
                    .confusion
                    .get(row * n + col)
                    .copied()
                    .unwrap_or(0)
                    .to_string()
            })
            .collect();
        let _ = writeln!(out, "| {class} | {} |", cells.join(" | "));
    }
    out
}

/// The whole Markdown report.
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# EyeGAN experiment `{}`\n", report.experiment);
    let _ = writeln!(out, "## Verdict\n\n{}\n", report.verdict);
    let _ = writeln!(
        out,
        "## Test accuracy per arm (mean ± {:.0}% CI over seeds)\n",
        LEVEL * 100.0
    );
    out.push_str("| arm | seeds | mean | 95% CI | per seed |\n|---|---:|---:|---|---|\n");
    for arm in &report.arms {
        let (mean, ci) = match &arm.test_accuracy {
            Some(m) => (
                percent(m.mean),
                match (m.lower, m.upper) {
                    (Some(l), Some(u)) => format!("[{}, {}]", percent(l), percent(u)),
                    _ => "n/a (one seed)".to_owned(),
                },
            ),
            None => ("n/a".to_owned(), "n/a".to_owned()),
        };
        let seeds: Vec<String> = arm.test_accuracies.iter().map(|a| percent(*a)).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {mean} | {ci} | {} |",
            arm.arm,
            arm.test_accuracies.len(),
            seeds.join(", ")
        );
    }
    out.push_str("\n## gan vs baseline per seed (same real test images)\n\n");
    out.push_str("| seed | baseline | gan | b (base right, gan wrong) | c (gan right, base wrong) | McNemar p | method | bootstrap 95% CI of difference |\n|---:|---:|---:|---:|---:|---:|---|---|\n");
    for c in &report.comparisons {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.4} | {:?} | [{:+.1}, {:+.1}] points |",
            c.seed,
            percent(c.baseline_accuracy),
            percent(c.gan_accuracy),
            c.mcnemar.b,
            c.mcnemar.c,
            c.mcnemar.p_value,
            c.mcnemar.method,
            c.bootstrap.lower * 100.0,
            c.bootstrap.upper * 100.0
        );
    }
    out.push_str("\n## Arms and seeds\n\n| arm | seed | train acc | val acc | test acc | test images |\n|---|---:|---:|---:|---:|---:|\n");
    for run in &report.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            run.arm,
            run.seed,
            percent(run.train_accuracy),
            run.val_accuracy.map_or("n/a".to_owned(), percent),
            percent(run.test_accuracy),
            run.test.total
        );
    }
    out.push_str("\n## GAN acceptance per class\n\n| seed | class | iterations | requested | generated | kept | acceptance |\n|---:|---|---:|---:|---:|---:|---:|\n");
    for gan in &report.gans {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            gan.seed,
            gan.class_name,
            gan.iterations,
            gan.requested,
            gan.attempted,
            gan.accepted,
            percent(gan.acceptance_rate)
        );
    }
    out.push_str(&gan_quality_markdown(report));
    out.push_str(&memorisation_markdown(report));
    let _ = writeln!(
        out,
        "## Table 1: images per class and split before augmentation\n\n{}",
        counts_table(&report.table_before)
    );
    for table in &report.table_after {
        let _ = writeln!(
            out,
            "## Table 2 (seed {}): images per class and split after augmentation\n\n{}",
            table.seed,
            counts_table(&table.counts)
        );
    }
    out.push_str("## Per-class test metrics\n\n");
    for run in &report.runs {
        let _ = writeln!(out, "### {} (seed {})\n", run.arm, run.seed);
        out.push_str("| class | support | precision | recall | specificity | F1 | AUC |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for c in &run.test.per_class {
            let _ = writeln!(
                out,
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
                c.class_name,
                c.support,
                c.precision,
                c.recall,
                c.specificity,
                c.f1,
                c.auc.map_or("n/a".to_owned(), |a| format!("{a:.3}"))
            );
        }
        let _ = writeln!(out, "\nConfusion matrix:\n\n{}", confusion_table(&run.test));
    }
    out
}

/// One Markdown table row.
fn table_row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

fn optional_percent(value: Option<f64>) -> String {
    value.map_or("n/a".to_owned(), percent)
}

fn distance(value: Option<f64>) -> String {
    value.map_or("n/a".to_owned(), |d| format!("{d:.3}"))
}

/// GAN-train and GAN-test per seed and class.
fn gan_quality_markdown(report: &Report) -> String {
    let mut out = String::from(
        "\n## GAN-train and GAN-test per class\n\nGAN-train: a GMD trained on the synthetic images \
         only, scored on the real test split (are the images useful?). GAN-test: the baseline GMD \
         (real images only) scored on the synthetic images (does each look like its class?). \
         Per class the value is the recall.\n\n",
    );
    for quality in &report.gan_quality {
        if let Some(reason) = &quality.skipped {
            let _ = writeln!(out, "Seed {}: not measured: {reason}\n", quality.seed);
            continue;
        }
        let _ = writeln!(
            out,
            "Seed {}: {} synthetic images ({} refused as duplicates); GAN-train accuracy {}, \
             GAN-test accuracy {}.\n",
            quality.seed,
            quality.imported,
            quality.rejected,
            optional_percent(quality.gan_train_accuracy),
            optional_percent(quality.gan_test_accuracy)
        );
        out.push_str("| seed | class | GAN-train (real test) | real test images | GAN-test (synthetic) | synthetic images |\n|---:|---|---:|---:|---:|---:|\n");
        for c in &quality.per_class {
            out.push_str(&table_row(&[
                quality.seed.to_string(),
                c.class_name.clone(),
                optional_percent(c.gan_train_recall),
                c.real_test_images.to_string(),
                optional_percent(c.gan_test_recall),
                c.synthetic_images.to_string(),
            ]));
        }
        out.push('\n');
    }
    out
}

/// The nearest-neighbour memorisation check.
fn memorisation_markdown(report: &Report) -> String {
    let mut out = format!(
        "## Memorisation check (nearest neighbours in pixel space)\n\n{}\n\nDistances are \
         root-mean-square pixel differences at the stored size (pixels in [0, 1]); each \
         synthetic image is compared with every real training image of its class, each real \
         training image with the other real ones. \"copies\" are within {COPY_DISTANCE:.4}.\n\n",
        report.memorisation_verdict
    );
    out.push_str("| seed | class | real train | synthetic | synthetic→train median | synthetic→train min | real→real median | real→real min | closer than any real pair | copies |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for m in &report.memorisation {
        out.push_str(&table_row(&[
            m.seed.to_string(),
            m.class_name.clone(),
            m.real_train.to_string(),
            m.synthetic.to_string(),
            distance(m.synthetic_median),
            distance(m.synthetic_min),
            distance(m.real_median),
            distance(m.real_min),
            m.closer_than_real.to_string(),
            m.copies.to_string(),
        ]));
    }
    out.push('\n');
    out
}
