//! The tonic implementation of `eyegan.dataset.v1.DatasetService`: thin handlers that check the
//! request, call the domain functions and map errors through `eyegan-service`'s one mapping.

use std::path::PathBuf;

use eyegan_proto::dataset::v1 as pb;
use eyegan_proto::dataset::v1::dataset_service_server::DatasetService;
use eyegan_store::Store;
use tonic::{Request, Response, Status, Streaming};

use crate::add_images::add_images;
use crate::create_split::create_split;
use crate::error::DatasetError;
use crate::export::{plan_export, run_export, ExportStream};
use crate::import::{import_from_path, import_phantom, import_upload, ImportContext, ServerLimits};
use crate::repository::Repository;
use crate::stream_images::{select_images, stream_selection, ImageStream};
use crate::summary::{dataset_to_proto, version_summary};

/// Settings of the dataset service beyond its store.
#[derive(Debug, Clone, Default)]
pub struct DatasetConfig {
    /// Limits on imported files.
    pub limits: ServerLimits,
    /// When set, server folders named by clients (import sources, export targets) must lie
    /// below it; when unset, any absolute folder the service can access is allowed — unless
    /// `server_folders_need_root`.
    pub path_root: Option<PathBuf>,
    /// Refuse server folders named by clients while `path_root` is unset (set by the binary
    /// when access control is on: a token holder must not read or write any folder the service
    /// can reach).
    pub server_folders_need_root: bool,
}

/// The dataset service over one store.
#[derive(Debug, Clone)]
pub struct DatasetServer {
    repository: Repository,
    config: DatasetConfig,
}

impl DatasetServer {
    /// A service storing datasets in `store`.
    pub fn new(store: Store, config: DatasetConfig) -> Self {
        Self {
            repository: Repository::new(store),
            config,
        }
    }

    /// The generated tonic server wrapping this service.
    /// It decodes requests up to the ambient `--max-message-bytes`.
    pub fn into_server(self) -> pb::dataset_service_server::DatasetServiceServer<Self> {
        pb::dataset_service_server::DatasetServiceServer::new(self)
            .max_decoding_message_size(eyegan_service::max_message_bytes())
    }

    /// FAILED_PRECONDITION when this service refuses client-named server folders.
    fn check_server_folders_allowed(&self) -> Result<(), Status> {
        if self.config.server_folders_need_root && self.config.path_root.is_none() {
            return Err(status(DatasetError::FailedPrecondition(
                "this dataset service requires access tokens but has no --path-root \
                 (EYEGAN_DATASET_PATH_ROOT), so it reads and writes no server folder named by a \
                 client: start it with a root folder, or upload the images with Import"
                    .to_owned(),
            )));
        }
        Ok(())
    }

    fn import_context(&self) -> ImportContext {
        ImportContext {
            repository: self.repository.clone(),
            limits: self.config.limits,
            path_root: self.config.path_root.clone(),
        }
    }

    async fn summaries(&self, dataset_id: &str) -> Result<Vec<pb::VersionSummary>, DatasetError> {
        self.repository.dataset(dataset_id, "dataset_id").await?;
        let mut summaries = Vec::new();
        for number in self.repository.version_numbers(dataset_id).await? {
            let version = self
                .repository
                .version(dataset_id, number, "dataset")
                .await?;
            summaries.push(version_summary(&version));
        }
        Ok(summaries)
    }
}

/// Maps a domain error to a status through the shared mapping.
fn status(error: DatasetError) -> Status {
    Status::from(error)
}

