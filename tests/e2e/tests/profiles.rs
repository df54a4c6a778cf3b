//! Profiles under concurrency, through the real binary.

use nvcf_e2e::{Home, Run, bin};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

/// Twenty settings that exist in the key table, one per writer.
const KEYS: [&str; 20] = [
    "base_http_url",
    "grpc_url",
    "invoke_url",
    "base_nvct_url",
    "icms_url",
    "client_id",
    "oauth2_client_id",
    "oauth2_token_endpoint",
    "api_host",
    "invoke_host",
    "icms_host",
    "nvct_host",
    "api_keys_host",
    "api_keys_service_url",
    "api_keys_admin_service_url",
    "api_keys_service_id",
    "api_keys_issuer_service",
    "api_keys_owner_id",
    "api_keys_nvct_service_id",
    "api_keys_nvct_issuer_service",
];

#[test]
fn twenty_concurrent_writers_lose_no_update_and_tear_no_file() {
    let home = Home::new();
    let children: Vec<_> = KEYS
        .iter()
        .enumerate()
        .map(|(i, key)| {
            home.command(bin("kubectl-nvcf"))
                .args([
                    "--profile",
                    "race",
                    "profile",
                    "set",
                    key,
                    &format!("value-{i}"),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn writer")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let run = Run::of(home.command(bin("kubectl-nvcf")).args([
        "--profile",
        "race",
        "profile",
        "show",
        "-o",
        "json",
    ]));
    run.expect_success();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for (i, key) in KEYS.iter().enumerate() {
        assert_eq!(
            v["settings"][key]["value"],
            format!("value-{i}"),
            "{key} lost"
        );
        assert_eq!(v["settings"][key]["origin"], "profile");
    }
    let dir = home.path().join(".config/nvcf/profiles/race");
    let config = dir.join("config.yaml");
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}

#[test]
fn profile_defaults_to_the_kube_context_and_keeps_clusters_apart() {
    let home = Home::new();
    let kubeconfig = home.kubeconfig(&["cluster-a", "cluster-b"]);
    let nvcf = |args: &[&str]| {
        Run::of(
            home.command(bin("kubectl-nvcf"))
                .env("KUBECONFIG", &kubeconfig)
                .args(args),
        )
    };
    nvcf(&["profile", "set", "base_http_url", "http://api.a.local"]).expect_success();
    nvcf(&[
        "--context",
        "cluster-b",
        "profile",
        "set",
        "base_http_url",
        "http://api.b.local",
    ])
    .expect_success();
    let a = nvcf(&["profile", "show", "-o", "json"]);
    let b = nvcf(&["--context", "cluster-b", "profile", "show", "-o", "json"]);
    let a: serde_json::Value = serde_json::from_str(&a.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_str(&b.stdout).unwrap();
    assert_eq!(a["name"], "cluster-a");
    assert_eq!(
        a["settings"]["base_http_url"]["value"],
        "http://api.a.local"
    );
    assert_eq!(
        b["settings"]["base_http_url"]["value"],
        "http://api.b.local"
    );
    let list = nvcf(&["profile", "list", "-o", "name"]);
    assert_eq!(list.stdout, "profile/cluster-a\nprofile/cluster-b\n");
}
