//! `CreateSplit`: the one-time, frozen train/val/test split of a version.

use eyegan_proto::dataset::v1 as pb;

use crate::error::DatasetError;
use crate::model::{now_unix_ms, SplitRecord, SplitSpecRecord, VersionRecord, SCHEMA_VERSION};
use crate::repository::Repository;
use crate::split::{assign_splits, compile_group_regex, SplitItem, SplitRatios};

/// Splits the requested version and returns it with its split. FAILED_PRECONDITION when the
/// version already has a split (made there or inherited).
pub async fn create_split(
    repository: &Repository,
    request: pb::CreateSplitRequest,
) -> Result<VersionRecord, DatasetError> {
    let reference = request
        .dataset
        .ok_or_else(|| DatasetError::invalid("dataset", "must be set"))?;
    let ratios =
        SplitRatios::from_request(request.train_ratio, request.val_ratio, request.test_ratio)?;
    let regex = compile_group_regex(&request.group_regex, "group_regex")?;
    let mut version = repository
        .version(&reference.dataset_id, reference.version, "dataset")
        .await?;
    if let Some(existing) = &version.split {
        return Err(DatasetError::FailedPrecondition(format!(
            "version {} of dataset `{}` already has a split (made in version {}); splits are frozen",
            version.version, version.dataset_id, existing.made_in_version
        )));
    }

    let items: Vec<SplitItem<'_>> = version
        .images
        .iter()
        .map(|image| SplitItem {
            image_id: &image.id,
            class: &image.class,
            file_name: image.file_name(),
        })
        .collect();
    let assignments = assign_splits(&items, ratios, request.seed, regex.as_ref());
    let record = SplitRecord {
        schema: SCHEMA_VERSION,
        spec: SplitSpecRecord {
            train_ratio: ratios.train,
            val_ratio: ratios.val,
            test_ratio: ratios.test,
            seed: request.seed,
            group_regex: regex.map(|r| r.as_str().to_owned()),
            made_in_version: version.version,
            created_at_unix_ms: now_unix_ms(),
        },
        assignments,
    };
    repository
        .save_split(&version.dataset_id, version.version, &record)
        .await?;
    version.apply_split(&record);
    tracing::info!(
        dataset = %version.dataset_id,
        version = version.version,
        seed = request.seed,
        "split version"
    );
    Ok(version)
}
