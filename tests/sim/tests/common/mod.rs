//! Helpers shared by the acceptance tests: a started simulator and a Host-routing client.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use nvcf_sim::{Sim, SimConfig};
use serde_json::{Value, json};

pub const NVCF_SERVICE_ID: &str = "nvidia-cloud-functions-ncp-service-id-aketm";
pub const NVCT_SERVICE_ID: &str = "nvidia-cloud-tasks-ncp-service-id-nvcttasks";

pub async fn start(config: SimConfig) -> Sim {
    Sim::start(config).await.expect("simulator starts")
}

pub fn fast_config() -> SimConfig {
    SimConfig {
        deploy_duration: Duration::from_millis(100),
        task_queue_duration: Duration::from_millis(100),
        task_launch_duration: Duration::from_millis(100),
        task_run_duration: Duration::from_millis(300),
        ..SimConfig::default()
    }
}

/// A reqwest client that talks to the sim's one port and picks the service with `Host`.
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub domain: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

impl Client {
    pub fn new(sim: &Sim) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: sim.url(),
            domain: sim.domain().to_string(),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        host_prefix: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let host = if host_prefix.is_empty() {
            self.domain.clone()
        } else {
            format!("{host_prefix}.{}", self.domain)
        };
        let mut req = self
            .http
            .request(
                method.parse().expect("method"),
                format!("{}{path}", self.url),
            )
            .header("host", host);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request reaches the sim");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        Reply {
            status,
            headers,
            text,
        }
    }

    pub async fn create_function(&self, token: &str, body: Value) -> (String, String) {
        let r = self
            .send(
                "POST",
                "api",
                "/v2/nvcf/functions",
                Some(token),
                Some(&body),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let f = r.json()["function"].clone();
        (
            f["id"].as_str().expect("id").to_string(),
            f["versionId"].as_str().expect("versionId").to_string(),
        )
    }

    pub async fn deploy(&self, token: &str, fid: &str, vid: &str, spec: Value) -> Reply {
        let path = format!("/v2/nvcf/deployments/functions/{fid}/versions/{vid}");
        self.send(
            "POST",
            "api",
            &path,
            Some(token),
            Some(&json!({"deploymentSpecifications": [spec]})),
            &[],
        )
        .await
    }

    pub async fn wait_active(&self, token: &str, fid: &str, vid: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self
                .send(
                    "GET",
                    "api",
                    &format!("/v2/nvcf/functions/{fid}/versions/{vid}"),
                    Some(token),
                    None,
                    &[],
                )
                .await;
            if r.json()["function"]["status"] == "ACTIVE" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "function never became ACTIVE: {}",
                r.text
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// An API key for `service_id` with the given scopes and resources.
    pub async fn api_key(
        &self,
        service_id: &str,
        product: &str,
        resources: Value,
        scopes: &[&str],
    ) -> String {
        let expires = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("time formats");
        let body = json!({"description": "test key", "expires_at": expires, "authorizations": {"policies": [{
            "aud": service_id, "auds": [service_id], "product": product, "resources": resources, "scopes": scopes}]}});
        let r = self
            .send(
                "POST",
                "api-keys",
                "/v1/keys",
                None,
                Some(&body),
                &[
                    ("Key-Issuer-Id", service_id),
                    ("Key-Owner-Id", "test@sim.local"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["value"].as_str().expect("value").to_string()
    }

    pub async fn invoke_key(&self) -> String {
        self.api_key(
            NVCF_SERVICE_ID,
            "nv-cloud-functions",
            json!([{"id": "*", "type": "account-functions"}]),
            &["invoke_function", "list_functions", "queue_details"],
        )
        .await
    }

    pub async fn task_key(&self) -> String {
        let scopes = [
            "launch_task",
            "list_tasks",
            "task_details",
            "cancel_task",
            "delete_task",
            "list_events",
            "list_results",
            "update_secrets",
        ];
        self.api_key(
            NVCT_SERVICE_ID,
            "nv-cloud-tasks",
            json!([{"id": "*", "type": "account-tasks"}]),
            &scopes,
        )
        .await
    }
}

/// An ACTIVE echo function; returns (function id, version id).
pub async fn active_echo(c: &Client, token: &str) -> (String, String) {
    let (fid, vid) = c
        .create_function(
            token,
            json!({"name": "echo", "inferenceUrl": "/echo", "containerImage": "nvcr.io/x/echo:1"}),
        )
        .await;
    let r = c.deploy(token, &fid, &vid, json!({"gpu": "A10G", "instanceType": "NCP.GPU.A10G_1x", "minInstances": 1, "maxInstances": 1})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    c.wait_active(token, &fid, &vid).await;
    (fid, vid)
}
