//! Bad requests get INVALID_ARGUMENT naming the field (or NOT_FOUND / ALREADY_EXISTS), and a
//! strict, failed or cancelled import leaves nothing visible.

mod support;

use std::time::Duration;

use eyegan_dataset::client::DatasetClient;
use eyegan_imaging::bad_inputs;
use eyegan_proto::common::v1::Chunk;
use eyegan_proto::dataset::v1::{self as pb, import_request::Item};
use eyegan_store::Store;
use support::{assert_invalid, fundus_png, header, reference, TestServer};
use tokio_stream::wrappers::ReceiverStream;

fn file(path: &str, bytes: &[u8]) -> Vec<pb::ImportRequest> {
    vec![
        pb::ImportRequest {
            item: Some(Item::File(pb::ImportFile {
                relative_path: path.to_owned(),
                size: bytes.len() as u64,
            })),
        },
        pb::ImportRequest {
            item: Some(Item::Chunk(Chunk {
                data: bytes.to_vec(),
            })),
        },
    ]
}

fn with_header(
    header: pb::ImportHeader,
    files: Vec<Vec<pb::ImportRequest>>,
) -> Vec<pb::ImportRequest> {
    let mut messages = vec![pb::ImportRequest {
        item: Some(Item::Header(header)),
    }];
    messages.extend(files.into_iter().flatten());
    messages
}

