//! deploy/k8s checked against the real binaries, without a cluster: every image is one that
//! build-images.sh builds, every flag and environment variable (including those from ConfigMaps
//! and Secrets) is one its binary accepts, listen ports, probes, Services and endpoints agree,
//! the compute services request GPUs, and the orchestrator Job's `[services]` validates.

use std::collections::{BTreeMap, BTreeSet};

use eyegan_e2e::deploy_config::{
    host_and_port, port_of, service_endpoints, strings, yaml_documents, Checker, GPU_BINARIES,
};
use eyegan_e2e::workspace_root;
use serde_yaml_ng::Value;

/// ConfigMaps the manifests use that the user makes from a file (README, "Kubernetes").
const USER_CONFIG_MAPS: [&str; 1] = ["eyegan-experiment"];

/// Every document of deploy/k8s, after checking that kustomization.yaml lists every file.
fn documents() -> Vec<(String, Value)> {
    let dir = workspace_root().join("deploy/k8s");
    let kustomization = &yaml_documents(&dir.join("kustomization.yaml"))[0];
    let listed: BTreeSet<String> = strings(&kustomization["resources"]).into_iter().collect();
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    assert_eq!(
        listed, present,
        "kustomization.yaml resources vs deploy/k8s files"
    );
    present
        .iter()
        .flat_map(|file| {
            yaml_documents(&dir.join(file))
                .into_iter()
                .map(move |document| (file.clone(), document))
        })
        .collect()
}

/// Keys of the ConfigMaps and Secrets, by name.
fn config_keys(documents: &[(String, Value)], kind: &str) -> BTreeMap<String, BTreeSet<String>> {
    documents
        .iter()
        .filter(|(_, d)| d["kind"].as_str() == Some(kind))
        .map(|(_, d)| {
            let keys = ["data", "stringData"]
                .iter()
                .filter_map(|field| d[*field].as_mapping())
                .flat_map(|map| map.keys().filter_map(Value::as_str).map(str::to_owned))
                .collect();
            (d["metadata"]["name"].as_str().unwrap().to_owned(), keys)
        })
        .collect()
}

/// Container ports of a container: name → number.
fn container_ports(container: &Value) -> BTreeMap<String, u16> {
    container["ports"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|port| {
            let number = port["containerPort"].as_u64().unwrap() as u16;
            let name = port["name"]
                .as_str()
                .map_or(number.to_string(), str::to_owned);
            (name, number)
        })
        .collect()
}

/// A probe or Service port (a number or a port name) resolved against `ports`.
fn resolve_port(port: &Value, ports: &BTreeMap<String, u16>) -> Option<u16> {
    match port {
        Value::Number(n) => n
            .as_u64()
            .map(|n| n as u16)
            .filter(|n| ports.values().any(|p| p == n)),
        Value::String(name) => ports.get(name).copied(),
        _ => None,
    }
}

