//! Reading and writing dataset manifests in the store.
//!
//! Layout:
//! - `datasets/<id>/dataset.json`: [`DatasetRecord`], written create-only after version 1;
//! - `datasets/<id>/versions/<n>.json`: [`VersionRecord`], written create-only after every blob
//!   it references;
//! - `datasets/<id>/splits/<n>.json`: [`SplitRecord`] of a version stored without a split,
//!   written create-only (a split is never replaced).
//!
//! A dataset is visible once its `dataset.json` exists; a crash between the version and the
//! dataset document leaves an invisible version 1, which blocks reusing that one name.

use eyegan_store::{Store, StoreError};

use crate::error::DatasetError;
use crate::model::{DatasetRecord, SplitRecord, VersionRecord};
use crate::names::validate_dataset_name;

/// Top-level prefix of all dataset documents.
const DATASETS_PREFIX: &str = "datasets";

/// How many version numbers a derived version tries before giving up under contention.
const VERSION_NUMBER_ATTEMPTS: u64 = 32;

fn dataset_key(id: &str) -> String {
    format!("{DATASETS_PREFIX}/{id}/dataset.json")
}

fn versions_prefix(id: &str) -> String {
    format!("{DATASETS_PREFIX}/{id}/versions")
}

fn version_key(id: &str, version: u64) -> String {
    format!("{}/{version}.json", versions_prefix(id))
}

fn split_key(id: &str, version: u64) -> String {
    format!("{DATASETS_PREFIX}/{id}/splits/{version}.json")
}

/// Access to the dataset documents of one store.
#[derive(Debug, Clone)]
pub struct Repository {
    store: Store,
}

impl Repository {
    /// A repository over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The underlying store (for blobs).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The dataset `id`; `field` names the request field for a malformed id.
    pub async fn dataset(&self, id: &str, field: &str) -> Result<DatasetRecord, DatasetError> {
        validate_dataset_name(id, field)?;
        self.store
            .get_json(&dataset_key(id))
            .await?
            .ok_or_else(|| DatasetError::not_found(format!("dataset `{id}`")))
    }

    /// True when a dataset named `id` is visible.
    pub async fn dataset_exists(&self, id: &str) -> Result<bool, DatasetError> {
        Ok(self
            .store
            .get_json::<DatasetRecord>(&dataset_key(id))
            .await?
            .is_some())
    }

    /// Every visible dataset, sorted by id.
    pub async fn list_datasets(&self) -> Result<Vec<DatasetRecord>, DatasetError> {
        let mut datasets = Vec::new();
        for id in self.store.list_children(DATASETS_PREFIX).await? {
            if validate_dataset_name(&id, "dataset_id").is_err() {
                continue;
            }
            if let Some(record) = self.store.get_json(&dataset_key(&id)).await? {
                datasets.push(record);
            }
        }
        Ok(datasets)
    }

    /// The version numbers of dataset `id`, ascending.
    pub async fn version_numbers(&self, id: &str) -> Result<Vec<u64>, DatasetError> {
        let mut numbers: Vec<u64> = self
            .store
            .list_children(&versions_prefix(id))
            .await?
            .iter()
            .filter_map(|name| name.strip_suffix(".json")?.parse().ok())
            .collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// Version `version` of dataset `id` (0 = the latest), with its split filled in.
    pub async fn version(
        &self,
        id: &str,
        version: u64,
        field: &str,
    ) -> Result<VersionRecord, DatasetError> {
        let dataset = self.dataset(id, &format!("{field}.dataset_id")).await?;
        let number = if version == 0 {
            self.version_numbers(&dataset.dataset_id)
                .await?
                .last()
                .copied()
                .ok_or_else(|| DatasetError::not_found(format!("any version of dataset `{id}`")))?
        } else {
            version
        };
        let mut record: VersionRecord = self
            .store
            .get_json(&version_key(id, number))
            .await?
            .ok_or_else(|| {
                DatasetError::not_found(format!("version {number} of dataset `{id}`"))
            })?;
        if record.split.is_none() {
            if let Some(split) = self
                .store
                .get_json::<SplitRecord>(&split_key(id, number))
                .await?
            {
                record.apply_split(&split);
            }
        }
        Ok(record)
    }

    /// Publishes a new dataset: version 1 first (after checking its blobs), then the dataset
    /// document. ALREADY_EXISTS when the name is taken.
    pub async fn create_dataset(
        &self,
        dataset: &DatasetRecord,
        first_version: &VersionRecord,
    ) -> Result<(), DatasetError> {
        let id = &dataset.dataset_id;
        let taken = || DatasetError::AlreadyExists {
            what: format!("dataset `{id}`"),
        };
        if self.dataset_exists(id).await? {
            return Err(taken());
        }
        match self
            .store
            .put_manifest_new(&version_key(id, 1), first_version, &first_version.blobs())
            .await
        {
            Err(StoreError::AlreadyExists { .. }) => return Err(taken()),
            other => other?,
        }
        match self.store.put_json_new(&dataset_key(id), dataset).await {
            Err(StoreError::AlreadyExists { .. }) => Err(taken()),
            other => Ok(other?),
        }
    }

    /// Stores the split of a version that has none. FAILED_PRECONDITION when it has one.
    pub async fn save_split(
        &self,
        id: &str,
        version: u64,
        split: &SplitRecord,
    ) -> Result<(), DatasetError> {
        match self
            .store
            .put_json_new(&split_key(id, version), split)
            .await
        {
            Err(StoreError::AlreadyExists { .. }) => {
                Err(DatasetError::FailedPrecondition(format!(
                    "version {version} of dataset `{id}` already has a split; splits are frozen"
                )))
            }
            other => Ok(other?),
        }
    }

    /// Publishes a derived version under the next free number (create-only, retried under
    /// contention) and returns it with its number set.
    pub async fn create_derived_version(
        &self,
        mut record: VersionRecord,
    ) -> Result<VersionRecord, DatasetError> {
        let id = record.dataset_id.clone();
        let blobs = record.blobs();
        let mut number = self
            .version_numbers(&id)
            .await?
            .last()
            .copied()
            .unwrap_or(0)
            + 1;
        for _ in 0..VERSION_NUMBER_ATTEMPTS {
            record.version = number;
            match self
                .store
                .put_manifest_new(&version_key(&id, number), &record, &blobs)
                .await
            {
                Ok(()) => return Ok(record),
                Err(StoreError::AlreadyExists { .. }) => number += 1,
                Err(error) => return Err(error.into()),
            }
        }
        Err(DatasetError::Internal(format!(
            "no free version number for dataset `{id}` after {VERSION_NUMBER_ATTEMPTS} attempts"
        )))
    }
}
