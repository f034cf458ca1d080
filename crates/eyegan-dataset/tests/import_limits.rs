//! Per-import limits: an upload with more files or bytes than the server allows fails with
//! RESOURCE_EXHAUSTED and publishes nothing; within the limits the same upload succeeds. A
//! message over `--max-message-bytes` is refused before it is buffered.

mod support;

use eyegan_dataset::import::ServerLimits;
use eyegan_dataset::DatasetConfig;
use eyegan_imaging::phantom::PhantomClass;
use eyegan_proto::common::v1::Chunk;
use eyegan_proto::dataset::v1::{self as pb, import_request::Item};
use eyegan_service::{Security, ServerSecurity, MIN_MAX_MESSAGE_BYTES};
use eyegan_store::Store;
use support::{fundus_png, header, TestServer};
use tonic::Code;

fn upload(name: &str, files: &[Vec<u8>]) -> Vec<pb::ImportRequest> {
    let mut messages = vec![pb::ImportRequest {
        item: Some(Item::Header(header(name))),
    }];
    for (index, bytes) in files.iter().enumerate() {
        messages.push(pb::ImportRequest {
            item: Some(Item::File(pb::ImportFile {
                relative_path: format!("normal/{index}.png"),
                size: bytes.len() as u64,
            })),
        });
        messages.push(pb::ImportRequest {
            item: Some(Item::Chunk(Chunk {
                data: bytes.clone(),
            })),
        });
    }
    messages
}

async fn import_code(server: &TestServer, name: &str, files: &[Vec<u8>]) -> Code {
    let mut client = server.client().await;
    match client
        .raw()
        .import(futures::stream::iter(upload(name, files)))
        .await
    {
        Ok(_) => Code::Ok,
        Err(status) => {
            if status.code() == Code::ResourceExhausted {
                assert!(status.message().contains("--max-import"), "{status:?}");
            }
            status.code()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_past_the_file_or_byte_limit_are_resource_exhausted_and_publish_nothing() {
    let files: Vec<Vec<u8>> = (0..3)
        .map(|index| fundus_png(PhantomClass::Normal, index, 48, 40, 36))
        .collect();
    let total: u64 = files.iter().map(|f| f.len() as u64).sum();
    let limits = |max_import_files, max_import_bytes| DatasetConfig {
        limits: ServerLimits {
            max_import_files,
            max_import_bytes,
            ..ServerLimits::default()
        },
        ..DatasetConfig::default()
    };

    let server = TestServer::start_with(Store::open("memory://").unwrap(), limits(2, total)).await;
    assert_eq!(
        import_code(&server, "three", &files).await,
        Code::ResourceExhausted
    );
    assert_eq!(import_code(&server, "two", &files[..2]).await, Code::Ok);
    let mut client = server.client().await;
    let ids: Vec<String> = client
        .list_datasets()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.dataset_id)
        .collect();
    assert_eq!(
        ids,
        vec!["two".to_owned()],
        "the refused import left nothing"
    );
    server.stop().await;

    let server =
        TestServer::start_with(Store::open("memory://").unwrap(), limits(10, total - 1)).await;
    assert_eq!(
        import_code(&server, "big", &files).await,
        Code::ResourceExhausted
    );
    assert_eq!(import_code(&server, "fits", &files[..2]).await, Code::Ok);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_message_limit_is_refused_and_publishes_nothing() {
    let security = Security {
        server: ServerSecurity {
            max_message_bytes: MIN_MAX_MESSAGE_BYTES,
            ..ServerSecurity::default()
        },
        ..Security::default()
    };
    let server = TestServer::start_secured(
        Store::open("memory://").unwrap(),
        DatasetConfig::default(),
        security,
    )
    .await;
    // One chunk message just over the limit (a real client sends ≤ 1 MiB chunks).
    let oversized = vec![0u8; MIN_MAX_MESSAGE_BYTES + 1];
    let mut client = server.client().await;
    let status = client
        .raw()
        .import(futures::stream::iter(upload("huge", &[oversized])))
        .await
        .expect_err("an oversized message must be refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("--max-message-bytes"),
        "{status:?}"
    );
    assert!(client.list_datasets().await.unwrap().is_empty());

    // The same server takes a normal upload.
    let file = fundus_png(PhantomClass::Normal, 0, 48, 40, 36);
    assert_eq!(import_code(&server, "small", &[file]).await, Code::Ok);
    server.stop().await;
}
