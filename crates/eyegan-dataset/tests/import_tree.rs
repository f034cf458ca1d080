//! Importing a generated ImageFolder tree with bad files through the client stream, on memory://
//! and file:// stores: good images at the right size, every bad file reported with its reason,
//! stratified splits reproducible by seed, groups kept together, service still healthy.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use eyegan_dataset::client::DatasetClient;
use eyegan_proto::dataset::v1 as pb;
use eyegan_store::Store;
use support::{assignments, header, reference, stream_all, write_tree, TestServer, TreeSpec};

async fn import(
    client: &mut DatasetClient,
    tree: &std::path::Path,
    name: &str,
) -> pb::ImportResult {
    client.import_folder(tree, header(name)).await.unwrap()
}

async fn split(
    client: &mut DatasetClient,
    name: &str,
    seed: u64,
    group_regex: &str,
) -> pb::VersionSummary {
    client
        .create_split(pb::CreateSplitRequest {
            dataset: Some(reference(name, 1)),
            seed,
            group_regex: group_regex.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
}

fn check_reports(result: &pb::ImportResult, spec: &TreeSpec) {
    let by_path: BTreeMap<&str, &pb::FileReport> = result
        .files
        .iter()
        .map(|f| (f.relative_path.as_str(), f))
        .collect();
    for (path, reason) in &spec.bad {
        let report = by_path
            .get(path.as_str())
            .unwrap_or_else(|| panic!("no report for {path}"));
        assert_eq!(report.outcome(), pb::FileOutcome::Rejected, "{path}");
        assert_eq!(report.reason(), *reason, "{path}: {}", report.message);
        assert!(!report.message.is_empty(), "{path}");
    }
    let (a, b) = &spec.duplicate_pair;
    let (a, b) = (by_path[a.as_str()], by_path[b.as_str()]);
    let (duplicate, kept) = if a.reason() == pb::FileReason::Duplicate {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(duplicate.reason(), pb::FileReason::Duplicate);
    assert_eq!(duplicate.outcome(), pb::FileOutcome::Rejected);
    assert!(
        duplicate.message.contains(&kept.relative_path),
        "{}",
        duplicate.message
    );
    assert_eq!(kept.outcome(), pb::FileOutcome::Accepted);

    assert_eq!(result.accepted as usize, spec.good_total());
    assert_eq!(result.rejected as usize, spec.bad.len() + 1);
    assert_eq!(result.skipped, 0);
    assert_eq!(result.files.len(), spec.good_total() + spec.bad.len() + 1);
}

async fn import_tree_and_split(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let spec = write_tree(&tree);
    let server = TestServer::start(store).await;
    let mut client = server.client().await;

    // Import: every file reported, good ones stored at 32x32 with their original size recorded.
    let result = import(&mut client, &tree, "eyes-a").await;
    check_reports(&result, &spec);
    let version = result.version.clone().unwrap();
    assert_eq!(version.classes, ["dr", "glaucoma", "myopia", "normal"]);
    assert_eq!(version.image_size, 32);
    let counts: Vec<(String, u64)> = version
        .class_counts
        .iter()
        .map(|c| (c.class_name.clone(), c.total))
        .collect();
    assert_eq!(
        counts,
        [
            ("dr".into(), 12),
            ("glaucoma".into(), 10),
            ("myopia".into(), 8),
            ("normal".into(), 10)
        ]
    );
    assert_eq!(version.split_counts.unwrap().unassigned, 40);

    let images = stream_all(&mut client, "eyes-a", 1, pb::Split::Unspecified).await;
    assert_eq!(images.len(), spec.good_total());
    for image in &images {
        let pixels = eyegan_imaging::decode_png_rgb(&image.png).unwrap();
        assert_eq!(pixels.dimensions(), (32, 32), "{}", image.source_file);
        let original = spec
            .original_sizes
            .get(&image.source_file)
            .copied()
            .unwrap_or((300, 200)); // the kept duplicate copy is a 300x200 JPEG too
        assert_eq!(
            (image.original_width, image.original_height),
            original,
            "{}",
            image.source_file
        );
        assert_eq!(
            image.png_sha256,
            eyegan_dataset::import::sha256_hex(&image.png)
        );
        assert_eq!(
            image.provenance.as_ref().unwrap().source(),
            pb::ImageSource::Imported
        );
        assert_eq!(
            image.label as usize,
            version
                .classes
                .iter()
                .position(|c| *c == image.class_name)
                .unwrap()
        );
    }

    // The same tree under other names, for split comparisons.
    import(&mut client, &tree, "eyes-b").await;
    import(&mut client, &tree, "eyes-c").await;
    import(&mut client, &tree, "eyes-d").await;

    // Stratified: every class split close to 70/15/15 and every split non-empty per class.
    let split_a = split(&mut client, "eyes-a", 7, "").await;
    for class in &split_a.class_counts {
        let n = class.total as f64;
        assert_eq!(class.train + class.val + class.test, class.total);
        assert!((class.train as f64 - 0.70 * n).abs() <= 1.0, "{class:?}");
        assert!((class.val as f64 - 0.15 * n).abs() <= 1.0, "{class:?}");
        assert!((class.test as f64 - 0.15 * n).abs() <= 1.0, "{class:?}");
        assert!(
            class.train > 0 && class.val > 0 && class.test > 0,
            "{class:?}"
        );
    }
    assert_eq!(split_a.split_counts.unwrap().unassigned, 0);

    // Same seed, same split (on another dataset of the same files); other seed, other split.
    split(&mut client, "eyes-b", 7, "").await;
    split(&mut client, "eyes-c", 8, "").await;
    let a = assignments(&mut client, "eyes-a", 1).await;
    let b = assignments(&mut client, "eyes-b", 1).await;
    let c = assignments(&mut client, "eyes-c", 1).await;
    assert_eq!(a.len(), 40);
    assert_eq!(a, b);
    assert_ne!(a, c);

    // The group regex keeps both eyes of a patient in one split.
    let grouped = split(&mut client, "eyes-d", 7, r"^(\d+)_").await;
    assert_eq!(grouped.split.unwrap().group_regex, r"^(\d+)_");
    let d = assignments(&mut client, "eyes-d", 1).await;
    let mut patients: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for (file, split) in &d {
        let name = file.rsplit('/').next().unwrap();
        if let Some((patient, _)) = name.split_once('_') {
            if patient.chars().all(|c| c.is_ascii_digit()) {
                patients
                    .entry(patient.to_owned())
                    .or_default()
                    .insert(*split as i32);
            }
        }
    }
    assert_eq!(patients.len(), 20);
    for (patient, splits) in &patients {
        assert_eq!(
            splits.len(),
            1,
            "patient {patient} is split across {splits:?}"
        );
    }
    let used: BTreeSet<i32> = patients.values().flatten().copied().collect();
    assert_eq!(used.len(), 3, "all three splits are used");

    // Listing sees all four datasets; the service is still healthy.
    let listed: Vec<String> = client
        .list_datasets()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.dataset_id)
        .collect();
    assert_eq!(listed, ["eyes-a", "eyes-b", "eyes-c", "eyes-d"]);
    for service in ["", "eyegan.dataset.v1.DatasetService"] {
        eyegan_service::check_health(&server.endpoint, service, Duration::from_secs(5))
            .await
            .unwrap();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_tree_on_a_memory_store() {
    import_tree_and_split(Store::open("memory://").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_tree_on_a_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    import_tree_and_split(Store::open(&url).unwrap()).await;
    // The manifests are where the layout says.
    let store = Store::open(&url).unwrap();
    let keys = store.list_keys("datasets/eyes-a").await.unwrap();
    assert!(
        keys.contains(&"datasets/eyes-a/dataset.json".to_owned()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"datasets/eyes-a/versions/1.json".to_owned()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"datasets/eyes-a/splits/1.json".to_owned()),
        "{keys:?}"
    );
}