#[tonic::async_trait]
impl DatasetService for DatasetServer {
    async fn import(
        &self,
        request: Request<Streaming<pb::ImportRequest>>,
    ) -> Result<Response<pb::ImportResponse>, Status> {
        let result = import_upload(&self.import_context(), request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ImportResponse {
            result: Some(result),
        }))
    }

    async fn import_from_path(
        &self,
        request: Request<pb::ImportFromPathRequest>,
    ) -> Result<Response<pb::ImportFromPathResponse>, Status> {
        let request = request.into_inner();
        if matches!(
            request.source,
            Some(pb::import_from_path_request::Source::ServerPath(_))
        ) {
            self.check_server_folders_allowed()?;
        }
        let result = import_from_path(&self.import_context(), request)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ImportFromPathResponse {
            result: Some(result),
        }))
    }

    async fn import_phantom(
        &self,
        request: Request<pb::ImportPhantomRequest>,
    ) -> Result<Response<pb::ImportPhantomResponse>, Status> {
        let result = import_phantom(&self.import_context(), request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ImportPhantomResponse {
            result: Some(result),
        }))
    }

    async fn get_dataset(
        &self,
        request: Request<pb::GetDatasetRequest>,
    ) -> Result<Response<pb::GetDatasetResponse>, Status> {
        let id = request.into_inner().dataset_id;
        let dataset = self
            .repository
            .dataset(&id, "dataset_id")
            .await
            .map_err(status)?;
        let latest = self
            .repository
            .version(&id, 0, "dataset")
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetDatasetResponse {
            dataset: Some(dataset_to_proto(&dataset, latest.version)),
            latest: Some(version_summary(&latest)),
        }))
    }

    async fn list_datasets(
        &self,
        _request: Request<pb::ListDatasetsRequest>,
    ) -> Result<Response<pb::ListDatasetsResponse>, Status> {
        let mut datasets = Vec::new();
        for record in self.repository.list_datasets().await.map_err(status)? {
            let latest = self
                .repository
                .version_numbers(&record.dataset_id)
                .await
                .map_err(status)?
                .last()
                .copied()
                .unwrap_or(0);
            datasets.push(dataset_to_proto(&record, latest));
        }
        Ok(Response::new(pb::ListDatasetsResponse { datasets }))
    }

    async fn get_version(
        &self,
        request: Request<pb::GetVersionRequest>,
    ) -> Result<Response<pb::GetVersionResponse>, Status> {
        let reference = request
            .into_inner()
            .dataset
            .ok_or_else(|| status(DatasetError::invalid("dataset", "must be set")))?;
        let version = self
            .repository
            .version(&reference.dataset_id, reference.version, "dataset")
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetVersionResponse {
            version: Some(version_summary(&version)),
        }))
    }

    async fn list_versions(
        &self,
        request: Request<pb::ListVersionsRequest>,
    ) -> Result<Response<pb::ListVersionsResponse>, Status> {
        let versions = self
            .summaries(&request.into_inner().dataset_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListVersionsResponse { versions }))
    }

    async fn create_split(
        &self,
        request: Request<pb::CreateSplitRequest>,
    ) -> Result<Response<pb::CreateSplitResponse>, Status> {
        let version = create_split(&self.repository, request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CreateSplitResponse {
            version: Some(version_summary(&version)),
        }))
    }

    type StreamImagesStream = ImageStream;

    async fn stream_images(
        &self,
        request: Request<pb::StreamImagesRequest>,
    ) -> Result<Response<Self::StreamImagesStream>, Status> {
        let selection = select_images(&self.repository, &request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(stream_selection(
            self.repository.clone(),
            selection,
        )))
    }

    async fn add_images(
        &self,
        request: Request<Streaming<pb::AddImagesRequest>>,
    ) -> Result<Response<pb::AddImagesResponse>, Status> {
        let (version, added) = add_images(&self.repository, request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AddImagesResponse {
            version: Some(version_summary(&version)),
            added,
        }))
    }

    type ExportVersionStream = ExportStream;

    async fn export_version(
        &self,
        request: Request<pb::ExportVersionRequest>,
    ) -> Result<Response<Self::ExportVersionStream>, Status> {
        let request = request.into_inner();
        if !request.server_path.is_empty() {
            self.check_server_folders_allowed()?;
        }
        let plan = plan_export(&self.repository, self.config.path_root.as_deref(), request)
            .await
            .map_err(status)?;
        Ok(Response::new(run_export(self.repository.clone(), plan)))
    }
}
