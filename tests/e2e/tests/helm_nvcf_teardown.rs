//! A bundle's `deploy.sh` installs the real stack with real helm; `helm nvcf teardown`
//! then removes it (compute plane first) and leaves exactly the declared persistent state,
//! until `--remove-persistent` removes that too.

mod helm_nvcf_support;

use helm_nvcf_support::{charts, completed_phases, data, events, install_gateway_prerequisites};
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Enough statically provisioned volumes for every claim the stack makes: the testenv
/// has no storage provisioner, and helm --wait needs the StatefulSets Ready.
fn persistent_volumes() -> String {
    (0..8)
        .map(|i| {
            format!(
                "---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: teardown-pv-{i}\n\
                 spec:\n  capacity: {{storage: 10Gi}}\n  accessModes: [ReadWriteOnce]\n  \
                 persistentVolumeReclaimPolicy: Retain\n  hostPath: {{path: /tmp/teardown-pv-{i}}}\n"
            )
        })
        .collect()
}

fn names(env: &Env, what: &str, ns: &str) -> BTreeSet<String> {
    env.kubectl_run(&["get", what, "-n", ns, "-o", "name"])
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn teardown_leaves_only_the_declared_persistent_state_then_removes_it_on_request() {
    let Some(charts) =
        charts("teardown_leaves_only_the_declared_persistent_state_then_removes_it_on_request")
    else {
        return;
    };
    let env = Env::shared();
    install_gateway_prerequisites(env);
    let home = Home::new();
    let pvs = home.path().join("pvs.yaml");
    std::fs::write(&pvs, persistent_volumes()).unwrap();
    env.kubectl_run(&["apply", "-f", pvs.to_str().unwrap()])
        .unwrap();

    let cfg = data("local.yaml");
    let nvcf = |helm: &Path| {
        let mut cmd = home.command(bin("helm-nvcf"));
        cmd.env("HELM_BIN", helm)
            .env("KUBECONFIG", env.kubeconfig())
            .env("HELM_DATA_HOME", home.path().join("helm/data"))
            .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
            .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
            .env("NVCF_STACK_CONFIG", &cfg);
        cmd
    };
    let bundle_dir = home.path().join("bundle");
    Run::of(
        nvcf(&tools::helm3())
            .args(["bundle", "--chart-source", &charts, "-o"])
            .arg(&bundle_dir),
    )
    .expect_success();

    // Install with helm 3 through the bundle's own deploy.sh.
    let kubectl_dir = tools::kubectl().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        kubectl_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let deploy = Run::of(
        Command::new(bundle_dir.join("deploy.sh"))
            .args(["--retries", "1"])
            .env("PATH", path)
            .env("HELM_BIN", tools::helm3())
            .env("KUBECTL", tools::kubectl())
            .env("KUBECONFIG", env.kubeconfig())
            .env("HELM_DATA_HOME", home.path().join("helm/data"))
            .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
            .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests"),
    );
    deploy.expect_success();
    assert!(
        names(env, "pvc", "vault-system").contains("persistentvolumeclaim/data-openbao-server-0")
    );

    // --no-apply prints delete YAML from the installed manifests, and touches nothing.
    let dry = Run::of(nvcf(&tools::helm4()).args(["teardown", "--no-apply"]));
    dry.expect_success();
    let origins: Vec<&str> = dry
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .collect();
    assert_eq!(
        origins.first(),
        Some(&"nvca-operator: delete"),
        "compute plane first"
    );
    let pos = |p: &str| origins.iter().position(|o| *o == p).unwrap();
    assert!(pos("api: delete") < pos("ess-api: delete"));
    assert!(pos("openbao-server: delete") < pos("nats: delete"));
    assert!(
        dry.stdout
            .contains("kind: Namespace\nmetadata:\n  name: nvcf\n")
    );
    assert!(
        !dry.stdout.contains("name: vault-system\n"),
        "persistent namespaces kept"
    );
    assert!(
        !dry.stdout.contains("cert-manager: delete"),
        "topology kept"
    );
    assert!(
        names(env, "deployment", "nvcf").len() > 3,
        "--no-apply changed nothing"
    );

    // Destructive without --yes and without a terminal: refused.
    let refused = Run::of(nvcf(&tools::helm4()).arg("teardown"));
    assert_eq!(refused.code, Some(64), "{refused:#?}");

    // An install cut off (pending-install), and a fail-closed webhook no release owns that
    // calls the OpenBao injector's Service, as one an operator created at run time does.
    nvcf_e2e::helm_storage::set_status(env, "grpc-proxy", "pending-install");
    let injector = env
        .kubectl_run(&["get", "services", "-n", "vault-system", "-o", "name"])
        .unwrap()
        .lines()
        .find(|l| l.contains("injector"))
        .and_then(|l| l.strip_prefix("service/"))
        .expect("the injector's Service")
        .to_owned();
    let webhook = serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "e2e-left-behind-injector"},
        "webhooks": [{
            "name": "inject.e2e.nvcf",
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "namespaceSelector": {"matchLabels": {"e2e-webhook": "on"}},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
            "clientConfig": {"service": {"namespace": "vault-system", "name": injector, "path": "/mutate"}},
        }],
    });
    let file = home.path().join("webhook.json");
    std::fs::write(&file, webhook.to_string()).unwrap();
    env.kubectl_run(&["apply", "-f", file.to_str().unwrap()])
        .unwrap();

    let down = Run::of(nvcf(&tools::helm4()).args(["--json", "teardown", "--yes"]));
    down.expect_success();
    let said = format!("{}{}", down.stdout, down.stderr);
    assert!(
        said.contains("pending-install (revision 1): uninstalled with --no-hooks"),
        "{down:#?}"
    );
    assert!(
        said.contains("MutatingWebhookConfiguration/e2e-left-behind-injector"),
        "{down:#?}"
    );
    assert!(
        env.kubectl_run(&[
            "get",
            "mutatingwebhookconfiguration",
            "e2e-left-behind-injector",
            "--ignore-not-found",
            "-o",
            "name"
        ])
        .unwrap()
        .trim()
        .is_empty(),
        "the dangling webhook is deleted"
    );
    // Pods it matched can be created again.
    env.kubectl_run(&["create", "namespace", "e2e-webhook-probe"])
        .unwrap();
    env.kubectl_run(&["label", "namespace", "e2e-webhook-probe", "e2e-webhook=on"])
        .unwrap();
    env.kubectl_run(&[
        "run",
        "probe",
        "-n",
        "e2e-webhook-probe",
        "--image=registry.example.com/probe:1",
        "--restart=Never",
    ])
    .unwrap();
    env.kubectl_run(&["delete", "namespace", "e2e-webhook-probe", "--wait=false"])
        .unwrap();
    assert_eq!(
        completed_phases(&down.stderr),
        [
            "drain-nvcfbackends",
            "uninstall-releases",
            "delete-leftovers",
            "delete-namespaces"
        ]
    );
    let uninstalls: Vec<serde_json::Value> = events(&down.stderr)
        .into_iter()
        .filter(|e| e["event"] == "phase_progress" && e["phase"] == "uninstall-releases")
        .collect();
    assert_eq!(uninstalls[0]["resource"], "release/nvca-operator");
    assert_eq!(uninstalls[0]["done"], 1);
    let last = uninstalls.last().unwrap();
    assert_eq!(last["resource"], "release/nats");
    assert_eq!(last["done"], last["total"]);
    let releases = env
        .kubectl_run(&[
            "get",
            "secrets",
            "-A",
            "-l",
            "owner=helm",
            "-o",
            "jsonpath={.items[*].metadata.labels.name}",
        ])
        .unwrap();
    let left: BTreeSet<&str> = releases.split_whitespace().collect();
    assert_eq!(
        left,
        BTreeSet::from(["cert-manager"]),
        "only topology releases remain"
    );
    let namespaces = names(env, "namespaces", "default");
    for gone in ["nvcf", "api-keys", "sis", "ess", "nvca-operator"] {
        assert!(
            !namespaces.contains(&format!("namespace/{gone}")),
            "{gone} deleted"
        );
    }
    for kept in [
        "vault-system",
        "cassandra-system",
        "nats-system",
        "cert-manager",
        "nvcf-gateway",
    ] {
        assert!(
            namespaces.contains(&format!("namespace/{kept}")),
            "{kept} kept"
        );
    }
    for ns in ["vault-system", "cassandra-system", "nats-system"] {
        env.kubectl_run(&[
            "wait",
            "--for=delete",
            "pod",
            "--all",
            "-n",
            ns,
            "--timeout=60s",
        ])
        .unwrap();
    }
    let state = |ns: &str| -> BTreeSet<String> {
        names(
            env,
            "all,configmaps,secrets,serviceaccounts,roles,rolebindings,pvc",
            ns,
        )
        .into_iter()
        .filter(|n| n != "configmap/kube-root-ca.crt" && n != "serviceaccount/default")
        .collect()
    };
    let set =
        |items: &[&str]| -> BTreeSet<String> { items.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        state("vault-system"),
        set(&[
            "persistentvolumeclaim/data-openbao-server-0",
            "persistentvolumeclaim/data-openbao-server-1",
            "persistentvolumeclaim/data-openbao-server-2",
            "secret/openbao-server-unseal",
        ])
    );
    assert_eq!(
        state("cassandra-system"),
        set(&[
            "configmap/cassandra-init-cql",
            "persistentvolumeclaim/data-cassandra-0"
        ])
    );
    assert_eq!(
        state("nats-system"),
        set(&[
            "persistentvolumeclaim/nats-js-nats-0",
            "persistentvolumeclaim/nats-js-nats-1",
            "persistentvolumeclaim/nats-js-nats-2",
        ])
    );

    let purge =
        Run::of(nvcf(&tools::helm4()).args(["--json", "teardown", "--remove-persistent", "--yes"]));
    purge.expect_success();
    assert_eq!(
        completed_phases(&purge.stderr),
        [
            "drain-nvcfbackends",
            "uninstall-releases",
            "delete-leftovers",
            "delete-persistent",
            "delete-namespaces"
        ]
    );
    assert!(purge.stderr.contains("DESTROY"), "{purge:#?}");
    assert!(
        purge
            .stderr
            .contains("PersistentVolumeClaim/data-openbao-server-2 -n vault-system")
    );
    assert!(
        purge
            .stderr
            .contains("Secret/openbao-server-unseal -n vault-system")
    );
    let namespaces = names(env, "namespaces", "default");
    for gone in ["vault-system", "cassandra-system", "nats-system"] {
        assert!(
            !namespaces.contains(&format!("namespace/{gone}")),
            "{gone} deleted"
        );
    }
    assert!(namespaces.contains("namespace/cert-manager"));
}
