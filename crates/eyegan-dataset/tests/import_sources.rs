//! The same tree imported from an upload, a server folder and a store prefix: with a per-class
//! cap the seeded choice is the same whatever the source; another seed chooses differently;
//! originals are kept unless told not to; server folders outside the allowed root are refused.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use eyegan_dataset::client::DatasetClient;
use eyegan_dataset::{DatasetConfig, VersionRecord};
use eyegan_proto::dataset::v1::{self as pb, import_from_path_request::Source};
use eyegan_store::Store;
use support::{assert_invalid, dr_mapping, stream_all, write_tree, TestServer};

fn options(cap: u32, seed: u64, keep_originals: bool) -> pb::ImportOptions {
    pb::ImportOptions {
        class_mapping: dr_mapping(),
        per_class_cap: cap,
        seed,
        target_size: 32,
        keep_originals: Some(keep_originals),
        ..Default::default()
    }
}

async fn from_path(
    client: &mut DatasetClient,
    name: &str,
    source: Source,
    options: pb::ImportOptions,
) -> pb::ImportResult {
    client
        .raw()
        .import_from_path(pb::ImportFromPathRequest {
            dataset_name: name.into(),
            source: Some(source),
            options: Some(options),
            description: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
}

/// (class, original sha256) of every image of version 1.
async fn chosen(client: &mut DatasetClient, name: &str) -> BTreeSet<(String, String)> {
    stream_all(client, name, 1, pb::Split::Unspecified)
        .await
        .into_iter()
        .map(|image| (image.class_name, image.original_sha256))
        .collect()
}

/// Copies every file of `tree` into the store under `prefix`.
async fn upload_to_store(store: &Store, tree: &Path, prefix: &str) {
    let mut pending = vec![tree.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path
                    .strip_prefix(tree)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                store
                    .put_bytes(
                        &format!("{prefix}/{relative}"),
                        std::fs::read(&path).unwrap(),
                    )
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capped_imports_choose_the_same_images_from_every_source() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    write_tree(&tree);
    let store = Store::open("memory://").unwrap();
    upload_to_store(&store, &tree, "incoming/eyes").await;
    let server = TestServer::start(store.clone()).await;
    let mut client = server.client().await;

    let uploaded = client
        .import_folder(
            &tree,
            pb::ImportHeader {
                dataset_name: "uploaded".into(),
                options: Some(options(3, 5, true)),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(uploaded.accepted, 12);
    assert!(uploaded.skipped >= 40 - 12 - 1, "{}", uploaded.skipped);
    assert!(uploaded
        .files
        .iter()
        .filter(|f| f.outcome() == pb::FileOutcome::Skipped)
        .all(|f| f.reason() == pb::FileReason::OverCap));

    let folder = from_path(
        &mut client,
        "folder",
        Source::ServerPath(tree.display().to_string()),
        options(3, 5, false),
    )
    .await;
    assert_eq!(folder.accepted, 12);
    let prefixed = from_path(
        &mut client,
        "prefixed",
        Source::StorePrefix("incoming/eyes".into()),
        options(3, 5, true),
    )
    .await;
    assert_eq!(prefixed.accepted, 12);
    let other_seed = from_path(
        &mut client,
        "other-seed",
        Source::ServerPath(tree.display().to_string()),
        options(3, 6, true),
    )
    .await;
    assert_eq!(other_seed.accepted, 12);

    let reference = chosen(&mut client, "uploaded").await;
    assert_eq!(reference.len(), 12);
    for class in ["dr", "glaucoma", "myopia", "normal"] {
        assert_eq!(
            reference.iter().filter(|(c, _)| c == class).count(),
            3,
            "{class}"
        );
    }
    assert_eq!(chosen(&mut client, "folder").await, reference);
    assert_eq!(chosen(&mut client, "prefixed").await, reference);
    assert_ne!(chosen(&mut client, "other-seed").await, reference);

    // Originals are stored only when asked for, under their own hash.
    for (name, kept) in [("uploaded", true), ("folder", false)] {
        let version: VersionRecord = store
            .get_json(&format!("datasets/{name}/versions/1.json"))
            .await
            .unwrap()
            .unwrap();
        for image in &version.images {
            match (&image.original, kept) {
                (Some(original), true) => {
                    assert_eq!(original.sha256, image.original_sha256);
                    assert_eq!(original.size, image.original_bytes);
                    store.get_blob(original).await.unwrap();
                }
                (None, false) => {}
                (original, _) => panic!("{name}: original {original:?}, expected kept = {kept}"),
            }
        }
    }
    server.stop().await;
}

/// With access control on and no root, no client-named server folder is read or written
/// (FAILED_PRECONDITION naming `--path-root`); uploads still import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_root_a_token_guarded_service_refuses_server_folders() {
    let outside = tempfile::tempdir().unwrap();
    let tree = outside.path().join("tree");
    write_tree(&tree);
    let config = DatasetConfig {
        server_folders_need_root: true,
        ..Default::default()
    };
    let server = TestServer::start_with(Store::open("memory://").unwrap(), config).await;
    let mut client = server.client().await;
    let refused = client
        .raw()
        .import_from_path(pb::ImportFromPathRequest {
            dataset_name: "x".into(),
            source: Some(Source::ServerPath(tree.display().to_string())),
            options: Some(options(0, 0, true)),
            description: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused.message().contains("--path-root"),
        "{}",
        refused.message()
    );
    let export = client
        .raw()
        .export_version(pb::ExportVersionRequest {
            dataset: Some(eyegan_proto::common::v1::DatasetRef {
                dataset_id: "x".into(),
                version: 1,
            }),
            server_path: outside.path().join("out").display().to_string(),
            ..Default::default()
        })
        .await;
    let Err(refused) = export else {
        panic!("an export to a server folder was accepted")
    };
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(!outside.path().join("out").exists(), "nothing created");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_folders_must_lie_under_the_allowed_root() {
    let allowed = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let tree = outside.path().join("tree");
    write_tree(&tree);
    let config = DatasetConfig {
        path_root: Some(allowed.path().to_path_buf()),
        ..Default::default()
    };
    let server = TestServer::start_with(Store::open("memory://").unwrap(), config).await;
    let mut client = server.client().await;
    let request = |path: &Path| pb::ImportFromPathRequest {
        dataset_name: "x".into(),
        source: Some(Source::ServerPath(path.display().to_string())),
        options: Some(options(0, 0, true)),
        description: String::new(),
    };
    assert_invalid(
        client.raw().import_from_path(request(&tree)).await,
        "server_path",
    );
    let missing = client
        .raw()
        .import_from_path(request(&allowed.path().join("missing")))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);

    let inside = allowed.path().join("tree");
    write_tree(&inside);
    let result = client
        .raw()
        .import_from_path(request(&inside))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(result.accepted, 40);
    server.stop().await;
}
