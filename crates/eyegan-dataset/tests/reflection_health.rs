//! Reflection lists the dataset service (the only EyeGAN server so far) next to health and
//! reflection, describes its messages, and grpc health answers SERVING.

mod support;

use std::time::Duration;

use eyegan_store::Store;
use futures::StreamExt;
use support::TestServer;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

async fn ask(endpoint: &str, request: MessageRequest) -> MessageResponse {
    let mut client = ServerReflectionClient::new(eyegan_service::connect(endpoint).await.unwrap());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut responses = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    responses
        .next()
        .await
        .unwrap()
        .unwrap()
        .message_response
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_the_dataset_service_and_health_answers() {
    let server = TestServer::start(Store::open("memory://").unwrap()).await;

    let MessageResponse::ListServicesResponse(list) = ask(
        &server.endpoint,
        MessageRequest::ListServices(String::new()),
    )
    .await
    else {
        panic!("expected a service list");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "eyegan.dataset.v1.DatasetService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );

    let symbol = MessageRequest::FileContainingSymbol("eyegan.dataset.v1.ImportRequest".into());
    let MessageResponse::FileDescriptorResponse(files) = ask(&server.endpoint, symbol).await else {
        panic!("expected file descriptors");
    };
    assert!(!files.file_descriptor_proto.is_empty());

    for service in ["", "eyegan.dataset.v1.DatasetService"] {
        eyegan_service::check_health(&server.endpoint, service, Duration::from_secs(5))
            .await
            .unwrap();
    }
    let unknown = eyegan_service::check_health(
        &server.endpoint,
        "eyegan.nope.v1.Nope",
        Duration::from_secs(5),
    )
    .await;
    assert!(unknown.is_err());
    server.stop().await;
}
