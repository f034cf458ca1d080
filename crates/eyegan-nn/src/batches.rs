//! Seeded epoch shuffles of an in-memory image set, and image ⇄ tensor conversion.
//!
//! Images are CHW `f32` vectors in [-1, 1]. The order of epoch `e` depends only on
//! `(seed, e, len)`, so a run resumed in the middle of an epoch continues with the same batches.

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};
use crate::rng::{streams, SeededRng};

/// What happens to the last batch when the set size is not a multiple of the batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastBatch {
    /// Train on it (PyTorch `DataLoader` and Keras `fit` default). A set smaller than one batch
    /// still yields one batch.
    Keep,
    /// Skip it, so every batch has exactly `batch_size` images (a set smaller than one batch then
    /// yields no batch, which is an error).
    Drop,
}

/// The batches of one epoch: a seeded permutation cut into batch-sized index slices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochBatches {
    order: Vec<usize>,
    batch_size: usize,
    num_batches: usize,
}

impl EpochBatches {
    /// The batches of epoch `epoch` of a set of `len` images.
    pub fn new(
        len: usize,
        batch_size: usize,
        last_batch: LastBatch,
        seed: u64,
        epoch: u64,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(NnError::input("batch_size", "must be at least 1"));
        }
        let num_batches = match last_batch {
            LastBatch::Keep => len.div_ceil(batch_size),
            LastBatch::Drop => len / batch_size,
        };
        if num_batches == 0 {
            return Err(NnError::input(
                "images",
                format!("{len} images give no batch of {batch_size} ({last_batch:?} policy)"),
            ));
        }
        let mut order: Vec<usize> = (0..len).collect();
        SeededRng::new(seed, streams::EPOCH_SHUFFLE_BASE.wrapping_add(epoch)).shuffle(&mut order);
        Ok(Self {
            order,
            batch_size,
            num_batches,
        })
    }

    /// Number of batches in the epoch.
    pub fn len(&self) -> usize {
        self.num_batches
    }

    /// Whether the epoch has no batch (never true for a constructed value).
    pub fn is_empty(&self) -> bool {
        self.num_batches == 0
    }

    /// Image indices of batch `index`.
    pub fn batch(&self, index: usize) -> Option<&[usize]> {
        if index >= self.num_batches {
            return None;
        }
        let start = index * self.batch_size;
        let end = (start + self.batch_size).min(self.order.len());
        Some(&self.order[start..end])
    }

    /// All batches in order.
    pub fn iter(&self) -> impl Iterator<Item = &[usize]> {
        (0..self.num_batches).filter_map(|i| self.batch(i))
    }
}

/// Checks that every image has `image_len` finite values; errors name the image index.
pub fn validate_images(images: &[Vec<f32>], image_len: usize) -> Result<()> {
    if images.is_empty() {
        return Err(NnError::input("images", "no images given"));
    }
    for (index, image) in images.iter().enumerate() {
        if image.len() != image_len {
            return Err(NnError::input(
                format!("images[{index}]"),
                format!("expected {image_len} values (CHW), got {}", image.len()),
            ));
        }
        if let Some(position) = image.iter().position(|v| !v.is_finite()) {
            return Err(NnError::input(
                format!("images[{index}]"),
                format!("value {position} is not finite"),
            ));
        }
    }
    Ok(())
}

/// Stacks `images[indices]` (CHW, already validated) into an NCHW tensor on `device`.
pub fn images_to_tensor(
    images: &[Vec<f32>],
    indices: &[usize],
    channels: usize,
    side: usize,
    device: &Device,
) -> Result<Tensor> {
    let image_len = channels * side * side;
    let mut data = Vec::with_capacity(indices.len() * image_len);
    for &index in indices {
        let image = images
            .get(index)
            .filter(|image| image.len() == image_len)
            .ok_or_else(|| {
                NnError::input(
                    format!("images[{index}]"),
                    format!("missing or not {image_len} values"),
                )
            })?;
        data.extend_from_slice(image);
    }
    Ok(Tensor::from_vec(
        data,
        (indices.len(), channels, side, side),
        device,
    )?)
}

/// Splits an NCHW tensor into CHW `f32` vectors.
pub fn tensor_to_images(batch: &Tensor) -> Result<Vec<Vec<f32>>> {
    let (count, channels, height, width) = batch.dims4()?;
    let flat: Vec<f32> = batch
        .to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1()?;
    let image_len = channels * height * width;
    Ok((0..count)
        .map(|i| flat[i * image_len..(i + 1) * image_len].to_vec())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_and_drop_policies_cover_the_set() {
        let keep = EpochBatches::new(10, 4, LastBatch::Keep, 1, 0).unwrap();
        assert_eq!(keep.len(), 3);
        assert_eq!(keep.batch(2).unwrap().len(), 2);
        let mut all: Vec<usize> = keep.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());

        let drop = EpochBatches::new(10, 4, LastBatch::Drop, 1, 0).unwrap();
        assert_eq!(drop.len(), 2);
        assert!(drop.batch(2).is_none());
        assert!(EpochBatches::new(3, 4, LastBatch::Drop, 1, 0).is_err());
        assert_eq!(
            EpochBatches::new(3, 4, LastBatch::Keep, 1, 0)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn order_depends_on_seed_and_epoch_only() {
        let a = EpochBatches::new(20, 5, LastBatch::Keep, 9, 3).unwrap();
        assert_eq!(a, EpochBatches::new(20, 5, LastBatch::Keep, 9, 3).unwrap());
        assert_ne!(a, EpochBatches::new(20, 5, LastBatch::Keep, 9, 4).unwrap());
        assert_ne!(a, EpochBatches::new(20, 5, LastBatch::Keep, 10, 3).unwrap());
    }

    #[test]
    fn image_validation_names_the_image() {
        let images = vec![vec![0.0; 12], vec![0.0; 11]];
        let err = validate_images(&images, 12).unwrap_err().to_string();
        assert!(err.contains("images[1]"), "{err}");
        let images = vec![vec![0.0; 12], vec![f32::NAN; 12]];
        assert!(validate_images(&images, 12).is_err());
        let good = vec![(0..12).map(|v| v as f32).collect::<Vec<_>>()];
        let t = images_to_tensor(&good, &[0, 0], 3, 2, &Device::Cpu).unwrap();
        assert_eq!(t.dims(), &[2, 3, 2, 2]);
        assert_eq!(tensor_to_images(&t).unwrap()[1], good[0]);
    }
}
