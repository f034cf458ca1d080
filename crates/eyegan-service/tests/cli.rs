//! The shared command line: defaults per service port, env twins on every flag.

use clap::{CommandFactory, Parser};
use eyegan_service::{ports, DatasetEndpointArgs, LogFormat, ServiceCommand, DEFAULT_STORE_URL};

#[derive(Debug, Parser)]
struct TrainerCli {
    #[command(subcommand)]
    command: ServiceCommand<DatasetEndpointArgs, { ports::TRAINER }>,
}

#[test]
fn serve_defaults_to_loopback_on_the_service_port() {
    let cli = TrainerCli::try_parse_from(["eyegan-trainer", "serve"]).unwrap();
    let ServiceCommand::Serve(args) = cli.command else {
        panic!("expected serve");
    };
    assert_eq!(args.common.listen.to_string(), "127.0.0.1:50052");
    assert_eq!(args.common.store, DEFAULT_STORE_URL);
    assert_eq!(args.common.log_format, LogFormat::Text);
    assert_eq!(args.service.dataset_endpoint, "http://127.0.0.1:50051");
}

#[test]
fn serve_flags_override_the_defaults() {
    let cli = TrainerCli::try_parse_from([
        "eyegan-trainer",
        "serve",
        "--listen",
        "0.0.0.0:6000",
        "--store",
        "memory://",
        "--log-format",
        "json",
        "--dataset-endpoint",
        "http://dataset:50051",
    ])
    .unwrap();
    let ServiceCommand::Serve(args) = cli.command else {
        panic!("expected serve");
    };
    assert_eq!(args.common.listen.to_string(), "0.0.0.0:6000");
    assert_eq!(args.common.store, "memory://");
    assert_eq!(args.common.log_format, LogFormat::Json);
    assert_eq!(args.service.dataset_endpoint, "http://dataset:50051");
}

#[test]
fn bad_flag_values_are_rejected_naming_the_flag() {
    let error = TrainerCli::try_parse_from(["eyegan-trainer", "serve", "--listen", "nowhere"])
        .unwrap_err()
        .to_string();
    assert!(error.contains("--listen"), "{error}");
    let error = TrainerCli::try_parse_from(["eyegan-trainer", "healthcheck", "--timeout", "soon"])
        .unwrap_err()
        .to_string();
    assert!(error.contains("--timeout"), "{error}");
}

#[test]
fn healthcheck_defaults_to_the_service_port() {
    let cli = TrainerCli::try_parse_from(["eyegan-trainer", "healthcheck"]).unwrap();
    let ServiceCommand::Healthcheck(args) = cli.command else {
        panic!("expected healthcheck");
    };
    assert_eq!(args.endpoint, "http://127.0.0.1:50052");
    assert_eq!(args.service, "");
    assert_eq!(args.timeout, std::time::Duration::from_secs(5));
}

#[test]
fn every_serve_flag_has_an_eyegan_env_twin() {
    let command = TrainerCli::command();
    let serve = command.find_subcommand("serve").unwrap();
    let mut flags = 0;
    for arg in serve.get_arguments().filter(|arg| arg.get_long().is_some()) {
        if arg.get_long() == Some("help") {
            continue;
        }
        let env = arg.get_env().map(|env| env.to_string_lossy().into_owned());
        assert!(
            env.as_deref().is_some_and(|env| env.starts_with("EYEGAN_")),
            "--{} has no EYEGAN_ env twin",
            arg.get_long().unwrap_or_default()
        );
        flags += 1;
    }
    assert_eq!(
        flags, 16,
        "listen, store, log-format, dataset-endpoint, 7 server security flags, 5 client ones"
    );
}

#[test]
fn security_flags_load_and_name_the_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");
    std::fs::write(&tokens, "# ops\nop-token-0123456789abcdef\n").unwrap();
    let cli = TrainerCli::try_parse_from([
        "eyegan-trainer",
        "serve",
        "--auth-tokens-file",
        tokens.to_str().unwrap(),
        "--max-concurrent-requests",
        "8",
    ])
    .unwrap();
    let ServiceCommand::Serve(args) = cli.command else {
        panic!("expected serve");
    };
    let security = args.common.load_security().unwrap();
    assert!(security.server.tokens.is_enabled());
    assert!(security.server.tls.is_none());
    assert_eq!(security.server.max_concurrent_requests, 8);

    let missing = dir.path().join("missing-cert.pem");
    let cli = TrainerCli::try_parse_from([
        "eyegan-trainer",
        "serve",
        "--tls-cert",
        missing.to_str().unwrap(),
        "--tls-key",
        missing.to_str().unwrap(),
    ])
    .unwrap();
    let ServiceCommand::Serve(args) = cli.command else {
        panic!("expected serve");
    };
    let error = args.common.load_security().unwrap_err().to_string();
    assert!(
        error.contains("--tls-cert") && error.contains("missing-cert.pem"),
        "{error}"
    );

    for bad in [
        vec!["--tls-cert", "c.pem"],
        vec!["--tls-client-ca", "ca.pem"],
        vec!["--max-concurrent-requests", "0"],
    ] {
        let mut argv = vec!["eyegan-trainer", "serve"];
        argv.extend(bad.iter().copied());
        assert!(TrainerCli::try_parse_from(&argv).is_err(), "{bad:?}");
    }
}
