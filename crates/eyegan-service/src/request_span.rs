//! One tracing span per gRPC request: method path, gRPC code, latency.
//!
//! Built on `tower_http::trace` with gRPC classification: a request that ends with a non-OK
//! code (in headers for trailers-only answers, or in trailers after a stream) is logged as a
//! failure: `warn` for client-side codes, `error` for server-side ones. Completed requests are
//! logged at `debug` (enable with `RUST_LOG=eyegan_service=debug`).

use std::time::Duration;

use http::{HeaderMap, Request, Response};
use tower_http::classify::{GrpcCode, GrpcErrorsAsFailures, GrpcFailureClass, SharedClassifier};
use tower_http::trace::{MakeSpan, OnEos, OnFailure, OnResponse, TraceLayer};
use tracing::field::Empty;
use tracing::Span;

/// The request-span layer [`crate::serve`] installs.
pub(crate) type GrpcTraceLayer = TraceLayer<
    SharedClassifier<GrpcErrorsAsFailures>,
    GrpcSpan,
    (),
    GrpcOnResponse,
    (),
    GrpcOnEos,
    GrpcOnFailure,
>;

/// Builds the request-span layer.
pub(crate) fn grpc_trace_layer() -> GrpcTraceLayer {
    TraceLayer::new_for_grpc()
        .make_span_with(GrpcSpan)
        .on_request(())
        .on_response(GrpcOnResponse)
        .on_body_chunk(())
        .on_eos(GrpcOnEos)
        .on_failure(GrpcOnFailure)
}

/// Opens the `grpc_request` span with the method path; code and latency are recorded later.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrpcSpan;

impl<B> MakeSpan<B> for GrpcSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        tracing::info_span!(
            "grpc_request",
            method = %request.uri().path(),
            grpc_code = Empty,
            latency_ms = Empty,
        )
    }
}

/// Records the latency to the response headers, and the code of trailers-only answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrpcOnResponse;

impl<B> OnResponse<B> for GrpcOnResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        span.record("latency_ms", latency.as_secs_f64() * 1000.0);
        if let Some(code) = grpc_status(response.headers()) {
            span.record("grpc_code", code);
            if code == 0 {
                tracing::debug!(
                    grpc_code = code,
                    latency_ms = latency.as_secs_f64() * 1000.0,
                    "request finished"
                );
            }
        }
    }
}

/// Records the code from the trailers at the end of a response stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrpcOnEos;

impl OnEos for GrpcOnEos {
    fn on_eos(self, trailers: Option<&HeaderMap>, stream_duration: Duration, span: &Span) {
        let latency_ms = stream_duration.as_secs_f64() * 1000.0;
        span.record("latency_ms", latency_ms);
        let code = trailers.and_then(grpc_status);
        if let Some(code) = code {
            span.record("grpc_code", code);
        }
        if code.unwrap_or(0) == 0 {
            tracing::debug!(
                grpc_code = code.unwrap_or(0),
                latency_ms,
                "request finished"
            );
        }
    }
}

/// Logs failed requests: `warn` for client-side codes, `error` for server-side ones.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrpcOnFailure;

impl OnFailure<GrpcFailureClass> for GrpcOnFailure {
    fn on_failure(&mut self, failure: GrpcFailureClass, latency: Duration, span: &Span) {
        let latency_ms = latency.as_secs_f64() * 1000.0;
        match failure {
            GrpcFailureClass::Code(code) => {
                let code = code.get();
                span.record("grpc_code", code);
                if is_server_side(code) {
                    tracing::error!(grpc_code = code, latency_ms, "request failed");
                } else {
                    tracing::warn!(grpc_code = code, latency_ms, "request failed");
                }
            }
            GrpcFailureClass::Error(error) => {
                tracing::error!(%error, latency_ms, "request failed in transport");
            }
        }
    }
}

/// The `grpc-status` value in `headers`, if any.
fn grpc_status(headers: &HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
}

/// Codes that point at the server rather than the request: UNKNOWN, DEADLINE_EXCEEDED,
/// UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS.
fn is_server_side(code: i32) -> bool {
    [
        GrpcCode::Unknown,
        GrpcCode::DeadlineExceeded,
        GrpcCode::Unimplemented,
        GrpcCode::Internal,
        GrpcCode::Unavailable,
        GrpcCode::DataLoss,
    ]
    .iter()
    .any(|server_code| *server_code as i32 == code)
}
