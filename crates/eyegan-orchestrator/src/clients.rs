//! gRPC clients of the four services, connected lazily to their endpoints.

use eyegan_proto::classifier::v1::classifier_service_client::ClassifierServiceClient;
use eyegan_proto::dataset::v1::dataset_service_client::DatasetServiceClient;
use eyegan_proto::generator::v1::generator_service_client::GeneratorServiceClient;
use eyegan_proto::trainer::v1::trainer_service_client::TrainerServiceClient;
use eyegan_service::{
    BearerToken, ClientSecurity, ClientTlsFiles, ConnectError, SecurityError, ServiceChannel,
};

use crate::endpoints::Endpoints;
use crate::spec::ServicesSection;

/// The variable that holds the bearer token when `[services].token_file` is not set.
pub const TOKEN_ENV: &str = "EYEGAN_TOKEN";

/// Largest gRPC message the orchestrator accepts (evaluation answers with every prediction).
const MAX_DECODE_BYTES: usize = 64 * 1024 * 1024;

/// One client per service (several trainers).
#[derive(Debug, Clone)]
pub struct Clients {
    /// Dataset service.
    pub dataset: DatasetServiceClient<ServiceChannel>,
    /// Trainer services, in `[services].trainers` order.
    pub trainers: Vec<TrainerServiceClient<ServiceChannel>>,
    /// Generator service.
    pub generator: GeneratorServiceClient<ServiceChannel>,
    /// Classifier service.
    pub classifier: ClassifierServiceClient<ServiceChannel>,
}

/// The TLS files and token of `[services]` (the token from `token_file`, else from
/// `EYEGAN_TOKEN`); errors name the file or variable.
pub fn client_security(services: &ServicesSection) -> Result<ClientSecurity, SecurityError> {
    let files = ClientTlsFiles {
        ca: services.tls_ca.clone(),
        cert: services.tls_client_cert.clone(),
        key: services.tls_client_key.clone(),
    };
    let token = match &services.token_file {
        Some(path) => Some(BearerToken::from_file(path)?),
        None => match std::env::var(TOKEN_ENV) {
            Ok(token) if !token.trim().is_empty() => Some(BearerToken::new(&token, TOKEN_ENV)?),
            _ => None,
        },
    };
    ClientSecurity::load(&files, token)
}

impl Clients {
    /// Clients of `endpoints` with `security`'s TLS and token; connections open on first use.
    pub fn connect(endpoints: &Endpoints, security: &ClientSecurity) -> Result<Self, ConnectError> {
        let channel = |url: &str| security.channel(url);
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
