//! The access layer [`crate::serve`] puts in front of every service: the bearer-token check
//! (UNAUTHENTICATED) and the limit on requests in flight (RESOURCE_EXHAUSTED). Health checks
//! pass both, so probes work without a token and while the server is saturated.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::body::Body;
use tonic::Status;
use tower::{Layer, Service};

use crate::auth::AcceptedTokens;

/// Path prefix of the health service's methods: open to everyone.
const HEALTH_PATH_PREFIX: &str = "/grpc.health.v1.Health/";

/// Builds [`AccessService`]s.
#[derive(Debug, Clone)]
pub(crate) struct AccessLayer {
    tokens: Arc<AcceptedTokens>,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
}

impl AccessLayer {
    /// Requires one of `tokens` (when any) and admits at most `max_in_flight` requests at once
    /// (a streaming request counts until its answer stream ends).
    pub(crate) fn new(tokens: AcceptedTokens, max_in_flight: usize) -> Self {
        Self {
            tokens: Arc::new(tokens),
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
        }
    }
}

impl<S> Layer<S> for AccessLayer {
    type Service = AccessService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessService {
            inner,
            access: self.clone(),
        }
    }
}

/// Checks the token and takes an in-flight slot, then calls the inner service.
#[derive(Debug, Clone)]
pub(crate) struct AccessService<S> {
    inner: S,
    access: AccessLayer,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send + 'static>>;

impl<S, B> Service<Request<B>> for AccessService<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path();
        if path.starts_with(HEALTH_PATH_PREFIX) {
            return Box::pin(self.inner.call(request));
        }
        if let Err(status) = self.admit(&request) {
            tracing::warn!(method = %path, code = ?status.code(), reason = %status.message(), "request refused");
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        let permit = match self.access.in_flight.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let status = Status::resource_exhausted(format!(
                    "too many requests in flight (limit {}, --max-concurrent-requests); retry later",
                    self.access.max_in_flight
                ));
                tracing::warn!(method = %path, "request refused: too many in flight");
                return Box::pin(std::future::ready(Ok(status.into_http())));
            }
        };
        // The clone that was polled ready answers this call; the fresh clone waits for the next.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(async move {
            let response = inner.call(request).await?;
            Ok(response.map(|body| Body::new(PermitBody::new(body, permit))))
        })
    }
}

impl<S> AccessService<S> {
    /// UNAUTHENTICATED unless auth is off or the request carries an accepted token.
    fn admit<B>(&self, request: &Request<B>) -> Result<(), Status> {
        let tokens = &self.access.tokens;
        if !tokens.is_enabled() {
            return Ok(());
        }
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|value| value.as_bytes());
        if tokens.accepts(authorization) {
            Ok(())
        } else if authorization.is_none() {
            Err(Status::unauthenticated(
                "this server requires a bearer token (authorization: Bearer <token>)",
            ))
        } else {
            Err(Status::unauthenticated("the bearer token is not accepted"))
        }
    }
}

/// A response body that holds an in-flight slot until the answer is complete (or dropped).
struct PermitBody {
    inner: Body,
    _permit: OwnedSemaphorePermit,
}

impl PermitBody {
    fn new(inner: Body, permit: OwnedSemaphorePermit) -> Self {
        Self {
            inner,
            _permit: permit,
        }
    }
}

impl http_body::Body for PermitBody {
    type Data = <Body as http_body::Body>::Data;
    type Error = <Body as http_body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
