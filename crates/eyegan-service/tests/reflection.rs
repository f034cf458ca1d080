//! Reflection v1 and v1alpha list exactly the served services and describe EyeGAN types.

use std::time::Duration;

use eyegan_proto::generator::v1::generator_service_server::GeneratorServiceServer;
use eyegan_service::{serve, Readiness, Services};
use prost::Message;
use tokio::sync::oneshot;

mod v1 {
    pub use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    pub use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    pub use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    pub use tonic_reflection::pb::v1::ServerReflectionRequest;
}
mod v1alpha {
    pub use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    pub use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    pub use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    pub use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
}

mod support;

const GENERATOR: &str = "eyegan.generator.v1.GeneratorService";

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_and_describe_the_served_services() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let services = Services::new()
        .add_service(GeneratorServiceServer::new(support::ErrorMappingGenerator))
        .grace_period(Duration::from_millis(200));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, services, Readiness::new(), async move {
        let _ = stopped.await;
    }));
    let channel = eyegan_service::connect(&url).await.unwrap();

    let expected = vec![
        GENERATOR.to_owned(),
        "grpc.health.v1.Health".to_owned(),
        "grpc.reflection.v1.ServerReflection".to_owned(),
        "grpc.reflection.v1alpha.ServerReflection".to_owned(),
    ];

    // v1
    let mut client = v1::ServerReflectionClient::new(channel.clone());
    let list = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::MessageRequest::ListServices(String::new())),
    };
    let describe = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::MessageRequest::FileContainingSymbol(
            "eyegan.generator.v1.SampleResponse".into(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(vec![list, describe]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::MessageResponse::ListServicesResponse(listed)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1: expected a service list");
    };
    let mut names: Vec<String> = listed.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, expected);
    let Some(v1::MessageResponse::FileDescriptorResponse(files)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1: expected file descriptors");
    };
    assert!(describes_package(
        &files.file_descriptor_proto,
        "eyegan.generator.v1"
    ));

    // v1alpha (what grpcurl speaks)
    let mut client = v1alpha::ServerReflectionClient::new(channel);
    let list = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::MessageRequest::ListServices(String::new())),
    };
    let describe = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::MessageRequest::FileContainingSymbol(
            GENERATOR.into(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(vec![list, describe]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::MessageResponse::ListServicesResponse(listed)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1alpha: expected a service list");
    };
    let mut names: Vec<String> = listed.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, expected);
    let Some(v1alpha::MessageResponse::FileDescriptorResponse(files)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1alpha: expected file descriptors");
    };
    assert!(describes_package(
        &files.file_descriptor_proto,
        "eyegan.generator.v1"
    ));

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

fn describes_package(encoded_files: &[Vec<u8>], package: &str) -> bool {
    encoded_files.iter().any(|bytes| {
        prost_types::FileDescriptorProto::decode(bytes.as_slice())
            .map(|file| file.package() == package)
            .unwrap_or(false)
    })
}
