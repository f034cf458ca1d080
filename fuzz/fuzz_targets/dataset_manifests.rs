//! Dataset manifests: whatever bytes sit in the store as a dataset's `dataset.json`,
//! `versions/1.json` and `splits/1.json` (split on 0xFF, which JSON never contains), reading
//! them through the dataset repository answers a record or a clean error, never panics, and
//! never yields a blob key that leaves the blob prefix.
#![no_main]

use eyegan_dataset::Repository;
use eyegan_store::{validate_key_segment, Store, BLOB_PREFIX};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xFF);
    let documents = [
        ("datasets/fz/dataset.json", parts.next().unwrap_or_default()),
        ("datasets/fz/versions/1.json", parts.next().unwrap_or_default()),
        ("datasets/fz/splits/1.json", parts.next().unwrap_or_default()),
    ];
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let store = Store::open("memory://").unwrap();
            for (key, bytes) in documents {
                store.put_bytes(key, bytes.to_vec()).await.unwrap();
            }
            let repository = Repository::new(store);
            let _ = repository.list_datasets().await;
            let Ok(version) = repository.version("fz", 0, "dataset").await else {
                return;
            };
            for blob in version.blobs() {
                let key = blob.key();
                let safe = key.starts_with(BLOB_PREFIX)
                    && key.split('/').all(|segment| validate_key_segment(segment).is_ok());
                if !safe {
                    // Such a key must be refused by the store, not read.
                    assert!(repository.store().get_blob(&blob).await.is_err(), "{key}");
                }
            }
            for class in &version.classes {
                let _ = version.label_of(class);
            }
            let json = serde_json::to_vec(&version).unwrap();
            assert!(!json.is_empty());
        })
    });
});
