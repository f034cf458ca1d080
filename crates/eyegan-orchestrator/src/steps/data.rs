//! The dataset steps: import (phantom, folder or existing dataset) and the frozen split.

use anyhow::{bail, Context};
use eyegan_proto::common::v1::DatasetRef;
use eyegan_proto::dataset::v1::{
    CreateSplitRequest, GetDatasetRequest, GetVersionRequest, ImportFromPathRequest, ImportOptions,
    ImportPhantomRequest, ImportResult, PhantomDifficulty as ProtoDifficulty,
};

use super::context::StepContext;
use super::records::{DatasetVersion, VersionRecord};
use crate::spec::{DatasetSection, PhantomDifficulty};

/// Imports the experiment's images; returns version 1 of the new dataset (or the existing one).
pub async fn import(ctx: &StepContext) -> anyhow::Result<VersionRecord> {
    let dataset = ctx.experiment.dataset.clone();
    let inputs = (ctx.experiment.name.clone(), dataset.clone());
    ctx.step("import", &inputs, |id| async move {
        let client = ctx.clients.dataset.clone();
        if let Some(existing) = &dataset.existing {
            return version_summary(ctx, &existing.id, existing.version).await;
        }
        let name = format!("{}-{}", ctx.experiment.name, id.tag());
        let options = import_options(&dataset);
        let result: Result<Option<ImportResult>, tonic::Status> = if let Some(phantom) = &dataset.phantom {
            let request = ImportPhantomRequest {
                dataset_name: name.clone(),
                per_class: phantom.per_class,
                render_size: phantom.render_size,
                seed: phantom.seed,
                classes: dataset.classes.clone(),
                options: Some(options),
                description: format!("experiment {}", ctx.experiment.name),
                difficulty: match phantom.difficulty {
                    PhantomDifficulty::Default => ProtoDifficulty::Unspecified,
                    PhantomDifficulty::Easy => ProtoDifficulty::Easy,
                    PhantomDifficulty::Hard => ProtoDifficulty::Hard,
                } as i32,
            };
            crate::retried!("ImportPhantom", client.import_phantom(request)).await.map(|r| r.into_inner().result)
        } else if let Some(folder) = &dataset.folder {
            let request = ImportFromPathRequest {
                dataset_name: name.clone(),
                source: Some(eyegan_proto::dataset::v1::import_from_path_request::Source::ServerPath(
                    folder.path.display().to_string(),
                )),
                options: Some(options),
                description: format!("experiment {}", ctx.experiment.name),
            };
            crate::retried!("ImportFromPath", client.import_from_path(request)).await.map(|r| r.into_inner().result)
        } else {
            bail!("the experiment names no dataset source");
        };
        match result {
            Ok(Some(result)) => {
                tracing::info!(dataset = %name, accepted = result.accepted, rejected = result.rejected, skipped = result.skipped, "imported");
                let summary = result.version.context("the import answered without a version")?;
                Ok(VersionRecord::from_summary(&summary))
            }
            Ok(None) => bail!("the import of {name} answered without a result"),
            // A crash after the import and before the record: the dataset is ours (its name
            // carries the step hash), so use it.
            Err(status) if status.code() == tonic::Code::AlreadyExists => version_summary(ctx, &name, 1).await,
            Err(status) => Err(status).with_context(|| format!("importing dataset {name}")),
        }
    })
    .await
}

fn import_options(dataset: &DatasetSection) -> ImportOptions {
    ImportOptions {
        class_mapping: dataset.class_mapping.clone().into_iter().collect(),
        per_class_cap: dataset.per_class_cap,
        seed: 0,
        target_size: dataset.image_size,
        keep_originals: Some(false),
        strict: false,
        max_pixels: 0,
        crop_fundus: Some(dataset.crop_fundus),
    }
}

/// The summary of `dataset_id` at `version` (0 = latest).
pub async fn version_summary(
    ctx: &StepContext,
    dataset_id: &str,
    version: u64,
) -> anyhow::Result<VersionRecord> {
    let client = ctx.clients.dataset.clone();
    let version = if version == 0 {
        let request = GetDatasetRequest {
            dataset_id: dataset_id.to_owned(),
        };
        let response = crate::retried!("GetDataset", client.get_dataset(request))
            .await
            .with_context(|| format!("reading dataset {dataset_id}"))?;
        response
            .into_inner()
            .dataset
            .map_or(0, |d| d.latest_version)
    } else {
        version
    };
    let request = GetVersionRequest {
        dataset: Some(DatasetRef {
            dataset_id: dataset_id.to_owned(),
            version,
        }),
    };
    let response = crate::retried!("GetVersion", client.get_version(request))
        .await
        .with_context(|| format!("reading dataset {dataset_id}@{version}"))?;
    let summary = response
        .into_inner()
        .version
        .context("GetVersion answered without a version")?;
    Ok(VersionRecord::from_summary(&summary))
}

/// Makes the frozen train/val/test split of the imported version (an existing dataset that is
/// already split keeps its split).
pub async fn split(ctx: &StepContext, imported: &VersionRecord) -> anyhow::Result<VersionRecord> {
    let split = ctx.experiment.split.clone();
    let inputs = (imported.clone(), split.clone());
    ctx.step("split", &inputs, |_| async move {
        let client = ctx.clients.dataset.clone();
        let request = CreateSplitRequest {
            dataset: Some(imported.dataset.to_proto()),
            train_ratio: split.train,
            val_ratio: split.val,
            test_ratio: split.test,
            seed: split.seed,
            group_regex: split.group_regex.clone(),
        };
        match crate::retried!("CreateSplit", client.create_split(request)).await {
            Ok(response) => {
                let summary = response.into_inner().version.context("CreateSplit answered without a version")?;
                Ok(VersionRecord::from_summary(&summary))
            }
            Err(status) if status.code() == tonic::Code::FailedPrecondition => {
                let DatasetVersion { dataset_id, version } = &imported.dataset;
                tracing::info!(dataset = %dataset_id, version, "the version is already split; keeping its split");
                version_summary(ctx, dataset_id, *version).await
            }
            Err(status) => Err(status).context("splitting the dataset"),
        }
    })
    .await
}