async fn import(
    client: &mut DatasetClient,
    messages: Vec<pb::ImportRequest>,
) -> Result<pb::ImportResponse, tonic::Status> {
    client
        .raw()
        .import(futures::stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

fn good_png(index: u32) -> Vec<u8> {
    fundus_png(
        eyegan_imaging::phantom::PhantomClass::Normal,
        index,
        80,
        64,
        60,
    )
}

async fn dataset_ids(client: &mut DatasetClient) -> Vec<String> {
    client
        .list_datasets()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.dataset_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_the_field() {
    let server = TestServer::start(Store::open("memory://").unwrap()).await;
    let mut client = server.client().await;
    let one_file = || vec![file("normal/a.png", &good_png(0))];

    assert_invalid(
        import(&mut client, with_header(header("../escape"), one_file())).await,
        "header.dataset_name",
    );
    assert_invalid(
        import(&mut client, with_header(header(""), one_file())).await,
        "header.dataset_name",
    );
    let mut big = header("ok");
    big.options.as_mut().unwrap().target_size = 5000;
    assert_invalid(
        import(&mut client, with_header(big, one_file())).await,
        "header.options.target_size",
    );
    assert_invalid(import(&mut client, one_file().concat()).await, "header");
    let mut oversized_chunk = with_header(header("ok"), vec![]);
    oversized_chunk.push(pb::ImportRequest {
        item: Some(Item::File(pb::ImportFile {
            relative_path: "normal/a.png".into(),
            size: 2 << 20,
        })),
    });
    oversized_chunk.push(pb::ImportRequest {
        item: Some(Item::Chunk(Chunk {
            data: vec![0; 2 << 20],
        })),
    });
    assert_invalid(import(&mut client, oversized_chunk).await, "chunk");
    let mut short = with_header(header("ok"), vec![file("normal/a.png", &good_png(0))]);
    if let Some(Item::File(f)) = short[1].item.as_mut() {
        f.size += 10;
    }
    assert_invalid(import(&mut client, short).await, "chunk");

    let phantom = |per_class, render_size| pb::ImportPhantomRequest {
        dataset_name: "p".into(),
        per_class,
        render_size,
        ..Default::default()
    };
    assert_invalid(
        client.raw().import_phantom(phantom(0, 0)).await,
        "per_class",
    );
    assert_invalid(
        client.raw().import_phantom(phantom(1, 9999)).await,
        "render_size",
    );

    assert_invalid(
        client
            .raw()
            .import_from_path(pb::ImportFromPathRequest {
                dataset_name: "p".into(),
                source: Some(pb::import_from_path_request::Source::ServerPath(
                    "relative/dir".into(),
                )),
                ..Default::default()
            })
            .await,
        "server_path",
    );
    assert_invalid(
        client
            .raw()
            .import_from_path(pb::ImportFromPathRequest {
                dataset_name: "p".into(),
                ..Default::default()
            })
            .await,
        "source",
    );

    // A real dataset for the version-level requests.
    import(
        &mut client,
        with_header(
            header("ok"),
            vec![
                file("normal/a.png", &good_png(0)),
                file("dr/b.png", &good_png(1)),
            ],
        ),
    )
    .await
    .unwrap();
    let taken = import(&mut client, with_header(header("ok"), one_file()))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), tonic::Code::AlreadyExists);

    let split = |train, val, test, regex: &str| pb::CreateSplitRequest {
        dataset: Some(reference("ok", 1)),
        train_ratio: train,
        val_ratio: val,
        test_ratio: test,
        seed: 0,
        group_regex: regex.to_owned(),
    };
    assert_invalid(
        client.raw().create_split(split(0.5, 0.5, 0.5, "")).await,
        "train_ratio",
    );
    assert_invalid(
        client.raw().create_split(split(0.8, -0.1, 0.3, "")).await,
        "val_ratio",
    );
    assert_invalid(
        client.raw().create_split(split(0.0, 0.0, 0.0, "(")).await,
        "group_regex",
    );
    assert_invalid(
        client
            .raw()
            .create_split(pb::CreateSplitRequest::default())
            .await,
        "dataset",
    );

    assert_invalid(
        client
            .raw()
            .get_version(pb::GetVersionRequest { dataset: None })
            .await,
        "dataset",
    );
    assert_invalid(
        client
            .raw()
            .get_version(pb::GetVersionRequest {
                dataset: Some(reference("a/b", 1)),
            })
            .await,
        "dataset.dataset_id",
    );
    for missing in [reference("nope", 1), reference("ok", 9)] {
        let status = client
            .raw()
            .get_version(pb::GetVersionRequest {
                dataset: Some(missing),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    }
    let status = client
        .raw()
        .get_dataset(pb::GetDatasetRequest {
            dataset_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);

    let stream = |batch_size, class_name: &str, split: pb::Split| pb::StreamImagesRequest {
        dataset: Some(reference("ok", 1)),
        split: split as i32,
        class_name: class_name.to_owned(),
        batch_size,
    };
    assert_invalid(
        client
            .raw()
            .stream_images(stream(5000, "", pb::Split::Unspecified))
            .await,
        "batch_size",
    );
    assert_invalid(
        client
            .raw()
            .stream_images(stream(0, "cataract", pb::Split::Unspecified))
            .await,
        "class_name",
    );
    let unsplit = client
        .raw()
        .stream_images(stream(0, "", pb::Split::Test))
        .await
        .unwrap_err();
    assert_eq!(unsplit.code(), tonic::Code::FailedPrecondition);

    assert_invalid(
        client
            .raw()
            .export_version(pb::ExportVersionRequest {
                dataset: Some(reference("ok", 1)),
                ..Default::default()
            })
            .await,
        "server_path",
    );
    assert_eq!(dataset_ids(&mut client).await, ["ok"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_failed_and_cancelled_imports_leave_nothing_visible() {
    let server = TestServer::start(Store::open("memory://").unwrap()).await;
    let mut client = server.client().await;

    // Strict: the corrupt file fails the import, naming it.
    let mut strict = header("strict");
    strict.options.as_mut().unwrap().strict = true;
    let files = vec![
        file("normal/a.png", &good_png(0)),
        file("normal/bad.jpg", &bad_inputs::corrupt_jpeg()),
    ];
    assert_invalid(
        import(&mut client, with_header(strict, files)).await,
        "normal/bad.jpg",
    );

    // Nothing acceptable: FAILED_PRECONDITION, nothing published.
    let files = vec![file("normal/notes.png", &bad_inputs::text_file())];
    let status = import(&mut client, with_header(header("empty"), files))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains("normal/notes.png"),
        "{}",
        status.message()
    );

    // Cancelled: the client goes away in the middle of a file.
    let (sender, receiver) = tokio::sync::mpsc::channel(8);
    let mut raw = client.raw().clone();
    let call = tokio::spawn(async move { raw.import(ReceiverStream::new(receiver)).await });
    let png = good_png(1);
    sender
        .send(pb::ImportRequest {
            item: Some(Item::Header(header("cancelled"))),
        })
        .await
        .unwrap();
    for message in file("normal/a.png", &png) {
        sender.send(message).await.unwrap();
    }
    sender
        .send(pb::ImportRequest {
            item: Some(Item::File(pb::ImportFile {
                relative_path: "normal/b.png".into(),
                size: 1000,
            })),
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    call.abort();
    drop(sender);
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert!(dataset_ids(&mut client).await.is_empty());
    // Every name is still free.
    for name in ["strict", "empty", "cancelled"] {
        import(
            &mut client,
            with_header(header(name), vec![file("normal/a.png", &png)]),
        )
        .await
        .unwrap();
    }
    assert_eq!(
        dataset_ids(&mut client).await,
        ["cancelled", "empty", "strict"]
    );
    server.stop().await;
}
