//! What the `helm nvcf upgrade --to` end-to-end tests share: OpenBao, Cassandra and API
//! Keys installed at stack 0.7.0 from the real charts (copied, only Chart.yaml's version
//! changed), the 0.8.0 charts beside them, and what reads the rotation's progress.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support"
)]

use crate::helm_nvcf_support::data;
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub const NS: &str = "vault-system";
pub const PODS: [&str; 3] = ["openbao-server-0", "openbao-server-1", "openbao-server-2"];

/// Statically provisioned volumes for OpenBao's and Cassandra's claims: the testenv has no
/// provisioner.
pub fn persistent_volumes(env: &Env, home: &Home) {
    let text: String = (0..4)
        .map(|i| {
            format!(
                "---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: upgrade-to-pv-{i}\n\
                 spec:\n  capacity: {{storage: 10Gi}}\n  accessModes: [ReadWriteOnce]\n  \
                 persistentVolumeReclaimPolicy: Retain\n  hostPath: {{path: /tmp/upgrade-to-pv-{i}}}\n"
            )
        })
        .collect();
    let file = home.path().join("pvs.yaml");
    std::fs::write(&file, text).unwrap();
    env.kubectl_run(&["apply", "-f", file.to_str().unwrap()])
        .unwrap();
}

/// What the chart's Kubernetes service registration and the auto-unseal sidecar do for a
/// real pod: every OpenBao pod gets `openbao-sealed=false` soon after it starts, while
/// `on` is set.
pub fn auto_unseal(env: &'static Env, on: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        loop {
            if on.load(Ordering::Relaxed) {
                let _ = env.kubectl_run(&[
                    "label",
                    "pod",
                    "-n",
                    NS,
                    "-l",
                    "component=server",
                    "openbao-sealed=false",
                    "--overwrite",
                ]);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
}

pub fn jsonpath(env: &Env, args: &[&str], path: &str) -> String {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    let query = format!("jsonpath={path}");
    all.extend_from_slice(&["-o", &query]);
    env.kubectl_run(&all).unwrap_or_default().trim().to_owned()
}

pub fn update_revision(env: &Env) -> String {
    jsonpath(
        env,
        &["statefulset", "openbao-server", "-n", NS],
        "{.status.updateRevision}",
    )
}

pub fn pod_revision(env: &Env, pod: &str) -> String {
    jsonpath(
        env,
        &["pod", pod, "-n", NS],
        "{.metadata.labels.controller-revision-hash}",
    )
}

pub fn revisions(env: &Env, release: &str, ns: &str) -> usize {
    let out = env
        .kubectl_run(&[
            "get",
            "secret",
            "-n",
            ns,
            "-l",
            &format!("owner=helm,name={release}"),
            "-o",
            "name",
        ])
        .unwrap();
    out.lines().filter(|l| !l.trim().is_empty()).count()
}

pub fn install(home: &Home, env: &Env, nvcf: &dyn Fn() -> Command, source: &str) {
    let bundle = home.path().join("bundle");
    Run::of(
        nvcf()
            .args(["bundle", "-o"])
            .arg(&bundle)
            .args(["--chart-source", source]),
    )
    .expect_success();
    for release in ["-openbao-server", "-cassandra", "-api-keys"] {
        let script = std::fs::read_dir(&bundle)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(release))
            .unwrap()
            .join("install.sh");
        Run::of(
            Command::new(script)
                .env("HELM_BIN", tools::helm3())
                .env("KUBECONFIG", env.kubeconfig())
                .args(["--timeout", "180s"]),
        )
        .expect_success();
    }
}

pub fn report(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

pub fn step_moves(plan: &Value) -> Vec<String> {
    plan["path"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["releases"].as_array().unwrap().iter())
        .map(|m| format!("{} {}->{}", m["release"], m["from"], m["to"]).replace('"', ""))
        .collect()
}

/// Every OpenBao pod on `revision`, replaced one at a time, highest ordinal first.
pub fn all_on(env: &Env, revision: &str) {
    for pod in PODS {
        assert_eq!(pod_revision(env, pod), revision, "{pod}");
    }
    let created: Vec<String> = [2, 1, 0]
        .iter()
        .map(|i| {
            jsonpath(
                env,
                &["pod", &format!("openbao-server-{i}"), "-n", NS],
                "{.metadata.creationTimestamp}",
            )
        })
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
}

/// The stack at 0.7.0, its pods Ready, OpenBao's auto-unseal stand-in started (off).
pub struct Stack {
    pub env: &'static Env,
    pub home: Home,
    /// `--chart-source` of the 0.8.0 charts.
    pub source: String,
    /// Whether the auto-unseal stand-in labels OpenBao's pods unsealed.
    pub unsealing: Arc<AtomicBool>,
}

impl Stack {
    pub fn install(env: &'static Env, charts: &Path) -> Stack {
        let home = Home::new();
        persistent_volumes(env, &home);
        // Stack 0.7.0 (catalog: openbao-server 0.30.24, api-keys 1.5.0), then the pins (0.8.0).
        let old: PathBuf = home.path().join("charts-0.7.0");
        nvcf_e2e::upstream::at_versions(
            charts,
            &old,
            &[
                ("helm-nvcf-openbao-server", "0.30.24"),
                ("helm-nvcf-api-keys", "1.5.0"),
            ],
        );
        let new: PathBuf = home.path().join("charts-0.8.0");
        nvcf_e2e::upstream::at_versions(charts, &new, &[]);
        let unsealing = Arc::new(AtomicBool::new(false));
        let stack = Stack {
            env,
            home,
            source: format!("dir:{}", new.display()),
            unsealing,
        };
        install(
            &stack.home,
            env,
            &|| stack.nvcf(),
            &format!("dir:{}", old.display()),
        );
        auto_unseal(env, stack.unsealing.clone());
        for pod in PODS {
            env.kubectl_run(&[
                "wait",
                "--for=condition=Ready",
                "pod",
                pod,
                "-n",
                NS,
                "--timeout=120s",
            ])
            .unwrap();
        }
        stack
    }

    /// `helm-nvcf` on the test cluster, with helm 3.
    pub fn nvcf(&self) -> Command {
        let home = &self.home;
        let mut cmd = home.command(bin("helm-nvcf"));
        cmd.current_dir(home.path())
            .env("HELM_BIN", tools::helm3())
            .env("KUBECONFIG", self.env.kubeconfig())
            .env("HELM_DATA_HOME", home.path().join("helm/data"))
            .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
            .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
            .env("NVCF_STACK_CONFIG", data("local.yaml"))
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests");
        cmd
    }

    /// `upgrade --to 0.8.0` from the 0.8.0 charts, `-o json`, then `extra`. The stand-ins
    /// differ only in their version; a real release also ships a new image. That new image,
    /// set as an operator's overlay would (server and injector agent alike, as the chart's
    /// version-skew guard demands), changes OpenBao's pod template.
    pub fn to(&self, extra: &[&str]) -> Command {
        let mut cmd = self.nvcf();
        cmd.args(["upgrade", "--to", "0.8.0", "--chart-source", &self.source])
            .args([
                "--set",
                "openbao-server:openbao.server.image.tag=2.5.5-nv-1.3.2",
                "--set",
                "openbao-server:openbao.injector.agentImage.tag=2.5.5-nv-1.3.2",
                "--ready-timeout",
                "120s",
                "--unseal-timeout",
                "30s",
                "-o",
                "json",
            ])
            .args(extra);
        cmd
    }
}
