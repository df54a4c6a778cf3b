//! What the status/down/dump end-to-end tests share: stand-in releases installed with real
//! helm under their catalog names and namespaces, and objects a running operator would make.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support"
)]

use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn chart(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/charts")
        .join(name)
}

/// `helm upgrade --install RELEASE CHART -n NS --create-namespace --wait`.
pub fn helm_install(env: &Env, home: &Home, helm: &Path, release: &str, chart_dir: &str, ns: &str) {
    Run::of(
        tools::helm_command(helm, env.kubeconfig(), home.path()).args([
            "upgrade",
            "--install",
            release,
            chart(chart_dir).to_str().unwrap(),
            "-n",
            ns,
            "--create-namespace",
            "--wait",
            "--timeout",
            "120s",
        ]),
    )
    .expect_success();
}

pub fn apply(env: &Env, yaml: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), yaml).unwrap();
    env.kubectl_run(&["apply", "-f", file.path().to_str().unwrap()])
        .unwrap();
}

/// The NVCFBackend the real operator creates, named after the cluster, with its health.
pub fn backend(env: &Env, cluster: &str, health: &str) {
    apply(
        env,
        &format!(
            "apiVersion: nvcf.nvidia.io/v1\nkind: NVCFBackend\nmetadata: {{name: {cluster}, namespace: nvca-operator}}\n\
             spec: {{clusterName: {cluster}}}\nstatus: {{agentStatus: {health}, version: 3.2.7}}\n"
        ),
    );
}

/// The ConfigMap the operator's bootstrap writes the registration ids into (seed 001).
pub fn registration_configmap(env: &Env, id: &str, group: &str) {
    apply(
        env,
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: nvca-cluster-registration, namespace: nvca-operator}}\n\
             data: {{clusterId: {id}, clusterGroupId: {group}}}\n"
        ),
    );
}

/// `kubectl nvcf` with an isolated home, pointed at `env`.
pub fn nvcf(home: &Home, env: &Env) -> Command {
    let mut cmd = home.command(bin("kubectl-nvcf"));
    cmd.env("KUBECONFIG", env.kubeconfig());
    cmd
}
