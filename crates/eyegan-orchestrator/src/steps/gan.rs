//! One DCGAN per class and seed, submitted concurrently and spread over the trainers.

use anyhow::Context;
use eyegan_proto::common::v1::{
    job_result, score_filter, FilterPreset as ProtoPreset, ScoreFilter,
};
use eyegan_proto::dataset::v1::Split;
use eyegan_proto::trainer::v1::{
    gan_config, DiffAugmentOp as ProtoOp, DuringTrainingGeneration, GanConfig,
    GetSampleGridRequest, GetTrainingMetricsRequest, SubmitTrainGanRequest,
};
use futures::StreamExt;

use super::context::StepContext;
use super::records::{CheckpointRecord, CollectedRecord, GanPoint, GanRecord, VersionRecord};
use crate::jobs::JobClient;
use crate::spec::{
    DiffAugmentOp, FilterPreset, GanLength, GenerationMode, ScoreRule, DEFAULT_IMAGES_PER_EPOCH,
};

/// Loss-curve points kept per GAN (the stored metrics are subsampled to about this many).
const CURVE_POINTS: u64 = 400;

/// The proto filter of the experiment's rule.
pub fn score_filter(rule: ScoreRule) -> ScoreFilter {
    let rule = match rule {
        ScoreRule::Preset(preset) => score_filter::Rule::Preset(match preset {
            FilterPreset::PaperCode => ProtoPreset::PaperCode,
            FilterPreset::PaperText => ProtoPreset::PaperText,
            FilterPreset::None => ProtoPreset::None,
        } as i32),
        ScoreRule::MinScore(score) => score_filter::Rule::MinScore(score),
    };
    ScoreFilter { rule: Some(rule) }
}

fn gan_config(ctx: &StepContext) -> GanConfig {
    let gan = &ctx.experiment.gan;
    GanConfig {
        image_size: ctx.experiment.dataset.image_size,
        nz: gan.nz,
        ngf: gan.ngf,
        ndf: gan.ndf,
        length: Some(match gan.length() {
            GanLength::Epochs(epochs) => gan_config::Length::Epochs(epochs),
            GanLength::Iterations(iterations) => gan_config::Length::Iterations(iterations),
        }),
        batch_size: gan.batch_size,
        lr: gan.lr,
        beta1: gan.beta1,
        beta2: gan.beta2,
        diff_augment: gan
            .diff_augment
            .iter()
            .map(|op| {
                let op = match op {
                    DiffAugmentOp::Color => ProtoOp::Color,
                    DiffAugmentOp::Translation => ProtoOp::Translation,
                    DiffAugmentOp::Cutout => ProtoOp::Cutout,
                };
                op as i32
            })
            .collect(),
        checkpoint_every: gan.checkpoint_every,
        sample_every: gan.sample_every,
        keep_last_checkpoints: 2,
        device: ctx.experiment.device.clone(),
        sample_grid_images: 16,
    }
}

/// Trains every class's GAN for every seed, all at once; returns them in (seed, class) order.
pub async fn train_all(ctx: &StepContext, split: &VersionRecord) -> anyhow::Result<Vec<GanRecord>> {
    let mut work = Vec::new();
    let mut index = 0usize;
    for &seed in &ctx.experiment.seeds {
        for class in &split.classes {
            let trainer = index % ctx.clients.trainers.len().max(1);
            index += 1;
            work.push(train_one(ctx, split, class.clone(), seed, trainer));
        }
    }
    futures::future::try_join_all(work).await
}

