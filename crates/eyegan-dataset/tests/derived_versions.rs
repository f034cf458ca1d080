//! Derived versions: AddImages puts synthetic images in train only with their provenance, the
//! frozen test split carries over unchanged, splits cannot be remade, and export round-trips.

mod support;

use std::collections::BTreeMap;

use eyegan_dataset::client::DatasetClient;
use eyegan_imaging::phantom::{self, Difficulty, PhantomClass};
use eyegan_proto::dataset::v1 as pb;
use eyegan_store::Store;
use futures::StreamExt;
use support::{assert_invalid, reference, stream_all, TestServer};

fn synthetic(class: &str, index: u64, size: u32) -> pb::NewImage {
    let pixels = phantom::render(
        99,
        PhantomClass::Normal,
        index as u32,
        size,
        &Difficulty::default(),
    );
    pb::NewImage {
        class_name: class.to_owned(),
        png: eyegan_imaging::encode_png(&pixels).unwrap(),
        provenance: Some(pb::Provenance {
            source: pb::ImageSource::Synthetic as i32,
            generator_checkpoint: format!("checkpoints/{class}/g-000100.json"),
            seed: 42,
            index,
            discriminator_score: Some(0.9),
        }),
    }
}

async fn add(
    client: &mut DatasetClient,
    parent: u64,
    images: Vec<pb::NewImage>,
) -> Result<pb::AddImagesResponse, tonic::Status> {
    let mut messages = vec![pb::AddImagesRequest {
        item: Some(pb::add_images_request::Item::Header(pb::AddImagesHeader {
            parent: Some(reference("phantom", parent)),
            note: String::new(),
        })),
    }];
    messages.extend(images.into_iter().map(|image| pb::AddImagesRequest {
        item: Some(pb::add_images_request::Item::Image(image)),
    }));
    client
        .raw()
        .add_images(futures::stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

fn ids(images: &[pb::Image]) -> Vec<String> {
    let mut ids: Vec<String> = images.iter().map(|i| i.image_id.clone()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_images_join_train_and_the_test_split_stays_frozen() {
    let server = TestServer::start(Store::open("memory://").unwrap()).await;
    let mut client = server.client().await;
    let imported = client
        .import_phantom(pb::ImportPhantomRequest {
            dataset_name: "phantom".into(),
            per_class: 8,
            render_size: 64,
            seed: 5,
            classes: vec!["dr".into(), "normal".into()],
            options: Some(pb::ImportOptions {
                target_size: 32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(imported.accepted, 16);
    assert_eq!(
        imported.version.unwrap().classes,
        ["diabetic_retinopathy", "normal"]
    );

    // No split yet: adding images is refused and nothing appears.
    let refused = add(&mut client, 1, vec![synthetic("normal", 0, 32)]).await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::FailedPrecondition);

    client
        .create_split(pb::CreateSplitRequest {
            dataset: Some(reference("phantom", 1)),
            seed: 3,
            ..Default::default()
        })
        .await
        .unwrap();

    // Bad images are refused naming the field; no version appears.
    assert_invalid(
        add(&mut client, 1, vec![synthetic("cataract", 0, 32)]).await,
        "image[0].class_name",
    );
    assert_invalid(
        add(
            &mut client,
            1,
            vec![synthetic("normal", 0, 32), synthetic("normal", 1, 48)],
        )
        .await,
        "image[1].png",
    );
    let mut scored = synthetic("normal", 0, 32);
    scored.provenance.as_mut().unwrap().discriminator_score = Some(1.5);
    assert_invalid(
        add(&mut client, 1, vec![scored]).await,
        "image[0].provenance.discriminator_score",
    );
    assert_eq!(client.list_versions("phantom").await.unwrap().len(), 1);

    // Three synthetic images per class.
    let new_images = (0..3)
        .flat_map(|i| {
            [
                synthetic("normal", i, 32),
                synthetic("diabetic_retinopathy", 10 + i, 32),
            ]
        })
        .collect();
    let response = add(&mut client, 1, new_images).await.unwrap();
    assert_eq!(response.added, 6);
    let derived = response.version.unwrap();
    assert_eq!(derived.r#ref.clone().unwrap().version, 2);
    assert_eq!(derived.parent_version, 1);
    assert_eq!(derived.total_images, 22);
    for class in &derived.class_counts {
        assert_eq!(class.synthetic, 3, "{class:?}");
    }

    let v1 = client.get_version("phantom", 1).await.unwrap();
    let v1_splits = v1.split_counts.unwrap();
    let v2_splits = derived.split_counts.unwrap();
    assert_eq!(v2_splits.train, v1_splits.train + 6);
    assert_eq!(
        (v2_splits.val, v2_splits.test),
        (v1_splits.val, v1_splits.test)
    );
    assert_eq!(derived.split.unwrap().made_in_version, 1);

    // The same test and val images in both versions; synthetic ones only in train.
    for split in [pb::Split::Test, pb::Split::Val] {
        let before = stream_all(&mut client, "phantom", 1, split).await;
        let after = stream_all(&mut client, "phantom", 2, split).await;
        assert!(!before.is_empty());
        assert_eq!(ids(&before), ids(&after), "{split:?}");
    }
    let train = stream_all(&mut client, "phantom", 2, pb::Split::Train).await;
    let synthetic_train: Vec<&pb::Image> = train
        .iter()
        .filter(|i| i.provenance.as_ref().unwrap().source() == pb::ImageSource::Synthetic)
        .collect();
    assert_eq!(synthetic_train.len(), 6);
    for image in synthetic_train {
        let provenance = image.provenance.as_ref().unwrap();
        assert!(provenance.generator_checkpoint.starts_with("checkpoints/"));
        assert_eq!(provenance.seed, 42);
        assert_eq!(provenance.discriminator_score, Some(0.9));
        assert_eq!(image.split(), pb::Split::Train);
    }
    let all_v2 = stream_all(&mut client, "phantom", 2, pb::Split::Unspecified).await;
    assert!(all_v2
        .iter()
        .filter(|i| i.provenance.as_ref().unwrap().source() == pb::ImageSource::Synthetic)
        .all(|i| i.split() == pb::Split::Train));

    // Splits are frozen: neither version can be split again.
    for version in [1, 2] {
        let error = client
            .create_split(pb::CreateSplitRequest {
                dataset: Some(reference("phantom", version)),
                seed: 4,
                ..Default::default()
            })
            .await
            .unwrap_err();
        let eyegan_dataset::client::ClientError::Status(error) = error else {
            panic!("expected a status, got {error}");
        };
        assert_eq!(error.code(), tonic::Code::FailedPrecondition, "{error:?}");
    }

    // One class only.
    let mut stream = client
        .raw()
        .stream_images(pb::StreamImagesRequest {
            dataset: Some(reference("phantom", 2)),
            split: pb::Split::Train as i32,
            class_name: "normal".into(),
            batch_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut normal_train = 0;
    while let Some(batch) = stream.next().await {
        for image in batch.unwrap().images {
            assert_eq!((image.class_name.as_str(), image.label), ("normal", 1));
            normal_train += 1;
        }
    }
    assert_eq!(normal_train as u64, derived.class_counts[1].train);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_through_an_image_folder() {
    let server = TestServer::start(Store::open("memory://").unwrap()).await;
    let mut client = server.client().await;
    client
        .import_phantom(pb::ImportPhantomRequest {
            dataset_name: "phantom".into(),
            per_class: 3,
            render_size: 64,
            options: Some(pb::ImportOptions {
                target_size: 32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .create_split(pb::CreateSplitRequest {
            dataset: Some(reference("phantom", 1)),
            ..Default::default()
        })
        .await
        .unwrap();
    let stored: BTreeMap<String, pb::Image> =
        stream_all(&mut client, "phantom", 1, pb::Split::Unspecified)
            .await
            .into_iter()
            .map(|image| (image.image_id.clone(), image))
            .collect();
    assert_eq!(stored.len(), 12);

    // Server-side export with split folders, and a streamed export to a local folder.
    let dir = tempfile::tempdir().unwrap();
    let server_side = dir.path().join("server-export");
    let mut stream = client
        .raw()
        .export_version(pb::ExportVersionRequest {
            dataset: Some(reference("phantom", 0)),
            server_path: server_side.display().to_string(),
            split_folders: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut summary = None;
    while let Some(message) = stream.next().await {
        match message.unwrap().item {
            Some(pb::export_version_response::Item::Summary(s)) => summary = Some(s),
            other => panic!("only a summary was expected without streaming, got {other:?}"),
        }
    }
    assert_eq!(summary.unwrap().files, 12);
    let streamed = dir.path().join("streamed");
    let local = client
        .export_to_folder(reference("phantom", 1), false, &streamed)
        .await
        .unwrap();
    assert_eq!(local.files, 12);

    for image in stored.values() {
        let split = match image.split() {
            pb::Split::Train => "train",
            pb::Split::Val => "val",
            pb::Split::Test => "test",
            pb::Split::Unspecified => panic!("unsplit image"),
        };
        let name = format!("{}/{}.png", image.class_name, image.image_id);
        let on_server = std::fs::read(server_side.join(split).join(&name)).unwrap();
        let downloaded = std::fs::read(streamed.join(&name)).unwrap();
        assert_eq!(on_server, image.png);
        assert_eq!(downloaded, image.png);
    }

    // The exported tree imports again as the same classes and counts.
    let again = client
        .import_folder(
            &streamed,
            pb::ImportHeader {
                dataset_name: "reimported".into(),
                options: Some(pb::ImportOptions {
                    target_size: 32,
                    ..Default::default()
                }),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(again.accepted, 12);
    let before = client.get_version("phantom", 1).await.unwrap();
    let after = again.version.unwrap();
    assert_eq!(after.classes, before.classes);
    let totals =
        |v: &pb::VersionSummary| v.class_counts.iter().map(|c| c.total).collect::<Vec<_>>();
    assert_eq!(totals(&after), totals(&before));

    // Exporting into a folder that is not empty is refused.
    let error = client
        .raw()
        .export_version(pb::ExportVersionRequest {
            dataset: Some(reference("phantom", 1)),
            server_path: server_side.display().to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::FailedPrecondition);
    server.stop().await;
}
