//! `init`, `refresh`, `status` and `api-key` against nvcf-sim, with the auth error paths:
//! a 401 re-mints once, a given token is never re-minted, expired keys and missing scopes
//! exit 3 with the fix.

mod nvcf_support;

use nvcf_sim::FaultRule;
use nvcf_support::{SimEnv, fault};

#[test]
fn init_mints_and_clears_saved_keys() {
    let env = SimEnv::start();
    let run = env.ok(&["init"]);
    assert!(run.stdout.contains("admin token minted"), "{run:#?}");
    let state = env.state();
    let token = state["token"].as_str().expect("token saved");
    assert!(token.starts_with("eyJ"));
    assert!(
        !run.all().contains(token),
        "init printed the token: {run:#?}"
    );
    assert_eq!(
        env.requests("admin-issuer", "POST", "/v1/admin/keys").len(),
        1
    );
    // The issuer is called without a credential, as upstream does.
    assert!(env.requests("admin-issuer", "POST", "/v1/admin/keys")[0]["authorization"].is_null());

    env.ok(&["api-key", "generate"]);
    let state = env.state();
    assert!(state["apiKey"].as_str().unwrap().starts_with("nvapi-"));
    assert!(state["nvctApiKey"].as_str().unwrap().starts_with("nvapi-"));

    let again = env.json(&["init", "--non-interactive"]);
    assert_eq!(again["apiKeysCleared"], true);
    let state = env.state();
    assert!(
        state.get("apiKey").is_none() && state.get("nvctApiKey").is_none(),
        "{state}"
    );
    assert_ne!(
        state["token"].as_str().unwrap(),
        token,
        "a new token was minted"
    );
}

#[test]
fn init_with_a_given_token_saves_it_without_minting() {
    let env = SimEnv::start();
    let token = env.sim.admin_token();
    env.ok(&["init", "--non-interactive", "--token", &token]);
    assert_eq!(env.state()["token"], token.as_str());
    assert!(env.requests("admin-issuer", "POST", "/").is_empty());
}

#[test]
fn refresh_keeps_keys_and_status_masks_everything() {
    let env = SimEnv::start().logged_in();
    let before = env.state();
    env.ok(&["refresh"]);
    let after = env.state();
    assert_ne!(before["token"], after["token"]);
    assert_eq!(before["apiKey"], after["apiKey"]);

    let status = env.json(&["status"]);
    let config = &status["config"];
    assert_eq!(config["auth"]["adminToken"]["status"], "valid");
    assert_eq!(config["auth"]["apiKey"]["status"], "valid");
    assert_eq!(config["endpoints"]["api"]["host"], env.sim.host("api"));
    let table = env.ok(&["status"]);
    for secret in [&after["token"], &after["apiKey"], &after["nvctApiKey"]] {
        let s = secret.as_str().unwrap();
        assert!(
            !table.all().contains(s),
            "status printed a secret: {table:#?}"
        );
        assert!(!status.to_string().contains(s));
    }
    // --show-tokens is the explicit reveal: every credential in full, in both forms.
    let shown = env.json(&["status", "--show-tokens"]);
    let auth = &shown["config"]["auth"];
    assert_eq!(auth["adminToken"]["value"], after["token"], "{auth:#}");
    assert_eq!(auth["apiKey"]["value"], after["apiKey"], "{auth:#}");
    let table = env.ok(&["status", "--show-tokens"]);
    assert!(
        table.stdout.contains(after["token"].as_str().unwrap()),
        "{table:#?}"
    );
    assert!(!table.stderr.contains(after["token"].as_str().unwrap()));
    let watch = env.nvcf(&["status", "--show-tokens", "--watch"]);
    assert_eq!(watch.code, Some(64), "{watch:#?}");
}

