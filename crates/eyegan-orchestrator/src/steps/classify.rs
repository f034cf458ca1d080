//! Classifier per arm and seed, then evaluation of every arm on the same real test split.

use anyhow::Context;
use eyegan_proto::classifier::v1::{
    ClassicalAugmentation, EvaluateRequest, GmdConfig, SubmitTrainClassifierRequest,
};
use eyegan_proto::common::v1::job_result;
use eyegan_proto::dataset::v1::Split;

use super::context::StepContext;
use super::records::{
    CheckpointRecord, ClassifyRecord, DatasetVersion, EpochRecord, EvaluateRecord, MetricsRecord,
    PredictionRecord,
};
use crate::jobs::JobClient;
use crate::spec::Arm;

/// The GMD hyper-parameters of `arm`.
pub(super) fn gmd_config(ctx: &StepContext, arm: Arm) -> GmdConfig {
    let classifier = &ctx.experiment.classifier;
    let classical = &classifier.classical;
    GmdConfig {
        image_size: ctx.experiment.dataset.image_size,
        width_multiplier: classifier.width_multiplier,
        epochs: classifier.epochs,
        batch_size: classifier.batch_size,
        lr: classifier.lr,
        momentum: classifier.momentum,
        weight_decay: classifier.weight_decay,
        augmentation: arm.uses_classical().then_some(ClassicalAugmentation {
            horizontal_flip: classical.horizontal_flip,
            vertical_flip: classical.vertical_flip,
            rotation_degrees: classical.rotation_degrees,
            brightness: classical.brightness,
        }),
        device: ctx.experiment.device.clone(),
        select_best_on_val: classifier.select_best_on_val,
        checkpoint_every_epochs: 0,
    }
}

/// Trains the classifier of `arm` and `seed` on `train_on`.
pub async fn train(
    ctx: &StepContext,
    arm: Arm,
    seed: u64,
    train_on: &DatasetVersion,
) -> anyhow::Result<ClassifyRecord> {
    let name = format!("classify-{}-{seed}", arm.name());
    let config = gmd_config(ctx, arm);
    let inputs = (train_on, seed, format!("{config:?}"));
    let step_name = name.clone();
    ctx.step(&name, &inputs, |id| async move {
        let request = SubmitTrainClassifierRequest {
            request_id: id.request_id(),
            dataset: Some(train_on.to_proto()),
            train_split: Split::Train as i32,
            val_split: Split::Val as i32,
            skip_validation: false,
            config: Some(config),
            seed,
        };
        train_classifier(ctx, &step_name, arm.name(), request).await
    })
    .await
}

/// Submits a classifier training job, follows it to its end and returns its record (labelled
/// `arm`).
pub(super) async fn train_classifier(
    ctx: &StepContext,
    step_name: &str,
    arm: &str,
    request: SubmitTrainClassifierRequest,
) -> anyhow::Result<ClassifyRecord> {
    let client = ctx.clients.classifier.clone();
    let seed = request.seed;
    let trained_on = request.dataset.clone().unwrap_or_default();
    let job = crate::retried!(
        "SubmitTrainClassifier",
        client.submit_train_classifier(request)
    )
    .await
    .with_context(|| format!("submitting {step_name}"))?
    .into_inner()
    .job
    .context("SubmitTrainClassifier answered without a job")?;
    let progress = ctx.progress.clone();
    let job = JobClient::Classifier(client)
        .wait(&job.job_id, |event| progress.job_event(step_name, event))
        .await?;
    let Some(job_result::Kind::TrainClassifier(result)) = job.result.and_then(|r| r.kind) else {
        anyhow::bail!("{step_name}: the job succeeded without a classifier result");
    };
    Ok(ClassifyRecord {
        arm: arm.to_owned(),
        seed,
        trained_on: DatasetVersion {
            dataset_id: trained_on.dataset_id,
            version: trained_on.version,
        },
        job_id: job.job_id,
        model: CheckpointRecord::from(&result.model.context("no model checkpoint")?),
        selected_epoch: result.selected_epoch,
        history: result.history.iter().map(EpochRecord::from).collect(),
    })
}

/// Evaluates a trained arm on its train split and on the real val and test splits of `real`.
pub async fn evaluate(
    ctx: &StepContext,
    trained: &ClassifyRecord,
    real: &DatasetVersion,
) -> anyhow::Result<EvaluateRecord> {
    let name = format!("evaluate-{}-{}", trained.arm, trained.seed);
    ctx.step(&name, &(trained, real), |_| async move {
        let train = evaluate_split(ctx, trained, &trained.trained_on, Split::Train, false).await?;
        let val = if ctx.experiment.split.val > 0.0 {
            Some(
                evaluate_split(ctx, trained, real, Split::Val, false)
                    .await?
                    .0,
            )
        } else {
            None
        };
        let test = evaluate_split(ctx, trained, real, Split::Test, true).await?;
        Ok(EvaluateRecord {
            arm: trained.arm.clone(),
            seed: trained.seed,
            train: train.0,
            val,
            test: test.0,
            test_predictions: test.1,
        })
    })
    .await
}

/// Evaluates `trained` on `split` of `dataset`, with per-image predictions when asked.
pub(super) async fn evaluate_split(
    ctx: &StepContext,
    trained: &ClassifyRecord,
    dataset: &DatasetVersion,
    split: Split,
    predictions: bool,
) -> anyhow::Result<(MetricsRecord, Vec<PredictionRecord>)> {
    let client = ctx.clients.classifier.clone();
    let request = EvaluateRequest {
        model: Some(trained.model.to_proto()),
        dataset: Some(dataset.to_proto()),
        split: split as i32,
        include_predictions: predictions,
        batch_size: 0,
        device: ctx.experiment.device.clone(),
    };
    let response = crate::retried!("Evaluate", client.evaluate(request))
        .await
        .with_context(|| {
            format!(
                "evaluating {} seed {} on {}",
                trained.arm,
                trained.seed,
                split.as_str_name()
            )
        })?
        .into_inner();
    let metrics = response
        .metrics
        .context("Evaluate answered without metrics")?;
    let predictions = response
        .predictions
        .into_iter()
        .map(|p| PredictionRecord {
            image_id: p.image_id,
            true_class: p.true_class,
            predicted_class: p.predicted_class,
        })
        .collect();
    Ok((MetricsRecord::from(&metrics), predictions))
}
