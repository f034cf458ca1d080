//! Store behaviour on the memory:// and file:// backends.

use eyegan_store::{BlobRef, Store, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Manifest {
    name: String,
    images: Vec<BlobRef>,
}

fn stores() -> Vec<(Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    vec![
        (Store::open("memory://").unwrap(), None),
        (Store::open(&url).unwrap(), Some(dir)),
    ]
}

#[tokio::test]
async fn blobs_round_trip_and_are_idempotent() {
    for (store, _dir) in stores() {
        let blob = store.put_blob(b"fundus".to_vec()).await.unwrap();
        assert_eq!(blob, BlobRef::of(b"fundus"));
        assert_eq!(store.put_blob(b"fundus".to_vec()).await.unwrap(), blob);
        assert_eq!(&store.get_blob(&blob).await.unwrap()[..], b"fundus");
        assert!(store.has_blob(&blob).await.unwrap());
        assert_eq!(store.list_keys("blobs").await.unwrap(), vec![blob.key()]);

        let absent = BlobRef::of(b"never stored");
        assert!(!store.has_blob(&absent).await.unwrap());
        assert!(store.get_blob(&absent).await.unwrap_err().is_not_found());
    }
}

#[tokio::test]
async fn get_blob_detects_tampered_content() {
    for (store, _dir) in stores() {
        let blob = store.put_blob(b"original".to_vec()).await.unwrap();
        // Same size, different bytes: only the hash can tell.
        store
            .put_bytes(&blob.key(), b"tampered".to_vec())
            .await
            .unwrap();
        let error = store.get_blob(&blob).await.unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        // Wrong size in the reference.
        let wrong_size = BlobRef::new(blob.sha256.clone(), 3).unwrap();
        assert!(matches!(
            store.get_blob(&wrong_size).await.unwrap_err(),
            StoreError::Corrupt { .. }
        ));
    }
}

#[tokio::test]
async fn json_documents_create_only_and_overwrite() {
    for (store, _dir) in stores() {
        let first = Manifest {
            name: "v1".into(),
            images: vec![],
        };
        store
            .put_json_new("datasets/eyes/1.json", &first)
            .await
            .unwrap();
        let again = store.put_json_new("datasets/eyes/1.json", &first).await;
        assert!(matches!(again, Err(StoreError::AlreadyExists { .. })));

        let read: Option<Manifest> = store.get_json("datasets/eyes/1.json").await.unwrap();
        assert_eq!(read.as_ref(), Some(&first));
        let missing: Option<Manifest> = store.get_json("datasets/eyes/2.json").await.unwrap();
        assert_eq!(missing, None);

        let second = Manifest {
            name: "job".into(),
            images: vec![],
        };
        store.put_json("jobs/j1.json", &first).await.unwrap();
        store.put_json("jobs/j1.json", &second).await.unwrap();
        let read: Manifest = store.get_json("jobs/j1.json").await.unwrap().unwrap();
        assert_eq!(read, second);

        store
            .put_bytes("jobs/bad.json", b"{\n  \"name\": 3".to_vec())
            .await
            .unwrap();
        let error = store
            .get_json::<Manifest>("jobs/bad.json")
            .await
            .unwrap_err();
        match error {
            StoreError::Corrupt { key, reason } => {
                assert_eq!(key, "jobs/bad.json");
                assert!(reason.contains("line 2"), "{reason}");
            }
            other => panic!("expected corrupt, got {other}"),
        }
    }
}

#[tokio::test]
async fn manifest_is_refused_until_its_blobs_exist() {
    for (store, _dir) in stores() {
        let image = BlobRef::of(b"image bytes");
        let manifest = Manifest {
            name: "v1".into(),
            images: vec![image.clone()],
        };
        let error = store
            .put_manifest_new("datasets/eyes/1.json", &manifest, &manifest.images)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::Corrupt { reason, .. } if reason.contains(&image.sha256)),
            "{error}"
        );
        assert_eq!(store.get_bytes("datasets/eyes/1.json").await.unwrap(), None);

        store.put_blob(b"image bytes".to_vec()).await.unwrap();
        store
            .put_manifest_new("datasets/eyes/1.json", &manifest, &manifest.images)
            .await
            .unwrap();
        let read: Manifest = store
            .get_json("datasets/eyes/1.json")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read, manifest);
    }
}

