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
