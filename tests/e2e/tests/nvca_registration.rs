//! `kubectl nvca register / rotate / list / deregister` against nvcf-sim as SIS, with the
//! signing keys read from a real API server, and a real key rotation in between.

mod nvca_support;

use nvca_support::Nvca;
use serde_json::Value;

/// The key ids the test cluster serves and the ones SIS holds.
trait Kids {
    fn served_kids(&self) -> Vec<String>;
    fn sim_kids(&self, cluster_id: &str) -> Vec<String>;
}

impl Kids for Nvca {
    fn served_kids(&self) -> Vec<String> {
        let jwks: Value = serde_json::from_str(
            &self
                .cluster
                .kubectl_run(&["get", "--raw", "/openid/v1/jwks"])
                .unwrap(),
        )
        .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    fn sim_kids(&self, cluster_id: &str) -> Vec<String> {
        let held = self
            .sim
            .sim
            .state()
            .lock()
            .clusters
            .jwks(cluster_id)
            .expect("SIS holds a JWKS");
        let jwks: Value = serde_json::from_str(&held).unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[test]
fn register_then_rotate_after_a_signing_key_change() {
    let f = Nvca::start("nvca-rotate");
    let report = f.json(&["register", "--cluster-name", "gpu-a"]);
    assert_eq!(report["outcome"], "registered");
    assert_eq!(report["identity"]["source"], "api-server");
    assert_eq!(report["oidcIssuer"], f.cluster.issuer());
    let cluster_id = report["clusterId"].as_str().unwrap().to_owned();
    assert_eq!(
        f.sim_kids(&cluster_id),
        f.served_kids(),
        "SIS holds the cluster's own keys"
    );
    let state = f.sim.state();
    assert_eq!(state["registration"]["clusterId"], cluster_id.as_str());
    assert_eq!(state["clusterId"], cluster_id.as_str());

    let check = f.json(&["rotate", "--check"]);
    assert_eq!(check["outcome"], "in-sync");

    let old_kids = f.served_kids();
    f.cluster.rotate_signing_key().unwrap();
    assert_ne!(
        f.served_kids(),
        old_kids,
        "the test cluster rotated its key"
    );

    let run = f.nvca(&["rotate", "--check"]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr.contains("signing keys changed") && run.stderr.contains("kubectl nvca rotate"),
        "{run:#?}"
    );
    assert_eq!(f.sim_kids(&cluster_id), old_kids, "--check uploads nothing");

    let rotated = f.json(&["rotate"]);
    assert_eq!(rotated["outcome"], "rotated");
    assert_eq!(
        f.sim_kids(&cluster_id),
        f.served_kids(),
        "SIS holds the new keys"
    );
    assert_eq!(f.json(&["rotate", "--check"])["outcome"], "in-sync");

    let listed = f.json(&["list"]);
    assert!(
        listed["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["clusterId"] == cluster_id.as_str())
    );
}

#[test]
fn registering_twice_and_deregistering_are_guarded() {
    let f = Nvca::start("nvca-register");
    f.json(&["register", "--cluster-name", "gpu-b"]);
    let again = f.nvca(&["register", "--cluster-name", "gpu-b"]);
    assert_eq!(again.code, Some(6), "a duplicate is a conflict: {again:#?}");
    assert!(again.stderr.contains("--ignore-existing"), "{again:#?}");
    let adopted = f.json(&["register", "--cluster-name", "gpu-b", "--ignore-existing"]);
    assert_eq!(adopted["outcome"], "already-registered");

    let refused = f.nvca(&["deregister"]);
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    assert!(refused.stderr.contains("--confirm gpu-b"), "{refused:#?}");
    let wrong = f.nvca(&["deregister", "--yes", "--confirm", "gpu-x"]);
    assert_eq!(wrong.code, Some(64), "{wrong:#?}");
    f.nvca(&["deregister", "--yes", "--confirm", "gpu-b"])
        .expect_success();
    let listed = f.json(&["list"]);
    assert!(
        listed["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["clusterName"] != "gpu-b"),
        "{listed}"
    );
    let after = f.nvca(&["rotate", "--check"]);
    assert_eq!(
        after.code,
        Some(4),
        "no registration is remembered any more: {after:#?}"
    );
}

/// Upstream's `cluster rotate|delete --cluster-id`: a registration other than the one this
/// profile remembers, named by id; `--ignore-missing` makes an unknown id a success.
#[test]
fn a_named_registration_is_rotated_and_deleted_by_id() {
    let f = Nvca::start("nvca-named");
    let a = f.json(&["register", "--cluster-name", "gpu-a"]);
    let id_a = a["clusterId"].as_str().unwrap().to_owned();
    // A second GPU cluster (SIS wants each cluster's own keys), registered last: the
    // profile now remembers it, and gpu-a is only reachable by its id.
    let other = nvcf_testenv::Env::start_named("nvca-named-b").unwrap();
    let b = nvcf_e2e::Run::of(f.cmd().env("KUBECONFIG", other.kubeconfig()).args([
        "register",
        "--cluster-name",
        "gpu-b",
        "-o",
        "json",
    ]));
    b.expect_success();
    let b: Value = serde_json::from_str(&b.stdout).unwrap();
    let id_b = b["clusterId"].as_str().unwrap().to_owned();
    let remembered = |f: &Nvca| {
        f.sim.state()["registration"]["clusterId"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(remembered(&f), id_b);

    let rotated = f.json(&["rotate", "--cluster-id", &id_a]);
    assert_eq!(rotated["outcome"], "rotated", "{rotated:#}");
    assert_eq!(rotated["clusterName"], "gpu-a", "{rotated:#}");
    assert_eq!(f.sim_kids(&id_a), f.served_kids());
    assert_eq!(
        remembered(&f),
        id_b,
        "the profile keeps its own registration"
    );
    let unknown = f.nvca(&["rotate", "--cluster-id", "no-such-cluster"]);
    assert_eq!(unknown.code, Some(4), "{unknown:#?}");

    let refused = f.nvca(&[
        "deregister",
        "--cluster-id",
        &id_a,
        "--yes",
        "--confirm",
        "gpu-b",
    ]);
    assert_eq!(refused.code, Some(64), "the name must match: {refused:#?}");
    f.nvca(&[
        "delete",
        "--cluster-id",
        &id_a,
        "--yes",
        "--confirm",
        "gpu-a",
    ])
    .expect_success();
    let listed = f.json(&["list"]);
    let names: Vec<&str> = listed["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["clusterName"].as_str())
        .collect();
    assert!(
        !names.contains(&"gpu-a") && names.contains(&"gpu-b"),
        "{names:?}"
    );
    assert_eq!(remembered(&f), id_b);
    let missing = f.nvca(&[
        "delete",
        "--cluster-id",
        &id_a,
        "--yes",
        "--confirm",
        "gpu-a",
    ]);
    assert_eq!(missing.code, Some(4), "{missing:#?}");
    assert!(missing.stderr.contains("--ignore-missing"), "{missing:#?}");
    let ignored = f.nvca(&["delete", "--cluster-id", &id_a, "--ignore-missing"]);
    ignored.expect_success();
    assert!(
        ignored.stdout.contains("not found; nothing to do"),
        "{ignored:#?}"
    );
}

/// Upstream's acceptance Makefiles run `nvcf-cli cluster register --name … --ignore-existing`
/// on every run: through our `nvcf-cli`, the second run adopts the first's registration.
#[test]
fn upstreams_register_line_runs_twice_through_nvcf_cli() {
    let f = Nvca::start("nvcf-cli-register");
    let cli = |args: &[&str]| {
        let mut cmd = f.sim.home.command(nvcf_e2e::bin("nvcf-cli"));
        for (k, v) in f.sim.sim.env() {
            cmd.env(k, v);
        }
        nvcf_e2e::Run::of(
            cmd.env("CI", "true")
                .env("KUBECONFIG", f.cluster.kubeconfig())
                .args(args),
        )
    };
    cli(&["init"]).expect_success();
    let line = [
        "cluster",
        "register",
        "--name",
        "gpu-c",
        "--nca-id",
        "nvcf-default",
        "--ignore-existing",
    ];
    let first = cli(&line);
    first.expect_success();
    // Upstream prints the operator's values; --nats-url names NATS in them.
    for want in [
        "clusterID:",
        "selfManaged:",
        "identitySource: psat",
        "icmsServiceURL:",
    ] {
        assert!(first.stdout.contains(want), "{want}: {first:#?}");
    }
    let second = cli(&[&line[..], &["--nats-url", "nats://nats.gpu-c.example:4222"]].concat());
    second.expect_success();
    assert!(
        second
            .stdout
            .contains("natsURL: nats://nats.gpu-c.example:4222"),
        "{second:#?}"
    );
    let listed = f.json(&["list", "--nca-id", "nvcf-default"]);
    let named: Vec<&Value> = listed["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["clusterName"] == "gpu-c")
        .collect();
    assert_eq!(
        named.len(),
        1,
        "one registration, adopted the second time: {listed}"
    );
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(f.sim.home.path().join(".nvcf-cli.state")).unwrap(),
    )
    .unwrap();
    assert!(state["token"].is_string(), "{state}");
}