#[test]
fn kubernetes_manifests_use_only_what_the_binaries_accept() {
    let mut check = Checker::new(&eyegan_e2e::binaries!());
    let documents = documents();
    let config_maps = config_keys(&documents, "ConfigMap");
    let secrets = config_keys(&documents, "Secret");
    let services: Vec<&Value> = documents
        .iter()
        .filter(|(_, d)| d["kind"].as_str() == Some("Service"))
        .map(|(_, d)| d)
        .collect();
    // (pod labels, container ports) of every container, for the Services.
    let mut workload_ports: Vec<(BTreeMap<String, String>, BTreeMap<String, u16>)> = Vec::new();
    let mut dataset_endpoints = Vec::new();
    let mut gpu_services = BTreeSet::new();

    for (file, document) in &documents {
        let kind = document["kind"].as_str().unwrap_or_default();
        if !["Deployment", "StatefulSet", "Job"].contains(&kind) {
            continue;
        }
        let pod = &document["spec"]["template"];
        let labels: BTreeMap<String, String> =
            serde_yaml_ng::from_value(pod["metadata"]["labels"].clone()).unwrap();
        let spec = &pod["spec"];
        for volume in spec["volumes"].as_sequence().into_iter().flatten() {
            if let Some(name) = volume["configMap"]["name"].as_str() {
                check.expect(
                    config_maps.contains_key(name) || USER_CONFIG_MAPS.contains(&name),
                    || format!("{file}: volume of ConfigMap {name}, which no manifest defines"),
                );
            }
        }
        for container in spec["containers"].as_sequence().unwrap() {
            let context = format!(
                "{file}: {kind} {}",
                document["metadata"]["name"].as_str().unwrap()
            );
            let image = container["image"].as_str().unwrap();
            let Some(binary) = check.binary_of(&context, image) else {
                continue;
            };
            let mut env = BTreeSet::new();
            let mut values = BTreeMap::new();
            for var in container["env"].as_sequence().into_iter().flatten() {
                let name = var["name"].as_str().unwrap().to_owned();
                values.insert(
                    name.clone(),
                    var["value"].as_str().unwrap_or_default().to_owned(),
                );
                env.insert(name);
            }
            for source in container["envFrom"].as_sequence().into_iter().flatten() {
                let (kind, name, known) = match source["configMapRef"]["name"].as_str() {
                    Some(name) => ("ConfigMap", name, &config_maps),
                    None => (
                        "Secret",
                        source["secretRef"]["name"].as_str().unwrap(),
                        &secrets,
                    ),
                };
                match known.get(name) {
                    Some(keys) => env.extend(keys.iter().cloned()),
                    None => check.expect(false, || {
                        format!("{context}: envFrom {kind} {name} is not defined")
                    }),
                }
            }
            let mut words = strings(&container["command"]);
            words.extend(strings(&container["args"]));
            let ports = container_ports(container);
            workload_ports.push((labels.clone(), ports.clone()));
            let Some(cli) = check.program(&context, &binary, &words, &env) else {
                continue;
            };
            if let Some(listen) = values.get("EYEGAN_LISTEN") {
                let port = port_of(listen).unwrap_or(0);
                check.expect(ports.values().any(|p| *p == port), || {
                    format!("{context}: EYEGAN_LISTEN {listen} is no container port")
                });
                check.expect(cli.default_listen_port() == Some(port), || {
                    format!(
                        "{context}: {binary} listens on {:?} by default, not {port}",
                        cli.default_listen_port()
                    )
                });
                let readiness = &container["readinessProbe"]["grpc"]["port"];
                check.expect(resolve_port(readiness, &ports) == Some(port), || {
                    format!("{context}: readiness is not gRPC health on {port}")
                });
                let liveness = strings(&container["livenessProbe"]["exec"]["command"]);
                check.healthcheck(&context, &binary, &liveness, port);
            }
            if let Some(endpoint) = values.get("EYEGAN_DATASET_ENDPOINT") {
                dataset_endpoints.push((context.clone(), endpoint.clone()));
            }
            if GPU_BINARIES.contains(&binary.as_str()) {
                let gpus = container["resources"]["limits"]["nvidia.com/gpu"]
                    .as_u64()
                    .unwrap_or(0);
                check.expect(gpus >= 1, || format!("{context}: no nvidia.com/gpu limit"));
                gpu_services.insert(binary.clone());
            }
        }
    }
    assert_eq!(
        gpu_services.len(),
        GPU_BINARIES.len(),
        "GPU deployments: {gpu_services:?}"
    );

    // Every Service selects a workload and targets one of its ports.
    let mut service_ports: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for service in &services {
        let name = service["metadata"]["name"].as_str().unwrap().to_owned();
        let selector: BTreeMap<String, String> =
            serde_yaml_ng::from_value(service["spec"]["selector"].clone()).unwrap();
        let target = workload_ports
            .iter()
            .find(|(labels, _)| selector.iter().all(|(k, v)| labels.get(k) == Some(v)));
        for port in service["spec"]["ports"].as_sequence().unwrap() {
            let number = port["port"].as_u64().unwrap() as u16;
            service_ports
                .entry(name.clone())
                .or_default()
                .insert(number);
            let resolved = target.and_then(|(_, ports)| resolve_port(&port["targetPort"], ports));
            check.expect(resolved == Some(number), || {
                format!(
                    "Service {name}: port {number} targets {:?} of {:?}",
                    port["targetPort"],
                    target.map(|t| &t.1)
                )
            });
        }
    }
    let mut endpoints: Vec<(String, String)> = dataset_endpoints;
    let s3 = documents.iter().find(|(_, d)| {
        d["kind"].as_str() == Some("ConfigMap") && d["data"]["AWS_ENDPOINT"].is_string()
    });
    if let Some((file, document)) = s3 {
        endpoints.push((
            format!("{file}: AWS_ENDPOINT"),
            document["data"]["AWS_ENDPOINT"]
                .as_str()
                .unwrap()
                .to_owned(),
        ));
    }
    let services_toml = config_maps.contains_key("eyegan-services").then(|| {
        let document = documents
            .iter()
            .find(|(_, d)| d["metadata"]["name"].as_str() == Some("eyegan-services"))
            .unwrap();
        document.1["data"]["services.toml"]
            .as_str()
            .unwrap()
            .to_owned()
    });
    let services_toml = services_toml.expect("a ConfigMap eyegan-services with services.toml");
    check.validate_with_smoke("ConfigMap eyegan-services", &services_toml);
    endpoints.extend(
        service_endpoints(&services_toml)
            .into_iter()
            .map(|url| ("ConfigMap eyegan-services".to_owned(), url)),
    );
    for (context, url) in endpoints {
        let (host, port) = host_and_port(&url);
        let ok = port.is_some_and(|port| {
            service_ports
                .get(&host)
                .is_some_and(|ports| ports.contains(&port))
        });
        check.expect(ok, || format!("{context}: {url} is no Service port"));
    }
    // The S3 readiness script is the compose one.
    let script = documents
        .iter()
        .find_map(|(_, d)| d["data"]["s3-ready.sh"].as_str().map(str::to_owned));
    let compose_script =
        std::fs::read_to_string(workspace_root().join("deploy/compose/s3-ready.sh")).unwrap();
    check.expect(script.as_deref() == Some(compose_script.as_str()), || {
        "ConfigMap eyegan-s3-ready differs from deploy/compose/s3-ready.sh".to_owned()
    });
    check.finish();
}
