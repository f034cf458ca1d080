//! Imports: an uploaded ImageFolder stream, a server folder or store prefix, or the phantom, all
//! through one [`Importer`] and published by [`commit_import`] only when everything succeeded.

mod commit;
mod examine;
mod importer;
mod listed;
mod phantom;
mod report;
mod settings;
mod upload;

use std::path::PathBuf;

use eyegan_proto::dataset::v1 as pb;
use futures::Stream;

pub use commit::{commit_import, reason_to_proto, NewDataset};
pub use examine::{examine, sha256_hex, Examination, ExamineOptions, RejectReason, Rejection};
pub use importer::Importer;
pub use listed::{ingest_listed, FileLocation, ListedFile};
pub use phantom::{ingest_phantom, PhantomPlan, DEFAULT_RENDER_SIZE};
pub use report::{FileReport, ImportOutcome, Outcome};
pub use settings::{
    import_settings, settings_to_proto, ServerLimits, DEFAULT_TARGET_SIZE, TARGET_SIZE_RANGE,
};
pub use upload::{ingest_upload, read_header, MAX_CHUNK_BYTES};

use crate::error::DatasetError;
use crate::names::validate_dataset_name;
use crate::repository::Repository;
use crate::server_paths::{existing_folder, walk_files};

/// What every import needs from the service.
#[derive(Debug, Clone)]
pub struct ImportContext {
    /// Where datasets are stored.
    pub repository: Repository,
    /// Server-side limits.
    pub limits: ServerLimits,
    /// When set, server folders must lie below it.
    pub path_root: Option<PathBuf>,
}

impl ImportContext {
    /// Checks the name and options and refuses a taken name before any work is done.
    async fn start(
        &self,
        name: &str,
        name_field: &str,
        options: Option<&pb::ImportOptions>,
        options_prefix: &str,
    ) -> Result<Importer, DatasetError> {
        validate_dataset_name(name, name_field)?;
        let settings = import_settings(options, &self.limits, options_prefix)?;
        if self.repository.dataset_exists(name).await? {
            return Err(DatasetError::AlreadyExists {
                what: format!("dataset `{name}`"),
            });
        }
        Ok(Importer::new(
            self.repository.store().clone(),
            settings,
            self.limits,
        ))
    }
}

/// `Import`: reads the header and the uploaded files from `stream`.
pub async fn import_upload<S>(
    context: &ImportContext,
    mut stream: S,
) -> Result<pb::ImportResult, DatasetError>
where
    S: Stream<Item = Result<pb::ImportRequest, tonic::Status>> + Unpin,
{
    let header = read_header(&mut stream).await?;
    let mut importer = context
        .start(
            &header.dataset_name,
            "header.dataset_name",
            header.options.as_ref(),
            "header.options",
        )
        .await?;
    ingest_upload(&mut stream, &mut importer, context.limits.max_file_bytes).await?;
    let new = NewDataset {
        dataset_id: header.dataset_name,
        description: header.description,
        source: "upload".into(),
    };
    commit_import(&context.repository, new, importer).await
}

/// `ImportFromPath`: a server folder or a store prefix.
pub async fn import_from_path(
    context: &ImportContext,
    request: pb::ImportFromPathRequest,
) -> Result<pb::ImportResult, DatasetError> {
    use pb::import_from_path_request::Source;

    let mut importer = context
        .start(
            &request.dataset_name,
            "dataset_name",
            request.options.as_ref(),
            "options",
        )
        .await?;
    let store = context.repository.store();
    let (files, source) = match request.source {
        None => {
            return Err(DatasetError::invalid(
                "source",
                "set server_path or store_prefix",
            ))
        }
        Some(Source::ServerPath(path)) => {
            let root = context.path_root.clone();
            let files = tokio::task::spawn_blocking(move || {
                let folder = existing_folder(&path, root.as_deref(), "server_path")?;
                walk_files(&folder)
            })
            .await??;
            let listed = files
                .into_iter()
                .map(|(relative_path, path, size)| ListedFile {
                    relative_path,
                    location: FileLocation::Path(path),
                    size,
                })
                .collect::<Vec<_>>();
            (listed, "server folder".to_owned())
        }
        Some(Source::StorePrefix(prefix)) => {
            let prefix = prefix.trim_end_matches('/').to_owned();
            if prefix.is_empty() {
                return Err(DatasetError::invalid("store_prefix", "must not be empty"));
            }
            let keys = store
                .list_keys(&prefix)
                .await
                .map_err(|error| match error {
                    eyegan_store::StoreError::InvalidKey { reason, .. } => {
                        DatasetError::invalid("store_prefix", reason)
                    }
                    other => other.into(),
                })?;
            let listed = keys
                .into_iter()
                .filter_map(|key| {
                    let relative = key.strip_prefix(&prefix)?.strip_prefix('/')?.to_owned();
                    Some(ListedFile {
                        relative_path: relative,
                        location: FileLocation::StoreKey(key),
                        size: 0,
                    })
                })
                .collect::<Vec<_>>();
            (listed, format!("store prefix {prefix}"))
        }
    };
    if files.is_empty() {
        return Err(DatasetError::FailedPrecondition(format!(
            "the {source} holds no files"
        )));
    }
    ingest_listed(&mut importer, store, files, context.limits.max_file_bytes).await?;
    let new = NewDataset {
        dataset_id: request.dataset_name,
        description: request.description,
        source,
    };
    commit_import(&context.repository, new, importer).await
}

/// `ImportPhantom`: renders fundus phantoms and imports them.
pub async fn import_phantom(
    context: &ImportContext,
    request: pb::ImportPhantomRequest,
) -> Result<pb::ImportResult, DatasetError> {
    let plan = PhantomPlan::from_request(&request)?;
    let mut importer = context
        .start(
            &request.dataset_name,
            "dataset_name",
            request.options.as_ref(),
            "options",
        )
        .await?;
    ingest_phantom(&plan, &mut importer).await?;
    let new = NewDataset {
        dataset_id: request.dataset_name,
        description: request.description,
        source: format!(
            "phantom seed={} per_class={} render_size={}",
            plan.seed, plan.per_class, plan.render_size
        ),
    };
    commit_import(&context.repository, new, importer).await
}
