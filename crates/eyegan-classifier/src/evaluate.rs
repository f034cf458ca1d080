//! `Evaluate`: a stored model on one split of a dataset version, streamed through the network
//! in chunks, scored with [`eyegan_metrics::classification_report`].

use std::sync::Arc;

use eyegan_metrics::{classification_report, ClassificationReport, Prediction};
use eyegan_nn::Gmd;
use eyegan_proto::classifier::v1 as pb;
use eyegan_service::ServiceError;
use eyegan_store::Store;
use futures::StreamExt;

use crate::dataset_source::{DatasetSource, LabelledImages};
use crate::device::resolve_device;
use crate::model_record::load_model;
use crate::spec::{DatasetVersion, SplitChoice};

/// Default images per forward pass.
pub const DEFAULT_EVAL_BATCH: u32 = 64;
/// Largest accepted `batch_size`.
pub const MAX_EVAL_BATCH: u32 = 1024;

/// Predictions and loss over the images run so far.
#[derive(Default)]
struct Tally {
    loss_sum: f64,
    predictions: Vec<Prediction>,
    source_files: Vec<String>,
}

impl Tally {
    /// Runs `chunk` through `network` on a blocking thread and records the results.
    async fn run(&mut self, network: &Arc<Gmd>, chunk: LabelledImages) -> Result<(), ServiceError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let network = network.clone();
        let count = chunk.len();
        let source_files = chunk.source_files.clone();
        let (loss, predictions) = tokio::task::spawn_blocking(move || {
            network.evaluate(&chunk.images, &chunk.labels, &chunk.ids)
        })
        .await
        .map_err(ServiceError::internal)?
        .map_err(|error| ServiceError::internal(error.to_string()))?;
        self.loss_sum += f64::from(loss) * count as f64;
        self.predictions.extend(predictions);
        self.source_files.extend(source_files);
        Ok(())
    }
}

/// Moves the first `count` images of `pending` into a chunk of their own.
fn take_front(pending: &mut LabelledImages, count: usize) -> LabelledImages {
    LabelledImages {
        ids: pending.ids.drain(..count).collect(),
        source_files: pending.source_files.drain(..count).collect(),
        labels: pending.labels.drain(..count).collect(),
        images: pending.images.drain(..count).collect(),
    }
}

fn metrics_to_proto(report: &ClassificationReport, loss: f64) -> pb::ClassificationMetrics {
    pb::ClassificationMetrics {
        total: report.count,
        accuracy: report.accuracy,
        loss,
        per_class: report
            .per_class
            .iter()
            .map(|class| pb::ClassMetrics {
                class_name: class.class.clone(),
                support: class.support,
                precision: class.precision,
                recall: class.recall,
                specificity: class.specificity,
                f1: class.f1,
                auc: class.auc.unwrap_or(f64::NAN),
            })
            .collect(),
        macro_avg: Some(pb::MacroAverages {
            precision: report.macro_precision,
            recall: report.macro_recall,
            specificity: report.macro_specificity,
            f1: report.macro_f1,
            auc: report.macro_auc.unwrap_or(f64::NAN),
        }),
        confusion: Some(pb::ConfusionMatrix {
            classes: report.confusion.classes.clone(),
            counts: report.confusion.counts.iter().flatten().copied().collect(),
        }),
    }
}

/// Answers an `EvaluateRequest`.
pub async fn evaluate(
    store: &Store,
    source: &DatasetSource,
    request: pb::EvaluateRequest,
) -> Result<pb::EvaluateResponse, ServiceError> {
    let model_ref = request
        .model
        .ok_or_else(|| ServiceError::invalid_argument("model", "must be set"))?;
    let dataset = request
        .dataset
        .ok_or_else(|| ServiceError::invalid_argument("dataset", "must be set"))?;
    if dataset.dataset_id.trim().is_empty() {
        return Err(ServiceError::invalid_argument(
            "dataset.dataset_id",
            "must not be empty",
        ));
    }
    let split = SplitChoice::from_proto(request.split, SplitChoice::Test, "split")?;
    let batch_size = match request.batch_size {
        0 => DEFAULT_EVAL_BATCH,
        n if n <= MAX_EVAL_BATCH => n,
        n => {
            return Err(ServiceError::invalid_argument(
                "batch_size",
                format!("must be at most {MAX_EVAL_BATCH}, got {n}"),
            ))
        }
    } as usize;
    let device = resolve_device(&request.device, "device")?;
    let model = load_model(store, &model_ref.key, "model.key", &device).await?;
    let version = source.version(dataset, "dataset").await?;
    let reference = version.r#ref.clone().unwrap_or_default();
    let resolved = DatasetVersion {
        dataset_id: reference.dataset_id,
        version: reference.version,
    };
    let classes = model.record.classes.clone();
    if version.classes != classes {
        return Err(ServiceError::failed_precondition(format!(
            "dataset {resolved} has classes [{}] but model {} was trained on [{}]",
            version.classes.join(", "),
            model.record.key,
            classes.join(", ")
        )));
    }
    if version.image_size != model.record.image_size {
        return Err(ServiceError::failed_precondition(format!(
            "dataset {resolved} has {0}x{0} images but the model takes {1}x{1}",
            version.image_size, model.record.image_size
        )));
    }
    let network = Arc::new(model.network);
    let mut tally = Tally::default();
    let mut pending = LabelledImages::default();
    {
        let batches = source
            .stream_split(&resolved, split, &classes, model.record.image_size)
            .await?;
        futures::pin_mut!(batches);
        while let Some(batch) = batches.next().await {
            pending.extend(batch?);
            while pending.len() >= batch_size {
                let chunk = take_front(&mut pending, batch_size);
                tally.run(&network, chunk).await?;
            }
        }
    }
    tally.run(&network, pending).await?;
    if tally.predictions.is_empty() {
        return Err(ServiceError::failed_precondition(format!(
            "the {} split of dataset {resolved} is empty",
            split.name()
        )));
    }
    let report = classification_report(&classes, &tally.predictions)
        .map_err(|error| ServiceError::internal(error.to_string()))?;
    let loss = tally.loss_sum / tally.predictions.len() as f64;
    let predictions = if request.include_predictions {
        tally
            .predictions
            .iter()
            .zip(&tally.source_files)
            .map(|(prediction, source_file)| pb::ImagePrediction {
                image_id: prediction.image_id.clone(),
                true_class: classes[prediction.label].clone(),
                predicted_class: classes[prediction.predicted].clone(),
                probabilities: prediction
                    .probabilities
                    .iter()
                    .map(|&p| f64::from(p))
                    .collect(),
                source_file: source_file.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    tracing::info!(
        model = %model.record.key,
        dataset = %resolved,
        split = split.name(),
        images = report.count,
        accuracy = report.accuracy,
        "evaluated"
    );
    Ok(pb::EvaluateResponse {
        metrics: Some(metrics_to_proto(&report, loss)),
        predictions,
        dataset: Some(resolved.to_proto()),
    })
}
