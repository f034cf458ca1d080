//! GAN-train and GAN-test for one seed (Shmelkov et al.): the seed's synthetic images become a
//! dataset of their own; a GMD trained on it alone is scored on the real test split
//! (GAN-train: are the images useful?), and the seed's baseline GMD, trained on real images
//! only, is scored on it (GAN-test: do the images look like their class?).

use anyhow::Context;
use eyegan_proto::classifier::v1::SubmitTrainClassifierRequest;
use eyegan_proto::common::v1::Chunk;
use eyegan_proto::dataset::v1::{
    import_request, CreateSplitRequest, ImportFile, ImportHeader, ImportOptions, ImportRequest,
    Split,
};
use serde::{Deserialize, Serialize};

use super::classify::{evaluate_split, gmd_config, train_classifier};
use super::context::{StepContext, StepIdentity};
use super::data::version_summary;
use super::images::{stream_split, StoredImage};
use super::records::{
    ClassifyRecord, DatasetVersion, GenerateRecord, MetricsRecord, VersionRecord,
};
use crate::spec::Arm;

/// Outputs of one GAN-train / GAN-test step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanQualityRecord {
    /// Seed.
    pub seed: u64,
    /// Why nothing was measured, when so.
    pub skipped: Option<String>,
    /// The synthetic-only dataset (every image in its train split).
    pub synthetic_dataset: Option<DatasetVersion>,
    /// Synthetic images imported into it.
    pub imported: u64,
    /// Synthetic images the import refused (byte-identical duplicates of another one).
    pub rejected: u64,
    /// The GMD trained on synthetic images only.
    pub classifier: Option<ClassifyRecord>,
    /// That GMD on the real test split (GAN-train).
    pub gan_train: Option<MetricsRecord>,
    /// The baseline GMD (real images only) on the synthetic images (GAN-test); `None` without
    /// a baseline arm.
    pub gan_test: Option<MetricsRecord>,
}

impl GanQualityRecord {
    fn skipped(seed: u64, reason: String) -> Self {
        Self {
            seed,
            skipped: Some(reason),
            synthetic_dataset: None,
            imported: 0,
            rejected: 0,
            classifier: None,
            gan_train: None,
            gan_test: None,
        }
    }
}

/// Measures GAN-train and GAN-test of the seed's synthetic images.
pub async fn measure(
    ctx: &StepContext,
    split: &VersionRecord,
    generated: &GenerateRecord,
    baseline: Option<&ClassifyRecord>,
) -> anyhow::Result<GanQualityRecord> {
    let seed = generated.seed;
    let name = format!("ganquality-{seed}");
    let mut config = gmd_config(ctx, Arm::Baseline);
    config.select_best_on_val = false;
    let inputs = (
        &split.dataset,
        &generated.version.dataset,
        baseline,
        format!("{config:?}"),
    );
    let step_name = name.clone();
    ctx.step(&name, &inputs, |id| async move {
        let images = stream_split(ctx, &generated.version.dataset, Split::Train).await?;
        let synthetic: Vec<&StoredImage> = images.iter().filter(|i| i.synthetic).collect();
        let missing: Vec<&str> = split
            .classes
            .iter()
            .filter(|class| !synthetic.iter().any(|i| &i.class_name == *class))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Ok(GanQualityRecord::skipped(
                seed,
                format!(
                    "GAN-train and GAN-test need synthetic images of every class; none of: {}",
                    missing.join(", ")
                ),
            ));
        }
        let (version, imported, rejected) = import_synthetic(ctx, &id, seed, &synthetic).await?;
        if version.classes != split.classes {
            return Ok(GanQualityRecord::skipped(
                seed,
                format!(
                    "the synthetic-only dataset orders its classes {:?}, the real one {:?}; \
                     a model of one cannot score the other",
                    version.classes, split.classes
                ),
            ));
        }
        let dataset = version.dataset;
        let request = SubmitTrainClassifierRequest {
            request_id: id.request_id(),
            dataset: Some(dataset.to_proto()),
            train_split: Split::Train as i32,
            val_split: Split::Unspecified as i32,
            skip_validation: true,
            config: Some(config),
            seed,
        };
        let trained = train_classifier(ctx, &step_name, "gan-train", request).await?;
        let (gan_train, _) =
            evaluate_split(ctx, &trained, &split.dataset, Split::Test, false).await?;
        let gan_test = match baseline {
            Some(model) => Some(
                evaluate_split(ctx, model, &dataset, Split::Train, false)
                    .await?
                    .0,
            ),
            None => None,
        };
        Ok(GanQualityRecord {
            seed,
            skipped: None,
            synthetic_dataset: Some(dataset),
            imported,
            rejected,
            classifier: Some(trained),
            gan_train: Some(gan_train),
            gan_test,
        })
    })
    .await
}

/// Imports `images` as a new dataset (class folders, no resizing or cropping) and splits it
/// all into train; returns the version and the imported and refused counts.
async fn import_synthetic(
    ctx: &StepContext,
    id: &StepIdentity,
    seed: u64,
    images: &[&StoredImage],
) -> anyhow::Result<(VersionRecord, u64, u64)> {
    let name = format!("{}-synthetic-{seed}-{}", ctx.experiment.name, id.tag());
    let mut requests = vec![ImportRequest {
        item: Some(import_request::Item::Header(ImportHeader {
            dataset_name: name.clone(),
            options: Some(ImportOptions {
                target_size: ctx.experiment.dataset.image_size,
                keep_originals: Some(false),
                crop_fundus: Some(false),
                ..ImportOptions::default()
            }),
            description: format!("synthetic images of seed {seed} (GAN-train / GAN-test)"),
        })),
    }];
    for image in images {
        requests.push(ImportRequest {
            item: Some(import_request::Item::File(ImportFile {
                relative_path: format!("{}/{}.png", image.class_name, image.image_id),
                size: image.png.len() as u64,
            })),
        });
        requests.push(ImportRequest {
            item: Some(import_request::Item::Chunk(Chunk {
                data: image.png.clone(),
            })),
        });
    }
    let client = ctx.clients.dataset.clone();
    match crate::retried!("Import", client.import(futures::stream::iter(requests))).await {
        Ok(_) => {}
        // A crash after the import and before the step record: the dataset is ours.
        Err(status) if status.code() == tonic::Code::AlreadyExists => {}
        Err(status) => {
            return Err(status).with_context(|| format!("importing the synthetic images as {name}"))
        }
    }
    let request = CreateSplitRequest {
        dataset: Some(eyegan_proto::common::v1::DatasetRef {
            dataset_id: name.clone(),
            version: 1,
        }),
        train_ratio: 1.0,
        val_ratio: 0.0,
        test_ratio: 0.0,
        seed,
        group_regex: String::new(),
    };
    match crate::retried!("CreateSplit", client.create_split(request)).await {
        Ok(_) => {}
        Err(status) if status.code() == tonic::Code::FailedPrecondition => {}
        Err(status) => return Err(status).with_context(|| format!("splitting {name}")),
    }
    // Every imported image is in train now; the import refuses byte-identical duplicates.
    let version = version_summary(ctx, &name, 1).await?;
    let imported: u64 = version.counts.iter().map(|c| c.train).sum();
    let rejected = (images.len() as u64).saturating_sub(imported);
    Ok((version, imported, rejected))
}
