//! A test cluster with the real operator chart installed by real helm from
//! `kubectl nvca values`, nvcf-sim as SIS, and a stand-in for the operator's controller.
//!
//! The operator pod runs nothing (KWOK), so [`FakeOperator`] does what the
//! real operator does at start: it reads `nvca-cluster-registration` once per operator pod,
//! and when that pod saw IDs it creates the NVCFBackend and the NVCA agent Deployment.
//! Like the real one, it never notices IDs written after its pod started.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support"
)]

#[path = "../nvcf_support/mod.rs"]
mod nvcf_support;

#[allow(unused_imports, reason = "not every test crate plants SIS faults")]
pub use nvcf_support::{SimEnv, fault};

use nvcf_e2e::{Run, bin};
use nvcf_testenv::{Env, tools};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const CLUSTER: &str = "gpu-a";

/// The real nvca-operator chart, or `None` after saying loudly why `test` skips.
pub fn operator_chart(test: &str) -> Option<PathBuf> {
    nvcf_e2e::upstream::stack_chart(test, "helm-nvca-operator")
}

pub struct Nvca {
    pub sim: SimEnv,
    pub cluster: Env,
    pub operator: Option<FakeOperator>,
}

impl Nvca {
    /// A fresh cluster and simulator, logged in (`init`).
    pub fn start(name: &str) -> Nvca {
        let sim = SimEnv::start();
        sim.ok(&["init"]);
        Nvca {
            sim,
            cluster: Env::start_named(name).unwrap(),
            operator: None,
        }
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = self.sim.home.command(bin("kubectl-nvca"));
        for (k, v) in self.sim.sim.env() {
            cmd.env(k, v);
        }
        cmd.env("NVCF_PROFILE", "e2e")
            .env("CI", "true")
            .env("KUBECONFIG", self.cluster.kubeconfig());
        cmd
    }

    pub fn nvca(&self, args: &[&str]) -> Run {
        Run::of(self.cmd().args(args))
    }

