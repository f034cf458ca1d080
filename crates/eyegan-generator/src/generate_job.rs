//! The work of one generation job: per class, generate and filter batch by batch (or take the
//! collected samples), checkpointing after every batch; then add every kept image to a new
//! dataset version in one `AddImages` call.

use std::sync::Arc;

use candle_core::Device;
use eyegan_dataset::client::DatasetClient;
use eyegan_jobs::{JobContext, JobError};
use eyegan_proto::common::v1::job_event::Payload;
use eyegan_proto::common::v1::{DatasetRef, GenerationProgress, LogLevel, LogLine};
use eyegan_service::ServiceError;

use crate::checkpoint_source::StoredGanCheckpoint;
use crate::collected::CollectedManifest;
use crate::dataset_link::{add_images, find_version_with_marker, store_png};
use crate::device::resolve_device;
use crate::gan_pair::{class_seed, filter_batch, GanPair};
use crate::progress_state::{GenerationState, KeptImage};
use crate::runner::{ClassCount, GenerateOutput, GenerateRunner};
use crate::spec::{ClassSource, ClassSpec, DatasetVersion, GenerateSpec};

type Ctx = JobContext<GenerateRunner>;

/// Runs (or resumes) the job behind `ctx`.
pub async fn run_generation(
    mut dataset: DatasetClient,
    ctx: Ctx,
) -> Result<GenerateOutput, JobError> {
    let spec = ctx.spec().clone();
    let mut state: GenerationState = match ctx.latest_checkpoint().await? {
        Some(checkpoint) => checkpoint.state()?,
        None => GenerationState::default(),
    };
    if ctx.resumed() {
        tracing::info!(job_id = %ctx.job_id(), batches = state.batches, accepted = state.accepted(), "resuming generation");
    }
    let device = resolve_device(&spec.device, "device")?;
    for class in &spec.classes {
        if state
            .class(&class.class_name)
            .is_some_and(|progress| progress.done)
        {
            continue;
        }
        match &class.source {
            ClassSource::Checkpoints {
                generator,
                discriminator,
            } => {
                generate_class(
                    &ctx,
                    &spec,
                    class,
                    generator,
                    discriminator.as_deref(),
                    &device,
                    &mut state,
                )
                .await?
            }
            ClassSource::Collected {
                manifest,
                attempted,
            } => take_collected(&ctx, class, manifest, *attempted, &mut state).await?,
        }
    }
    ctx.check_cancelled()?;
    let per_class = counts(&spec, &state);
    let dataset = publish(&mut dataset, &ctx, &spec, &state).await?;
    Ok(GenerateOutput { dataset, per_class })
}

/// Generates one class until `count` images are kept or `max_attempts` are spent.
async fn generate_class(
    ctx: &Ctx,
    spec: &GenerateSpec,
    class: &ClassSpec,
    generator_key: &str,
    discriminator_key: Option<&str>,
    device: &Device,
    state: &mut GenerationState,
) -> Result<(), JobError> {
    let store = ctx.store();
    let generator =
        StoredGanCheckpoint::open(store, generator_key, "checkpoints.generator").await?;
    let discriminator = match discriminator_key {
        Some(key) => {
            Some(StoredGanCheckpoint::open(store, key, "checkpoints.discriminator").await?)
        }
        None => None,
    };
    let pair = GanPair::load(store, &generator, discriminator.as_ref(), device.clone()).await?;
    let run_seed = class_seed(spec.seed, &class.class_name);
    loop {
        let progress = state.class_mut(&class.class_name);
        if progress.accepted() >= class.count || progress.attempted >= class.max_attempts {
            progress.done = true;
            break;
        }
        ctx.check_cancelled()?;
        let first = progress.attempted;
        let size = (spec.batch_size as u64).min(class.max_attempts - first) as usize;
        let wanted = class.count - progress.accepted();
        let (consumed, kept) =
            generate_batch(pair.clone(), spec, run_seed, first, size, wanted).await?;
        let mut stored = Vec::with_capacity(kept.len());
        for (index, score, png) in kept {
            stored.push(KeptImage {
                png: store_png(store, png).await?,
                seed: run_seed,
                index,
                score,
                checkpoint: generator_key.to_owned(),
            });
        }
        let progress = state.class_mut(&class.class_name);
        progress.attempted += consumed;
        progress.kept.extend(stored);
        progress.done =
            progress.accepted() >= class.count || progress.attempted >= class.max_attempts;
        state.batches += 1;
        save_and_report(ctx, spec, class, state).await?;
    }
    if state
        .class(&class.class_name)
        .is_some_and(|p| p.accepted() < class.count)
    {
        let progress = state.class_mut(&class.class_name);
        let message = format!(
            "class {} reached max_attempts {}: {} of {} images passed the {} filter",
            class.class_name,
            class.max_attempts,
            progress.accepted(),
            class.count,
            spec.filter
        );
        tracing::warn!(class = %class.class_name, attempted = progress.attempted, accepted = progress.accepted(), "attempt cap reached");
        log(ctx, LogLevel::Warn, message).await?;
    }
    save_and_report(ctx, spec, class, state).await
}

