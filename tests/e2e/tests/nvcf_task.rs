//! `task` and `registry-credential` end to end against nvcf-sim.

mod nvcf_support;

use nvcf_support::{JOB, SimEnv, args};

fn create(env: &SimEnv, name: &str) -> String {
    let t = env.json(&args(&["task", "create", "--name", name], &JOB));
    t["id"].as_str().expect("task id").to_owned()
}

#[test]
fn task_lifecycle_with_the_last_task_remembered() {
    let env = SimEnv::start().logged_in();
    let run = env.ok(&[
        "task",
        "create",
        "--name",
        "job-a",
        "--image",
        "nvcr.io/acme/job:1",
        "--gpu",
        "A10G",
        "--instance-type",
        "NCP.GPU.A10G_1x",
        "--result-strategy",
        "NONE",
    ]);
    assert!(
        run.stderr.contains(
            "Plan: create task \"job-a\" (image nvcr.io/acme/job:1, GPU A10G x NCP.GPU.A10G_1x)"
        ),
        "{run:#?}"
    );
    let id = env.state()["taskId"].as_str().unwrap().to_owned();
    // Task calls carry the task API key.
    let calls = env.requests("tasks", "POST", "/v1/nvct/tasks");
    assert!(
        calls[0]["authorization"]
            .as_str()
            .unwrap()
            .contains("nvapi-")
    );

    let got = env.json(&["task", "get"]);
    assert_eq!(got["id"], id.as_str());
    let follow = env.ok(&["task", "events", "--follow", "--poll-interval", "1"]);
    assert!(follow.stdout.contains("RUNNING"), "{follow:#?}");
    assert!(
        follow.stdout.trim_end().ends_with("COMPLETED"),
        "{follow:#?}"
    );
    let events = env.json(&["task", "events"]);
    assert!(events["events"].as_array().unwrap().len() >= 3, "{events}");
    let one = env.json(&["task", "events", "--limit", "1"]);
    assert_eq!(one["events"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["limit"], 1, "{one}");
    assert_eq!(one["events"][0], events["events"][0], "the first page");
    let results_page = env.json(&["task", "results", "--limit", "5"]);
    assert_eq!(results_page["limit"], 5, "{results_page}");
    let both = env.nvcf(&["task", "events", "--follow", "--limit", "1"]);
    assert_eq!(both.code, Some(64), "{both:#?}");
    let bulk = env.json(&["task", "bulk", "--task-ids", &id]);
    assert_eq!(bulk["tasks"][0]["status"], "COMPLETED");
    let results = env.json(&["task", "results"]);
    assert!(results["results"].as_array().unwrap().is_empty());

    let cancel = env.nvcf(&["task", "cancel", "-y"]);
    assert_eq!(
        cancel.code,
        Some(65),
        "a finished task cannot be cancelled: {cancel:#?}"
    );
    assert!(cancel.stderr.contains("terminal status"), "{cancel:#?}");

    let refused = env.nvcf(&["task", "delete"]);
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    env.ok(&["task", "delete", "-y"]);
    assert!(env.state().get("taskId").is_none());
    let gone = env.nvcf(&["task", "get", &id]);
    assert_eq!(gone.code, Some(4), "{gone:#?}");
}

#[test]
fn task_list_follows_every_cursor_and_streams() {
    // Tasks stay QUEUED, so the cancel below never races a busy machine's clock.
    let env = SimEnv::with(nvcf_sim::SimConfig {
        task_queue_duration: std::time::Duration::from_secs(3600),
        ..Default::default()
    })
    .logged_in();
    let ids: Vec<String> = (0..5).map(|i| create(&env, &format!("job-{i}"))).collect();
    let list = env.json(&["task", "list", "--page-size", "2"]);
    let listed: Vec<&str> = list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    for id in &ids {
        assert!(listed.contains(&id.as_str()), "{id} missing from {list}");
    }
    assert!(
        env.requests("tasks", "GET", "/v1/nvct/tasks").len() >= 3,
        "paged"
    );
    let table = env.ok(&["task", "list", "--page-size", "2"]);
    assert!(table.stdout.starts_with("ID"), "{table:#?}");
    assert_eq!(table.stdout.lines().count(), 6, "{table:#?}");
    let limited = env.ok(&[
        "task",
        "list",
        "--page-size",
        "2",
        "--limit",
        "3",
        "-o",
        "name",
    ]);
    assert_eq!(limited.stdout.lines().count(), 3, "{limited:#?}");
    // --limit is upstream's one page: at most N items, its limit, and the cursor that
    // resumes right after them; following the cursors visits every task exactly once.
    let before = env.requests("tasks", "GET", "/v1/nvct/tasks").len();
    let first = env.json(&["task", "list", "--limit", "2"]);
    assert_eq!(
        env.requests("tasks", "GET", "/v1/nvct/tasks").len(),
        before + 1,
        "one request for one page"
    );
    assert_eq!(first["limit"], 2, "{first}");
    let mut seen: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        let items = page["tasks"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        let Some(cursor) = page["cursor"].as_str().map(str::to_owned) else {
            break;
        };
        page = env.json(&["task", "list", "--limit", "2", "--cursor", &cursor]);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no task twice: {seen:?}");
    for id in &ids {
        assert!(
            seen.contains(id),
            "{id} reached through the cursors: {seen:?}"
        );
    }
    let zero = env.nvcf(&["task", "list", "--limit", "0"]);
    assert_eq!(zero.code, Some(64), "{zero:#?}");
    let cancel = env.json(&["task", "cancel", &ids[4], "-y"]);
    assert_eq!(cancel["status"], "CANCELED");
    let canceled = env.json(&["task", "list", "--status", "canceled"]);
    assert_eq!(canceled["tasks"].as_array().unwrap().len(), 1, "{canceled}");
}

#[test]
fn task_inputs_are_checked() {
    let env = SimEnv::start().logged_in();
    let run = env.nvcf(&["task", "create", "--name", "j", "--image", "nvcr.io/a/b:1"]);
    assert_eq!(run.code, Some(64), "{run:#?}");
    assert!(run.stderr.contains("gpuSpecification.gpu"), "{run:#?}");
    let file = env.home.path().join("t.json");
    std::fs::write(&file, r#"{"name":"j","gpuSpecification":{"gpu":7}}"#).unwrap();
    let run = env.nvcf(&["task", "create", "-f", file.to_str().unwrap()]);
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert!(run.stderr.contains("gpuSpecification.gpu"), "{run:#?}");
    let run = env.nvcf(&[
        "task",
        "create",
        "--name",
        "j",
        "--image",
        "<your-registry>/job:1",
        "--gpu",
        "A10G",
        "--instance-type",
        "NCP.GPU.A10G_1x",
    ]);
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert!(env.requests("tasks", "POST", "/").is_empty());
    let run = env.nvcf(&["task", "get"]);
    assert_eq!(run.code, Some(64), "no task yet: {run:#?}");
}

#[test]
fn task_secrets_are_sent_not_printed() {
    let env = SimEnv::start().logged_in();
    create(&env, "job-secret");
    let run = env.ok(&[
        "task",
        "update-secrets",
        "--secret",
        "TOKEN=very-secret-value-123",
    ]);
    assert!(run.stdout.contains("TOKEN"), "{run:#?}");
    assert!(!run.all().contains("very-secret-value-123"));
    assert_eq!(
        env.requests("tasks", "PUT", "/v1/nvct/secrets/tasks/")
            .len(),
        1
    );
}

#[test]
fn registry_credentials_round_trip() {
    let env = SimEnv::start().logged_in();
    let add = env.nvcf(&[
        "registry-credential",
        "add",
        "--hostname",
        "nvcr.io",
        "--username",
        "u",
        "--password",
        "pa55word-secret",
        "--artifact-type",
        "container",
        "-o",
        "json",
    ]);
    assert_eq!(add.code, Some(0), "{add:#?}");
    assert!(!add.all().contains("pa55word-secret"));
    let c: serde_json::Value = serde_json::from_str(&add.stdout).unwrap();
    let id = c["registryCredentialId"].as_str().unwrap().to_owned();
    let upd = env.json(&[
        "registry-credential",
        "update",
        &id,
        "--artifact-type",
        "helm",
    ]);
    assert_eq!(upd["artifactTypes"].as_array().unwrap().len(), 2);
    assert_eq!(
        env.json(&["registry-credential", "get", &id])["registryHostname"],
        "nvcr.io"
    );
    let rec = env.json(&["registry-credential", "list-recognized"]);
    assert!(rec["recognizedRegistries"].is_object());
    let bad = env.nvcf(&[
        "registry-credential",
        "add",
        "--hostname",
        "x.io",
        "--artifact-type",
        "video",
        "--secret",
        "u:p",
    ]);
    assert_eq!(bad.code, Some(64), "{bad:#?}");
    assert_eq!(
        env.nvcf(&["registry-credential", "delete", &id]).code,
        Some(64)
    );
    env.ok(&["registry-credential", "delete", &id, "-y"]);
    let list = env.json(&["registry-credential", "list"]);
    assert!(list["registryCredentials"].as_array().unwrap().is_empty());
}

#[test]
fn the_first_row_prints_before_the_last_page_arrives() {
    use std::io::BufRead;
    use std::time::{Duration, Instant};
    let env = SimEnv::start().logged_in();
    for i in 0..3 {
        create(&env, &format!("slow-{i}"));
    }
    let mut slow = nvcf_support::fault("tasks");
    slow.method = Some("GET".into());
    slow.latency_ms = Some(700);
    env.fault(slow);
    let started = Instant::now();
    let mut child = env
        .cmd()
        .args(["task", "list", "--page-size", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    lines.next().unwrap().unwrap(); // header
    lines.next().unwrap().unwrap(); // first row
    let first = started.elapsed();
    let rest = lines.count();
    assert!(child.wait().unwrap().success());
    let end = started.elapsed();
    assert_eq!(rest, 2);
    // Three pages at 700 ms each: the first row must not wait for the other two.
    assert!(
        end - first >= Duration::from_millis(1200),
        "first {first:?}, end {end:?}"
    );
}