    /// Runs with `-o json`, asserts success and parses stdout.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let run = self.nvca(&all);
        assert_eq!(run.code, Some(0), "kubectl nvca {all:?}: {run:#?}");
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
    }

    pub fn kubectl(&self, args: &[&str]) -> String {
        self.cluster
            .kubectl_run(args)
            .unwrap_or_else(|e| panic!("kubectl {args:?}: {e:#}"))
    }

    pub fn apply(&self, yaml: &str) {
        apply(self.cluster.kubeconfig(), yaml);
    }

    /// `kubectl nvca values` from a stack config, then `helm install` of `chart` with that
    /// file, waiting for the operator Deployment.
    pub fn install_operator(&self, chart: &Path) {
        self.install_operator_from(chart, "nvcr.io");
    }

    /// As [`Nvca::install_operator`], with the images from `registry` (HOST[:PORT]).
    pub fn install_operator_from(&self, chart: &Path, registry: &str) {
        let dir = self.sim.home.path();
        let config = dir.join("nvcf-stack.yaml");
        std::fs::write(
            &config,
            format!(
                "registry: {registry}\nrepository: acme/nvcf\nimagePullSecrets: [nvcr-pull-secret]\ncompute: {{clusterName: {CLUSTER}}}\n"
            ),
        )
        .unwrap();
        let values = self.nvca(&["values", "--stack-config", config.to_str().unwrap()]);
        values.expect_success();
        let file = dir.join("nvca-operator-values.yaml");
        std::fs::write(&file, &values.stdout).unwrap();
        Run::of(
            tools::helm_command(&tools::helm4(), self.cluster.kubeconfig(), dir).args([
                "install",
                "nvca-operator",
                chart.to_str().unwrap(),
                "-n",
                "nvca-operator",
                "--create-namespace",
                "--wait",
                "-f",
                file.to_str().unwrap(),
            ]),
        )
        .expect_success();
    }

    /// (Re)creates the operator's pull secret `nvca-operator/nvcr-pull-secret`.
    pub fn pull_secret(&self, server: &str, user: &str, password: &str) {
        let _ = self.cluster.kubectl_run(&[
            "delete",
            "secret",
            "nvcr-pull-secret",
            "-n",
            "nvca-operator",
            "--ignore-not-found",
        ]);
        self.kubectl(&[
            "create",
            "secret",
            "docker-registry",
            "nvcr-pull-secret",
            "-n",
            "nvca-operator",
            &format!("--docker-server={server}"),
            &format!("--docker-username={user}"),
            &format!("--docker-password={password}"),
        ]);
    }

    pub fn start_operator(&mut self, creates_agent: bool) {
        self.operator = Some(FakeOperator::start(
            self.cluster.kubeconfig().to_path_buf(),
            creates_agent,
        ));
    }

    /// The data of `nvca-operator/nvca-cluster-registration` (empty when absent).
    pub fn registration_ids(&self) -> Value {
        let out = self.kubectl(&[
            "get",
            "configmap",
            "nvca-cluster-registration",
            "-n",
            "nvca-operator",
            "--ignore-not-found",
            "-o",
            "json",
        ]);
        if out.trim().is_empty() {
            return json!({});
        }
        let cm: Value = serde_json::from_str(&out).unwrap();
        cm["data"].clone()
    }

    /// Waits up to a minute for `check`.
    #[track_caller]
    pub fn eventually(&self, what: &str, mut check: impl FnMut() -> bool) {
        let start = Instant::now();
        while !check() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn kubectl(kubeconfig: &Path) -> Command {
    let mut cmd = Command::new(tools::kubectl());
    cmd.arg("--kubeconfig").arg(kubeconfig);
    cmd
}

fn kubectl_out(kubeconfig: &Path, args: &[&str]) -> Option<String> {
    let out = kubectl(kubeconfig).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn apply(kubeconfig: &Path, yaml: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), yaml).unwrap();
    let out = kubectl(kubeconfig)
        .args(["apply", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct FakeOperator {
    stop: Arc<AtomicBool>,
    passes: Arc<std::sync::atomic::AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl FakeOperator {
    fn start(kubeconfig: PathBuf, creates_agent: bool) -> FakeOperator {
        let stop = Arc::new(AtomicBool::new(false));
        let passes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (flag, done) = (stop.clone(), passes.clone());
        let thread = std::thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while !flag.load(Ordering::Relaxed) {
                reconcile(&kubeconfig, &mut seen, creates_agent);
                done.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        FakeOperator {
            stop,
            passes,
            thread: Some(thread),
        }
    }

    /// Waits until the operator has made `n` more complete passes: whatever it would do
    /// with what it sees now, it has done (a condition, not a guess at a duration).
    pub fn settle(&self, n: usize) {
        let target = self.passes.load(Ordering::Relaxed) + n;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.passes.load(Ordering::Relaxed) < target {
            assert!(
                std::time::Instant::now() < deadline,
                "the fake operator made no pass in 60 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FakeOperator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One pass: each operator pod that newly runs reads the IDs once, as the operator's start does.
fn reconcile(kubeconfig: &Path, seen: &mut BTreeSet<String>, creates_agent: bool) {
    let Some(pods) = kubectl_out(
        kubeconfig,
        &[
            "get",
            "pods",
            "-n",
            "nvca-operator",
            "-l",
            "app.kubernetes.io/name=nvca-operator",
            "-o",
            "json",
        ],
    ) else {
        return;
    };
    let pods: Value = serde_json::from_str(&pods).unwrap_or_default();
    let fresh: Vec<String> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null()
        })
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
        .filter(|n| !seen.contains(n))
        .collect();
    for pod in fresh {
        seen.insert(pod);
        let ids: Value = kubectl_out(
            kubeconfig,
            &[
                "get",
                "configmap",
                "nvca-cluster-registration",
                "-n",
                "nvca-operator",
                "-o",
                "jsonpath={.data}",
            ],
        )
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
        let id = ids["clusterId"].as_str().unwrap_or_default();
        let group = ids["clusterGroupId"].as_str().unwrap_or_default();
        if id.is_empty() || !creates_agent {
            continue;
        }
        apply(kubeconfig, &backend_and_agent(id, group));
        // The real CRD has a status subresource: the operator reports through it.
        let status = json!({"status": backend_status()}).to_string();
        let _ = kubectl_out(
            kubeconfig,
            &[
                "patch",
                "nvcfbackend",
                CLUSTER,
                "-n",
                "nvca-operator",
                "--subresource=status",
                "--type=merge",
                "-p",
                &status,
            ],
        );
    }
}

/// What the operator reports on its NVCFBackend.
fn backend_status() -> Value {
    json!({
        "agentStatus": "healthy",
        "kubernetesVersion": "v1.36.3",
        "lastUpdated": "2026-11-23T09:00:00Z",
        "gpuUsage": [
            {"name": "H100", "capacity": 8, "available": 6, "allocated": 2},
            {"name": "L40S", "capacity": 4, "available": 4, "allocated": 0},
        ],
    })
}

fn backend_and_agent(cluster_id: &str, group_id: &str) -> String {
    let backend = json!({
        "apiVersion": "nvcf.nvidia.io/v1",
        "kind": "NVCFBackend",
        "metadata": {"name": CLUSTER, "namespace": "nvca-operator"},
        "spec": {
            "version": "3.2.7",
            "clusterConfig": {"clusterId": cluster_id, "clusterGroupId": group_id, "clusterName": CLUSTER},
        },
    });
    let container =
        |name: &str| json!({"name": name, "image": format!("nvcr.io/acme/nvcf/{name}:3.2.7")});
    let agent = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nvca", "namespace": "nvca-system", "labels": {"app.kubernetes.io/name": "nvca"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "nvca"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "nvca"}},
                "spec": {"containers": [container("nvca"), container("nvca-admission-webhook"), container("vault-agent")]},
            },
        },
    });
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: nvca-system}}\n---\n{backend}\n---\n{agent}\n"
    )
}
