//! gRPC clients of the four services, connected lazily to their endpoints.

use eyegan_proto::classifier::v1::classifier_service_client::ClassifierServiceClient;
use eyegan_proto::dataset::v1::dataset_service_client::DatasetServiceClient;
use eyegan_proto::generator::v1::generator_service_client::GeneratorServiceClient;
use eyegan_proto::trainer::v1::trainer_service_client::TrainerServiceClient;
use eyegan_service::ConnectError;
use tonic::transport::Channel;

use crate::endpoints::Endpoints;

/// Largest gRPC message the orchestrator accepts (evaluation answers with every prediction).
const MAX_DECODE_BYTES: usize = 64 * 1024 * 1024;

/// One client per service (several trainers).
#[derive(Debug, Clone)]
pub struct Clients {
    /// Dataset service.
    pub dataset: DatasetServiceClient<Channel>,
    /// Trainer services, in `[services].trainers` order.
    pub trainers: Vec<TrainerServiceClient<Channel>>,
    /// Generator service.
    pub generator: GeneratorServiceClient<Channel>,
    /// Classifier service.
    pub classifier: ClassifierServiceClient<Channel>,
}

impl Clients {
    /// Clients of `endpoints`; connections open on first use.
    pub fn connect(endpoints: &Endpoints) -> Result<Self, ConnectError> {
        let channel = |url: &str| -> Result<Channel, ConnectError> {
            Ok(eyegan_service::endpoint(url)?.connect_lazy())
        };
        let trainers = endpoints
            .trainers
            .iter()
            .map(|url| {
                Ok(TrainerServiceClient::new(channel(url)?)
                    .max_decoding_message_size(MAX_DECODE_BYTES))
            })
            .collect::<Result<Vec<_>, ConnectError>>()?;
        Ok(Self {
            dataset: DatasetServiceClient::new(channel(&endpoints.dataset)?)
                .max_decoding_message_size(MAX_DECODE_BYTES),
            trainers,
            generator: GeneratorServiceClient::new(channel(&endpoints.generator)?)
                .max_decoding_message_size(MAX_DECODE_BYTES),
            classifier: ClassifierServiceClient::new(channel(&endpoints.classifier)?)
                .max_decoding_message_size(MAX_DECODE_BYTES),
        })
    }
}
