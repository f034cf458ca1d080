//! Sending an idempotent call again while its service restarts.
//!
//! A service killed in the middle of a call, or not yet listening again, answers with a
//! transport-level status (UNAVAILABLE, or the UNKNOWN / INTERNAL / CANCELLED that tonic makes of
//! a connection reset mid-call). Every call the steps make is idempotent — imports and derived
//! datasets carry names made from the step hash, job submissions carry request ids, reads are
//! reads — so the steps send it again until the service is back or [`RETRY_FOR`] has passed.

use std::future::Future;
use std::time::{Duration, Instant};

use tonic::Code;

/// How long a call is retried while its service is unreachable.
pub const RETRY_FOR: Duration = Duration::from_secs(120);

/// Pause between two tries.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Whether `status` means the call did not get an answer from a working service (connection
/// refused or reset, the server went away mid-call), rather than an answer about the request.
pub fn is_transient(status: &tonic::Status) -> bool {
    let message = status.message();
    let from_transport = message.contains("transport error")
        || message.contains("h2 protocol error")
        || message.contains("connection");
    match status.code() {
        Code::Unavailable => true,
        Code::Unknown | Code::Internal | Code::Cancelled => from_transport,
        _ => false,
    }
}

/// Runs `call` until it returns something other than a transient error, or [`RETRY_FOR`] has
/// passed (then the last error); `what` names the call in the log.
pub async fn idempotent<T, F, Fut>(what: &str, mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let deadline = Instant::now() + RETRY_FOR;
    loop {
        match call().await {
            Err(status) if is_transient(&status) && Instant::now() < deadline => {
                tracing::warn!(call = what, error = %status, "service unreachable; retrying");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            outcome => return outcome,
        }
    }
}

/// `retried!("what", client.method(request))`: the call through [`idempotent`], with a clone of
/// the client and of the request for every try.
///
/// `retried!("what", client.method(request), |response| expr)` also evaluates `expr` (which may
/// `.await` and use `?` on `tonic::Status`) inside every try: a streamed answer is read to its end
/// there, so a stream the service broke off is asked for again from the start.
#[macro_export]
macro_rules! retried {
    ($what:expr, $client:ident . $method:ident ( $request:expr )) => {
        $crate::retried!($what, $client.$method($request), |response| Ok(response))
    };
    ($what:expr, $client:ident . $method:ident ( $request:expr ), |$response:ident| $then:expr) => {
        async {
            let request = $request;
            $crate::retry::idempotent($what, || {
                let mut client = $client.clone();
                let request = request.clone();
                async move {
                    let $response = client.$method(request).await?;
                    $then
                }
            })
            .await
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transport_failures_are_transient() {
        assert!(is_transient(&tonic::Status::unavailable(
            "tcp connect error"
        )));
        assert!(is_transient(&tonic::Status::unknown(
            "transport error: connection reset"
        )));
        assert!(is_transient(&tonic::Status::internal(
            "h2 protocol error: stream closed"
        )));
        assert!(!is_transient(&tonic::Status::internal(
            "the model is corrupt"
        )));
        assert!(!is_transient(&tonic::Status::invalid_argument(
            "connection"
        )));
        assert!(!is_transient(&tonic::Status::already_exists("dataset x")));
    }

    #[tokio::test]
    async fn retries_until_the_service_answers() {
        let mut tries = 0;
        let answer = idempotent("test", || {
            tries += 1;
            let attempt = tries;
            async move {
                if attempt < 3 {
                    Err(tonic::Status::unavailable("connection refused"))
                } else {
                    Ok(attempt)
                }
            }
        })
        .await;
        assert_eq!(answer.unwrap(), 3);
        let refused = idempotent("test", || async {
            Err::<(), _>(tonic::Status::not_found("dataset x"))
        })
        .await;
        assert_eq!(refused.unwrap_err().code(), Code::NotFound);
    }
}