#[test]
fn api_key_generate_and_show_print_the_key_others_do_not() {
    let env = SimEnv::start();
    env.ok(&["init"]);
    let gen_ = env.json(&[
        "api-key",
        "generate",
        "--for",
        "function",
        "--description",
        "ci key",
    ]);
    let key = gen_["keys"][0]["apiKey"].as_str().expect("key printed");
    assert!(key.starts_with("nvapi-") && key.len() > 40, "{gen_}");
    assert_eq!(gen_["keys"].as_array().unwrap().len(), 1);
    let shown = env.json(&["api-key", "show"]);
    assert_eq!(shown["apiKey"], key);
    assert_eq!(shown["hasTaskKey"], false);
    let list = env.ok(&["api-key", "list"]);
    assert!(list.stdout.contains("ci key"), "{list:#?}");
    assert!(!list.all().contains(key));

    let id = gen_["keys"][0]["id"].as_str().unwrap().to_owned();
    let refused = env.nvcf(&["api-key", "delete", &id]);
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    assert!(refused.stderr.contains("--yes"), "{refused:#?}");
    env.ok(&["api-key", "delete", &id, "-y"]);
    let list = env.json(&["api-key", "list"]);
    assert!(
        list["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["id"] != id.as_str())
    );

    env.ok(&["api-key", "clear", "-y"]);
    assert_eq!(env.json(&["api-key", "show"])["hasKey"], false);
}

#[test]
fn api_key_flags_are_checked_before_calling() {
    let env = SimEnv::start();
    env.ok(&["init"]);
    let run = env.nvcf(&["api-key", "generate", "--scopes", "list_tasks"]);
    assert_eq!(run.code, Some(64), "{run:#?}");
    let run = env.nvcf(&["api-key", "generate", "--expires-in", "3y"]);
    assert_eq!(run.code, Some(64), "{run:#?}");
    assert!(env.requests("api-keys", "POST", "/v1/keys").is_empty());
}

#[test]
fn a_401_remints_once_and_retries() {
    let env = SimEnv::start();
    env.ok(&["init"]);
    let first = env.state()["token"].clone();
    env.fault(FaultRule {
        token_expired: true,
        times: Some(1),
        ..fault("nvcf")
    });
    let run = env.ok(&["function", "list"]);
    assert!(run.stdout.contains("No functions"), "{run:#?}");
    assert_eq!(
        env.requests("admin-issuer", "POST", "/").len(),
        2,
        "one re-mint"
    );
    assert_eq!(env.requests("nvcf", "GET", "/v2/nvcf/functions").len(), 2);
    assert_ne!(env.state()["token"], first, "the new token was saved");
}

#[test]
fn a_401_that_persists_is_not_reminted_twice() {
    let env = SimEnv::start();
    env.ok(&["init"]);
    env.fault(FaultRule {
        token_expired: true,
        ..fault("nvcf")
    });
    let run = env.nvcf(&["function", "list"]);
    assert_eq!(run.code, Some(3), "{run:#?}");
    assert!(run.stderr.contains("refresh"), "{run:#?}");
    assert_eq!(env.requests("admin-issuer", "POST", "/").len(), 2);
    assert_eq!(env.requests("nvcf", "GET", "/v2/nvcf/functions").len(), 2);
}

#[test]
fn a_given_token_is_never_reminted() {
    let env = SimEnv::start();
    let token = env.sim.admin_token();
    env.fault(FaultRule {
        token_expired: true,
        ..fault("nvcf")
    });
    let run = env.nvcf(&["function", "list", "--token", &token]);
    assert_eq!(run.code, Some(3), "{run:#?}");
    assert!(run.stderr.contains("expired"), "{run:#?}");
    assert!(env.requests("admin-issuer", "POST", "/").is_empty());
    assert_eq!(env.requests("nvcf", "GET", "/v2/nvcf/functions").len(), 1);
    assert!(!run.all().contains(&token));
}

#[test]
fn an_expired_api_key_is_an_auth_failure() {
    let env = SimEnv::start();
    env.ok(&["init"]);
    let key = env.json(&[
        "api-key",
        "generate",
        "--for",
        "function",
        "--expires-in",
        "3s",
    ]);
    let key = key["keys"][0]["apiKey"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(4100));
    // The key alone, without the admin token: reads go with the API key.
    let run = Run::of(
        env.cmd()
            .env("NVCF_PROFILE", "keyonly")
            .env("NVCF_API_KEY", &key)
            .args(["function", "list"]),
    );
    assert_eq!(run.code, Some(3), "{run:#?}");
    assert!(run.stderr.contains("api-key generate"), "{run:#?}");
    assert!(!run.all().contains(&key));
}

#[test]
fn a_missing_scope_names_the_fix() {
    let env = SimEnv::start();
    env.ok(&["init"]);
    // The admin token has no task scopes.
    let run = env.nvcf(&["task", "list"]);
    assert_eq!(run.code, Some(3), "{run:#?}");
    assert!(run.stderr.contains("403"), "{run:#?}");
    assert!(
        run.stderr.contains("api-key generate --for task"),
        "{run:#?}"
    );
}

#[test]
fn without_credentials_commands_say_to_init() {
    let env = SimEnv::start();
    let run = env.nvcf(&["function", "list"]);
    assert_eq!(run.code, Some(3), "{run:#?}");
    assert!(run.stderr.contains("kubectl nvcf init"), "{run:#?}");
    assert!(env.sim.requests().is_empty(), "nothing was sent");
}

use nvcf_e2e::Run;

#[test]
fn one_gateway_address_routes_every_service_by_host() {
    let env = SimEnv::start();
    let gw = |args: &[&str]| {
        // Only the gateway and its domain: no per-service URLs or Host settings.
        let mut cmd = env.home.command(nvcf_e2e::bin("kubectl-nvcf"));
        cmd.env("NVCF_PROFILE", "gw").env("CI", "true");
        cmd.args(["--gateway", &env.sim.url(), "--domain", env.sim.domain()]);
        Run::of(cmd.args(args))
    };
    assert_eq!(gw(&["init"]).code, Some(0));
    assert_eq!(gw(&["api-key", "generate"]).code, Some(0));
    let run = gw(&["task", "list"]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let status = gw(&["status", "-o", "json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["config"]["gateway"]["domain"], env.sim.domain());
    assert_eq!(
        status["config"]["endpoints"]["tasks"]["host"],
        env.sim.host("tasks")
    );
    let hosts: Vec<String> = env
        .sim
        .requests()
        .iter()
        .filter_map(|r| r["host"].as_str().map(str::to_owned))
        .collect();
    for prefix in ["api-keys", "tasks"] {
        assert!(hosts.contains(&env.sim.host(prefix)), "{prefix}: {hosts:?}");
    }
    let run = gw(&["--domain", "", "status"]);
    assert_eq!(run.code, Some(64), "a gateway needs a domain: {run:#?}");

    // Saved once in the profile, the gateway needs no flags afterwards.
    let saved = |args: &[&str]| {
        let mut cmd = env.home.command(nvcf_e2e::bin("kubectl-nvcf"));
        cmd.env("NVCF_PROFILE", "gw-saved").env("CI", "true");
        Run::of(cmd.args(args))
    };
    saved(&["profile", "set", "gateway_url", &env.sim.url()]).expect_success();
    saved(&["profile", "set", "domain", env.sim.domain()]).expect_success();
    saved(&["init"]).expect_success();
    saved(&["api-key", "generate", "--for", "task"]).expect_success();
    saved(&["task", "list"]).expect_success();
    let status = saved(&["status", "-o", "json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["config"]["gateway"]["domain"], env.sim.domain());
}

#[test]
fn admin_accounts_are_gated_by_the_upstream_variable() {
    let env = SimEnv::start();
    env.ok(&["init"]);
    let help = env.ok(&["--help"]);
    assert!(
        !help
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("admin ")),
        "hidden: {help:#?}"
    );
    let run = env.nvcf(&["admin", "accounts", "list"]);
    assert_eq!(run.code, Some(64), "{run:#?}");
    assert!(run.stderr.contains("NVCF_CLI_ENABLE_ADMIN"), "{run:#?}");

    let admin = |args: &[&str]| Run::of(env.cmd().env("NVCF_CLI_ENABLE_ADMIN", "1").args(args));
    let run = admin(&["admin", "accounts", "list"]);
    assert_eq!(
        run.code,
        Some(3),
        "the minted token has no account_setup: {run:#?}"
    );
    let super_admin = env.sim.token("ncp", &["account_setup".to_string()], 3600);
    let run = admin(&["admin", "accounts", "list", "--token", &super_admin]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    assert!(run.stdout.contains("nvcf-default"), "{run:#?}");
    let run = admin(&[
        "admin",
        "accounts",
        "update",
        "--nca-id",
        "nvcf-default",
        "--max-tasks",
        "20",
        "--token",
        &super_admin,
        "-o",
        "json",
    ]);
    assert_eq!(run.code, Some(0), "{run:#?}");
    let a: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(a["maxTasksAllowed"], 20);
    let run = admin(&[
        "admin",
        "accounts",
        "update",
        "--nca-id",
        "nvcf-default",
        "--max-telemetries",
        "51",
    ]);
    assert_eq!(run.code, Some(64), "{run:#?}");
}

#[test]
fn admin_secrets_and_queues_reach_another_account() {
    let env = SimEnv::start();
    env.ok(&["init"]);
    let (fid, vid) = nvcf_support::deployed_echo(&env, "admin-echo");
    let admin = |args: &[&str]| Run::of(env.cmd().env("NVCF_CLI_ENABLE_ADMIN", "1").args(args));
    let scopes: Vec<String> = ["account_setup", "queue_details", "update_secrets"]
        .map(String::from)
        .to_vec();
    let super_admin = env.sim.token("ncp", &scopes, 3600);
    let queues = admin(&[
        "admin",
        "queues",
        "function",
        "--nca-id",
        "nvcf-default",
        "--function-id",
        &fid,
        "--token",
        &super_admin,
        "-o",
        "json",
    ]);
    assert_eq!(queues.code, Some(0), "{queues:#?}");
    let q: serde_json::Value = serde_json::from_str(&queues.stdout).unwrap();
    assert_eq!(q["functionId"], fid.as_str(), "{q}");
    assert_eq!(q["queues"][0]["functionVersionId"], vid.as_str(), "{q}");
    let one = admin(&[
        "admin",
        "queues",
        "version",
        "--nca-id",
        "nvcf-default",
        "--function-id",
        &fid,
        "--version-id",
        &vid,
        "--token",
        &super_admin,
    ]);
    assert_eq!(one.code, Some(0), "{one:#?}");
    assert!(
        one.stdout.contains("queue depth") || one.stdout.contains("QUEUE DEPTH"),
        "{one:#?}"
    );

    let planted = "admin-secret-value-planted-7731";
    let file = env.home.path().join("secrets.json");
    std::fs::write(
        &file,
        format!(r#"{{"secrets":[{{"name":"DB_PASSWORD","value":"{planted}"}}]}}"#),
    )
    .unwrap();
    let updated = admin(&[
        "admin",
        "secrets",
        "update-function",
        "--nca-id",
        "nvcf-default",
        "--function-id",
        &fid,
        "--version-id",
        &vid,
        "--input-file",
        file.to_str().unwrap(),
        "--token",
        &super_admin,
        "-o",
        "json",
    ]);
    assert_eq!(updated.code, Some(0), "{updated:#?}");
    let envelope: serde_json::Value = serde_json::from_str(&updated.stdout).unwrap();
    assert_eq!(envelope["status"], "ok");
    assert_eq!(envelope["versionId"], vid.as_str());
    assert!(!updated.all().contains(planted), "{updated:#?}");
    let inline = admin(&[
        "admin",
        "secrets",
        "update-telemetry",
        "--nca-id",
        "nvcf-default",
        "--telemetry-id",
        "6f0e6a52-2f5b-4b8e-9a53-0c1d2e3f4a5b",
        "--secrets",
        &format!(r#"{{"secrets":[{{"name":"TOKEN","value":"{planted}"}}]}}"#),
        "--token",
        &super_admin,
    ]);
    assert_eq!(inline.code, Some(0), "{inline:#?}");
    assert!(inline.stderr.contains("shell history"), "{inline:#?}");
    assert!(!inline.all().contains(planted), "{inline:#?}");
    let puts: Vec<String> = env
        .sim
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .filter_map(|r| r["path"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        puts,
        [
            format!("/v2/nvcf/accounts/nvcf-default/secrets/functions/{fid}/versions/{vid}"),
            "/v2/nvcf/accounts/nvcf-default/secrets/telemetries/6f0e6a52-2f5b-4b8e-9a53-0c1d2e3f4a5b".to_string(),
        ]
    );

    // Another account's queues need account_setup; the minted admin token lacks it.
    let refused = admin(&[
        "admin",
        "queues",
        "function",
        "--nca-id",
        "other-account",
        "--function-id",
        &fid,
    ]);
    assert_eq!(refused.code, Some(3), "{refused:#?}");
    let empty = env.home.path().join("empty.json");
    std::fs::write(&empty, r#"{"secrets":[]}"#).unwrap();
    let bad = admin(&[
        "admin",
        "secrets",
        "update-telemetry",
        "--nca-id",
        "nvcf-default",
        "--telemetry-id",
        "6f0e6a52-2f5b-4b8e-9a53-0c1d2e3f4a5b",
        "--input-file",
        empty.to_str().unwrap(),
        "--token",
        &super_admin,
    ]);
    assert_eq!(bad.code, Some(65), "{bad:#?}");
    env.sim.assert_no_violations();
}

#[test]
fn a_ca_bundle_must_be_readable_pem() {
    let env = SimEnv::start();
    let run = env.nvcf(&["--ca-bundle", "/nonexistent/ca.pem", "init"]);
    assert_eq!(run.code, Some(66), "{run:#?}");
    assert!(run.stderr.contains("CA bundle"), "{run:#?}");
    let bad = env.home.path().join("ca.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let run = env.nvcf(&["--ca-bundle", bad.to_str().unwrap(), "init"]);
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert!(env.sim.requests().is_empty());
}
