//! End to end: the smoke example runs embedded (four real gRPC services in-process), its report
//! is consistent, and a rerun finds every step cached.

use std::path::Path;

use eyegan_orchestrator::examples::example;
use eyegan_orchestrator::progress::ProgressMode;
use eyegan_orchestrator::report::{load_results, Report};
use eyegan_orchestrator::run::{run_experiment, RunOptions};
use eyegan_orchestrator::spec::parse_experiment;
use eyegan_orchestrator::steps::StepCache;

async fn run_smoke(run_dir: &Path) -> Report {
    let text = example("smoke").unwrap().text;
    let experiment = parse_experiment(text, "smoke.toml", Path::new(".")).unwrap();
    let options = RunOptions {
        run_dir: run_dir.to_owned(),
        force: Vec::new(),
        progress: ProgressMode::Quiet,
    };
    run_experiment(experiment, options, std::future::pending())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_experiment_reports_consistent_numbers_and_reruns_from_cache() {
    let dir = tempfile::tempdir().unwrap();
    let report = run_smoke(dir.path()).await;
    for name in ["report.json", "report.md", "report.html", "results.json"] {
        assert!(dir.path().join(name).is_file(), "{name} missing");
    }

    // Every arm of every seed is evaluated on the same real test split.
    let test_size: u64 = report.table_before.iter().map(|c| c.test).sum();
    assert!(test_size > 0);
    assert_eq!(report.runs.len(), 2);
    for run in &report.runs {
        assert_eq!(run.test.total, test_size, "{} seed {}", run.arm, run.seed);
        assert_eq!(run.test.confusion.iter().sum::<u64>(), test_size);
        assert!((0.0..=1.0).contains(&run.test_accuracy));
        assert_eq!(
            run.history.len(),
            3,
            "one history entry per classifier epoch"
        );
    }

    // Acceptance counts equal the images added to the train split, per class.
    for table in &report.table_after {
        for after in &table.counts {
            let before = report
                .table_before
                .iter()
                .find(|c| c.class_name == after.class_name)
                .unwrap();
            let gan = report
                .gans
                .iter()
                .find(|g| g.seed == table.seed && g.class_name == after.class_name)
                .unwrap();
            assert_eq!(after.synthetic, gan.accepted);
            assert_eq!(after.train, before.train + gan.accepted);
            assert_eq!(
                (after.val, after.test),
                (before.val, before.test),
                "val/test stay real"
            );
            assert_eq!(gan.requested, 6);
            assert!(gan.accepted > 0, "filter \"none\" keeps every image");
        }
    }
    assert_eq!(report.comparisons.len(), 1);
    let comparison = &report.comparisons[0];
    let discordant = comparison.mcnemar.b + comparison.mcnemar.c;
    assert!(discordant <= test_size);
    assert!(!report.verdict.is_empty());
    assert!(std::fs::read_to_string(dir.path().join("report.html"))
        .unwrap()
        .contains("data:image/png;base64,"));

    check_synthetic_image_checks(&report, dir.path(), test_size);
    check_figures(dir.path());

    // A rerun reuses every step: same records, same jobs.
    let records_before = StepCache::new(dir.path()).all().unwrap();
    assert!(records_before.iter().all(|r| r.done));
    let jobs_before = load_results(dir.path()).unwrap();
    let again = run_smoke(dir.path()).await;
    let jobs_after = load_results(dir.path()).unwrap();
    assert_eq!(
        serde_json::to_value(&jobs_before).unwrap(),
        serde_json::to_value(&jobs_after).unwrap()
    );
    let records_after = StepCache::new(dir.path()).all().unwrap();
    assert_eq!(records_before.len(), records_after.len());
    for (a, b) in records_before.iter().zip(&records_after) {
        assert_eq!((&a.name, &a.hash, a.attempt), (&b.name, &b.hash, b.attempt));
    }
    assert_eq!(again.verdict, report.verdict);
}

/// GAN-train / GAN-test and the memorisation check are present and agree with the tables.
fn check_synthetic_image_checks(report: &Report, run_dir: &Path, test_size: u64) {
    assert_eq!(
        report.gan_quality.len(),
        1,
        "one GAN-train/GAN-test per seed"
    );
    let quality = &report.gan_quality[0];
    assert!(quality.skipped.is_none(), "{:?}", quality.skipped);
    let added: u64 = report.table_after[0]
        .counts
        .iter()
        .map(|c| c.synthetic)
        .sum();
    assert_eq!(quality.imported + quality.rejected, added);
    let gan_train = quality.gan_train.as_ref().unwrap();
    assert_eq!(
        gan_train.total, test_size,
        "GAN-train is scored on the real test split"
    );
    assert_eq!(gan_train.confusion.iter().sum::<u64>(), test_size);
    let gan_test = quality.gan_test.as_ref().unwrap();
    assert_eq!(
        gan_test.total, quality.imported,
        "GAN-test scores every synthetic image"
    );
    assert_eq!(gan_test.confusion.iter().sum::<u64>(), quality.imported);
    assert_eq!(quality.per_class.len(), report.classes.len());
    for class in &quality.per_class {
        for value in [class.gan_train_recall, class.gan_test_recall] {
            assert!(value.is_some_and(|v| (0.0..=1.0).contains(&v)), "{class:?}");
        }
    }
    let test_images: u64 = quality.per_class.iter().map(|c| c.real_test_images).sum();
    assert_eq!(test_images, test_size);

    assert_eq!(report.memorisation.len(), report.classes.len());
    for m in &report.memorisation {
        let before = report
            .table_before
            .iter()
            .find(|c| c.class_name == m.class_name)
            .unwrap();
        let after = report.table_after[0]
            .counts
            .iter()
            .find(|c| c.class_name == m.class_name)
            .unwrap();
        assert_eq!(m.real_train, before.train, "{}", m.class_name);
        assert_eq!(m.synthetic, after.synthetic, "{}", m.class_name);
        assert_eq!(m.synthetic_nearest.len() as u64, m.synthetic);
        assert_eq!(m.real_nearest.len() as u64, m.real_train);
        let closest = m.closest_pairs.first().unwrap().distance;
        assert_eq!(
            Some(closest),
            m.synthetic_min,
            "the closest pair is the minimum"
        );
        assert!(m
            .closest_pairs
            .windows(2)
            .all(|w| w[0].distance <= w[1].distance));
        assert!(m.real_min.unwrap() <= m.real_median.unwrap());
        for figure in [&m.real_grid, &m.synthetic_grid, &m.pairs_figure] {
            let path = run_dir.join(figure.as_ref().unwrap());
            assert!(path.is_file(), "{} missing", path.display());
        }
    }
    assert!(!report.memorisation_verdict.is_empty());
    let markdown = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    for heading in [
        "## GAN-train and GAN-test per class",
        "## Memorisation check",
        "## Table 1",
        "## Table 2",
        "## Verdict",
    ] {
        assert!(markdown.contains(heading), "report.md lacks {heading}");
    }
    assert!(markdown.contains(&report.memorisation_verdict));
}

/// report.html embeds every figure: per class a loss chart and sample grids, per run a
/// confusion matrix, the classifier curves and the memorisation figures.
fn check_figures(run_dir: &Path) {
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    let images = html.matches("data:image/png;base64,").count();
    // 4 classes × (loss chart, G samples, real grid, synthetic grid, closest pairs) + 2
    // classifier charts + 2 test confusion matrices + GAN-train and GAN-test matrices + the
    // distance distribution.
    assert_eq!(images, 4 * 5 + 2 + 2 + 2 + 1, "figures in report.html");
    for caption in [
        "GAN losses, normal (seed 1)",
        "classifier accuracy per epoch (seed 1; dashed: val)",
        "nearest-neighbour distance (seed 1)",
        "GAN-train (seed 1): real test",
    ] {
        assert!(html.contains(caption), "report.html lacks {caption:?}");
    }
}
