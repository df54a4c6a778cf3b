//! Every prerequisite fixture installs, so a preflight can be tested both ways.

use anyhow::Result;
use nvcf_testenv::Env;

fn has(env: &Env, args: &[&str]) -> bool {
    env.kubectl_run(args).is_ok()
}

fn cluster_policy_state(env: &Env) -> Result<String> {
    env.kubectl_run(&[
        "get",
        "clusterpolicy",
        "cluster-policy",
        "-o",
        "jsonpath={.status.state}",
    ])
}

#[test]
fn fixtures_install_with_ready_status() -> Result<()> {
    let env = Env::shared();
    for f in ["storage", "gateway-api", "gpu-operator", "kai-scheduler"] {
        env.install_fixture(f)?;
    }
    let default_class = env.kubectl_run(&[
        "get",
        "storageclass",
        "standard",
        "-o",
        r#"jsonpath={.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}"#,
    ])?;
    assert_eq!(default_class, "true");
    assert!(has(env, &["get", "csidriver", "smb.csi.k8s.io"]));
    for kind in ["gatewayclasses", "gateways", "httproutes", "grpcroutes"] {
        let versions = env.kubectl_run(&[
            "get",
            "crd",
            &format!("{kind}.gateway.networking.k8s.io"),
            "-o",
            "jsonpath={.spec.versions[*].name}",
        ])?;
        assert!(versions.split(' ').any(|v| v == "v1"), "{kind}: {versions}");
    }
    let programmed = env.kubectl_run(&[
        "get",
        "gateway",
        "nvcf-gateway",
        "-n",
        "nvcf-gateway",
        "-o",
        r#"jsonpath={.status.conditions[?(@.type=="Programmed")].status}"#,
    ])?;
    assert_eq!(programmed, "True");
    let state = cluster_policy_state(env)?;
    assert_eq!(state, "ready");
    let queues = env.kubectl_run(&["get", "queues.scheduling.run.ai", "-o", "name"])?;
    assert!(
        queues.contains("queue.scheduling.run.ai/default-queue"),
        "{queues}"
    );
    // The KAI namespaced kinds are served too.
    env.kubectl_run(&[
        "get",
        "podgroups.scheduling.run.ai,bindrequests.scheduling.run.ai",
        "-A",
    ])?;
    Ok(())
}

#[test]
fn prerequisites_are_absent_or_not_ready_until_installed() -> Result<()> {
    // Its own environment: the shared one of this binary gets the fixtures installed.
    let env = Env::start_named("bare")?;
    assert!(!has(
        &env,
        &["get", "crd", "gateways.gateway.networking.k8s.io"]
    ));
    assert!(!has(&env, &["get", "crd", "clusterpolicies.nvidia.com"]));
    assert!(!has(&env, &["get", "csidriver", "smb.csi.k8s.io"]));
    assert_eq!(
        env.kubectl_run(&["get", "storageclass", "-o", "name"])?
            .trim(),
        ""
    );

    env.install_fixture_without_status("gpu-operator")?;
    let state = cluster_policy_state(&env)?;
    assert_eq!(state, "");
    Ok(())
}
