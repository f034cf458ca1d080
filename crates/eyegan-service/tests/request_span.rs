//! Every request gets a `grpc_request` span with its method and gRPC code.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eyegan_proto::common::v1::{GetJobRequest, ListJobsRequest};
use eyegan_proto::generator::v1::generator_service_client::GeneratorServiceClient;
use eyegan_proto::generator::v1::generator_service_server::GeneratorServiceServer;
use eyegan_service::{serve, Readiness, Services};
use tokio::sync::oneshot;

mod support;

/// Collects formatted log lines in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

// A current-thread runtime: the server's tasks run on this thread, under the default subscriber.
#[tokio::test(flavor = "current_thread")]
async fn each_request_is_logged_in_a_span_with_method_and_code() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("eyegan_service=debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let services = Services::new()
        .add_service(GeneratorServiceServer::new(support::ErrorMappingGenerator))
        .grace_period(Duration::from_millis(200));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, services, Readiness::new(), async move {
        let _ = stopped.await;
    }));

    let mut client = GeneratorServiceClient::new(eyegan_service::connect(&url).await.unwrap());
    client.list_jobs(ListJobsRequest::default()).await.unwrap();
    client
        .get_job(GetJobRequest {
            job_id: "missing".into(),
        })
        .await
        .unwrap_err();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    let lines = captured.lines();
    let finished = lines
        .iter()
        .find(|line| line.contains("request finished"))
        .unwrap_or_else(|| panic!("no finished request in {lines:#?}"));
    assert!(
        finished.contains("method=/eyegan.generator.v1.GeneratorService/ListJobs"),
        "{finished}"
    );
    assert!(finished.contains("grpc_code=0"), "{finished}");
    let failed = lines
        .iter()
        .find(|line| line.contains("request failed"))
        .unwrap_or_else(|| panic!("no failed request in {lines:#?}"));
    assert!(failed.contains("WARN"), "{failed}");
    assert!(
        failed.contains("method=/eyegan.generator.v1.GeneratorService/GetJob"),
        "{failed}"
    );
    assert!(failed.contains("grpc_code=5"), "{failed}");
}
