//! The files a job stored, as `Artifact`s: built when they are stored (for `artifact_stored`
//! events) and by scanning the job's folder (for `ListArtifacts`).

use eyegan_jobs::{Checkpoint, JobCheckpoints, JobError};
use eyegan_proto::common::v1::{Artifact, ArtifactKind, Network};
use eyegan_store::{BlobRef, Store};

use crate::layout::{grid_artifact_name, parse_grid_name, JobLayout};
use crate::output::{GanCheckpointRecord, StoredObject};
use crate::training::{RunState, FILE_DISCRIMINATOR, FILE_GENERATOR};

/// The artifact of the sample grid of `iteration`.
pub fn grid_artifact(layout: &JobLayout, iteration: u64, epoch: u32, blob: &BlobRef) -> Artifact {
    Artifact {
        name: grid_artifact_name(iteration),
        kind: ArtifactKind::SampleGrid as i32,
        object: Some(StoredObject::at(layout.grid(iteration), blob).to_proto()),
        content_type: "image/png".to_owned(),
        iteration,
        epoch,
        checkpoint: None,
    }
}

/// The checkpoint record of a saved checkpoint.
pub fn checkpoint_record(
    checkpoint: &Checkpoint,
    job_id: &str,
    class_name: &str,
) -> Result<GanCheckpointRecord, JobError> {
    let state: RunState = checkpoint.state()?;
    Ok(GanCheckpointRecord {
        key: checkpoint.key.clone(),
        job_id: job_id.to_owned(),
        iteration: checkpoint.step,
        epoch: u32::try_from(state.epoch).unwrap_or(u32::MAX),
        class_name: class_name.to_owned(),
    })
}

/// The two artifacts (G then D) of a saved checkpoint.
pub fn checkpoint_artifacts(
    checkpoint: &Checkpoint,
    record: &GanCheckpointRecord,
) -> Vec<Artifact> {
    [
        (Network::Generator, FILE_GENERATOR, "generator"),
        (Network::Discriminator, FILE_DISCRIMINATOR, "discriminator"),
    ]
    .into_iter()
    .map(|(network, file, label)| Artifact {
        name: format!("checkpoint-{:06}-{label}", record.iteration),
        kind: ArtifactKind::Checkpoint as i32,
        object: checkpoint
            .file(file)
            .map(|stored| eyegan_proto::common::v1::ObjectRef {
                key: stored.key.clone(),
                sha256: stored.sha256.clone(),
                size: stored.size,
            }),
        content_type: "application/x-safetensors".to_owned(),
        iteration: record.iteration,
        epoch: record.epoch,
        checkpoint: Some(record.to_proto(network)),
    })
    .collect()
}

/// A whole-job JSON or JSON-lines file (metrics, collected manifest).
pub fn file_artifact(
    name: &str,
    kind: ArtifactKind,
    object: &StoredObject,
    iteration: u64,
) -> Artifact {
    let content_type = if name.ends_with(".jsonl") {
        "application/jsonl"
    } else {
        "application/json"
    };
    Artifact {
        name: name.to_owned(),
        kind: kind as i32,
        object: Some(object.to_proto()),
        content_type: content_type.to_owned(),
        iteration,
        epoch: 0,
        checkpoint: None,
    }
}

/// Every artifact of a job, by iteration (grids, then checkpoints, then whole-job files at the
/// same iteration), optionally only of one kind.
pub async fn list_artifacts(
    store: &Store,
    layout: &JobLayout,
    checkpoints: &JobCheckpoints,
    job_id: &str,
    class_name: &str,
    iterations_per_epoch: u64,
    kind: Option<ArtifactKind>,
) -> Result<Vec<Artifact>, JobError> {
    let wants = |wanted: ArtifactKind| kind.is_none_or(|kind| kind == wanted);
    let mut artifacts: Vec<(u64, u8, Artifact)> = Vec::new();
    let mut last_iteration = 0;
    if wants(ArtifactKind::SampleGrid) {
        for iteration in grid_iterations(store, layout).await? {
            if let Some(bytes) = store.get_bytes(&layout.grid(iteration)).await? {
                let epoch = completed_epochs(iteration, iterations_per_epoch);
                let artifact = grid_artifact(layout, iteration, epoch, &BlobRef::of(&bytes));
                artifacts.push((iteration, 0, artifact));
            }
        }
    }
    for step in checkpoints.steps().await? {
        last_iteration = last_iteration.max(step);
        if !wants(ArtifactKind::Checkpoint) {
            continue;
        }
        if let Some(checkpoint) = checkpoints.get(step).await? {
            let record = checkpoint_record(&checkpoint, job_id, class_name)?;
            for artifact in checkpoint_artifacts(&checkpoint, &record) {
                artifacts.push((step, 1, artifact));
            }
        }
    }
    let files = [
        (
            layout.metrics_file(),
            "metrics.jsonl",
            ArtifactKind::Metrics,
        ),
        (
            layout.collected_manifest(),
            "collected-samples.json",
            ArtifactKind::CollectedSamples,
        ),
    ];
    for (key, name, file_kind) in files {
        if !wants(file_kind) {
            continue;
        }
        if let Some(bytes) = store.get_bytes(&key).await? {
            let object = StoredObject::at(key, &BlobRef::of(&bytes));
            artifacts.push((
                last_iteration,
                2,
                file_artifact(name, file_kind, &object, 0),
            ));
        }
    }
    artifacts.sort_by_key(|(iteration, rank, _)| (*iteration, *rank));
    Ok(artifacts
        .into_iter()
        .map(|(_, _, artifact)| artifact)
        .collect())
}

/// Iterations of the stored grids, ascending.
pub async fn grid_iterations(store: &Store, layout: &JobLayout) -> Result<Vec<u64>, JobError> {
    let mut iterations: Vec<u64> = store
        .list_children(&layout.grids())
        .await?
        .iter()
        .filter_map(|name| parse_grid_name(name))
        .collect();
    iterations.sort_unstable();
    Ok(iterations)
}

/// Epochs completed after `iteration` iterations.
pub fn completed_epochs(iteration: u64, iterations_per_epoch: u64) -> u32 {
    u32::try_from(iteration / iterations_per_epoch.max(1)).unwrap_or(u32::MAX)
}
