//! Stopping the service and starting it again on the same file:// store finds every dataset and
//! version intact.

mod support;

use eyegan_dataset::client::DatasetClient;
use eyegan_proto::dataset::v1 as pb;
use eyegan_store::Store;
use support::{reference, stream_all, TestServer};

/// Everything the service says about its datasets, plus the images of every version.
async fn snapshot(
    client: &mut DatasetClient,
) -> (Vec<pb::Dataset>, Vec<pb::VersionSummary>, Vec<pb::Image>) {
    let datasets = client.list_datasets().await.unwrap();
    let mut versions = Vec::new();
    let mut images = Vec::new();
    for dataset in &datasets {
        for version in client.list_versions(&dataset.dataset_id).await.unwrap() {
            let number = version.r#ref.as_ref().unwrap().version;
            images.extend(
                stream_all(client, &dataset.dataset_id, number, pb::Split::Unspecified).await,
            );
            versions.push(version);
        }
    }
    (datasets, versions, images)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_and_versions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());

    let server = TestServer::start(Store::open(&url).unwrap()).await;
    let mut client = server.client().await;
    for (name, seed) in [("first", 1), ("second", 2)] {
        client
            .import_phantom(pb::ImportPhantomRequest {
                dataset_name: name.into(),
                per_class: 4,
                render_size: 48,
                seed,
                options: Some(pb::ImportOptions {
                    target_size: 32,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    client
        .create_split(pb::CreateSplitRequest {
            dataset: Some(reference("first", 1)),
            seed: 9,
            ..Default::default()
        })
        .await
        .unwrap();
    let synthetic = eyegan_imaging::encode_png(&image::RgbImage::from_pixel(
        32,
        32,
        image::Rgb([90, 30, 10]),
    ))
    .unwrap();
    let added = client
        .raw()
        .add_images(futures::stream::iter([
            pb::AddImagesRequest {
                item: Some(pb::add_images_request::Item::Header(pb::AddImagesHeader {
                    parent: Some(reference("first", 1)),
                    note: "one synthetic image".into(),
                })),
            },
            pb::AddImagesRequest {
                item: Some(pb::add_images_request::Item::Image(pb::NewImage {
                    class_name: "glaucoma".into(),
                    png: synthetic,
                    provenance: None,
                })),
            },
        ]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.version.unwrap().r#ref.unwrap().version, 2);

    let before = snapshot(&mut client).await;
    assert_eq!(before.0.len(), 2);
    assert_eq!(before.1.len(), 3);
    assert_eq!(before.2.len(), 16 + 17 + 16);
    drop(client);
    server.stop().await;

    let server = TestServer::start(Store::open(&url).unwrap()).await;
    let mut client = server.client().await;
    let after = snapshot(&mut client).await;
    assert_eq!(after, before);
    assert_eq!(after.1[1].note, "one synthetic image");
    assert!(
        after.1[0].split.is_some(),
        "the split of first@1 is still there"
    );
    server.stop().await;
}
