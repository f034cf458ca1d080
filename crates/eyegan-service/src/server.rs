//! [`serve`]: runs a set of gRPC services with health, reflection, request spans and graceful
//! shutdown. Every EyeGAN service binary (and every test) serves through it.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use http::{Request, Response};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use crate::access::AccessLayer;
use crate::readiness::Readiness;
use crate::request_span::grpc_trace_layer;
use crate::security::{Security, ServerSecurity};

/// How long open requests (e.g. watch streams) may take to finish after shutdown begins, by
/// default.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// Fully-qualified name of the health service that [`serve`] adds.
pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// Fully-qualified names of the reflection services that [`serve`] adds.
pub const REFLECTION_SERVICES: [&str; 2] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Why [`serve`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not be built from the descriptor sets.
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The HTTP/2 server failed.
    #[error("grpc server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The gRPC services one server runs, plus how it runs them.
#[derive(Debug)]
pub struct Services {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    grace_period: Duration,
    security: Option<ServerSecurity>,
}

impl Services {
    /// No services yet; grace period [`DEFAULT_GRACE_PERIOD`].
    pub fn new() -> Self {
        Self {
            routes: RoutesBuilder::default(),
            names: Vec::new(),
            grace_period: DEFAULT_GRACE_PERIOD,
            security: None,
        }
    }

    /// Adds a generated tonic server (e.g. `DatasetServiceServer::new(service)`). Its name is
    /// reported by health and listed by reflection.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tonic::codegen::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Sets how long open requests may run on after shutdown begins before [`serve`] returns
    /// anyway.
    pub fn grace_period(mut self, grace_period: Duration) -> Self {
        self.grace_period = grace_period;
        self
    }

    /// Serves with `security` instead of the ambient settings
    /// ([`Security::current`](crate::Security::current)).
    pub fn security(mut self, security: ServerSecurity) -> Self {
        self.security = Some(security);
        self
    }

    /// Fully-qualified names of the services added so far.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

impl Default for Services {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves `services` on `listener` until `shutdown` completes, adding:
/// - `grpc.health.v1.Health`: every added service and the overall server (`""`) are
///   NOT_SERVING until `readiness` is set ready, then follow it; NOT_SERVING again as soon as
///   shutdown begins;
/// - reflection v1 and v1alpha (grpcurl speaks v1alpha) over [`eyegan_proto::FILE_DESCRIPTOR_SET`],
///   listing exactly the added services plus health and reflection;
/// - one tracing span per request (method, gRPC code, latency);
/// - the [`ServerSecurity`] set with [`Services::security`], else the ambient one: TLS (mutual
///   with a client CA), the bearer-token check (UNAUTHENTICATED; health is open), and the
///   in-flight limit (RESOURCE_EXHAUSTED; health is not counted).
///
/// After `shutdown` the listener stops accepting, open requests get the services' grace period
/// to finish, and the function returns.
pub async fn serve<F>(
    listener: TcpListener,
    services: Services,
    readiness: Readiness,
    shutdown: F,
) -> Result<(), ServeError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let Services {
        mut routes,
        names,
        grace_period,
        security,
    } = services;
    let security = security.unwrap_or_else(|| Security::current().server);
    let local_addr = listener.local_addr().ok();

    let (reporter, health_service) = tonic_health::server::health_reporter();
    let mut health_names: Vec<String> = vec![String::new()];
    health_names.extend(names.iter().map(|name| (*name).to_owned()));
    set_status(&reporter, &health_names, ServingStatus::NotServing).await;
    let follower = tokio::spawn(follow_readiness(
        readiness.subscribe(),
        reporter.clone(),
        health_names.clone(),
    ));

    routes.add_service(health_service);
    add_reflection(&mut routes, &names)?;

    let (drain_started_tx, drain_started_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        follower.abort();
        set_status(&reporter, &health_names, ServingStatus::NotServing).await;
        tracing::info!("shutting down, draining open requests");
        let _ = drain_started_tx.send(());
    };

    tracing::info!(
        addr = ?local_addr,
        services = ?names,
        tls = security.tls.is_some(),
        auth = security.tokens.is_enabled(),
        "serving"
    );
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = security.tls {
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .layer(grpc_trace_layer())
        .layer(AccessLayer::new(
            security.tokens,
            security.max_concurrent_requests,
        ))
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal);
    let grace_expired = async move {
        if drain_started_rx.await.is_ok() {
            tokio::time::sleep(grace_period).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result?,
        () = grace_expired => {
            tracing::warn!(?grace_period, "grace period over, dropping open requests");
        }
    }
    tracing::info!("server stopped");
    Ok(())
}

/// Sets every name in `names` to `status`.
async fn set_status(reporter: &HealthReporter, names: &[String], status: ServingStatus) {
    for name in names {
        reporter.set_service_status(name, status).await;
    }
}

/// Mirrors the readiness switch into the health statuses until the switch is gone.
async fn follow_readiness(
    mut ready: tokio::sync::watch::Receiver<bool>,
    reporter: HealthReporter,
    names: Vec<String>,
) {
    loop {
        let status = if *ready.borrow_and_update() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        set_status(&reporter, &names, status).await;
        tracing::debug!(?status, "health status changed");
        if ready.changed().await.is_err() {
            return;
        }
    }
}

/// Adds reflection v1 and v1alpha, both listing `names` plus health and reflection, and both
/// able to describe every EyeGAN, health and reflection type.
fn add_reflection(routes: &mut RoutesBuilder, names: &[&'static str]) -> Result<(), ServeError> {
    let builder = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .include_reflection_service(false)
            .register_encoded_file_descriptor_set(eyegan_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            );
        for name in names
            .iter()
            .chain([HEALTH_SERVICE].iter())
            .chain(REFLECTION_SERVICES.iter())
        {
            builder = builder.with_service_name(*name);
        }
        builder
    };
    routes.add_service(builder().build_v1()?);
    routes.add_service(builder().build_v1alpha()?);
    Ok(())
}
