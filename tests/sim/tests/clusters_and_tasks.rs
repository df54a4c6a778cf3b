//! ICMS/SIS cluster registration and NVCT task lifecycles, paging and errors.

mod common;

use std::time::Duration;

use common::Client;
use serde_json::{Value, json};

fn jwks(kid: &str, n: &str) -> String {
    json!({"keys": [{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"}]})
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_register_list_get_rotate_delete() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();
    let base = "/v1/accounts/nvcf-default/clusters";
    let register = json!({"clusterName": "gpu-a", "clusterGroupName": "gpu-a", "ncaId": "nvcf-default", "cloudProvider": "ON-PREM",
        "region": "US-WEST-1", "nvcaVersion": "0.0.0", "capabilities": ["DynamicGPUDiscovery"], "jwks": jwks("k1", "abc"),
        "oidcIssuer": "https://kubernetes.default.svc.cluster.local",
        "gpus": [{"name": "B200", "capacity": 8, "instanceTypes": [{"name": "ONPREM.GPU.B200_1x", "value": "ONPREM.GPU.B200_1x", "default": true}]}]});
    let r = c
        .send("POST", "sis", base, Some(&admin), Some(&register), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.json()["clusterId"]
        .as_str()
        .expect("clusterId")
        .to_string();
    assert!(r.json()["clusterGroupId"].is_string());

    let r = c
        .send("POST", "sis", base, Some(&admin), Some(&register), &[])
        .await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"error": "Cluster with clusterName gpu-a already exists"})
        )
    );
    let mut other = register.clone();
    other["clusterName"] = json!("gpu-b");
    let r = c
        .send("POST", "sis", base, Some(&admin), Some(&other), &[])
        .await;
    assert_eq!(r.status, 409, "same signing keys: {}", r.text);
    for (field, value, error) in [
        (
            "clusterName",
            json!("Bad_Name"),
            "Provided clusterName Bad_Name is not with RFC1123 subdomain format",
        ),
        (
            "region",
            json!("mars-1"),
            "The provided mars-1 region is not one of the supported regions",
        ),
        (
            "jwks",
            json!("{\"keys\":[{\"kty\":\"RSA\"}]}"),
            "Invalid JWKS format: ",
        ),
        (
            "clusterSource",
            json!("manual"),
            "The provided manual cluster source is not one of the supported sources",
        ),
    ] {
        let mut bad = register.clone();
        bad["clusterName"] = json!("gpu-c");
        bad[field] = value;
        let r = c
            .send("POST", "sis", base, Some(&admin), Some(&bad), &[])
            .await;
        assert_eq!(r.status, 400, "{field}: {}", r.text);
        assert!(
            r.json()["error"]
                .as_str()
                .is_some_and(|e| e.starts_with(error)),
            "{field}: {}",
            r.text
        );
    }

    let r = c.send("GET", "sis", base, Some(&admin), None, &[]).await;
    assert_eq!(r.status, 200);
    let list = r.json();
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "a JSON array of GetClusterResponse"
    );
    assert_eq!(
        (list[0]["status"].as_str(), list[0]["region"].as_str()),
        (Some("NOT_READY"), Some("us-west-1"))
    );
    assert!(list[0].get("jwks").is_none());
    let r = c
        .send(
            "GET",
            "sis",
            &format!("/v1/si/accounts/nvcf-default/clusters/{id}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(r.json()["clusterName"], "gpu-a");
    let r = c
        .send(
            "GET",
            "sis",
            &format!("/v1/accounts/other/clusters/{id}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.json()),
        (
            409,
            json!({"error": format!("other ncaId doesn't exists for {id} clusterId")})
        )
    );

    // NVCA's register/heartbeat, simulated: READY reads as UNHEALTHY without a healthy heartbeat.
    for (healthy, shown) in [(false, "UNHEALTHY"), (true, "READY")] {
        let r = c
            .send(
                "POST",
                "sim",
                &format!("/_sim/clusters/{id}/status"),
                None,
                Some(&json!({"status": "READY", "healthy": healthy})),
                &[],
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
        let r = c
            .send(
                "GET",
                "sis",
                &format!("{base}/{id}"),
                Some(&admin),
                None,
                &[],
            )
            .await;
        assert_eq!(r.json()["status"], shown);
        assert!(r.json()["nvcaLastConnected"].is_string());
    }

    // The registered GPUs become a deployment backend.
    let (fid, vid) = c
        .create_function(
            &admin,
            json!({"name": "b200", "inferenceUrl": "/echo", "containerImage": "nvcr.io/x/echo:1"}),
        )
        .await;
    let r = c.deploy(&admin, &fid, &vid, json!({"gpu": "b200", "instanceType": "ONPREM.GPU.B200_1x", "backend": "gpu-a", "minInstances": 1, "maxInstances": 1})).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let rotate = format!("/v1/nvca/clusters/{id}/jwks");
    let r = c
        .send(
            "PUT",
            "sis",
            &rotate,
            Some(&admin),
            Some(&json!({"jwks": jwks("k2", "def"), "oidcIssuer": " https://issuer.example "})),
            &[],
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    let r = c
        .send(
            "PUT",
            "sis",
            &rotate,
            Some(&admin),
            Some(&json!({"jwks": "x".repeat(65_537)})),
            &[],
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (413, ""));
    let r = c
        .send(
            "PUT",
            "sis",
            &rotate,
            Some(&admin),
            Some(&json!({"jwks": "{}"})),
            &[],
        )
        .await;
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("Invalid JWKS format"))
    );

    // Deleting the cluster with a running deployment on its group is refused.
    c.wait_active(&admin, &fid, &vid).await;
    let r = c
        .send(
            "DELETE",
            "sis",
            &format!("{base}/{id}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.json()["error"].as_str().is_some_and(|e| {
        e.starts_with("Cluster un-registration failed, terminate following active instances [")
    }));
    let r = c
        .send(
            "DELETE",
            "api",
            &format!("/v2/nvcf/deployments/functions/{fid}/versions/{vid}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(r.json()["function"]["status"], "INACTIVE");
    let r = c
        .send(
            "DELETE",
            "sis",
            &format!("{base}/{id}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    let r = c
        .send(
            "DELETE",
            "sis",
            &format!("{base}/{id}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"error": format!("Could not find any cluster registered with id {id}")})
        )
    );

    // ICMS error shapes for credentials.
    let r = c.send("GET", "sis", base, None, None, &[]).await;
    assert_eq!(r.status, 401);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("Authentication failure - "))
    );
    let key = c.invoke_key().await;
    let r = c.send("GET", "sis", base, Some(&key), None, &[]).await;
    assert_eq!(
        (r.status, r.json()),
        (403, json!({"error": "Access Denied"}))
    );
    sim.assert_no_violations();
}

async fn wait_status(c: &Client, key: &str, id: &str, want: &str) -> Value {
    for _ in 0..100 {
        let r = c
            .send(
                "GET",
                "tasks",
                &format!("/v1/nvct/tasks/{id}"),
                Some(key),
                None,
                &[],
            )
            .await;
        let t = r.json()["task"].clone();
        if t["status"] == want {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("task {id} never reached {want}");
}

fn task(name: &str, upload: bool) -> Value {
    let mut t = json!({"name": name, "gpuSpecification": {"gpu": "H100", "instanceType": "NCP.GPU.H100_1x"}, "containerImage": "nvcr.io/x/t:1", "resultHandlingStrategy": "NONE"});
    if upload {
        t["resultHandlingStrategy"] = json!("UPLOAD");
        t["resultsLocation"] = json!("org/team/model");
        t["secrets"] = json!([{"name": "NGC_API_KEY", "value": "nvapi-x"}]);
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_lifecycle_events_results_and_paging() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let key = c.task_key().await;

    // The admin JWT has no task scopes.
    let r = c
        .send(
            "GET",
            "tasks",
            "/v1/nvct/tasks",
            Some(&sim.admin_token()),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["detail"].as_str()),
        (403, Some("Access Denied"))
    );

    let r = c
        .send(
            "POST",
            "tasks",
            "/v1/nvct/tasks",
            Some(&key),
            Some(&task("t-upload", true)),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.json()["task"]["id"].as_str().expect("id").to_string();
    let done = wait_status(&c, &key, &id, "COMPLETED").await;
    assert_eq!(done["percentComplete"], 100);
    let r = c
        .send(
            "GET",
            "tasks",
            &format!("/v1/nvct/tasks/{id}/events"),
            Some(&key),
            None,
            &[],
        )
        .await;
    let messages: Vec<String> = r.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        messages,
        [
            "Changing status from 'QUEUED' to 'LAUNCHED'",
            "Changing status from 'LAUNCHED' to 'RUNNING'",
            "Changing status from 'RUNNING' to 'COMPLETED'",
        ]
    );
    let r = c
        .send(
            "GET",
            "tasks",
            &format!("/v1/nvct/tasks/{id}/results?limit=1"),
            Some(&key),
            None,
            &[],
        )
        .await;
    let page = r.json();
    assert_eq!(page["results"].as_array().map(Vec::len), Some(1));
    let cursor = page["cursor"]
        .as_str()
        .expect("a cursor while more exist")
        .to_string();
    assert!(cursor.chars().all(|ch| ch.is_ascii_hexdigit()));
    let r = c
        .send(
            "GET",
            "tasks",
            &format!("/v1/nvct/tasks/{id}/results?limit=1&cursor={cursor}"),
            Some(&key),
            None,
            &[],
        )
        .await;
    let last = r.json();
    assert_eq!(last["results"][0]["name"], "final");
    assert!(
        last.get("cursor").is_none() && last.get("limit").is_none(),
        "the last page has neither"
    );
    let r = c
        .send(
            "POST",
            "tasks",
            &format!("/v1/nvct/tasks/{id}/cancel"),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(
        r.json()["detail"],
        "Invalid request: Cannot cancel a Task with 'COMPLETED' terminal status"
    );

    // Status filter after paging: a page can be empty while a cursor remains.
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = c
            .send(
                "POST",
                "tasks",
                "/v1/nvct/tasks",
                Some(&key),
                Some(&task(&format!("q{i}"), false)),
                &[],
            )
            .await;
        ids.push(r.json()["task"]["id"].as_str().expect("id").to_string());
    }
    let r = c
        .send(
            "POST",
            "tasks",
            &format!("/v1/nvct/tasks/{}/cancel", ids[2]),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(r.json()["task"]["status"], "CANCELED");
    let r = c
        .send(
            "GET",
            "tasks",
            "/v1/nvct/tasks?limit=2&status=CANCELED",
            Some(&key),
            None,
            &[],
        )
        .await;
    let first = r.json();
    assert_eq!(first["tasks"].as_array().map(Vec::len), Some(0), "{first}");
    let cursor = first["cursor"].as_str().expect("cursor").to_string();
    let r = c
        .send(
            "GET",
            "tasks",
            &format!("/v1/nvct/tasks?limit=2&status=CANCELED&cursor={cursor}"),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(r.json()["tasks"][0]["id"], ids[2].as_str());
    let r = c
        .send(
            "GET",
            "tasks",
            "/v1/nvct/tasks?cursor=zz",
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["detail"].as_str()),
        (400, Some("Invalid cursor: 'zz'"))
    );

    let r = c
        .send(
            "DELETE",
            "tasks",
            &format!("/v1/nvct/tasks/{}", ids[0]),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    let r = c
        .send(
            "GET",
            "tasks",
            &format!("/v1/nvct/tasks/{}", ids[0]),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["detail"].as_str().map(str::to_string)),
        (
            404,
            Some(format!(
                "Task id '{}': Not found in account 'nvcf-default'",
                ids[0]
            ))
        )
    );

    for (body, detail) in [
        (
            {
                let mut t = task("u", true);
                t["secrets"] = json!([]);
                t
            },
            "Invalid request: Missing secrets with  default or UPLOAD 'resultHandlingStrategy'",
        ),
        (
            {
                let mut t = task("u", true);
                t["secrets"] = json!([{"name": "X", "value": "y"}]);
                t
            },
            "Invalid request: Missing 'NGC_API_KEY' secret key in the payload",
        ),
        (
            {
                let mut t = task("u", false);
                t["maxQueuedDuration"] = json!("PT0S");
                t
            },
            "Invalid request: 'maxQueuedDuration' cannot be of zero length",
        ),
        (
            {
                let mut t = task("u", false);
                t["maxRuntimeDuration"] = json!("PT10M");
                t
            },
            "Invalid request: 'terminationGracePeriodDuration' cannot exceed 'maxRuntimeDuration'",
        ),
        (
            {
                let mut t = task("u", false);
                t["gpuSpecification"]["gpu"] = json!("Z9");
                t
            },
            "Invalid request: Invalid GPU 'Z9' specified",
        ),
    ] {
        let r = c
            .send(
                "POST",
                "tasks",
                "/v1/nvct/tasks",
                Some(&key),
                Some(&body),
                &[],
            )
            .await;
        assert_eq!((r.status, r.json()["detail"].as_str()), (400, Some(detail)));
    }

    // Forced failure through the sim endpoint writes the error event.
    let r = c
        .send(
            "POST",
            "sim",
            &format!("/_sim/tasks/{}/status", ids[1]),
            None,
            Some(&json!({"status": "ERRORED", "error": "boom"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    let r = c
        .send(
            "GET",
            "tasks",
            &format!("/v1/nvct/tasks/{}/events", ids[1]),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert!(
        r.json()["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["message"]
                .as_str()
                .is_some_and(|m| m.ends_with("to 'ERRORED' with error 'boom'")))
    );
    sim.assert_no_violations();
}
