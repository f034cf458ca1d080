//! `serve` on a real socket: health follows readiness, reflection v1 and v1alpha list and
//! describe the served services, errors cross the wire without internals, shutdown drains.

use std::net::SocketAddr;
use std::time::Duration;

use eyegan_proto::common::v1::{CancelJobRequest, GetJobRequest, ListJobsRequest};
use eyegan_proto::generator::v1::generator_service_client::GeneratorServiceClient;
use eyegan_proto::generator::v1::generator_service_server::GeneratorServiceServer;
use eyegan_service::{check_health, serve, HealthcheckError, Readiness, Services, HEALTH_SERVICE};
use support::ErrorMappingGenerator;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

mod support;

const GENERATOR: &str = "eyegan.generator.v1.GeneratorService";
const PATIENCE: Duration = Duration::from_secs(10);

struct Running {
    addr: SocketAddr,
    readiness: Readiness,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), eyegan_service::ServeError>>,
}

impl Running {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, self.server)
            .await
            .expect("server stops within the grace period")
            .unwrap()
            .unwrap();
    }
}

async fn start(grace_period: Duration) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let readiness = Readiness::new();
    let services = Services::new()
        .add_service(GeneratorServiceServer::new(ErrorMappingGenerator))
        .grace_period(grace_period);
    assert_eq!(services.names(), &[GENERATOR]);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, services, readiness.clone(), async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        readiness,
        stop: Some(stop),
        server,
    }
}

async fn health(url: &str, service: &str) -> ServingStatus {
    let channel = eyegan_service::connect(url).await.unwrap();
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .status()
}

#[tokio::test]
async fn health_is_not_serving_until_ready_then_serving() {
    let running = start(Duration::from_secs(1)).await;
    let url = running.url();
    for service in ["", GENERATOR] {
        assert_eq!(
            health(&url, service).await,
            ServingStatus::NotServing,
            "{service:?}"
        );
    }
    let error = check_health(&url, "", PATIENCE).await.unwrap_err();
    assert!(
        matches!(&error, HealthcheckError::NotServing { status, .. } if status == "NOT_SERVING"),
        "{error}"
    );

    running.readiness.set_ready();
    // The switch is mirrored by a task; poll until it shows.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while health(&url, GENERATOR).await != ServingStatus::Serving {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never became SERVING"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(health(&url, "").await, ServingStatus::Serving);
    check_health(&url, "", PATIENCE).await.unwrap();
    check_health(&url, GENERATOR, PATIENCE).await.unwrap();

    let unknown = check_health(&url, "eyegan.nothing.v1.Nope", PATIENCE)
        .await
        .unwrap_err();
    assert!(
        matches!(
            unknown,
            HealthcheckError::Rpc {
                code: Code::NotFound,
                ..
            }
        ),
        "{unknown}"
    );

    running.readiness.set_not_ready();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while health(&url, "").await != ServingStatus::NotServing {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never went back to NOT_SERVING"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.stop().await;
}

#[tokio::test]
async fn healthcheck_fails_cleanly_without_a_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let error = check_health(&format!("http://{closed}"), "", PATIENCE)
        .await
        .unwrap_err();
    assert!(matches!(error, HealthcheckError::Connect(_)), "{error}");

    // Accepts TCP but never speaks HTTP/2: only the timeout ends the wait.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let error = check_health(
        &format!("http://{silent_addr}"),
        "",
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, HealthcheckError::Timeout { .. }), "{error}");
}

#[tokio::test]
async fn errors_cross_the_wire_with_their_code_and_without_internals() {
    let running = start(Duration::from_secs(1)).await;
    let channel = eyegan_service::connect(&running.url()).await.unwrap();
    let mut client = GeneratorServiceClient::new(channel);

    let status = client
        .get_job(GetJobRequest {
            job_id: "j-404".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "job \"j-404\" not found");

    let status = client
        .list_jobs(ListJobsRequest {
            page_size: 5000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("page_size"),
        "{}",
        status.message()
    );

    let status = client
        .cancel_job(CancelJobRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(!status.message().contains("secret"), "{}", status.message());
    assert!(
        status.message().contains("error id"),
        "{}",
        status.message()
    );

    client.list_jobs(ListJobsRequest::default()).await.unwrap();
    running.stop().await;
}

#[tokio::test]
async fn shutdown_reports_not_serving_then_drains_and_returns() {
    let running = start(Duration::from_millis(300)).await;
    running.readiness.set_ready();
    let channel = eyegan_service::connect(&running.url()).await.unwrap();
    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    // Wait until the watch sees SERVING.
    loop {
        let update = tokio::time::timeout(PATIENCE, watch.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if update.status() == ServingStatus::Serving {
            break;
        }
    }
    let Running { stop, server, .. } = running;
    stop.unwrap().send(()).unwrap();
    // The open watch stream learns about the shutdown before the server goes away.
    let update = tokio::time::timeout(PATIENCE, watch.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(update.status(), ServingStatus::NotServing);
    // The watch stream never ends by itself: serve returns once the grace period is over.
    tokio::time::timeout(PATIENCE, server)
        .await
        .expect("serve returned after the grace period")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn idle_server_shuts_down_without_waiting_for_the_grace_period() {
    // A grace period far beyond the test's patience: returning at all proves no wait happened.
    let running = start(Duration::from_secs(3600)).await;
    health(&running.url(), "").await;
    running.stop().await;
    assert!(HEALTH_SERVICE.starts_with("grpc.health"));
}
