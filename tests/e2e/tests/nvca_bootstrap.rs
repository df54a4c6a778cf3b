//! `kubectl nvca values` + `bootstrap` against the real operator chart (installed by
//! real helm with the values we print) and nvcf-sim as SIS; a second run writes nothing.

mod nvca_support;

use nvca_support::{CLUSTER, Nvca};

#[test]
fn bootstrap_registers_restarts_the_operator_and_is_idempotent() {
    let Some(chart) =
        nvca_support::operator_chart("bootstrap_registers_restarts_the_operator_and_is_idempotent")
    else {
        return;
    };
    let mut t = Nvca::start("nvca-bootstrap");
    t.install_operator(&chart);
    t.start_operator(true);
    // The operator started before any IDs existed: after two full passes it created nothing.
    t.operator.as_ref().expect("operator started").settle(2);
    assert!(
        t.kubectl(&[
            "get",
            "deploy",
            "-A",
            "-l",
            "app.kubernetes.io/name=nvca",
            "-o",
            "name"
        ])
        .trim()
        .is_empty()
    );

    let report = t.json(&["bootstrap", "--timeout", "90s"]);
    assert_eq!(report["changed"], true, "{report:#}");
    assert_eq!(report["clusterName"], CLUSTER);
    let id = report["clusterId"].as_str().unwrap().to_owned();
    let group = report["clusterGroupId"].as_str().unwrap().to_owned();
    let step = |name: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no step {name}: {report:#}"))
            .clone()
    };
    assert!(
        step("sis-registration")["detail"]
            .as_str()
            .unwrap()
            .starts_with("registered"),
        "{report:#}"
    );
    assert_eq!(step("operator-restart")["state"], "changed");
    assert!(
        step("nvca-agent")["detail"]
            .as_str()
            .unwrap()
            .contains("(3/3 ready)"),
        "{report:#}"
    );
    let ids = t.registration_ids();
    assert_eq!(ids["clusterId"], id.as_str());
    assert_eq!(ids["clusterGroupId"], group.as_str());
    // SIS holds the cluster under the name and capabilities the chart's ConfigMap gave.
    let listed = t.json(&["list"]);
    let sis = listed["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["clusterId"] == id.as_str())
        .expect("SIS lists the cluster")
        .clone();
    assert_eq!(sis["clusterName"], CLUSTER);
    assert_eq!(
        sis["capabilities"],
        // The stack config's gates, then upstream's defaults (02-nvca.yaml.gotmpl).
        serde_json::json!([
            "DynamicGPUDiscovery",
            "SelfHosted",
            "KAIScheduler",
            "InfraResourceOverhead",
            "EnforceHelmFunctionResourceLimits",
            "EnforceContainerFunctionResourceLimits",
            "EnforceHelmTaskResourceLimits",
            "EnforceContainerTaskResourceLimits"
        ])
    );
    assert_eq!(sis["nvcaVersion"], "3.2.7");

    // status: the NVCFBackend's view, both pods with containers, and SIS's view.
    let status = t.json(&["status"]);
    assert_eq!(status["clusterId"], id.as_str(), "{status:#}");
    assert_eq!(status["clusterGroupId"], group.as_str());
    assert_eq!(status["clusterName"], CLUSTER);
    assert_eq!(status["nvcaVersion"], "3.2.7");
    assert_eq!(status["agentStatus"], "healthy");
    assert_eq!(status["gpu"][0]["capacity"], 8);
    assert_eq!(
        status["operatorPods"][0]["containers"][0]["name"],
        "nvca-operator"
    );
    let agent_containers: Vec<&str> = status["agentPods"][0]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        agent_containers,
        ["nvca", "nvca-admission-webhook", "vault-agent"]
    );
    assert_eq!(status["controlPlane"]["available"], true, "{status:#}");
    assert_eq!(status["controlPlane"]["clusterName"], CLUSTER);
    assert_eq!(status["controlPlane"]["nvcaVersion"], "3.2.7");
    // SIS failing only turns its section into a note.
    let mut rule = nvca_support::fault("sis");
    rule.status = Some(503);
    t.sim.fault(rule);
    let degraded = t.json(&["status"]);
    assert_eq!(degraded["controlPlane"]["available"], false, "{degraded:#}");
    assert_eq!(degraded["agentStatus"], "healthy");
    t.sim.sim.clear_faults();
    let table = t.nvca(&["status", "-o", "wide"]);
    table.expect_success();
    assert!(
        table.stdout.contains("nvca-system/") && table.stdout.contains("vault-agent=running"),
        "{table:#?}"
    );

    // Second run: finds the registration, and neither SIS nor the cluster sees a write.
    let posts_before = t.sim.requests("sis", "POST", "/v1/accounts").len();
    let mark = t.cluster.audit().mark().unwrap();
    let run = t.nvca(&["--json", "bootstrap", "--timeout", "90s", "-o", "json"]);
    run.expect_success();
    let again: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(again["changed"], false, "{again:#}");
    // Each step is a phase on the event stream (stderr under --json), then a final event.
    assert_eq!(
        run.completed_phases(),
        [
            "cluster-config",
            "sis-registration",
            "registration-configmap",
            "operator-restart",
            "nvca-agent"
        ],
        "{}",
        run.stderr
    );
    assert!(
        run.events()
            .iter()
            .any(|e| e["event"] == "final" && e["success"] == true),
        "{}",
        run.stderr
    );
    let writes: Vec<_> = t
        .cluster
        .audit()
        .requests_matching(mark, &[], "kubectl-nvca")
        .unwrap()
        .into_iter()
        .filter(|e| e.is_mutating())
        .collect();
    assert!(writes.is_empty(), "second bootstrap wrote: {writes:#?}");
    assert_eq!(
        t.sim.requests("sis", "POST", "/v1/accounts").len(),
        posts_before
    );
    assert!(
        t.sim.requests("sis", "PUT", "/v1/").is_empty(),
        "no JWKS upload either"
    );

    // The table view names each step.
    let table = t.nvca(&["bootstrap"]);
    table.expect_success();
    assert!(
        table.stdout.contains("already holds these IDs") && table.stdout.contains("not needed"),
        "{table:#?}"
    );
    // drain / uncordon: maintenance mode in the agent's config, the agent restarted.
    t.apply(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: agent-config, namespace: nvca-system}\ndata:\n  config.yaml: |\n    featureFlags: [DynamicGPUDiscovery]\n",
    );
    let config = || {
        t.kubectl(&[
            "get",
            "configmap",
            "agent-config",
            "-n",
            "nvca-system",
            "-o",
            "jsonpath={.data.config\\.yaml}",
        ])
    };
    // A script aimed at another cluster stops before it asks or writes anything.
    let mark = t.cluster.audit().mark().unwrap();
    let elsewhere = t.nvca(&[
        "drain",
        "--yes",
        "--expect-cluster-id",
        "some-other-cluster",
    ]);
    assert_eq!(elsewhere.code, Some(6), "{elsewhere:#?}");
    assert!(
        elsewhere.stderr.contains("does not match") && elsewhere.stderr.contains(&id),
        "{elsewhere:#?}"
    );
    t.cluster.audit().assert_read_only(mark, "kubectl-nvca");
    let guarded = t.json(&["drain", "--dry-run", "--expect-cluster-id", &id]);
    assert_eq!(guarded["clusterId"], id.as_str(), "{guarded:#}");
    assert_eq!(guarded["clusterName"], CLUSTER);
    let refused = t.nvca(&["drain"]);
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    assert!(refused.stderr.contains("--yes"), "{refused:#?}");
    let plan = t.json(&["drain", "--dry-run"]);
    assert_eq!(plan["configChanged"], true);
    assert!(
        !config().contains("maintenanceMode"),
        "dry run changed nothing"
    );
    let drained = t.json(&["drain", "--yes", "--timeout", "60s"]);
    assert_eq!(drained["rolloutTriggered"], true, "{drained:#}");
    assert_eq!(drained["rolloutComplete"], true, "{drained:#}");
    assert!(
        config().contains("maintenanceMode: CordonAndDrain")
            && config().contains("CordonAndDrainMaintenance"),
        "{}",
        config()
    );
    // Upstream's spelling of the same command.
    let again = t.json(&["cordon-and-drain", "--yes"]);
    assert_eq!(again["configChanged"], false);
    let back = t.json(&["uncordon", "--yes", "--timeout", "60s"]);
    assert_eq!(back["configChanged"], true, "{back:#}");
    assert_eq!(back["rolloutComplete"], true, "{back:#}");
    let back_again = t.json(&["undrain", "--yes", "--timeout", "60s"]);
    assert_eq!(back_again["configChanged"], false, "{back_again:#}");
    let now = config();
    assert!(
        !now.contains("maintenanceMode")
            && !now.contains("CordonAndDrainMaintenance")
            && now.contains("DynamicGPUDiscovery"),
        "{now}"
    );
}

#[test]
fn bootstrap_without_the_operator_chart_names_the_missing_configmap() {
    let t = Nvca::start("nvca-bootstrap-missing");
    let run = t.nvca(&["bootstrap"]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("nvcfbackend-self-managed")
            && run.stderr.contains("kubectl nvca values"),
        "{run:#?}"
    );
}
