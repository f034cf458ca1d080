//! End to end: the real `eyegan-dataset` binary on a free port over a file:// store, waited for
//! with its `healthcheck` subcommand; a phantom-generated ImageFolder is imported through the
//! client and the summary checked; the binary stops on SIGTERM and finds the dataset again after
//! a restart.

use std::time::Duration;

use eyegan_dataset::client::{format_version_summary, DatasetClient};
use eyegan_e2e::ServiceProcess;
use eyegan_imaging::phantom::{write_image_folder, Difficulty};
use eyegan_proto::dataset::v1 as pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataset_binary_imports_a_phantom_folder() {
    let binary = eyegan_e2e::binaries!().dataset;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("store").display());
    let folder = dir.path().join("phantom");
    let written = write_image_folder(&folder, 6, 96, 3, &Difficulty::default()).unwrap();
    assert_eq!(written.images, 24);
    std::fs::write(folder.join("normal/cut.jpg"), b"\xff\xd8\xff\xe0 cut short").unwrap();

    let service = ServiceProcess::start(&binary, &["--store", &store], dir.path()).await;
    let mut client = DatasetClient::connect(&service.endpoint).await.unwrap();
    let result = client
        .import_folder(
            &folder,
            pb::ImportHeader {
                dataset_name: "phantom-e2e".into(),
                options: Some(pb::ImportOptions {
                    class_mapping: [("diabetic_retinopathy".to_owned(), "dr".to_owned())].into(),
                    ..Default::default()
                }),
                description: "end-to-end".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!((result.accepted, result.rejected), (24, 1));
    let cut = result
        .files
        .iter()
        .find(|f| f.relative_path == "normal/cut.jpg")
        .unwrap();
    assert_eq!(cut.reason(), pb::FileReason::Truncated, "{}", cut.message);

    let version = result.version.unwrap();
    assert_eq!(version.classes, ["dr", "glaucoma", "myopia", "normal"]);
    assert_eq!(version.image_size, 64, "the default target size");
    assert!(version.class_counts.iter().all(|c| c.total == 6));
    let summary = format_version_summary(&version);
    assert!(
        summary.starts_with("dataset phantom-e2e version 1 (24 images, 64x64 px)"),
        "{summary}"
    );

    // The binary's own client commands see the same dataset.
    let listed = service.client_command(&["list"]).await;
    assert!(
        listed.starts_with("phantom-e2e\tlatest version 1"),
        "{listed}"
    );
    let split = service
        .client_command(&["split", "phantom-e2e", "--seed", "4"])
        .await;
    assert!(split.contains("split: 0.70/0.15/0.15, seed 4"), "{split}");

    // SIGTERM: graceful exit 0, and the health check fails afterwards.
    let status = service.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "exit status {status}");

    // A restart on the same store finds the dataset and its split.
    let service = ServiceProcess::start(&binary, &["--store", &store], dir.path()).await;
    let shown = service.client_command(&["show", "phantom-e2e"]).await;
    assert!(
        shown.contains("dataset phantom-e2e version 1 (24 images"),
        "{shown}"
    );
    assert!(shown.contains("seed 4"), "{shown}");
    let endpoint = service.endpoint.clone();
    let status = service.terminate(Duration::from_secs(20)).await;
    assert!(status.success());
    let after = tokio::process::Command::new(&binary)
        .args(["healthcheck", "--endpoint", &endpoint, "--timeout", "1s"])
        .output()
        .await
        .unwrap();
    assert!(
        !after.status.success(),
        "healthcheck passed on a stopped service"
    );
}
