//! Chunked GMD inference: class probabilities, loss and per-image predictions.

use candle_core::{DType, Tensor};
use candle_nn::ModuleT;
use eyegan_metrics::Prediction;

use crate::batches::{images_to_tensor, validate_images};
use crate::error::{NnError, Result};
use crate::gmd::Gmd;
use crate::loss::cross_entropy;

/// Images per forward pass at inference, bounding memory.
pub const INFERENCE_CHUNK: usize = 64;

/// Checks that `labels` match `count` images and lie below `num_classes`.
pub(crate) fn validate_labels(labels: &[u32], count: usize, num_classes: usize) -> Result<()> {
    if labels.len() != count {
        return Err(NnError::input(
            "labels",
            format!("{} labels for {count} images", labels.len()),
        ));
    }
    if let Some((index, label)) = labels
        .iter()
        .enumerate()
        .find(|(_, label)| **label as usize >= num_classes)
    {
        return Err(NnError::input(
            format!("labels[{index}]"),
            format!("class {label} is not below num_classes = {num_classes}"),
        ));
    }
    Ok(())
}

impl Gmd {
    fn chunk_logits(&self, images: &[Vec<f32>], start: usize, end: usize) -> Result<Tensor> {
        let config = self.config();
        let indices: Vec<usize> = (start..end).collect();
        let batch = images_to_tensor(
            images,
            &indices,
            config.channels,
            config.image_size,
            self.params().device(),
        )?
        .to_dtype(self.params().dtype())?;
        Ok(self.forward_t(&batch, false)?)
    }

    /// Softmax probabilities per image (CHW `f32` in [-1, 1]), computed in chunks of
    /// [`INFERENCE_CHUNK`].
    pub fn predict_probabilities(&self, images: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        validate_images(images, self.config().image_len())?;
        let mut out = Vec::with_capacity(images.len());
        for start in (0..images.len()).step_by(INFERENCE_CHUNK) {
            let end = (start + INFERENCE_CHUNK).min(images.len());
            let logits = self.chunk_logits(images, start, end)?;
            let probabilities = candle_nn::ops::softmax(&logits, 1)?.to_dtype(DType::F32)?;
            out.extend(probabilities.to_vec2::<f32>()?);
        }
        Ok(out)
    }

    /// Mean cross-entropy over all images and one [`Prediction`] per image (argmax class,
    /// probabilities), computed in chunks of [`INFERENCE_CHUNK`].
    pub fn evaluate(
        &self,
        images: &[Vec<f32>],
        labels: &[u32],
        ids: &[String],
    ) -> Result<(f32, Vec<Prediction>)> {
        validate_images(images, self.config().image_len())?;
        validate_labels(labels, images.len(), self.config().num_classes)?;
        if ids.len() != images.len() {
            return Err(NnError::input(
                "ids",
                format!("{} ids for {} images", ids.len(), images.len()),
            ));
        }
        let device = self.params().device();
        let mut loss_sum = 0.0f64;
        let mut predictions = Vec::with_capacity(images.len());
        for start in (0..images.len()).step_by(INFERENCE_CHUNK) {
            let end = (start + INFERENCE_CHUNK).min(images.len());
            let logits = self.chunk_logits(images, start, end)?;
            let targets = Tensor::new(&labels[start..end], device)?;
            let loss = cross_entropy(&logits, &targets)?
                .to_dtype(DType::F64)?
                .to_scalar::<f64>()?;
            loss_sum += loss * (end - start) as f64;
            let probabilities = candle_nn::ops::softmax(&logits, 1)?
                .to_dtype(DType::F32)?
                .to_vec2::<f32>()?;
            for (offset, probabilities) in probabilities.into_iter().enumerate() {
                let index = start + offset;
                predictions.push(Prediction {
                    image_id: ids[index].clone(),
                    label: labels[index] as usize,
                    predicted: argmax(&probabilities),
                    probabilities,
                });
            }
        }
        Ok(((loss_sum / images.len() as f64) as f32, predictions))
    }
}

/// Index of the largest value (the first on ties).
pub(crate) fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (index, &value)| {
            if value > best.1 {
                (index, value)
            } else {
                best
            }
        })
        .0
}