async fn train_one(
    ctx: &StepContext,
    split: &VersionRecord,
    class_name: String,
    seed: u64,
    trainer: usize,
) -> anyhow::Result<GanRecord> {
    let name = format!("gan-{seed}-{class_name}");
    let config = gan_config(ctx);
    let generation = &ctx.experiment.generation;
    let during =
        (generation.mode == GenerationMode::DuringTraining).then(|| DuringTrainingGeneration {
            images_per_epoch: if generation.images_per_epoch == 0 {
                DEFAULT_IMAGES_PER_EPOCH
            } else {
                generation.images_per_epoch
            },
            start_epoch: generation.start_epoch,
            filter: Some(score_filter(generation.rule())),
            max_kept: 0,
        });
    let inputs = (
        &split.dataset,
        class_name.clone(),
        seed,
        format!("{config:?}"),
        format!("{during:?}"),
    );
    let step_name = name.clone();
    ctx.step(&name, &inputs, |id| async move {
        let client = ctx.clients.trainers[trainer].clone();
        let request = SubmitTrainGanRequest {
            request_id: id.request_id(),
            dataset: Some(split.dataset.to_proto()),
            split: Split::Train as i32,
            class_name: class_name.clone(),
            config: Some(config),
            seed,
            during_training: during,
        };
        let job = crate::retried!("SubmitTrainGan", client.submit_train_gan(request))
            .await
            .with_context(|| format!("submitting {step_name}"))?
            .into_inner()
            .job
            .context("SubmitTrainGan answered without a job")?;
        let mut watcher = JobClient::Trainer(client.clone());
        let progress = ctx.progress.clone();
        let job = watcher
            .wait(&job.job_id, |event| progress.job_event(&step_name, event))
            .await?;
        let Some(job_result::Kind::TrainGan(result)) = job.result.and_then(|r| r.kind) else {
            anyhow::bail!("{step_name}: the job succeeded without a GAN result");
        };
        let curve = fetch_curve(&client, &job.job_id, result.iterations).await?;
        let sample_grid = fetch_grid(ctx, &client, &job.job_id, &step_name).await?;
        Ok(GanRecord {
            class_name,
            seed,
            trainer,
            job_id: job.job_id,
            generator: CheckpointRecord::from(
                &result.generator.context("no generator checkpoint")?,
            ),
            discriminator: CheckpointRecord::from(
                &result
                    .discriminator
                    .context("no discriminator checkpoint")?,
            ),
            iterations: result.iterations,
            epochs: result.epochs,
            collected: result.collected_samples.as_ref().map(CollectedRecord::from),
            curve,
            sample_grid,
        })
    })
    .await
}

type TrainerClient = eyegan_proto::trainer::v1::trainer_service_client::TrainerServiceClient<
    eyegan_service::ServiceChannel,
>;

async fn fetch_curve(
    client: &TrainerClient,
    job_id: &str,
    iterations: u64,
) -> anyhow::Result<Vec<GanPoint>> {
    let request = GetTrainingMetricsRequest {
        job_id: job_id.to_owned(),
        from_iteration: 0,
        stride: (iterations / CURVE_POINTS).max(1),
    };
    let curve = crate::retried!(
        "GetTrainingMetrics",
        client.get_training_metrics(request),
        |response| {
            let mut stream = response.into_inner();
            let mut curve = Vec::new();
            while let Some(message) = stream.next().await {
                curve.extend(message?.metrics.into_iter().map(|m| GanPoint {
                    iteration: m.iteration,
                    loss_d: m.loss_d,
                    loss_g: m.loss_g,
                    d_real: m.d_real,
                    d_fake: m.d_fake_before,
                }));
            }
            Ok(curve)
        }
    )
    .await
    .with_context(|| format!("reading the training metrics of job {job_id}"))?;
    Ok(curve)
}

async fn fetch_grid(
    ctx: &StepContext,
    client: &TrainerClient,
    job_id: &str,
    step_name: &str,
) -> anyhow::Result<Option<String>> {
    let request = GetSampleGridRequest {
        job_id: job_id.to_owned(),
        iteration: 0,
    };
    let png = crate::retried!(
        "GetSampleGrid",
        client.get_sample_grid(request),
        |response| {
            let mut stream = response.into_inner();
            let mut png = Vec::new();
            while let Some(message) = stream.next().await {
                if let Some(chunk) = message?.chunk {
                    png.extend_from_slice(&chunk.data);
                }
            }
            Ok(png)
        }
    )
    .await;
    let png = match png {
        Ok(png) => png,
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
        Err(status) => {
            return Err(status).with_context(|| format!("reading the sample grid of job {job_id}"))
        }
    };
    let relative = format!("figures/{step_name}-samples.png");
    let path = ctx.run_dir.join(&relative);
    std::fs::create_dir_all(ctx.run_dir.join("figures"))?;
    std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
    Ok(Some(relative))
}
