//! [`ServiceChannel`]: a channel to another EyeGAN service that presents a bearer token with
//! every call.

use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::transport::channel::ResponseFuture;
use tonic::transport::Channel;
use tower::Service;

use crate::auth::BearerToken;
use crate::client::{connect_with, endpoint_with, ConnectError};
use crate::security::{ClientSecurity, Security};

/// A [`Channel`] that adds `authorization: Bearer …` to every call when it has a token. Use it
/// as the transport of a generated client (`DatasetServiceClient<ServiceChannel>`). Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct ServiceChannel {
    channel: Channel,
    token: Option<BearerToken>,
}

impl ServiceChannel {
    /// `channel`, presenting `token` when set.
    pub fn new(channel: Channel, token: Option<BearerToken>) -> Self {
        Self { channel, token }
    }
}

/// A channel without a token.
impl From<Channel> for ServiceChannel {
    fn from(channel: Channel) -> Self {
        Self::new(channel, None)
    }
}

impl Service<http::Request<Body>> for ServiceChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.channel.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        if let Some(token) = &self.token {
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, token.header().clone());
        }
        self.channel.call(request)
    }
}

impl ClientSecurity {
    /// A lazily connecting channel to `url` with these TLS settings and token.
    pub fn channel(&self, url: &str) -> Result<ServiceChannel, ConnectError> {
        Ok(ServiceChannel::new(
            endpoint_with(url, self)?.connect_lazy(),
            self.token.clone(),
        ))
    }
}

impl ClientSecurity {
    /// Connects to `url` now with these TLS settings and token, failing fast with
    /// [`ConnectError::Unreachable`] (for command-line clients).
    pub async fn connect(&self, url: &str) -> Result<ServiceChannel, ConnectError> {
        Ok(ServiceChannel::new(
            connect_with(url, self).await?,
            self.token.clone(),
        ))
    }
}

/// A lazily connecting channel to the service at `url` with the ambient client settings
/// ([`Security::current`]): what a service uses to call another one.
pub fn service_channel(url: &str) -> Result<ServiceChannel, ConnectError> {
    Security::current().client.channel(url)
}
