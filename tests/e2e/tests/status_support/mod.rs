//! What the status/down/dump end-to-end tests share: real charts installed with real helm
//! under their catalog names and namespaces, with the stack's values, and objects a running operator would make.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support"
)]

use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The stack's charts (real where upstream publishes them), or `None` after saying loudly
/// why `test` skips.
pub fn charts(test: &str) -> Option<PathBuf> {
    nvcf_e2e::upstream::stack(test)
}

/// `helm upgrade --install RELEASE CHART -n NS --create-namespace --wait`, with the values
/// the stack gives that release.
pub fn helm_install(
    env: &Env,
    home: &Home,
    helm: &Path,
    charts: &Path,
    release: &str,
    chart_dir: &str,
    ns: &str,
) {
    let values = nvcf_e2e::upstream::release_values(home.path(), release);
    Run::of(
        tools::helm_command(helm, env.kubeconfig(), home.path())
            .args([
                "upgrade",
                "--install",
                release,
                charts.join(chart_dir).to_str().unwrap(),
                "-n",
                ns,
                "--create-namespace",
                "--wait",
                "--timeout",
                "120s",
                "-f",
            ])
            .arg(values),
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
             spec: {{clusterName: {cluster}}}\n"
        ),
    );
    // The real CRD has a status subresource: the operator reports through it.
    env.kubectl_run(&[
        "patch",
        "nvcfbackend",
        cluster,
        "-n",
        "nvca-operator",
        "--subresource=status",
        "--type=merge",
        "-p",
        &format!(r#"{{"status": {{"agentStatus": "{health}", "version": "3.2.7"}}}}"#),
    ])
    .unwrap();
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

/// The names of the helm releases recorded anywhere in the cluster, space-separated.
pub fn release_names(env: &Env) -> String {
    env.kubectl_run(&[
        "get",
        "secrets",
        "-A",
        "-l",
        "owner=helm",
        "-o",
        "jsonpath={.items[*].metadata.labels.name}",
    ])
    .unwrap()
}
