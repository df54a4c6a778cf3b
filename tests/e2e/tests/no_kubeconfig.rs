//! Upstream's CI jobs run API commands on machines without a kubeconfig, with settings from
//! `NVCF_*` variables only. Here: no KUBECONFIG, no ~/.kube/config, no `--profile` and no
//! `$NVCF_PROFILE`. The API commands work on the profile named `default`, `context` says
//! so, and a command that needs a cluster says what it needs.

mod nvcf_support;

use nvcf_e2e::{Run, bin};
use nvcf_support::SimEnv;
use serde_json::Value;

#[test]
fn api_commands_need_no_kubeconfig_and_use_the_default_profile() {
    let env = SimEnv::start();
    let home = env.home.path().to_path_buf();
    assert!(!home.join(".kube/config").exists());
    let nvcf = |args: &[&str]| {
        let mut cmd = env.home.command(bin("kubectl-nvcf"));
        for (k, v) in env.sim.env() {
            cmd.env(k, v);
        }
        Run::of(cmd.env("CI", "true").args(args))
    };
    let ok = |args: &[&str]| {
        let run = nvcf(args);
        assert_eq!(run.code, Some(0), "kubectl nvcf {args:?}: {run:#?}");
        run
    };

    let context: Value = serde_json::from_str(&ok(&["context", "-o", "json"]).stdout).unwrap();
    assert_eq!(context["profile"]["name"], "default", "{context:#}");
    assert!(context["context"].is_null(), "{context:#}");
    assert!(
        context["noCluster"]
            .as_str()
            .is_some_and(|n| n.contains("API commands work")),
        "{context:#}"
    );
    let table = ok(&["context"]);
    assert!(table.stdout.contains("default"), "{}", table.stdout);

    ok(&["init"]);
    ok(&["refresh"]);
    ok(&["api-key", "generate", "--description", "ci"]);
    let function = ok(&[
        "function",
        "create",
        "--name",
        "echo-ci",
        "--image",
        "nvcr.io/acme/echo:1",
        "--inference-url",
        "/echo",
        "--inference-port",
        "8000",
        "-o",
        "json",
    ]);
    let created: Value = serde_json::from_str(&function.stdout).unwrap();
    assert!(created.to_string().contains("echo-ci"), "{created:#}");
    assert!(ok(&["function", "list"]).stdout.contains("echo-ci"));
    // Upstream's list-ids and list-versions, as its scripts call them.
    let ids: Value =
        serde_json::from_str(&ok(&["function", "list-ids", "-o", "json"]).stdout).unwrap();
    let fid = ids["functionIds"][0]
        .as_str()
        .expect("one function id")
        .to_owned();
    assert!(ok(&["function", "list-ids"]).stdout.contains(&fid));
    let versions = ok(&["function", "list-versions", &fid, "-o", "json"]);
    assert!(versions.stdout.contains("echo-ci"), "{versions:#?}");
    ok(&[
        "task",
        "create",
        "--name",
        "job-ci",
        "--image",
        "nvcr.io/acme/job:1",
        "--gpu",
        "A10G",
        "--instance-type",
        "NCP.GPU.A10G_1x",
        "--result-strategy",
        "NONE",
    ]);
    assert!(ok(&["task", "list"]).stdout.contains("job-ci"));
    ok(&["registry-credential", "list"]);
    // cluster list needs a scope the minted admin token lacks: said so (exit 3), and a
    // token that has it lists the account's cluster groups.
    let denied = nvcf(&["cluster", "list"]);
    assert_eq!(denied.code, Some(3), "{denied:#?}");
    let token = env
        .sim
        .token("ncp", &["list_cluster_groups".to_string()], 3600);
    let groups: Value =
        serde_json::from_str(&ok(&["cluster", "list", "--token", &token, "-o", "json"]).stdout)
            .unwrap();
    let first = &groups["clusterGroups"][0];
    assert!(first["gpus"][0]["name"].is_string(), "{groups:#}");
    let table = ok(&["cluster", "list", "--token", &token]);
    assert!(table.stdout.starts_with("NAME"), "{table:#?}");
    assert!(!table.all().contains(&token), "the token is never printed");
    let skill = ok(&["agent-skill", "version"]);
    assert!(
        skill.stdout.contains("build: ") && skill.stdout.contains("embedded skill: 1 skill"),
        "{skill:#?}"
    );
    let shown = ok(&["agent-skill", "show"]).stdout;
    let version: Value =
        serde_json::from_str(&ok(&["agent-skill", "version", "-o", "json"]).stdout).unwrap();
    let bytes = version["bytes"].as_u64().unwrap() as usize;
    assert!(
        (shown.trim_end().len()..=shown.len()).contains(&bytes),
        "{version:#}"
    );
    // Everything was remembered in the default profile's state.
    let state = home.join(".config/nvcf/profiles/default/state.json");
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(state["functionId"].is_string(), "{state:#}");
    assert!(state["taskId"].is_string(), "{state:#}");

    // status is an API-only report here: the configuration, and why there is no cluster.
    let status = ok(&["status"]);
    assert!(status.stdout.contains("no kubeconfig found"), "{status:#?}");
    // A command that needs a cluster says so, with the fix, and the config exit code.
    let dump = nvcf(&["dump"]);
    assert_eq!(dump.code, Some(78), "{dump:#?}");
    assert!(
        dump.stderr.contains("no kubeconfig found") && dump.stderr.contains("--kubeconfig"),
        "{dump:#?}"
    );
    // Upstream's `up --refresh-token` with a token given cannot do both: refused up front.
    let both = nvcf(&[
        "up",
        "--cluster-name",
        "gpu-x",
        "--refresh-token",
        "--token",
        "t",
    ]);
    assert_eq!(both.code, Some(64), "{both:#?}");
    assert!(both.stderr.contains("--refresh-token"), "{both:#?}");
    // Asking for a context that cannot exist is an error, not the default profile.
    let named = nvcf(&["--context", "prod", "function", "list"]);
    assert_ne!(named.code, Some(0), "{named:#?}");
}
