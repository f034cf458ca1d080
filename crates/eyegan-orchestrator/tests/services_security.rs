//! `[services]` TLS and token settings: remote mode only, relative to the experiment file,
//! files that exist, certificate with key; and the client settings they load into.

use std::path::Path;

use eyegan_orchestrator::clients::client_security;
use eyegan_orchestrator::spec::parse_experiment;

const REMOTE: &str = r#"version = 1

[dataset.phantom]
per_class = 10

[services]
mode = "remote"
dataset = "https://127.0.0.1:50051"
trainers = ["https://127.0.0.1:50052"]
generator = "https://127.0.0.1:50053"
classifier = "https://127.0.0.1:50054"
"#;

fn error_of(text: &str, base: &Path) -> String {
    match parse_experiment(text, "experiment.toml", base) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn tls_and_token_files_resolve_against_the_experiment_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(
        dir.path().join("certs/token.txt"),
        "# ops\nop-token-0123456789abcdef\n",
    )
    .unwrap();
    let text = format!("{REMOTE}token_file = \"certs/token.txt\"\n");
    let experiment = parse_experiment(&text, "experiment.toml", dir.path()).unwrap();
    let token_file = experiment.services.token_file.clone().unwrap();
    assert_eq!(token_file, dir.path().join("certs/token.txt"));
    let security = client_security(&experiment.services).unwrap();
    assert!(security.token.is_some());
    assert!(security.tls.is_none());
}

#[test]
fn bad_tls_settings_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client.pem"), "x").unwrap();

    let missing = error_of(&format!("{REMOTE}tls_ca = \"nope.pem\"\n"), dir.path());
    assert!(
        missing.contains("tls_ca") && missing.contains("nope.pem"),
        "{missing}"
    );

    let lonely = error_of(
        &format!("{REMOTE}tls_client_cert = \"client.pem\"\n"),
        dir.path(),
    );
    assert!(
        lonely.contains("tls_client_cert") && lonely.contains("together"),
        "{lonely}"
    );

    let embedded =
        "version = 1\n\n[dataset.phantom]\nper_class = 10\n\n[services]\ntls_ca = \"client.pem\"\n";
    let embedded = error_of(embedded, dir.path());
    assert!(
        embedded.contains("tls_ca") && embedded.contains("remote"),
        "{embedded}"
    );

    let not_pem = format!("{REMOTE}tls_ca = \"client.pem\"\n");
    let experiment = parse_experiment(&not_pem, "experiment.toml", dir.path()).unwrap();
    let error = client_security(&experiment.services)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("client.pem") && error.contains("CERTIFICATE"),
        "{error}"
    );
}
