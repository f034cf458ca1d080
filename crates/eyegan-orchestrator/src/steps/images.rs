//! Reading the images of one split of a dataset version over `StreamImages`, decoded and told
//! apart as real or synthetic (the inspection and GAN-quality steps need the pixels).

use anyhow::Context;
use eyegan_proto::dataset::v1::{ImageSource, Split, StreamImagesRequest};
use futures::StreamExt;
use image::RgbImage;

use super::context::StepContext;
use super::records::DatasetVersion;

/// One stored image.
#[derive(Debug, Clone)]
pub struct StoredImage {
    /// Image id.
    pub image_id: String,
    /// Class name.
    pub class_name: String,
    /// Made by a generator (provenance SYNTHETIC).
    pub synthetic: bool,
    /// The stored PNG.
    pub png: Vec<u8>,
    /// Its pixels.
    pub pixels: RgbImage,
}

/// Every image of `split` in `dataset`, in stored order.
pub async fn stream_split(
    ctx: &StepContext,
    dataset: &DatasetVersion,
    split: Split,
) -> anyhow::Result<Vec<StoredImage>> {
    let client = ctx.clients.dataset.clone();
    let request = StreamImagesRequest {
        dataset: Some(dataset.to_proto()),
        split: split as i32,
        class_name: String::new(),
        batch_size: 0,
    };
    let what = || {
        format!(
            "streaming the {} images of {}@{}",
            split.as_str_name(),
            dataset.dataset_id,
            dataset.version
        )
    };
    let stored = crate::retried!("StreamImages", client.stream_images(request), |response| {
        let mut stream = response.into_inner();
        let mut stored = Vec::new();
        while let Some(message) = stream.next().await {
            stored.extend(message?.images);
        }
        Ok(stored)
    })
    .await
    .with_context(what)?;
    let mut images = Vec::with_capacity(stored.len());
    for image in stored {
        let pixels = eyegan_imaging::decode_png_rgb(&image.png)
            .with_context(|| format!("stored image {} is unreadable", image.image_id))?;
        let synthetic = image
            .provenance
            .as_ref()
            .is_some_and(|p| p.source() == ImageSource::Synthetic);
        images.push(StoredImage {
            image_id: image.image_id,
            class_name: image.class_name,
            synthetic,
            png: image.png,
            pixels,
        });
    }
    Ok(images)
}

/// Tiles `images` into a contact sheet and writes it as `figures/<name>.png` under the run
/// folder; returns the path relative to the run folder.
pub fn write_grid(
    ctx: &StepContext,
    name: &str,
    images: &[&RgbImage],
    columns: u32,
) -> anyhow::Result<String> {
    let owned: Vec<RgbImage> = images.iter().map(|&image| image.clone()).collect();
    let sheet = eyegan_imaging::image_grid(&owned, columns, 2);
    let png = eyegan_imaging::encode_png(&sheet).with_context(|| format!("encoding {name}"))?;
    let relative = format!("figures/{name}.png");
    let path = ctx.run_dir.join(&relative);
    std::fs::create_dir_all(ctx.run_dir.join("figures"))?;
    std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
    Ok(relative)
}