/// Generates, scores and filters one batch on a blocking thread; returns the attempts consumed
/// and the kept images as (index, score, PNG).
async fn generate_batch(
    pair: Arc<GanPair>,
    spec: &GenerateSpec,
    run_seed: u64,
    first: u64,
    size: usize,
    wanted: u64,
) -> Result<(u64, Vec<(u64, Option<f64>, Vec<u8>)>), JobError> {
    let filter = spec.filter;
    tokio::task::spawn_blocking(move || {
        let candidates = pair.candidates(run_seed, first, size).map_err(internal)?;
        let batch = filter_batch(candidates, &filter, wanted);
        let mut kept = Vec::with_capacity(batch.kept.len());
        for candidate in &batch.kept {
            let png = candidate.encode_png(pair.image_size()).map_err(internal)?;
            let score = Some(f64::from(candidate.score)).filter(|s| s.is_finite());
            kept.push((candidate.index, score, png));
        }
        Ok((batch.consumed, kept))
    })
    .await
    .map_err(internal)?
}

/// Takes the newest `count` samples a trainer collected for one class.
async fn take_collected(
    ctx: &Ctx,
    class: &ClassSpec,
    manifest_key: &str,
    attempted: u64,
    state: &mut GenerationState,
) -> Result<(), JobError> {
    let store = ctx.store();
    let manifest = CollectedManifest::read(store, manifest_key, "collected.manifest").await?;
    if !manifest.class_name.is_empty() && manifest.class_name != class.class_name {
        return Err(ServiceError::failed_precondition(format!(
            "collected samples {manifest_key:?} are of class {:?}, not {:?}",
            manifest.class_name, class.class_name
        ))
        .into());
    }
    let mut kept = Vec::new();
    for sample in manifest.newest(class.count) {
        let bytes = sample.png.read(store).await?;
        let checkpoint = [&sample.checkpoint, &manifest.final_checkpoint]
            .into_iter()
            .find(|key| !key.is_empty())
            .cloned()
            .unwrap_or_else(|| manifest_key.to_owned());
        kept.push(KeptImage {
            png: store_png(store, bytes.to_vec()).await?,
            seed: sample.seed,
            index: sample.index,
            score: Some(sample.score).filter(|s| s.is_finite() && (0.0..=1.0).contains(s)),
            checkpoint,
        });
    }
    let progress = state.class_mut(&class.class_name);
    progress.attempted = attempted.max(manifest.samples.len() as u64);
    progress.kept = kept;
    progress.done = true;
    state.batches += 1;
    let spec = ctx.spec().clone();
    save_and_report(ctx, &spec, class, state).await
}

/// Saves the state as a checkpoint and tells watchers how the class stands.
async fn save_and_report(
    ctx: &Ctx,
    spec: &GenerateSpec,
    class: &ClassSpec,
    state: &GenerationState,
) -> Result<(), JobError> {
    ctx.save_checkpoint(state.batches, Vec::new(), state)
        .await?;
    let (attempted, accepted) = state
        .class(&class.class_name)
        .map(|p| (p.attempted, p.accepted()))
        .unwrap_or_default();
    ctx.emit(Payload::Generation(GenerationProgress {
        class_name: class.class_name.clone(),
        attempted,
        accepted,
        requested: class.count,
    }))
    .await?;
    ctx.report_progress(state.accepted(), spec.total_requested(), "image")
        .await
}

/// Per-class counts in request order.
fn counts(spec: &GenerateSpec, state: &GenerationState) -> Vec<ClassCount> {
    spec.classes
        .iter()
        .map(|class| {
            let progress = state.class(&class.class_name);
            ClassCount {
                class_name: class.class_name.clone(),
                attempted: progress.map_or(0, |p| p.attempted),
                accepted: progress.map_or(0, |p| p.accepted()),
                requested: class.count,
            }
        })
        .collect()
}

/// Adds every kept image to a new version of the base dataset, once: a version an earlier run
/// of this job already made (found by the job marker in its note) is reused.
async fn publish(
    dataset: &mut DatasetClient,
    ctx: &Ctx,
    spec: &GenerateSpec,
    state: &GenerationState,
) -> Result<Option<DatasetVersion>, JobError> {
    let images: Vec<(String, KeptImage)> = spec
        .classes
        .iter()
        .filter_map(|class| state.class(&class.class_name))
        .flat_map(|progress| {
            progress
                .kept
                .iter()
                .map(|image| (progress.class_name.clone(), image.clone()))
        })
        .collect();
    if images.is_empty() {
        log(
            ctx,
            LogLevel::Warn,
            "no image passed the filter in any class; no dataset version was created".to_owned(),
        )
        .await?;
        return Ok(None);
    }
    let base = &spec.base_dataset;
    let marker = job_marker(ctx.job_id());
    let version =
        match find_version_with_marker(dataset, &base.dataset_id, base.version, &marker).await? {
            Some(existing) => existing,
            None => {
                let note = if spec.version_note.is_empty() {
                    marker
                } else {
                    format!("{} {marker}", spec.version_note)
                };
                let parent = DatasetRef {
                    dataset_id: base.dataset_id.clone(),
                    version: base.version,
                };
                add_images(dataset, ctx.store(), parent, note, images).await?
            }
        };
    let reference = version.r#ref.unwrap_or_default();
    tracing::info!(job_id = %ctx.job_id(), dataset = %reference.dataset_id, version = reference.version, "synthetic images added");
    Ok(Some(DatasetVersion {
        dataset_id: reference.dataset_id,
        version: reference.version,
    }))
}

/// The text appended to a new version's note that ties it to its job.
pub fn job_marker(job_id: &str) -> String {
    format!("[generator job {job_id}]")
}

async fn log(ctx: &Ctx, level: LogLevel, message: String) -> Result<(), JobError> {
    ctx.emit(Payload::Log(LogLine {
        level: level as i32,
        message,
    }))
    .await
}

fn internal(error: impl std::fmt::Display) -> JobError {
    JobError::Internal(error.to_string())
}
