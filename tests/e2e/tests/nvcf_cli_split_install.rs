//! A split install through `nvcf-cli` with upstream's command lines, as two teams run it:
//! the control-plane team exports its profile; the GPU cluster's team validates it,
//! registers its cluster with it (`compute-plane register --output`), and installs the
//! NVCA operator from the values file (`compute-plane install --values`) with no access
//! to the control plane's cluster and no NVCF credentials.

mod helm_nvcf_support;
mod nvcf_support;
mod up_support;

use helm_nvcf_support::{charts, data};
use nvcf_e2e::{Run, bin};
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, tools};
use serde_json::Value;
use std::path::Path;
use up_support::{cluster_dto, helm_releases, nvcf, prepare};

#[test]
fn a_split_install_hands_over_through_upstreams_files() {
    let Some(charts) = charts("a_split_install_hands_over_through_upstreams_files") else {
        return;
    };
    let control = Env::shared();
    let gpu = Env::start_named("split-handoff-gpu").unwrap();
    prepare(&gpu);
    let sim = SimEnv::start();
    let home = sim.home.path().to_path_buf();
    // The stack config names the charts, so upstream's lines need no flag of ours.
    let stack = home.join("stack.yaml");
    let local = std::fs::read_to_string(data("local.yaml")).unwrap();
    std::fs::write(&stack, format!("{local}\nchartSource: {charts}\n")).unwrap();
    let helm = tools::helm4();
    let cli = |kubeconfig: &Path, args: &[&str]| -> Run {
        let base = nvcf(&sim, kubeconfig.to_str().unwrap(), &helm);
        let mut cmd = sim.home.command(bin("nvcf-cli"));
        for (k, v) in base.get_envs() {
            if let Some(v) = v
                && k != "NVCF_PROFILE"
            {
                cmd.env(k, v);
            }
        }
        cmd.env("NVCF_STACK_CONFIG", &stack).current_dir(&home);
        Run::of(cmd.args(args))
    };

    // The control-plane team: a session, then the profile (its root CA from a file here,
    // as the testenv runs no OpenBao to read it from).
    cli(control.kubeconfig(), &["init"]).expect_success();
    let ca = control.ca_cert();
    let export = cli(
        control.kubeconfig(),
        &[
            "self-hosted",
            "control-plane",
            "profile",
            "export",
            "--cluster-name",
            "nvcf-cp",
            "--nca-id",
            "nvcf-default",
            "--region",
            "us-east-1",
            "--ca-file",
            ca.to_str().unwrap(),
        ],
    );
    export.expect_success();
    assert!(
        export.stderr.contains("Wrote control-plane profile:"),
        "{export:#?}"
    );
    let profile_path = home.join("out/control-plane-profile.yaml");
    let profile_text = std::fs::read_to_string(&profile_path).unwrap();
    assert!(
        profile_text.contains("kind: ControlPlaneProfile"),
        "{profile_text}"
    );
    assert!(
        profile_text.contains("clusterName: nvcf-cp"),
        "{profile_text}"
    );
    assert!(
        profile_text.contains("trustBundleFingerprint: sha256:"),
        "{profile_text}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&profile_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the profile is the owner's only");

    // The GPU team: only the profile, the GPU cluster's kubeconfig and the admin session
    // that registering needs.
    let profile = profile_path.to_str().unwrap();
    let valid = cli(
        gpu.kubeconfig(),
        &[
            "self-hosted",
            "control-plane",
            "profile",
            "validate",
            "--file",
            profile,
            "--require",
            "both",
        ],
    );
    valid.expect_success();
    for line in [
        "control-plane profile is valid",
        "in-cluster: usable",
        "compute-reachable: usable",
    ] {
        assert!(valid.stdout.contains(line), "{line}: {valid:#?}");
    }
    let mut broken: Value =
        serde_json::to_value(serde_saphyr::from_str::<Value>(&profile_text).unwrap()).unwrap();
    broken["controlPlane"]["endpoints"]["computeReachable"]["natsURL"] =
        Value::String(String::new());
    let broken_path = home.join("broken-profile.yaml");
    std::fs::write(&broken_path, serde_json::to_string(&broken).unwrap()).unwrap();
    let refused = cli(
        gpu.kubeconfig(),
        &[
            "self-hosted",
            "control-plane",
            "profile",
            "validate",
            "--file",
            broken_path.to_str().unwrap(),
            "--require",
            "compute-reachable",
        ],
    );
    assert_eq!(refused.code, Some(1), "upstream's exit code: {refused:#?}");
    assert!(
        refused
            .stderr
            .contains("controlPlane.endpoints.computeReachable.natsURL"),
        "{refused:#?}"
    );

    let register = [
        "self-hosted",
        "compute-plane",
        "register",
        "--control-plane-profile",
        profile,
        "--cluster-name",
        "gpu-handoff",
        "--region",
        "us-east-1",
    ];
    let sis_writes = || {
        sim.sim
            .requests()
            .iter()
            .filter(|r| r["service"] == "sis" && r["method"] != "GET")
            .count()
    };
    let dry = cli(gpu.kubeconfig(), &[&register[..], &["--dry-run"]].concat());
    dry.expect_success();
    for line in [
        "dryRun: true",
        "endpointScope: compute-reachable",
        "identitySource: psat",
        "sisMutation: skipped",
    ] {
        assert!(dry.stdout.contains(line), "{line}: {dry:#?}");
    }
    assert_eq!(sis_writes(), 0, "a dry run changes nothing in SIS");
    let values_path = home.join("handoff/gpu-handoff-register-values.yaml");
    let values_arg = values_path.to_str().unwrap();
    let registered = cli(
        gpu.kubeconfig(),
        &[&register[..], &["--output", values_arg]].concat(),
    );
    registered.expect_success();
    for line in [
        "dryRun: false",
        "sisMutation: completed",
        "valuesWrite: completed",
        "computePlaneInstallCommand: nvcf-cli self-hosted compute-plane install",
    ] {
        assert!(registered.stdout.contains(line), "{line}: {registered:#?}");
    }
    let values: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&values_path).unwrap()).unwrap();
    let cluster_id = values["clusterID"].as_str().unwrap().to_owned();
    assert_eq!(values["clusterName"], "gpu-handoff");
    assert_eq!(values["ncaID"], "nvcf-default");
    assert_eq!(values["selfManaged"]["identitySource"], "psat");
    assert!(
        values["agentConfig"]["mergeConfig"]
            .as_str()
            .unwrap()
            .contains("trustMode: bundle"),
        "{values}"
    );
    let held = sim.sim.state().lock().clusters.jwks(&cluster_id);
    assert!(held.is_some(), "SIS holds gpu-handoff's keys");

    // Installing needs neither the control plane's cluster nor NVCF credentials.
    let state = home.join(".nvcf-cli.state");
    std::fs::remove_file(&state).unwrap();
    let requests_before = sim.sim.requests().len();
    let audit = control.audit();
    let mark = audit.mark().unwrap();
    let install = cli(
        gpu.kubeconfig(),
        &[
            "self-hosted",
            "compute-plane",
            "install",
            "--values",
            values_arg,
        ],
    );
    install.expect_success();
    assert_eq!(helm_releases(&gpu)["nvca-operator"], "deployed");
    assert_eq!(
        sim.sim.requests().len(),
        requests_before,
        "no NVCF API call"
    );
    for agent in ["nvcf-cli/", "kubectl-nvcf/"] {
        let touched = audit.requests_matching(mark, &[], agent).unwrap();
        assert!(
            touched.is_empty(),
            "install reached the control plane's cluster: {touched:#?}"
        );
    }
    let dto = cluster_dto(&gpu);
    assert!(
        dto.contains(&cluster_id),
        "the operator runs as the registered cluster: {dto}"
    );
    assert!(dto.contains("gpu-handoff"), "{dto}");
    let rendered = Run::of(
        sim.home
            .command(tools::helm4())
            .env("KUBECONFIG", gpu.kubeconfig())
            .args([
                "get",
                "values",
                "nvca-operator",
                "-n",
                "nvca-operator",
                "-o",
                "json",
            ]),
    );
    rendered.expect_success();
    let applied: Value = serde_json::from_str(&rendered.stdout).unwrap();
    let sm = &applied["selfManaged"];
    let reachable = serde_saphyr::from_str::<Value>(&profile_text).unwrap()["controlPlane"]["endpoints"]["computeReachable"].clone();
    assert_eq!(sm["icmsServiceURL"], reachable["icmsURL"], "{applied:#}");
    assert_eq!(sm["natsURL"], reachable["natsURL"], "{applied:#}");
    assert!(
        sm["icmsServiceHostHeaderOverride"]
            .as_str()
            .is_some_and(|h| h.starts_with("sis.")),
        "{applied:#}"
    );
    let merge = applied["agentConfig"]["mergeConfig"]
        .as_str()
        .unwrap_or_default();
    assert!(
        merge.contains("trustBundleFingerprint: sha256:"),
        "the registration's trust reaches NVCA: {merge}"
    );
    assert_eq!(applied["clusterID"], cluster_id.as_str());
}
