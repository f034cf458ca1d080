//! TLS, mutual TLS, bearer tokens and the in-flight limit of `serve`, on real sockets.

use std::net::SocketAddr;
use std::time::Duration;

use certs::TestPki;
use eyegan_proto::common::v1::GetJobRequest;
use eyegan_proto::generator::v1::generator_service_client::GeneratorServiceClient;
use eyegan_proto::generator::v1::generator_service_server::GeneratorServiceServer;
use eyegan_service::{
    serve, AcceptedTokens, BearerToken, ClientSecurity, ClientTlsFiles, Readiness, ServerSecurity,
    ServerTlsFiles, ServiceChannel, Services,
};
use support::ErrorMappingGenerator;
use tokio::sync::oneshot;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::ServerReflectionRequest;

mod certs;
mod support;

const TOKEN: &str = "operator-token-0123456789";

/// A server on 127.0.0.1:0 with `security`; stops when dropped.
struct Running {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start(security: ServerSecurity) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let readiness = Readiness::new();
    readiness.set_ready();
    let services = Services::new()
        .add_service(GeneratorServiceServer::new(ErrorMappingGenerator))
        .grace_period(Duration::from_millis(100))
        .security(security);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, services, readiness, async move {
        let _ = stopped.await;
    }));
    Running { addr, _stop: stop }
}

fn tls_server(pki: &TestPki, mutual: bool) -> ServerSecurity {
    let files = ServerTlsFiles {
        cert: pki.server_cert.clone(),
        key: pki.server_key.clone(),
        client_ca: mutual.then(|| pki.ca.clone()),
    };
    ServerSecurity {
        tls: Some(files.load().unwrap()),
        ..ServerSecurity::default()
    }
}

fn client(ca: Option<&TestPki>, identity: Option<&TestPki>, token: Option<&str>) -> ClientSecurity {
    let files = ClientTlsFiles {
        ca: ca.map(|pki| pki.ca.clone()),
        cert: identity.map(|pki| pki.client_cert.clone()),
        key: identity.map(|pki| pki.client_key.clone()),
    };
    let token = token.map(|token| BearerToken::new(token, "test").unwrap());
    ClientSecurity::load(&files, token).unwrap()
}

/// The code of a GetJob call: NOT_FOUND means the call reached the service.
async fn get_job_code(channel: ServiceChannel) -> Code {
    let mut client = GeneratorServiceClient::new(channel);
    let call = client.get_job(GetJobRequest {
        job_id: "j1".into(),
    });
    match tokio::time::timeout(Duration::from_secs(10), call).await {
        Ok(Ok(_)) => Code::Ok,
        Ok(Err(status)) => status.code(),
        Err(_) => Code::DeadlineExceeded,
    }
}

async fn health(channel: ServiceChannel) -> Result<ServingStatus, Code> {
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map(|response| response.into_inner().status())
        .map_err(|status| status.code())
}

