//! `AddImages`: a derived version = a split parent + extra synthetic images, all in train.

use std::collections::HashSet;

use bytes::Bytes;
use eyegan_imaging::{decode, encode_png, DecodeLimits};
use eyegan_proto::dataset::v1::{add_images_request::Item, AddImagesRequest, NewImage};
use futures::{Stream, StreamExt};

use crate::error::DatasetError;
use crate::import::{sha256_hex, MAX_CHUNK_BYTES};
use crate::model::{
    now_unix_ms, ImageRecord, ProvenanceRecord, SourceKind, SplitName, VersionRecord,
};
use crate::repository::Repository;

/// Longest accepted generator checkpoint key.
const MAX_CHECKPOINT_KEY_BYTES: usize = 1024;

/// Hex characters of the stored PNG's SHA-256 used in synthetic image ids.
const SYNTHETIC_ID_HEX_CHARS: usize = 16;

/// Reads the stream, stores the images and publishes the derived version; returns it and the
/// number of images added.
pub async fn add_images<S>(
    repository: &Repository,
    mut stream: S,
) -> Result<(VersionRecord, u64), DatasetError>
where
    S: Stream<Item = Result<AddImagesRequest, tonic::Status>> + Unpin,
{
    let header = match stream.next().await {
        None => return Err(DatasetError::invalid("header", "the stream is empty")),
        Some(Err(status)) => return Err(DatasetError::upload_stream(&status)),
        Some(Ok(AddImagesRequest {
            item: Some(Item::Header(header)),
        })) => header,
        Some(Ok(_)) => {
            return Err(DatasetError::invalid(
                "header",
                "the first message must be the header",
            ))
        }
    };
    let parent_ref = header
        .parent
        .ok_or_else(|| DatasetError::invalid("header.parent", "must be set"))?;
    let parent = repository
        .version(&parent_ref.dataset_id, parent_ref.version, "header.parent")
        .await?;
    let Some(split) = parent.split.clone() else {
        return Err(DatasetError::FailedPrecondition(format!(
            "version {} of dataset `{}` has no split; call CreateSplit before adding images",
            parent.version, parent.dataset_id
        )));
    };

    let mut ids: HashSet<String> = parent.images.iter().map(|i| i.id.clone()).collect();
    let mut added = Vec::new();
    let mut index = 0usize;
    while let Some(message) = stream.next().await {
        match message
            .map_err(|status| DatasetError::upload_stream(&status))?
            .item
        {
            None => return Err(DatasetError::invalid("item", "empty message")),
            Some(Item::Header(_)) => {
                return Err(DatasetError::invalid("header", "sent more than once"))
            }
            Some(Item::Image(image)) => {
                let record = store_image(repository, &parent, image, index).await?;
                if !ids.insert(record.id.clone()) {
                    return Err(DatasetError::invalid(
                        format!("image[{index}].png"),
                        format!(
                            "the same image (id {}) is already in the version",
                            record.id
                        ),
                    ));
                }
                added.push(record);
                index += 1;
            }
        }
    }
    if added.is_empty() {
        return Err(DatasetError::invalid("image", "no images were sent"));
    }

    let count = added.len() as u64;
    let mut images = parent.images.clone();
    images.extend(added);
    images.sort_by(|a, b| (&a.class, &a.source_file).cmp(&(&b.class, &b.source_file)));
    let record = VersionRecord {
        version: 0,
        parent_version: Some(parent.version),
        created_at_unix_ms: now_unix_ms(),
        note: if header.note.is_empty() {
            format!(
                "added {count} synthetic images to version {}",
                parent.version
            )
        } else {
            header.note
        },
        split: Some(split),
        images,
        ..parent.clone()
    };
    let task_repository = repository.clone();
    let published =
        tokio::spawn(async move { task_repository.create_derived_version(record).await }).await??;
    tracing::info!(
        dataset = %published.dataset_id,
        parent = parent.version,
        version = published.version,
        added = count,
        "created derived version"
    );
    Ok((published, count))
}

/// Checks one image, normalises it to an RGB PNG and stores it.
async fn store_image(
    repository: &Repository,
    parent: &VersionRecord,
    image: NewImage,
    index: usize,
) -> Result<ImageRecord, DatasetError> {
    let field = |name: &str| format!("image[{index}].{name}");
    if parent.label_of(&image.class_name).is_none() {
        return Err(DatasetError::invalid(
            field("class_name"),
            format!(
                "{:?} is not a class of the parent (classes: {})",
                image.class_name,
                parent.classes.join(", ")
            ),
        ));
    }
    if image.png.is_empty() || image.png.len() > MAX_CHUNK_BYTES {
        return Err(DatasetError::invalid(
            field("png"),
            format!("{} bytes; expected 1 byte to 1 MiB", image.png.len()),
        ));
    }
    let provenance = image.provenance.unwrap_or_default();
    if !matches!(
        provenance.source(),
        eyegan_proto::dataset::v1::ImageSource::Unspecified
            | eyegan_proto::dataset::v1::ImageSource::Synthetic
    ) {
        return Err(DatasetError::invalid(
            field("provenance.source"),
            "added images are synthetic; leave unspecified or set IMAGE_SOURCE_SYNTHETIC",
        ));
    }
    if let Some(score) = provenance.discriminator_score {
        if !(score.is_finite() && (0.0..=1.0).contains(&score)) {
            return Err(DatasetError::invalid(
                field("provenance.discriminator_score"),
                format!("{score} is not in [0, 1]"),
            ));
        }
    }
    if provenance.generator_checkpoint.len() > MAX_CHECKPOINT_KEY_BYTES {
        return Err(DatasetError::invalid(
            field("provenance.generator_checkpoint"),
            format!("longer than {MAX_CHECKPOINT_KEY_BYTES} bytes"),
        ));
    }

    let size = parent.image_size;
    let uploaded = Bytes::from(image.png);
    let decode_input = uploaded.clone();
    let normalised = tokio::task::spawn_blocking(move || {
        let limits = DecodeLimits {
            max_pixels: u64::from(size) * u64::from(size),
        };
        let pixels = decode(&decode_input, &limits)?;
        if pixels.dimensions() != (size, size) {
            return Err(eyegan_imaging::ImagingError::InvalidArgument {
                name: "png",
                reason: format!(
                    "the image is {}x{}, the version's images are {size}x{size}",
                    pixels.width(),
                    pixels.height()
                ),
            });
        }
        encode_png(&pixels).map(|png| (png, sha256_hex(&decode_input)))
    })
    .await?
    .map_err(|error| DatasetError::invalid(field("png"), error.to_string()))?;
    let (png, original_sha256) = normalised;
    let blob = repository.store().put_blob(png).await?;
    let id = format!("syn-{}", &blob.sha256[..SYNTHETIC_ID_HEX_CHARS]);
    Ok(ImageRecord {
        source_file: format!("{}/{id}.png", image.class_name),
        id,
        class: image.class_name,
        split: Some(SplitName::Train),
        png: blob,
        original: None,
        original_sha256,
        original_bytes: uploaded.len() as u64,
        original_width: size,
        original_height: size,
        provenance: ProvenanceRecord {
            source: SourceKind::Synthetic,
            generator_checkpoint: Some(provenance.generator_checkpoint)
                .filter(|key| !key.is_empty()),
            seed: Some(provenance.seed),
            index: Some(provenance.index),
            discriminator_score: provenance.discriminator_score,
        },
    })
}
