//! Shared helpers of the dataset service's integration tests: a server on 127.0.0.1:0, a
//! generated ImageFolder tree with known bad files, and small gRPC conveniences.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use eyegan_dataset::client::DatasetClient;
use eyegan_dataset::DatasetConfig;
use eyegan_imaging::bad_inputs;
use eyegan_imaging::phantom::{self, Difficulty, PhantomClass};
use eyegan_proto::common::v1::DatasetRef;
use eyegan_proto::dataset::v1 as pb;
use eyegan_service::Security;
use eyegan_store::Store;
use futures::StreamExt;
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A dataset service running in this process.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), eyegan_service::ServeError>>,
}

impl TestServer {
    /// Starts the service on `store` and waits until health says SERVING.
    pub async fn start(store: Store) -> Self {
        Self::start_with(store, DatasetConfig::default()).await
    }

    /// Starts the service with `config`.
    pub async fn start_with(store: Store, config: DatasetConfig) -> Self {
        Self::start_secured(store, config, Security::default()).await
    }

    /// Starts the service with `config` under `security` (as a binary's flags would set it).
    pub async fn start_secured(store: Store, config: DatasetConfig, security: Security) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = eyegan_dataset::run(listener, store, config, async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(eyegan_service::with_security(security, serve));
        for _ in 0..100 {
            if eyegan_service::check_health(&endpoint, "", Duration::from_secs(1))
                .await
                .is_ok()
            {
                return Self {
                    endpoint,
                    stop: Some(stop),
                    task,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the dataset service at {endpoint} never became healthy");
    }

    /// A connected client.
    pub async fn client(&self) -> DatasetClient {
        DatasetClient::connect(&self.endpoint).await.unwrap()
    }

    /// Stops the service and waits until it has returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap().unwrap();
    }
}

/// A JPEG of `width`x`height`: a phantom fundus of `disc` pixels centred on black.
pub fn fundus_jpeg(class: PhantomClass, index: u32, width: u32, height: u32, disc: u32) -> Vec<u8> {
    let canvas = framed(class, index, width, height, disc);
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(canvas.as_raw(), width, height, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// A PNG of `width`x`height`: a phantom fundus of `disc` pixels centred on black.
pub fn fundus_png(class: PhantomClass, index: u32, width: u32, height: u32, disc: u32) -> Vec<u8> {
    eyegan_imaging::encode_png(&framed(class, index, width, height, disc)).unwrap()
}

fn framed(class: PhantomClass, index: u32, width: u32, height: u32, disc: u32) -> RgbImage {
    let fundus = phantom::render(11, class, index, disc, &Difficulty::default());
    let mut canvas = RgbImage::new(width, height);
    image::imageops::overlay(
        &mut canvas,
        &fundus,
        i64::from((width - disc) / 2),
        i64::from((height - disc) / 2),
    );
    canvas
}

/// What the generated tree holds.
#[derive(Debug, Clone)]
pub struct TreeSpec {
    /// Good images per class folder (before mapping).
    pub good_per_folder: BTreeMap<String, usize>,
    /// Bad files: relative path → expected reason.
    pub bad: BTreeMap<String, pb::FileReason>,
    /// The two paths with identical bytes (one of them is reported as the duplicate).
    pub duplicate_pair: (String, String),
    /// Original (width, height) of each good file.
    pub original_sizes: BTreeMap<String, (u32, u32)>,
}

impl TreeSpec {
    /// Number of good images.
    pub fn good_total(&self) -> usize {
        self.good_per_folder.values().sum()
    }
}

/// Writes an ImageFolder tree: per class `<patient>_left.jpg` / `<patient>_right.png` pairs of
/// phantom photographs with black borders in various sizes, plus a corrupt JPEG, a truncated
/// JPEG, a zero-byte file, a text file named `.png`, a duplicate, a PNG whose header claims
/// 100000x100000 pixels and a file outside any class folder.
pub fn write_tree(root: &Path) -> TreeSpec {
    let patients = [
        (PhantomClass::DiabeticRetinopathy, 6u32),
        (PhantomClass::Glaucoma, 5),
        (PhantomClass::Myopia, 4),
        (PhantomClass::Normal, 5),
    ];
    let mut spec = TreeSpec {
        good_per_folder: BTreeMap::new(),
        bad: BTreeMap::new(),
        duplicate_pair: (String::new(), String::new()),
        original_sizes: BTreeMap::new(),
    };
    for (class_index, (class, count)) in patients.into_iter().enumerate() {
        let folder = root.join(class.name());
        std::fs::create_dir_all(&folder).unwrap();
        for patient in 0..count {
            let id = 1000 + 100 * class_index as u32 + patient;
            let left = format!("{}/{id}_left.jpg", class.name());
            std::fs::write(
                root.join(&left),
                fundus_jpeg(class, 2 * patient, 300, 200, 180),
            )
            .unwrap();
            spec.original_sizes.insert(left, (300, 200));
            let right = format!("{}/{id}_right.png", class.name());
            let (w, h) = (120 + 4 * patient, 100);
            std::fs::write(
                root.join(&right),
                fundus_png(class, 2 * patient + 1, w, h, 96),
            )
            .unwrap();
            spec.original_sizes.insert(right, (w, h));
        }
        spec.good_per_folder
            .insert(class.name().to_owned(), 2 * count as usize);
    }
    let bad: [(&str, Vec<u8>, pb::FileReason); 6] = [
        (
            "diabetic_retinopathy/corrupt.jpg",
            bad_inputs::corrupt_jpeg(),
            pb::FileReason::Corrupt,
        ),
        (
            "diabetic_retinopathy/huge.png",
            bad_inputs::png_claiming_size(100_000, 100_000),
            pb::FileReason::TooLarge,
        ),
        ("glaucoma/empty.jpg", Vec::new(), pb::FileReason::ZeroByte),
        (
            "glaucoma/cut.jpg",
            bad_inputs::truncated_jpeg(300, 200),
            pb::FileReason::Truncated,
        ),
        (
            "myopia/notes.png",
            bad_inputs::text_file(),
            pb::FileReason::NotAnImage,
        ),
        (
            "readme.txt",
            b"class folders below".to_vec(),
            pb::FileReason::BadPath,
        ),
    ];
    for (path, bytes, reason) in bad {
        std::fs::write(root.join(path), bytes).unwrap();
        spec.bad.insert(path.to_owned(), reason);
    }
    let original = "normal/1300_left.jpg".to_owned();
    let copy = "normal/copy of 1300_left.jpg".to_owned();
    std::fs::copy(root.join(&original), root.join(&copy)).unwrap();
    spec.duplicate_pair = (original, copy);
    spec
}

/// The mapping used by the tests: `diabetic_retinopathy` → `dr`.
pub fn dr_mapping() -> std::collections::HashMap<String, String> {
    [("diabetic_retinopathy".to_owned(), "dr".to_owned())].into()
}

/// An import header for `name` with 32-pixel images and the `dr` mapping.
pub fn header(name: &str) -> pb::ImportHeader {
    pb::ImportHeader {
        dataset_name: name.to_owned(),
        options: Some(pb::ImportOptions {
            class_mapping: dr_mapping(),
            target_size: 32,
            ..Default::default()
        }),
        description: format!("test dataset {name}"),
    }
}

/// A reference to `version` of `dataset`.
pub fn reference(dataset: &str, version: u64) -> DatasetRef {
    DatasetRef {
        dataset_id: dataset.to_owned(),
        version,
    }
}

/// Every image of a version (optionally one split), in stream order.
pub async fn stream_all(
    client: &mut DatasetClient,
    dataset: &str,
    version: u64,
    split: pb::Split,
) -> Vec<pb::Image> {
    let mut stream = client
        .raw()
        .stream_images(pb::StreamImagesRequest {
            dataset: Some(reference(dataset, version)),
            split: split as i32,
            class_name: String::new(),
            batch_size: 7,
        })
        .await
        .unwrap()
        .into_inner();
    let mut images = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        assert!(batch.images.len() <= 7);
        images.extend(batch.images);
    }
    images
}

/// Source file → split of every image of a version.
pub async fn assignments(
    client: &mut DatasetClient,
    dataset: &str,
    version: u64,
) -> BTreeMap<String, pb::Split> {
    stream_all(client, dataset, version, pb::Split::Unspecified)
        .await
        .into_iter()
        .map(|image| {
            let split = image.split();
            (image.source_file, split)
        })
        .collect()
}

/// Asserts that `status` is INVALID_ARGUMENT and its message names `field`.
pub fn assert_invalid(result: Result<impl std::fmt::Debug, tonic::Status>, field: &str) {
    let status = result.expect_err("expected INVALID_ARGUMENT");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains(field),
        "message {:?} does not name {field}",
        status.message()
    );
}
