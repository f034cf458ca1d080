//! End to end, crash during the GAN step: `orchestrate run` (embedded services) is killed with
//! SIGKILL right after the first class GAN finished; the store is intact after the crash, and
//! a rerun of the same command completes without redoing the finished GANs: same step records,
//! same trainer jobs (untouched), the interrupted job resumed rather than resubmitted.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use eyegan_e2e::job_records::job_records;
use eyegan_e2e::orchestrate::{
    read_report, run_to_end, smoke_experiment, spawn_run, write_experiment,
};
use eyegan_e2e::store_audit::{self, Snapshot};
use eyegan_orchestrator::steps::{StepCache, StepRecord};

/// Longer GANs than smoke's so the kill lands while the other classes still train.
const GAN_ITERATIONS: &str = "160";

/// The GAN step records of a run folder, by name.
fn gan_records(run_dir: &Path) -> BTreeMap<String, StepRecord> {
    StepCache::new(run_dir)
        .all()
        .unwrap()
        .into_iter()
        .filter(|record| record.name.starts_with("gan-"))
        .map(|record| (record.name.clone(), record))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_during_the_gan_step_resumes_without_redoing_finished_gans() {
    let binaries = eyegan_e2e::binaries!();
    let dir = tempfile::tempdir().unwrap();
    let experiment = smoke_experiment(&[("gan", "iterations", GAN_ITERATIONS)], "");
    let file = write_experiment(dir.path(), "killed", &experiment);
    let run_dir = dir.path().join("run");
    let store = run_dir.join("store");

    // Kill the whole run (orchestrator and its embedded services) once one GAN is done.
    let mut child = spawn_run(&binaries.orchestrate, &file, &run_dir);
    let started = Instant::now();
    let finished_at_kill = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "orchestrate exited ({status}) before the kill:\n{}",
                std::fs::read_to_string(dir.path().join("run.stderr.log")).unwrap_or_default()
            );
        }
        let done: BTreeMap<_, _> = gan_records(&run_dir)
            .into_iter()
            .filter(|(_, record)| record.done)
            .collect();
        if !done.is_empty() {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
            break done;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no GAN finished within 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let all_gans = gan_records(&run_dir);
    assert_eq!(all_gans.len(), 4, "every class GAN started: {all_gans:?}");
    assert!(
        finished_at_kill.len() < all_gans.len(),
        "every GAN had finished before the kill; raise GAN_ITERATIONS"
    );

    // The crash left the store consistent, and every finished GAN's job complete.
    store_audit::verify(&store);
    let after_kill = Snapshot::take(&store);
    let jobs_at_kill = job_records(&store, "trainer");
    assert_eq!(jobs_at_kill.len(), 4, "one trainer job per class");
    let finished_jobs: Vec<String> = finished_at_kill
        .values()
        .map(|record| record.outputs["job_id"].as_str().unwrap().to_owned())
        .collect();
    for job_id in &finished_jobs {
        assert_eq!(jobs_at_kill[job_id]["state"], "succeeded");
    }
    let interrupted: Vec<&String> = jobs_at_kill
        .iter()
        .filter(|(_, job)| job["state"] == "running")
        .map(|(id, _)| id)
        .collect();

    // The rerun completes.
    run_to_end(&binaries.orchestrate, &file, &run_dir).await;
    let report = read_report(&run_dir);
    assert_eq!(report["gans"].as_array().unwrap().len(), 4);

    // Finished GANs were not redone: identical step records (same job ids, outputs, hash,
    // attempt), their job folders untouched, and no second job for any class.
    let gans_after = gan_records(&run_dir);
    for (name, before) in &finished_at_kill {
        let after = &gans_after[name];
        assert_eq!(
            serde_json::to_value(before).unwrap(),
            serde_json::to_value(after).unwrap(),
            "{name} changed"
        );
    }
    let final_snapshot = Snapshot::take(&store);
    for job_id in &finished_jobs {
        let prefix = format!("jobs/trainer/{job_id}/");
        let changed =
            after_kill.missing_or_changed_in(&final_snapshot, |key| key.starts_with(&prefix));
        assert!(
            changed.is_empty(),
            "finished job {job_id} was touched:\n{changed}"
        );
    }
    let jobs_after = job_records(&store, "trainer");
    assert_eq!(
        jobs_after.keys().collect::<Vec<_>>(),
        jobs_at_kill.keys().collect::<Vec<_>>(),
        "the rerun must reattach to the same jobs, not submit new ones"
    );
    for job in jobs_after.values() {
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    // The job that was running at the kill resumed (a second start of the same job).
    for job_id in interrupted {
        let before = jobs_at_kill[job_id]["attempts"].as_u64().unwrap();
        let after = jobs_after[job_id]["attempts"].as_u64().unwrap();
        assert_eq!(after, before + 1, "job {job_id} was not resumed once");
    }
    // Nothing that existed at the crash was lost.
    let lost = after_kill.missing_or_changed_in(&final_snapshot, store_audit::is_immutable);
    assert!(lost.is_empty(), "data lost or changed:\n{lost}");
    store_audit::verify(&store);
}
