//! What the `kubectl nvcf up` end-to-end tests share: a cluster prepared so preflight
//! passes and the real stack can become ready, nvcf-sim as the NVCF API, and the real
//! binaries on PATH.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support"
)]

use crate::helm_nvcf_support::{data, install_gateway_prerequisites};
use crate::nvcf_support::SimEnv;
use nvcf_e2e::bin;
use nvcf_testenv::{Env, tools};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Prerequisites `check --pre` wants, plus statically provisioned volumes for the
/// StatefulSets (the testenv has no provisioner).
pub fn prepare(env: &Env) {
    for fixture in ["storage", "gpu-operator", "kai-scheduler"] {
        env.install_fixture(fixture).unwrap();
    }
    install_gateway_prerequisites(env);
    let pvs: String = (0..12)
        .map(|i| {
            format!(
                "---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: up-pv-{i}\n\
                 spec:\n  storageClassName: standard\n  capacity: {{storage: 10Gi}}\n  accessModes: [ReadWriteOnce]\n  \
                 persistentVolumeReclaimPolicy: Retain\n  hostPath: {{path: /tmp/up-pv-{i}}}\n"
            )
        })
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), pvs).unwrap();
    env.kubectl_run(&["apply", "-f", file.path().to_str().unwrap()])
        .unwrap();
}

/// A directory with the real kubectl and the chosen helm (as `helm`).
pub fn tools_dir(home: &Path, helm: &Path) -> PathBuf {
    let dir = home.join("tools");
    std::fs::create_dir_all(&dir).unwrap();
    let link = |target: &Path, name: &str| {
        let _ = std::fs::remove_file(dir.join(name));
        std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
    };
    link(&tools::kubectl(), "kubectl");
    link(helm, "helm");
    dir
}

/// `kubectl-nvcf` against nvcf-sim and the cluster(s) of `kubeconfig`, with `helm`.
pub fn nvcf(sim: &SimEnv, kubeconfig: &str, helm: &Path) -> Command {
    let tools = tools_dir(sim.home.path(), helm);
    let mut cmd = sim.cmd();
    cmd.env("PATH", &tools)
        .env("KUBECONFIG", kubeconfig)
        .env("USER", "e2e")
        .env("HELM_DATA_HOME", sim.home.path().join("helm/data"))
        .env("HELM_CONFIG_HOME", sim.home.path().join("helm/config"))
        .env("HELM_CACHE_HOME", sim.home.path().join("helm/cache"))
        .env("NVCF_STACK_CONFIG", data("local.yaml"))
        .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests");
    cmd
}

/// `up --cluster-name CLUSTER --chart-source SOURCE`.
pub fn up_args(cluster: &str, source: &str) -> Vec<String> {
    vec![
        "up".into(),
        "--cluster-name".into(),
        cluster.into(),
        "--chart-source".into(),
        source.into(),
    ]
}

/// The JSONL events of a `--json` run's stderr.
pub fn events(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("event").is_some())
        .collect()
}

pub use nvcf_e2e::helm_storage::latest_statuses as helm_releases;

/// Kubeconfig text of `env` with its names made unique (`name`), so two testenvs merge.
pub fn renamed_kubeconfig(env: &Env, name: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(env.kubeconfig()).unwrap();
    let text = text
        .replace("name: testenv", &format!("name: {name}"))
        .replace("cluster: testenv", &format!("cluster: {name}"))
        .replace("name: admin", &format!("name: {name}-admin"))
        .replace("user: admin", &format!("user: {name}-admin"))
        .replace(
            "current-context: testenv",
            &format!("current-context: {name}"),
        );
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&path, text).unwrap();
    path
}

pub fn bin_path() -> PathBuf {
    bin("kubectl-nvcf")
}

/// What a Gateway controller does, which the test cluster has none of: marks every route
/// of the stack Accepted by the Gateway it names.
pub fn accept_routes(env: &Env) {
    for kind in ["httproutes", "grpcroutes", "tcproutes"] {
        let listed = env
            .kubectl_run(&["get", kind, "-A", "-o", "json"])
            .unwrap_or_else(|_| "{\"items\": []}".into());
        let list: Value = serde_json::from_str(&listed).unwrap();
        for route in list["items"].as_array().into_iter().flatten() {
            let parents: Vec<Value> = route["spec"]["parentRefs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    serde_json::json!({
                        "parentRef": p,
                        "controllerName": "e2e.nvcf/gateway",
                        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                            "message": "accepted by the e2e controller",
                            "lastTransitionTime": "2026-01-01T00:00:00Z"}],
                    })
                })
                .collect();
            let patch = serde_json::json!({"status": {"parents": parents}}).to_string();
            let args = [
                "patch",
                kind,
                route["metadata"]["name"].as_str().unwrap(),
                "-n",
                route["metadata"]["namespace"].as_str().unwrap(),
                "--type=merge",
                "-p",
                &patch,
            ];
            // A CRD without the status subresource takes status as any other field.
            let mut with_subresource = args.to_vec();
            with_subresource.push("--subresource=status");
            if env.kubectl_run(&with_subresource).is_err() {
                env.kubectl_run(&args).unwrap();
            }
        }
    }
}

/// The cluster identity the NVCA operator was installed with (its NVCFBackend's DTO).
pub fn cluster_dto(env: &Env) -> String {
    env.kubectl_run(&[
        "get",
        "configmap",
        "nvcfbackend-self-managed",
        "-n",
        "nvca-operator",
        "-o",
        "jsonpath={.data.cluster-dto\\.yaml}",
    ])
    .unwrap()
}
