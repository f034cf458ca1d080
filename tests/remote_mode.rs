//! End to end, remote mode: the four service binaries run as separate processes over one
//! `file://` store, `orchestrate run` drives the smoke experiment through them with
//! `[services] mode = "remote"`, and its report has the same structure as an embedded run's.

use std::time::Duration;

use eyegan_e2e::orchestrate::{
    json_shape, read_report, run_to_end, smoke_experiment, write_experiment,
};
use eyegan_e2e::{store_audit, ServiceSet};
use serde_json::Value;

/// The report without `spec.services`, which differs between the modes by design.
fn comparable_shape(mut report: Value) -> Value {
    if let Some(spec) = report.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("services");
    }
    json_shape(&report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_against_the_service_binaries_reports_like_embedded_mode() {
    let binaries = eyegan_e2e::binaries!();
    let dir = tempfile::tempdir().unwrap();
    let services = ServiceSet::start(&binaries, dir.path(), &[]).await;

    let remote_file = write_experiment(
        dir.path(),
        "remote",
        &smoke_experiment(&[], &services.services_section()),
    );
    let remote_run = dir.path().join("remote-run");
    let output = run_to_end(&binaries.orchestrate, &remote_file, &remote_run).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("report.html"), "{stdout}");
    assert!(
        !remote_run.join("store").exists(),
        "remote mode must not start embedded services with their own store"
    );

    // The work happened in the services' store: one GAN job per class, classifier jobs for
    // the arms, the imported dataset and its derived (synthetic) version.
    let remote = read_report(&remote_run);
    let classes = remote["classes"].as_array().unwrap().len();
    assert_eq!(classes, 4);
    let jobs = |service: &str| {
        std::fs::read_dir(services.store_dir.join("jobs").join(service))
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    assert_eq!(jobs("trainer"), classes, "{}", services.logs());
    assert_eq!(jobs("generator"), 1);
    assert!(jobs("classifier") >= 2, "baseline and gan, at least");
    let audit = store_audit::verify(&services.store_dir);
    assert!(audit.dataset_versions >= 2, "{audit:?}");
    assert!(audit.checkpoints >= classes, "{audit:?}");

    // The same experiment embedded gives a report of the same structure.
    let embedded_file = write_experiment(dir.path(), "embedded", &smoke_experiment(&[], ""));
    let embedded_run = dir.path().join("embedded-run");
    run_to_end(&binaries.orchestrate, &embedded_file, &embedded_run).await;
    let embedded = read_report(&embedded_run);
    assert_eq!(remote["spec"]["services"]["mode"], "remote");
    assert_eq!(embedded["spec"]["services"]["mode"], "embedded");
    assert_eq!(
        comparable_shape(remote.clone()),
        comparable_shape(embedded),
        "remote and embedded reports differ in structure"
    );
    for file in ["report.md", "report.html"] {
        assert!(remote_run.join(file).is_file(), "{file} missing");
    }

    // Every service stops cleanly on SIGTERM.
    let ServiceSet {
        dataset,
        trainer,
        generator,
        classifier,
        ..
    } = services;
    for service in [classifier, generator, trainer, dataset] {
        let status = service.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "exit status {status}");
    }
}
