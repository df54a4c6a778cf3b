//! `kubectl nvcf status` on a real test cluster with real charts installed by real
//! helm: the JSON shape, release and NVCFBackend health, Warning events, read-only
//! requests, and `--watch` reporting a workload change it learns from a watch.

mod status_support;

use nvcf_e2e::{Home, Run};
use nvcf_testenv::{Env, tools};
use serde_json::Value;
use status_support::{apply, backend, helm_install, nvcf, registration_configmap};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

fn release<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == name)
        .unwrap_or_else(|| panic!("release {name} in {report:#}"))
}

fn install_some_of_the_stack(
    env: &Env,
    home: &Home,
    helm: &std::path::Path,
    charts: &std::path::Path,
) {
    helm_install(env, home, helm, charts, "api", "helm-nvcf-api", "nvcf");
    helm_install(env, home, helm, charts, "sis", "helm-nvcf-sis", "sis");
    helm_install(
        env,
        home,
        helm,
        charts,
        "nvca-operator",
        "helm-nvca-operator",
        "nvca-operator",
    );
    backend(env, "gpu-a", "healthy");
    registration_configmap(env, "c-123", "g-456");
}

#[test]
fn status_reports_identity_releases_backend_events_and_config_in_one_json_document() {
    let Some(charts) = status_support::charts(
        "status_reports_identity_releases_backend_events_and_config_in_one_json_document",
    ) else {
        return;
    };
    let env = Env::start_named("nvcf-status").unwrap();
    let home = Home::new();
    install_some_of_the_stack(&env, &home, &tools::helm3(), &charts);
    let now = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    let now = String::from_utf8_lossy(&now.stdout).trim().to_owned();
    apply(
        &env,
        &format!(
            "apiVersion: v1\nkind: Event\nmetadata: {{name: api-warning, namespace: nvcf}}\n\
             involvedObject: {{kind: Deployment, name: nvcf-api, namespace: nvcf}}\n\
             type: Warning\nreason: BackOff\nmessage: probe failed\ncount: 3\n\
             firstTimestamp: \"{now}\"\nlastTimestamp: \"{now}\"\n\
             source: {{component: e2e}}\n"
        ),
    );

    let audit = env.audit();
    let mark = audit.mark().unwrap();
    let run = Run::of(nvcf(&home, &env).args(["status", "-o", "json"]));
    run.expect_success();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();

    assert_eq!(report["identity"]["clusterId"], "c-123", "{report:#}");
    assert_eq!(report["identity"]["clusterGroupId"], "g-456");
    assert_eq!(report["identity"]["source"], "cluster");
    assert_eq!(report["identity"]["controlPlaneContext"], "testenv");
    assert_eq!(report["identity"]["computePlaneContext"], "testenv");

    let api = release(&report, "api");
    assert_eq!(api["service"], "NVCF API");
    assert_eq!(api["state"], "healthy");
    assert_eq!(api["helmStatus"], "deployed");
    assert_eq!(api["workloads"][0]["name"], "nvcf-api");
    assert_eq!(api["workloads"][0]["ready"], 1);
    assert_eq!(release(&report, "sis")["service"], "Spot Instance Service");
    assert_eq!(
        release(&report, "sis")["workloads"][0]["name"],
        "spot-instance-service"
    );
    assert_eq!(release(&report, "nvca-operator")["state"], "healthy");
    // Required releases not installed make the stack degraded, and say so.
    assert_eq!(release(&report, "nats")["state"], "missing");
    assert_eq!(report["verdict"], "degraded");
    // Optional releases (addons off) are not installed, not missing.
    assert_eq!(
        release(&report, "llm-api-gateway")["state"],
        "not-installed"
    );
    let services: Vec<&str> = report["releases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["service"].as_str())
        .collect();
    assert_eq!(services.len(), 13, "seed 002's table: {services:?}");
    assert_eq!(services[0], "NVCF API");
    assert_eq!(services[12], "Envoy Gateway");

    assert_eq!(report["backends"][0]["name"], "gpu-a");
    assert_eq!(report["backends"][0]["healthy"], true);
    assert_eq!(report["backends"][0]["version"], "3.2.7");

    let event = &report["events"][0];
    assert_eq!(event["object"], "Deployment/nvcf-api");
    assert_eq!(event["reason"], "BackOff");
    assert_eq!(event["count"], 3);

    assert_eq!(report["config"]["profile"], "testenv");
    assert_eq!(report["config"]["auth"]["adminToken"]["status"], "not_set");

    // Only reads, and every read is a list of a whole kind (no per-release requests).
    let requests = audit.requests_matching(mark, &[], "kubectl-nvcf/").unwrap();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|e| e.verb == "list"),
        "{:?}",
        requests
            .iter()
            .map(|e| (&e.verb, &e.request_uri))
            .collect::<Vec<_>>()
    );
    assert!(
        requests.len() <= 14,
        "one list per kind: {}",
        requests.len()
    );

    // The table says the same for people.
    let table = Run::of(nvcf(&home, &env).arg("status"));
    table.expect_success();
    assert!(
        table.stdout.contains("✓ NVCF API (api)"),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("CLUSTER    - (c-123)"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("gpu-a"), "{}", table.stdout);
    assert!(table.stdout.contains("BackOff"), "{}", table.stdout);
    assert!(table.stdout.contains("ADMIN TOKEN"), "{}", table.stdout);
}

#[test]
fn watch_emits_an_update_when_a_workload_changes() {
    let Some(charts) = status_support::charts("watch_emits_an_update_when_a_workload_changes")
    else {
        return;
    };
    let env = Env::start_named("nvcf-status-watch").unwrap();
    let home = Home::new();
    install_some_of_the_stack(&env, &home, &tools::helm4(), &charts);

    let mut child = nvcf(&home, &env)
        .args(["status", "--watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no watch update: {what}"));
        serde_json::from_str(&line).unwrap()
    };
    let first = next("first snapshot");
    assert_eq!(release(&first, "api")["state"], "healthy");

    // Recreated onto no node at all: the one replica goes and its successor stays Pending.
    env.kubectl_run(&[
        "patch",
        "deployment",
        "nvcf-api",
        "-n",
        "nvcf",
        "--type=merge",
        "-p",
        r#"{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null},"template":{"spec":{"nodeSelector":{"e2e/no-such-node":"x"}}}}}"#,
    ])
    .unwrap();
    let mut update = next("after the patch");
    while release(&update, "api")["state"] == "healthy" {
        update = next("api degraded");
    }
    let api = release(&update, "api");
    assert_eq!(api["state"], "degraded", "{api:#}");
    assert_eq!(api["workloads"][0]["desired"], 1);
    assert!(
        api["message"].as_str().unwrap().contains("0/1 ready"),
        "{api:#}"
    );

    // And the backend turning unhealthy is another update.
    backend(&env, "gpu-a", "unhealthy");
    let mut update = next("backend change");
    while update["backends"][0]["healthy"] == true {
        update = next("backend unhealthy");
    }
    assert_eq!(update["backends"][0]["health"], "unhealthy");
    child.kill().unwrap();
    child.wait().unwrap();
}
