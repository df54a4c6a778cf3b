//! Split planes on separate API servers: `up` puts the control plane on one cluster and the
//! compute plane on another (registered with that cluster's own issuer), then
//! `add-compute-plane` attaches a third GPU cluster with only `--token` and no kube access
//! to the control plane's cluster.

mod helm_nvcf_support;
mod nvcf_support;
mod up_support;

use helm_nvcf_support::charts;
use nvcf_e2e::Run;
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, tools};
use up_support::{cluster_dto, events, helm_releases, nvcf, prepare, renamed_kubeconfig, up_args};

#[test]
fn split_up_then_add_compute_plane_with_only_a_token() {
    let Some(charts) = charts("split_up_then_add_compute_plane_with_only_a_token") else {
        return;
    };
    let control = Env::shared();
    let gpu = Env::start_named("up-split-gpu").unwrap();
    let gpu2 = Env::start_named("up-split-gpu2").unwrap();
    for env in [control, &gpu, &gpu2] {
        prepare(env);
    }
    let sim = SimEnv::start();
    let dir = sim.home.path().to_path_buf();
    let cp = renamed_kubeconfig(control, "cp", &dir);
    let g1 = renamed_kubeconfig(&gpu, "gpu", &dir);
    let g2 = renamed_kubeconfig(&gpu2, "gpu2", &dir);
    let both = format!("{}:{}", cp.display(), g1.display());
    let helm = tools::helm4();

    let mut args = up_args("gpu-1", &charts);
    args.extend([
        "--control-plane-context".into(),
        "cp".into(),
        "--compute-plane-context".into(),
        "gpu".into(),
        "--json".into(),
    ]);
    let up = Run::of(nvcf(&sim, &both, &helm).args(&args));
    up.expect_success();
    let evs = events(&up.stderr);
    let context_of = |phase: &str| {
        evs.iter()
            .find(|e| e["event"] == "phase_started" && e["phase"] == phase)
            .and_then(|e| e["context"].as_str().map(str::to_owned))
    };
    assert_eq!(context_of("apply-cp").as_deref(), Some("cp"));
    assert_eq!(context_of("apply-compute-plane").as_deref(), Some("gpu"));
    let on_control = helm_releases(control);
    let on_gpu = helm_releases(&gpu);
    assert_eq!(on_control.get("api").map(String::as_str), Some("deployed"));
    assert!(!on_control.contains_key("nvca-operator"), "{on_control:?}");
    assert_eq!(on_gpu.keys().collect::<Vec<_>>(), ["nvca-operator"]);
    assert_eq!(on_gpu["nvca-operator"], "deployed");
    let id1 = evs.last().unwrap()["clusterId"]
        .as_str()
        .unwrap()
        .to_owned();

    // The third cluster: its own kubeconfig only, the admin token given, no minting.
    let audit = control.audit();
    let mark = audit.mark().unwrap();
    let token = sim.sim.admin_token();
    let add = Run::of(nvcf(&sim, g2.to_str().unwrap(), &helm).args([
        "add-compute-plane",
        "--cluster-name",
        "gpu-2",
        "--chart-source",
        &charts,
        "--token",
        &token,
        "--json",
        "-o",
        "json",
    ]));
    add.expect_success();
    assert!(!add.all().contains(&token), "the token is never printed");
    let report: serde_json::Value = serde_json::from_str(&add.stdout).unwrap();
    let id2 = report["clusterId"].as_str().unwrap().to_owned();
    assert_ne!(id1, id2);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "preflight",
            "admin-token",
            "register",
            "render-compute-plane",
            "apply-compute-plane",
            "verify"
        ]
    );
    assert_eq!(helm_releases(&gpu2)["nvca-operator"], "deployed");
    let held = sim.sim.state().lock().clusters.jwks(&id2);
    assert!(held.is_some(), "SIS holds gpu-2's JWKS");
    let minted = sim
        .sim
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("admin/keys")))
        .count();
    assert_eq!(minted, 1, "only the first up minted a token");
    let touched = audit.requests_matching(mark, &[], "kubectl-nvcf/").unwrap();
    assert!(
        touched.is_empty(),
        "add-compute-plane reached the control plane's cluster: {touched:#?}"
    );
    // The operator of gpu-2 reaches the control plane by its public routes.
    let values = cluster_dto(&gpu2);
    assert!(values.contains("gpu-2"), "{values}");
    assert!(
        !values.contains("svc.cluster.local"),
        "public routes: {values}"
    );

    // The rest of the split lifecycle: status sees both planes, down takes gpu-1 away.
    let planes = [
        "--control-plane-context",
        "cp",
        "--compute-plane-context",
        "gpu",
    ];
    let status = Run::of(nvcf(&sim, &both, &helm).args(planes).args([
        "status",
        "--cluster-name",
        "gpu-1",
        "-o",
        "json",
    ]));
    status.expect_success();
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let release = |name: &str| {
        status["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["release"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}: {status:#}"))
    };
    assert_eq!(release("api")["state"], "healthy", "{status:#}");
    assert_eq!(release("nvca-operator")["state"], "healthy", "{status:#}");
    let down = Run::of(nvcf(&sim, &both, &helm).args(planes).args([
        "down",
        "--cluster-name",
        "gpu-1",
        "--confirm",
    ]));
    down.expect_success();
    assert!(!helm_releases(&gpu).contains_key("nvca-operator"));
    assert_eq!(
        helm_releases(control).get("api").map(String::as_str),
        Some("deployed"),
        "down --cluster-name keeps the control plane"
    );
    let clusters: Vec<String> = sim
        .sim
        .requests()
        .iter()
        .filter(|r| r["service"] == "sis" && r["method"] == "DELETE")
        .filter_map(|r| r["path"].as_str().map(str::to_owned))
        .collect();
    assert!(
        clusters.iter().any(|p| p.contains(&id1)),
        "gpu-1's SIS row was not deleted: {clusters:?}"
    );
}
