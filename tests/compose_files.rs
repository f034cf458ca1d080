//! docker-compose.yml and deploy/docker-compose.gpu.yml checked against the real binaries,
//! without Docker: every flag and environment variable is one the binary accepts (read off
//! `--help`), health checks are each binary's `healthcheck` on its listen port, every dependency
//! waits for a healthy service, endpoints name compose services and their ports, volumes are
//! declared or exist, the orchestrator's `[services]` validates, and the GPU file reserves NVIDIA
//! GPUs for the compute services.

use std::collections::{BTreeMap, BTreeSet};

use eyegan_e2e::deploy_config::{
    host_and_port, port_of, service_endpoints, strings, yaml_documents, Checker, GPU_BINARIES,
};
use eyegan_e2e::workspace_root;
use regex::Regex;
use serde_yaml_ng::Value;

/// A compose file with its `<<` merge keys applied.
fn compose_file(path: &str) -> Value {
    let mut document = yaml_documents(&workspace_root().join(path)).remove(0);
    // `apply_merge` resolves one level of `<<`; anchors may merge anchors that merge others.
    for _ in 0..4 {
        document.apply_merge().unwrap();
    }
    document
}

/// `${NAME:-default}` replaced by its default, as compose does when NAME is unset.
fn with_defaults(text: &str) -> String {
    let variable = Regex::new(r"\$\{[A-Z0-9_]+:-([^}]*)\}").unwrap();
    variable.replace_all(text, "$1").into_owned()
}

fn mapping_keys(value: &Value) -> BTreeSet<String> {
    value
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(key, _)| key.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn compose_files_use_only_what_the_binaries_accept() {
    let mut check = Checker::new(&eyegan_e2e::binaries!());
    let compose = compose_file("docker-compose.yml");
    let services = compose["services"].as_mapping().unwrap();
    let declared_volumes = mapping_keys(&compose["volumes"]);
    // Compose service → the port it listens on (EYEGAN_LISTEN, or weed's -s3.port).
    let mut listen_ports: BTreeMap<String, u16> = BTreeMap::new();
    let mut endpoints: Vec<(String, String)> = Vec::new();
    let mut binaries = BTreeMap::new();

    for (name, service) in services {
        let name = name.as_str().unwrap().to_owned();
        let context = format!("docker-compose.yml: {name}");
        let Some(binary) = check.binary_of(&context, service["image"].as_str().unwrap()) else {
            continue;
        };
        binaries.insert(name.clone(), binary.clone());
        let environment = &service["environment"];
        let env = mapping_keys(environment);
        let value = |key: &str| environment[key].as_str().map(with_defaults);
        let mut words = strings(&service["entrypoint"]);
        words.extend(strings(&service["command"]));
        check.program(&context, &binary, &words, &env);

        let port = match value("EYEGAN_LISTEN") {
            Some(listen) => port_of(&listen),
            None => words
                .iter()
                .find_map(|w| w.strip_prefix("-s3.port=")?.parse().ok()),
        };
        if let Some(port) = port {
            listen_ports.insert(name.clone(), port);
        }
        let test = strings(&service["healthcheck"]["test"]);
        if binary != "weed" && binary != "orchestrate" {
            let port = port.unwrap_or(0);
            check.healthcheck(&context, &binary, test.get(1..).unwrap_or_default(), port);
        }
        for key in ["EYEGAN_DATASET_ENDPOINT", "AWS_ENDPOINT"] {
            if let Some(url) = value(key) {
                endpoints.push((format!("{context}: {key}"), url));
            }
        }
        for (dependency, condition) in service["depends_on"].as_mapping().into_iter().flatten() {
            let dependency = dependency.as_str().unwrap();
            let healthy = condition["condition"].as_str() == Some("service_healthy");
            let has_check = !services[dependency]["healthcheck"]["test"].is_null();
            check.expect(healthy && has_check, || {
                format!("{context}: depends on {dependency} without waiting for its health check")
            });
        }
        for volume in strings(&service["volumes"]) {
            let volume = with_defaults(&volume);
            let source = volume.split(':').next().unwrap_or_default().to_owned();
            let ok = if source.starts_with('.') || source.starts_with('/') {
                source.starts_with("./runs") || workspace_root().join(&source).exists()
            } else {
                declared_volumes.contains(&source)
            };
            check.expect(ok, || {
                format!("{context}: volume source {source} is neither a declared volume nor a file")
            });
        }
    }

    let services_toml =
        std::fs::read_to_string(workspace_root().join("deploy/compose/services.toml")).unwrap();
    check.validate_with_smoke("deploy/compose/services.toml", &services_toml);
    endpoints.extend(
        service_endpoints(&services_toml)
            .into_iter()
            .map(|url| ("deploy/compose/services.toml".to_owned(), url)),
    );
    for (context, url) in endpoints {
        let (host, port) = host_and_port(&url);
        check.expect(
            port.is_some() && listen_ports.get(&host) == port.as_ref(),
            || format!("{context}: {url} is not a compose service's port ({listen_ports:?})"),
        );
    }

    let gpu = compose_file("deploy/docker-compose.gpu.yml");
    let gpu_services = gpu["services"].as_mapping().unwrap();
    for (name, service) in gpu_services {
        let name = name.as_str().unwrap();
        let context = format!("deploy/docker-compose.gpu.yml: {name}");
        let binary = check.binary_of(&context, service["image"].as_str().unwrap());
        check.expect(
            binary.is_some() && binary.as_ref() == binaries.get(name),
            || {
                format!(
                    "{context}: runs {binary:?}, docker-compose.yml's {name} runs {:?}",
                    binaries.get(name)
                )
            },
        );
        let reserves_gpu = service["deploy"]["resources"]["reservations"]["devices"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|device| {
                device["driver"].as_str() == Some("nvidia")
                    && strings(&device["capabilities"]).iter().any(|c| c == "gpu")
            });
        check.expect(reserves_gpu, || {
            format!("{context}: reserves no NVIDIA GPU")
        });
    }
    let gpu_binaries: BTreeSet<&str> = gpu_services
        .keys()
        .filter_map(|k| binaries.get(k.as_str()?))
        .map(String::as_str)
        .collect();
    assert_eq!(
        gpu_binaries,
        GPU_BINARIES.into_iter().collect(),
        "services of the GPU file"
    );
    check.finish();
}