#[tokio::test]
async fn listing_matches_whole_segments() {
    for (store, _dir) in stores() {
        for key in ["jobs/a.json", "jobs/b/c.json", "jobs2/d.json", "top.json"] {
            store.put_bytes(key, b"{}".to_vec()).await.unwrap();
        }
        assert_eq!(
            store.list_keys("jobs").await.unwrap(),
            vec!["jobs/a.json", "jobs/b/c.json"]
        );
        assert_eq!(store.list_keys("jobs/").await.unwrap().len(), 2);
        assert_eq!(store.list_keys("").await.unwrap().len(), 4);
        assert_eq!(
            store.list_keys("nothing").await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            store.list_children("jobs").await.unwrap(),
            vec!["a.json", "b"]
        );
        assert_eq!(
            store.list_children("").await.unwrap(),
            vec!["jobs", "jobs2", "top.json"]
        );

        store.delete("jobs/a.json").await.unwrap();
        store.delete("jobs/a.json").await.unwrap();
        assert_eq!(
            store.list_keys("jobs").await.unwrap(),
            vec!["jobs/b/c.json"]
        );
    }
}

#[tokio::test]
async fn unsafe_keys_are_refused() {
    for (store, _dir) in stores() {
        for key in ["../escape", "/abs", "a//b", "a/../../b", "", "x/\u{7}"] {
            let error = store.put_bytes(key, b"x".to_vec()).await.unwrap_err();
            assert!(
                matches!(error, StoreError::InvalidKey { .. }),
                "{key:?}: {error}"
            );
        }
        assert!(store.list_keys("../").await.is_err());
        let bad_ref = BlobRef {
            sha256: "../../etc/passwd".into(),
            size: 1,
        };
        assert!(matches!(
            store.get_blob(&bad_ref).await.unwrap_err(),
            StoreError::InvalidKey { .. }
        ));
    }
}

#[tokio::test]
async fn file_store_persists_across_opens_and_accepts_plain_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nested/store");
    let url = format!("file://{}", root.display());
    let blob = {
        let store = Store::open(&url).unwrap();
        let blob = store.put_blob(b"kept".to_vec()).await.unwrap();
        store
            .put_json_new("m.json", &vec![blob.clone()])
            .await
            .unwrap();
        blob
    };
    assert!(
        root.join(blob.key()).is_file(),
        "blob is a plain file under the root"
    );

    let reopened = Store::open(root.to_str().unwrap()).unwrap();
    let refs: Vec<BlobRef> = reopened.get_json("m.json").await.unwrap().unwrap();
    assert_eq!(&reopened.get_blob(&refs[0]).await.unwrap()[..], b"kept");
}

#[tokio::test]
async fn memory_urls_open_independent_stores() {
    let first = Store::open("memory://").unwrap();
    let second = Store::open("memory://").unwrap();
    first.put_bytes("k", b"v".to_vec()).await.unwrap();
    assert_eq!(second.get_bytes("k").await.unwrap(), None);
    let shared = first.clone();
    assert_eq!(&shared.get_bytes("k").await.unwrap().unwrap()[..], b"v");
}

#[test]
fn bad_urls_have_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let cases = [
        ("".to_owned(), "empty"),
        ("ftp://host/x".to_owned(), "unsupported scheme"),
        ("file://".to_owned(), "needs a directory"),
        (format!("file://{}", file.display()), "directory"),
    ];
    for (url, expected) in cases {
        let error = Store::open(&url).unwrap_err();
        assert!(matches!(error, StoreError::InvalidUrl { .. }), "{url}");
        assert!(error.to_string().contains(expected), "{url}: {error}");
    }
    #[cfg(not(feature = "s3"))]
    {
        let error = Store::open("s3://bucket/prefix").unwrap_err();
        assert!(error.to_string().contains("feature `s3`"), "{error}");
    }
}

#[cfg(feature = "s3")]
#[test]
fn s3_urls_need_a_bucket_and_safe_prefix() {
    // Building the client does not touch the network.
    let store = Store::open("s3://eyegan-bucket/runs/one").unwrap();
    assert_eq!(store.url(), "s3://eyegan-bucket/runs/one");
    let error = Store::open("s3:///prefix").unwrap_err();
    assert!(error.to_string().contains("bucket"), "{error}");
    let error = Store::open("s3://bucket/../escape").unwrap_err();
    assert!(matches!(error, StoreError::InvalidUrl { .. }), "{error}");
}
