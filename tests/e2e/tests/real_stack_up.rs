//! `kubectl nvcf up` with the real upstream charts (`NVCF_UPSTREAM_CHARTS`) on the test
//! cluster: KWOK runs every pod and completes every Job, nvcf-sim answers as the NVCF API.
//! Stand-ins answer only for third-party charts. The stack installs from `dir:` and again
//! from a real OCI registry on loopback (the charts pushed with `helm push`), `status`
//! names the real workloads, `helm nvcf upgrade` and `rollback` move a release between two
//! chart versions, and `down` then `uninstall --control-plane` remove the stack.

mod helm_nvcf_support;
mod nvcf_support;
mod up_support;

use nvcf_e2e::registry::start_registry;
use nvcf_e2e::{Run, bin, upstream};
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, tools};
use up_support::{events, helm_releases, nvcf, prepare};

#[test]
fn up_installs_the_real_stack_and_status_names_its_workloads() {
    let Some(real) = upstream::charts("up_installs_the_real_stack") else {
        return;
    };
    let env = Env::shared();
    prepare(env);
    let sim = SimEnv::start();
    let charts = upstream::prepared_stack(&real, sim.home.path());
    let kubeconfig = env.kubeconfig().to_str().unwrap().to_owned();
    let helm = tools::helm3();
    let source = format!("dir:{}", charts.display());

    let up = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "up",
        "--cluster-name",
        "gpu-real",
        "--chart-source",
        &source,
        "--json",
    ]));
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let last = events(&up.stderr).pop().unwrap();
    assert_eq!(last["success"], true, "{last}");
    let deployed = helm_releases(env);
    for release in [
        "nats",
        "cert-manager",
        "openbao-server",
        "cassandra",
        "api-keys",
        "sis",
        "ess-api",
        "nvct-api",
        "notary-service",
        "admin-issuer-proxy",
        "reval",
        "nats-auth-callout-service",
        "api",
        "invocation-service",
        "grpc-proxy",
        "ratelimiter",
        "ingress",
        "nvca-operator",
    ] {
        assert_eq!(
            deployed.get(release).map(String::as_str),
            Some("deployed"),
            "{release}: {deployed:?}"
        );
    }
    // The real charts' hook Jobs ran to completion.
    for (ns, job) in [
        ("vault-system", "openbao-server-initialize-cluster"),
        ("cassandra-system", "cassandra-initialize-cluster"),
        ("nvcf", "nvcf-api-account-bootstrap"),
    ] {
        let done = env
            .kubectl_run(&[
                "get",
                "job",
                "-n",
                ns,
                job,
                "-o",
                "jsonpath={.status.succeeded}",
            ])
            .unwrap_or_default();
        assert_eq!(done.trim(), "1", "{ns}/{job} completed");
    }

    // The real chart's own image, not a stand-in's.
    let image = env
        .kubectl_run(&[
            "get",
            "deployment",
            "-n",
            "nvcf",
            "nvcf-api",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .unwrap();
    assert_eq!(
        image.trim(),
        "registry.example.com/acme/nvcf/nvcf-service-oss:1.12.6"
    );

    // The same charts from a real OCI registry: the re-run converges, helm now records
    // the published chart versions.
    let registry = start_registry();
    let oci = upstream::push_stack(
        sim.home.path(),
        &charts,
        &registry,
        &[("helm-nvcf-api-keys", "1.6.1")],
    );
    let again = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "up",
        "--cluster-name",
        "gpu-real",
        "--chart-source",
        &oci,
        "--json",
    ]));
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let charts_installed = env
        .kubectl_run(&[
            "get",
            "secret",
            "-n",
            "nvcf",
            "-l",
            "owner=helm,name=api",
            "-o",
            "name",
        ])
        .unwrap();
    assert!(!charts_installed.trim().is_empty());

    // A spot upgrade to the next chart version and back, from the registry.
    let helm_nvcf = |args: &[&str]| {
        Run::of(
            sim.home
                .command(bin("helm-nvcf"))
                .args(args)
                .env("HELM_BIN", &helm)
                .env("KUBECONFIG", &kubeconfig)
                .env("HELM_DATA_HOME", sim.home.path().join("helm/data"))
                .env("HELM_CONFIG_HOME", sim.home.path().join("helm/config"))
                .env("HELM_CACHE_HOME", sim.home.path().join("helm/cache"))
                .env("NVCF_STACK_CONFIG", helm_nvcf_support::data("local.yaml"))
                .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests"),
        )
    };
    let up1 = helm_nvcf(&[
        "upgrade",
        "api-keys",
        "--version",
        "1.6.1",
        "--chart-source",
        &oci,
        "-o",
        "json",
    ]);
    assert_eq!(up1.code, Some(0), "{up1:#?}");
    let report: serde_json::Value = serde_json::from_str(&up1.stdout).unwrap();
    assert_eq!(report["chart"], "helm-nvcf-api-keys-1.6.1", "{report}");
    let back = helm_nvcf(&["rollback", "api-keys", "-o", "json"]);
    assert_eq!(back.code, Some(0), "{back:#?}");
    let report: serde_json::Value = serde_json::from_str(&back.stdout).unwrap();
    assert_eq!(report["chart"], "helm-nvcf-api-keys-1.6.0", "{report}");

    let status = Run::of(nvcf(&sim, &kubeconfig, &helm).args(["status", "-o", "json"]));
    assert_eq!(status.code, Some(0), "{status:#?}");
    for workload in [
        "nvcf-api",
        "invocation-service",
        "spot-instance-service",
        "api-keys",
        "openbao-server",
        "cassandra",
        "nats",
        "nvca-operator",
    ] {
        assert!(
            status.stdout.contains(workload),
            "{workload}: {}",
            status.stdout
        );
    }

    // down removes the compute plane and its SIS row; uninstall then the control plane.
    let down = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "down",
        "--cluster-name",
        "gpu-real",
        "--confirm",
    ]));
    assert_eq!(down.code, Some(0), "{down:#?}");
    // The operator's cleanup hook ran on a node that runs nothing: its ClusterRole,
    // binding and sentinel kept their finalizers until down released them.
    assert!(
        down.stdout.contains("finalizer released"),
        "{}",
        down.stdout
    );
    let gone = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "uninstall",
        "--control-plane",
        "--yes",
        "--force-with-registered-clusters",
    ]));
    assert_eq!(gone.code, Some(0), "{gone:#?}");
    // cert-manager is the cluster's topology: teardown keeps it, as upstream's cleanup does.
    let left = helm_releases(env);
    assert_eq!(
        left.keys().collect::<Vec<_>>(),
        ["cert-manager"],
        "every other release is gone: {left:?}"
    );
}