#[tokio::test]
async fn tls_handshake_works_and_plaintext_clients_are_refused() {
    let pki = TestPki::new("eyegan");
    let server = start(tls_server(&pki, false)).await;
    let https = format!("https://{}", server.addr);
    let http = format!("http://{}", server.addr);

    let trusted = client(Some(&pki), None, None);
    assert_eq!(
        get_job_code(trusted.channel(&https).unwrap()).await,
        Code::NotFound
    );
    assert_eq!(
        health(trusted.channel(&https).unwrap()).await,
        Ok(ServingStatus::Serving)
    );

    let plaintext = get_job_code(ClientSecurity::default().channel(&http).unwrap()).await;
    assert!(
        !matches!(plaintext, Code::NotFound | Code::Ok),
        "a plaintext call must not reach the service, got {plaintext:?}"
    );

    let other_ca = TestPki::new("stranger");
    let untrusting = client(Some(&other_ca), None, None);
    let code = get_job_code(untrusting.channel(&https).unwrap()).await;
    assert!(
        !matches!(code, Code::NotFound | Code::Ok),
        "a server certificate from an unknown CA must be refused, got {code:?}"
    );

    let error = ClientSecurity::default().channel(&https).unwrap_err();
    assert!(error.to_string().contains("--tls-ca"), "{error}");
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_from_the_ca() {
    let pki = TestPki::new("eyegan");
    let server = start(tls_server(&pki, true)).await;
    let https = format!("https://{}", server.addr);

    let with_cert = client(Some(&pki), Some(&pki), None);
    assert_eq!(
        get_job_code(with_cert.channel(&https).unwrap()).await,
        Code::NotFound
    );

    let without_cert = client(Some(&pki), None, None);
    let code = get_job_code(without_cert.channel(&https).unwrap()).await;
    assert!(
        !matches!(code, Code::NotFound | Code::Ok),
        "a client without a certificate must be refused, got {code:?}"
    );

    let stranger = TestPki::new("stranger");
    let foreign_cert = client(Some(&pki), Some(&stranger), None);
    let code = get_job_code(foreign_cert.channel(&https).unwrap()).await;
    assert!(
        !matches!(code, Code::NotFound | Code::Ok),
        "a client certificate from another CA must be refused, got {code:?}"
    );
}

#[tokio::test]
async fn tokens_are_required_everywhere_but_health() {
    let mut tokens = AcceptedTokens::none();
    tokens.add(TOKEN, "test").unwrap();
    let server = start(ServerSecurity {
        tokens,
        ..ServerSecurity::default()
    })
    .await;
    let url = format!("http://{}", server.addr);
    let anonymous = ClientSecurity::default();
    let wrong = client(None, None, Some("not-the-token-0123456789"));
    let right = client(None, None, Some(TOKEN));

    assert_eq!(
        get_job_code(anonymous.channel(&url).unwrap()).await,
        Code::Unauthenticated
    );
    assert_eq!(
        get_job_code(wrong.channel(&url).unwrap()).await,
        Code::Unauthenticated
    );
    assert_eq!(
        get_job_code(right.channel(&url).unwrap()).await,
        Code::NotFound
    );
    assert_eq!(
        health(anonymous.channel(&url).unwrap()).await,
        Ok(ServingStatus::Serving)
    );

    let list = || {
        tokio_stream::iter(vec![ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        }])
    };
    let refused = ServerReflectionClient::new(anonymous.channel(&url).unwrap())
        .server_reflection_info(list())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let mut answers = ServerReflectionClient::new(right.channel(&url).unwrap())
        .server_reflection_info(list())
        .await
        .unwrap()
        .into_inner();
    assert!(answers.message().await.unwrap().is_some());
}

#[tokio::test]
async fn requests_past_the_in_flight_limit_get_resource_exhausted() {
    let server = start(ServerSecurity {
        max_concurrent_requests: 1,
        ..ServerSecurity::default()
    })
    .await;
    let url = format!("http://{}", server.addr);
    let security = ClientSecurity::default();

    // A reflection stream stays open while its request stream does: it holds the one slot.
    let (requests, open_requests) = tokio::sync::mpsc::channel::<ServerReflectionRequest>(1);
    let open = ServerReflectionClient::new(security.channel(&url).unwrap())
        .server_reflection_info(tokio_stream::wrappers::ReceiverStream::new(open_requests))
        .await
        .unwrap();

    assert_eq!(
        get_job_code(security.channel(&url).unwrap()).await,
        Code::ResourceExhausted
    );
    assert_eq!(
        health(security.channel(&url).unwrap()).await,
        Ok(ServingStatus::Serving),
        "health is not counted"
    );

    drop(requests);
    drop(open);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let code = get_job_code(security.channel(&url).unwrap()).await;
        if code == Code::NotFound {
            break;
        }
        assert_eq!(code, Code::ResourceExhausted);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot was never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
