//! Every upstream CLI example (vendored in `tests/examples/`, copied from
//! shared/reference/upstream-cli/examples) is sent the way the CLI sends it, and is
//! accepted where valid or rejected with the error the contracts document.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{Client, Reply};
use nvcf_sim::{Backend, SimConfig, config::gpu};
use serde_json::{Value, json};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/examples")
}

fn example(name: &str) -> Value {
    let text = std::fs::read_to_string(examples_dir().join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The CLI-only wrapper fields are not part of the request bodies.
fn without(mut v: Value, keys: &[&str]) -> Value {
    for k in keys {
        v.as_object_mut().expect("object").remove(*k);
    }
    v
}

fn assert_problem(r: &Reply, status: u16, detail: &str, path: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let b = r.json();
    assert_eq!(b["status"], status);
    assert_eq!(b["instance"], path, "{}", r.text);
    assert!(
        b["detail"].as_str().is_some_and(|d| d.starts_with(detail)),
        "expected detail starting with {detail:?}, got {}",
        r.text
    );
}

fn config() -> SimConfig {
    let mut c = common::fast_config();
    c.max_functions = 20;
    // The task examples target these cluster groups.
    c.catalogue.push(Backend {
        name: "ncp-local".into(),
        gpus: vec![gpu("H100", &["NCP.GPU.H100_1x"])],
    });
    c.catalogue.push(Backend {
        name: "GFN".into(),
        gpus: vec![gpu("H100", &["GPU.H100_1x"])],
    });
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_upstream_example_is_accepted_or_rejected_as_documented() {
    let sim = common::start(config()).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();
    let mut seen = BTreeSet::new();
    let mut done = |name: &str| seen.insert(name.to_string());

    // --- function create ---
    for name in [
        "create-function.json",
        "create-function-advanced-health.json",
        "create-function-full-health.json",
        "create-function-with-secrets.json",
        "create-function-with-secret-values-fixed.json",
    ] {
        let body = example(name);
        let r = c
            .send(
                "POST",
                "api",
                "/v2/nvcf/functions",
                Some(&admin),
                Some(&body),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text);
        let f = r.json()["function"].clone();
        assert_eq!(f["name"], body["name"], "{name}");
        assert_eq!(f["status"], "INACTIVE");
        assert_eq!(f["health"], body["health"], "{name}");
        assert!(
            f.get("authorizedParties").is_none(),
            "unknown request fields are ignored"
        );
        done(name);
    }
    let helm = example("create-function-helm-nvcf-test-func.json");
    let r = c
        .send(
            "POST",
            "api",
            "/v2/nvcf/functions",
            Some(&admin),
            Some(&helm),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let helm_fn = r.json()["function"].clone();
    assert_eq!(helm_fn["helmChartServiceName"], "nvcf-test-func");
    done("create-function-helm-nvcf-test-func.json");

    // Secrets without values fail bean validation before any service-level check.
    let r = c
        .send(
            "POST",
            "api",
            "/v2/nvcf/functions",
            Some(&admin),
            Some(&example("create-function-with-advanced-features.json")),
            &[],
        )
        .await;
    assert_problem(
        &r,
        400,
        "Validation failed: [object=createFunctionRequest, field=secrets[].value",
        "/v2/nvcf/functions",
    );
    // With values, the model without `version` is next (non-LLM models need version and uri).
    let mut fixed = example("create-function-with-advanced-features.json");
    fixed["secrets"] =
        json!([{"name": "api-key", "value": "x"}, {"name": "db-password", "value": "y"}]);
    let r = c
        .send(
            "POST",
            "api",
            "/v2/nvcf/functions",
            Some(&admin),
            Some(&fixed),
            &[],
        )
        .await;
    assert_problem(
        &r,
        400,
        "Invalid request: non-LLM function models must specify both 'version' and 'uri'",
        "/v2/nvcf/functions",
    );
    done("create-function-with-advanced-features.json");

    // `OPENAI_CHAT` is not an ApiBodyFormat: Jackson rejects the body (endpoints.md §9.5).
    let llm = example("create-llm-function-routing-method.json");
    let r = c
        .send(
            "POST",
            "api",
            "/v2/nvcf/functions",
            Some(&admin),
            Some(&llm),
            &[],
        )
        .await;
    assert_problem(&r, 400, "Failed to read request", "/v2/nvcf/functions");
    assert_eq!(r.json()["type"], "about:blank");
    let mut llm_ok = llm.clone();
    llm_ok["apiBodyFormat"] = json!("CUSTOM");
    let (llm_fid, llm_vid) = c.create_function(&admin, llm_ok).await;
    done("create-llm-function-routing-method.json");

    // --- metadata update: the example's ids are not UUIDs; its body works on a real LLM function ---
    let meta = example("update-metadata.json");
    let path = format!(
        "/v2/nvcf/functions/{}/versions/{}",
        meta["functionId"].as_str().unwrap_or_default(),
        meta["versionId"].as_str().unwrap_or_default()
    );
    let update = without(meta.clone(), &["functionId", "versionId"]);
    let r = c
        .send("PUT", "api", &path, Some(&admin), Some(&update), &[])
        .await;
    assert_problem(
        &r,
        400,
        "Failed to convert 'functionId' with value: 'func-12345678-1234-1234-1234-123456789abc'",
        &path,
    );
    let real = format!("/v2/nvcf/functions/{llm_fid}/versions/{llm_vid}");
    let r = c
        .send("PUT", "api", &real, Some(&admin), Some(&update), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let f = r.json()["function"].clone();
    assert_eq!(f["tags"], meta["tags"]);
    assert_eq!(
        f["models"][0]["llmConfig"]["tokenRateLimit"],
        "1000-S,5000-M,100000-H,500000-D,1000000-W"
    );
    done("update-metadata.json");

    // --- deployments ---
    let (echo_fid, echo_vid) = c
        .create_function(
            &admin,
            json!({"name": "echo", "inferenceUrl": "/echo", "containerImage": "nvcr.io/x/echo:1"}),
        )
        .await;
    for (name, expect) in [
        ("deploy-function.json", Ok::<&str, &str>("DEPLOYING")),
        ("deploy.json", Err("Invalid Backend 'NCP' specified")),
        ("deploy-function-helm.json", Ok("DEPLOYING")),
    ] {
        let ex = example(name);
        let path = format!(
            "/v2/nvcf/deployments/functions/{}/versions/{}",
            ex["functionId"].as_str().unwrap_or_default(),
            ex["versionId"].as_str().unwrap_or_default()
        );
        let body = without(ex.clone(), &["functionId", "versionId"]);
        let r = c
            .send("POST", "api", &path, Some(&admin), Some(&body), &[])
            .await;
        let shown = ex["functionId"].as_str().unwrap_or_default();
        assert_problem(
            &r,
            400,
            &format!("Failed to convert 'functionId' with value: '{shown}'"),
            &path,
        );

        let (fid, vid) = if name.contains("helm") {
            (
                helm_fn["id"].as_str().unwrap_or_default().to_string(),
                helm_fn["versionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        } else if name == "deploy.json" {
            c.create_function(&admin, json!({"name": "echo-b", "inferenceUrl": "/echo", "containerImage": "nvcr.io/x/echo:1"})).await
        } else {
            (echo_fid.clone(), echo_vid.clone())
        };
        let real = format!("/v2/nvcf/deployments/functions/{fid}/versions/{vid}");
        let r = c
            .send("POST", "api", &real, Some(&admin), Some(&body), &[])
            .await;
        match expect {
            Ok(status) => {
                assert_eq!(r.status, 200, "{name}: {}", r.text);
                assert_eq!(r.json()["deployment"]["functionStatus"], status);
            }
            Err(detail) => assert_problem(
                &r,
                400,
                &format!("Function id '{fid}', version '{vid}': {detail}"),
                &real,
            ),
        }
        done(name);
    }
    // The helm spec's `configuration` is refused for a container function.
    let (cfid, cvid) = c.create_function(&admin, json!({"name": "echo-c", "inferenceUrl": "/echo", "containerImage": "nvcr.io/x/echo:1"})).await;
    let helm_specs = without(
        example("deploy-function-helm.json"),
        &["functionId", "versionId"],
    );
    let real = format!("/v2/nvcf/deployments/functions/{cfid}/versions/{cvid}");
    let r = c
        .send("POST", "api", &real, Some(&admin), Some(&helm_specs), &[])
        .await;
    assert_problem(
        &r,
        400,
        &format!(
            "Function id '{cfid}', version '{cvid}': The configuration field in Gpu specification should be empty"
        ),
        &real,
    );

    let upd = example("update-deployment.json");
    let (zf, zv) = (
        upd["functionId"].as_str().unwrap_or_default(),
        upd["versionId"].as_str().unwrap_or_default(),
    );
    let path = format!("/v2/nvcf/deployments/functions/{zf}/versions/{zv}");
    let body = json!({"deploymentSpecifications": [{"gpu": upd["gpu"], "instanceType": upd["instanceType"], "minInstances": upd["minInstances"], "maxInstances": upd["maxInstances"]}]});
    let r = c
        .send("PUT", "api", &path, Some(&admin), Some(&body), &[])
        .await;
    assert_problem(
        &r,
        404,
        &format!("Function id '{zf}', version '{zv}': Not found in account 'nvcf-default'"),
        &path,
    );
    done("update-deployment.json");

    for name in ["delete-deployment.json", "delete-function.json"] {
        let ex = example(name);
        let (f, v) = (
            ex["functionId"].as_str().unwrap_or_default(),
            ex["versionId"].as_str().unwrap_or_default(),
        );
        let path = if ex["deleteDeploymentOnly"] == true {
            format!(
                "/v2/nvcf/deployments/functions/{f}/versions/{v}?graceful={}",
                ex["graceful"]
            )
        } else {
            format!("/v2/nvcf/functions/{f}/versions/{v}")
        };
        let r = c
            .send("DELETE", "api", &path, Some(&admin), None, &[])
            .await;
        assert_problem(
            &r,
            400,
            &format!("Failed to convert 'functionId' with value: '{f}'"),
            path.split('?').next().unwrap_or_default(),
        );
        done(name);
    }

    // --- invocation: the example ids do not exist in the account ---
    let key = c.invoke_key().await;
    let inv = example("invoke-function.json");
    let (f, v) = (
        inv["functionId"].as_str().unwrap_or_default(),
        inv["versionId"].as_str().unwrap_or_default(),
    );
    let r = c
        .send(
            "POST",
            "invocation",
            &format!("/v2/nvcf/pexec/functions/{f}/versions/{v}"),
            Some(&key),
            Some(&inv["requestBody"]),
            &[],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(
        r.json()["detail"],
        format!(
            "Function id '{f}' version '{v}': Specified function in account 'nvcf-default' is not found"
        )
    );
    assert_eq!(r.header("nvcf-status").as_deref(), Some("errored"));
    done("invoke-function.json");
    // gRPC goes to the proxy with `function-id` metadata; the simulator serves the same
    // target over HTTP pass-through with the equivalent headers.
    let grpc = example("invoke-function-grpc.json");
    let (f, v) = (
        grpc["functionId"].as_str().unwrap_or_default(),
        grpc["versionId"].as_str().unwrap_or_default(),
    );
    let r = c
        .send(
            "POST",
            "invocation",
            "/Echo/EchoMessage",
            Some(&key),
            Some(&grpc["requestBody"]),
            &[("function-id", f), ("function-version-id", v)],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(r.json()["detail"].as_str().is_some_and(|d| d.contains(f)));
    done("invoke-function-grpc.json");

    // --- tasks ---
    let tkey = c.task_key().await;
    let mut first_task = String::new();
    for name in [
        "create-task.json",
        "create-task-helm.json",
        "create-task-with-results.json",
    ] {
        let body = example(name);
        let r = c
            .send(
                "POST",
                "tasks",
                "/v1/nvct/tasks",
                Some(&tkey),
                Some(&body),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text);
        let t = r.json()["task"].clone();
        assert_eq!(t["status"], "QUEUED");
        assert_eq!(t["name"], body["name"]);
        if first_task.is_empty() {
            first_task = t["id"].as_str().unwrap_or_default().to_string();
        }
        done(name);
    }
    let r = c
        .send(
            "POST",
            "tasks",
            "/v1/nvct/tasks/bulk",
            Some(&tkey),
            Some(&example("bulk-tasks.json")),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"ncaId": "nvcf-default", "tasks": []}));
    done("bulk-tasks.json");
    let r = c
        .send(
            "PUT",
            "tasks",
            &format!("/v1/nvct/secrets/tasks/{first_task}"),
            Some(&tkey),
            Some(&example("update-task-secrets.json")),
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    done("update-task-secrets.json");

    // Every file in the folder has an expectation above.
    let all: BTreeSet<String> = std::fs::read_dir(examples_dir())
        .expect("examples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(all, seen, "examples without an expectation");
    sim.assert_no_violations();
}

/// The vendored copies must match the shared reference when it is present beside the repo.
#[test]
fn vendored_examples_match_the_shared_reference() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/upstream-cli/examples");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return;
    };
    for e in entries {
        let e = e.expect("entry");
        if e.path().extension().is_none_or(|x| x != "json") {
            continue;
        }
        let ours = std::fs::read_to_string(examples_dir().join(e.file_name())).unwrap_or_default();
        let theirs = std::fs::read_to_string(e.path()).expect("shared example");
        assert!(
            ours == theirs,
            "{:?} is missing or differs from the shared reference; copy it again",
            e.file_name()
        );
    }
}
