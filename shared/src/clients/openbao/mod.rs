//! OpenBao reached through the Kubernetes API server's service and pod proxy
//! (runbooks.md §7): no exec, no curl pods, no port to open. The proxy strips
//! `Authorization`, which OpenBao does not use: its token travels in `X-Vault-Token`.
//!
//! The root token is read from its Secret and kept in a [`Secret`], which registers it with
//! the redaction filter, so no error or log line can carry it.

use crate::base::error::{Category, Error, Raw, Result};
use crate::base::secret::Secret;
use crate::clients::kube::{Objects, from_kube};
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use serde::Deserialize;
use serde_json::Value;

/// Where the stack puts OpenBao (runbooks.md §1b).
pub const NAMESPACE: &str = "vault-system";
pub const SERVICE: &str = "openbao-server";
pub const PORT: u16 = 8200;
pub const ROOT_TOKEN_SECRET: &str = "openbao-server-root-token";
pub const ROOT_TOKEN_KEY: &str = "root_token";

/// One pod's `sys/seal-status`.
#[derive(Debug, Clone, Deserialize)]
pub struct SealStatus {
    pub sealed: bool,
    pub initialized: bool,
    #[serde(default)]
    pub version: String,
}

/// What a proxied call answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

pub struct OpenBao {
    client: kube::Client,
    pub namespace: String,
    pub service: String,
    pub port: u16,
    token: Option<Secret>,
}

impl OpenBao {
    pub fn new(client: kube::Client) -> OpenBao {
        OpenBao {
            client,
            namespace: NAMESPACE.into(),
            service: SERVICE.into(),
            port: PORT,
            token: None,
        }
    }

    /// Reads the root token from its Secret (API `get secrets`, never printed).
    pub async fn login_root(mut self) -> Result<OpenBao> {
        let secret = Objects::<KubeSecret>::namespaced(&self.client, &self.namespace)
            .get(ROOT_TOKEN_SECRET)
            .await?;
        let raw = secret
            .data
            .as_ref()
            .and_then(|d| d.get(ROOT_TOKEN_KEY))
            .map(|b| b.0.clone())
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                Error::new(
                    Category::ClusterState,
                    format!(
                        "Secret {}/{ROOT_TOKEN_SECRET} has no {ROOT_TOKEN_KEY} key",
                        self.namespace
                    ),
                )
                .hint("the OpenBao initialize-cluster Job writes it; check that the job ran: kubectl get jobs -n vault-system")
            })?;
        let token = String::from_utf8(raw).map_err(|_| {
            Error::new(
                Category::ClusterState,
                format!("the {ROOT_TOKEN_KEY} in {ROOT_TOKEN_SECRET} is not text"),
            )
        })?;
        self.token = Some(Secret::new(token.trim()));
        Ok(self)
    }

    fn service_path(&self, api: &str) -> String {
        format!(
            "/api/v1/namespaces/{}/services/{}:{}/proxy/v1/{api}",
            self.namespace, self.service, self.port
        )
    }

    fn pod_path(&self, pod: &str, api: &str) -> String {
        format!(
            "/api/v1/namespaces/{}/pods/{pod}:{}/proxy/v1/{api}",
            self.namespace, self.port
        )
    }

    async fn call(
        &self,
        method: http::Method,
        path: String,
        body: Option<&Value>,
    ) -> Result<Answer> {
        let what = format!("{method} {}", path.split("/proxy").nth(1).unwrap_or(&path));
        let mut req = http::Request::builder().method(method).uri(&path);
        if let Some(t) = &self.token {
            req = req.header("X-Vault-Token", t.expose());
        }
        let payload = match body {
            Some(b) => {
                req = req.header("Content-Type", "application/json");
                serde_json::to_vec(b).map_err(|e| Error::internal(format!("encode {what}: {e}")))?
            }
            None => Vec::new(),
        };
        let req = req
            .body(kube::client::Body::from(payload))
            .map_err(|e| Error::internal(format!("build {what}: {e}")))?;
        let reached = format!(
            "OpenBao ({}/{}:{}) through the API server proxy",
            self.namespace, self.service, self.port
        );
        let resp = self
            .client
            .send(req)
            .await
            .map_err(|e| from_kube(e, &format!("reach {reached}")))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| from_kube(e, &format!("read the answer of {reached}")))?;
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).trim().to_owned()));
        // A JSON object with `errors` (or any JSON) came from OpenBao; plain text or a
        // Kubernetes Status came from the API server, which could not reach it.
        let from_apiserver = body.get("kind").and_then(Value::as_str) == Some("Status")
            || body.is_string() && status >= 300;
        if from_apiserver {
            let message = body
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| body.as_str().unwrap_or_default().to_owned());
            let category = match status {
                403 => Category::Forbidden,
                404 => Category::NotFound,
                _ => Category::Network,
            };
            return Err(Error::new(category, format!("cannot reach {reached} for {what}: HTTP {status}: {message}"))
                .hint(match status {
                    403 => "your kube user needs create/get on services/proxy and pods/proxy in vault-system".to_owned(),
                    404 => format!("is OpenBao installed? kubectl get service {} -n {}", self.service, self.namespace),
                    _ => format!("check that OpenBao pods are running and the Service has endpoints: kubectl get endpointslices -n {} -l kubernetes.io/service-name={}", self.namespace, self.service),
                })
                .raw(Raw { http_status: status, ..Raw::default() }));
        }
        Ok(Answer { status, body })
    }

    /// An OpenBao error answer in the taxonomy.
    fn refused(&self, what: &str, a: &Answer) -> Error {
        let errors = a
            .body
            .get("errors")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let (category, hint) = match a.status {
            403 => (
                Category::Forbidden,
                "the root token from openbao-server-root-token was refused: has it been revoked or rotated?"
                    .to_owned(),
            ),
            503 => (
                Category::ClusterState,
                format!(
                    "OpenBao is sealed or on standby: check `{nvcf_cmd0}` (seal status per pod), then retry",
                    nvcf_cmd0 = crate::base::plugin::nvcf("ops health")
                ),
            ),
            400 if errors.contains("check-and-set") => (
                Category::Conflict,
                "the key data changed since it was read: re-run to plan against the new state"
                    .to_owned(),
            ),
            _ => (
                Category::ClusterState,
                "see the OpenBao server logs: kubectl logs -n vault-system openbao-server-0 -c openbao"
                    .to_owned(),
            ),
        };
        Error::new(
            category,
            format!(
                "OpenBao refused {what}: HTTP {}{}",
                a.status,
                if errors.is_empty() {
                    String::new()
                } else {
                    format!(": {errors}")
                }
            ),
        )
        .hint(hint)
        .raw(Raw {
            http_status: a.status,
            ..Raw::default()
        })
    }

    /// `sys/seal-status` of one pod (POD-PROXY; needs no token).
    pub async fn seal_status_of_pod(&self, pod: &str) -> Result<SealStatus> {
        let a = self
            .call(
                http::Method::GET,
                self.pod_path(pod, "sys/seal-status"),
                None,
            )
            .await?;
        if a.status != 200 {
            return Err(self.refused(&format!("seal-status of pod {pod}"), &a));
        }
        serde_json::from_value(a.body).map_err(|e| {
            Error::new(
                Category::ClusterState,
                format!("pod {pod} answered seal-status with an unexpected body: {e}"),
            )
        })
    }

    /// The CA certificate (PEM) of a PKI mount such as `services/all/pki/root`: raw PEM or
    /// JSON `data.certificate`. `None` when the mount has no CA (no route, no value).
    pub async fn pki_ca(&self, mount: &str) -> Result<Option<String>> {
        let a = self
            .call(
                http::Method::GET,
                self.service_path(&format!("{mount}/cert/ca")),
                None,
            )
            .await?;
        let text = a
            .body
            .pointer("/data/certificate")
            .and_then(Value::as_str)
            .or(a.body.as_str())
            .unwrap_or_default();
        match a.status {
            200 if text.contains("BEGIN CERTIFICATE") => Ok(Some(text.trim().to_owned() + "\n")),
            200 | 404 => Ok(None),
            _ if ["no handler for route", "unsupported path", "no value found"]
                .iter()
                .any(|m| a.body.to_string().contains(m)) =>
            {
                Ok(None)
            }
            _ => Err(self.refused(&format!("reading the CA of {mount}"), &a)),
        }
    }

    /// Reads a KV v2 secret: `data` and `metadata`, or `None` when it does not exist.
    pub async fn kv_get(&self, mount: &str, path: &str) -> Result<Option<KvEntry>> {
        let a = self
            .call(
                http::Method::GET,
                self.service_path(&format!("{mount}/data/{path}")),
                None,
            )
            .await?;
        match a.status {
            200 => {
                let data = a.body.pointer("/data/data").cloned().unwrap_or(Value::Null);
                let metadata = a
                    .body
                    .pointer("/data/metadata")
                    .cloned()
                    .unwrap_or(Value::Null);
                let version = metadata.get("version").and_then(Value::as_u64).unwrap_or(0);
                Ok(Some(KvEntry {
                    data,
                    metadata,
                    version,
                }))
            }
            404 => Ok(None),
            _ => Err(self.refused(&format!("reading {mount}/{path}"), &a)),
        }
    }

    /// Writes a KV v2 secret with check-and-set: `cas` is the version the plan was made
    /// against, so a concurrent change fails instead of being lost. Returns the new version.
    pub async fn kv_put(&self, mount: &str, path: &str, data: &Value, cas: u64) -> Result<u64> {
        let body = serde_json::json!({"data": data, "options": {"cas": cas}});
        let a = self
            .call(
                http::Method::POST,
                self.service_path(&format!("{mount}/data/{path}")),
                Some(&body),
            )
            .await?;
        if a.status != 200 && a.status != 204 {
            return Err(self.refused(&format!("writing {mount}/{path}"), &a));
        }
        Ok(a.body
            .pointer("/data/version")
            .and_then(Value::as_u64)
            .unwrap_or(cas + 1))
    }
}

/// A KV v2 read.
#[derive(Debug, Clone)]
pub struct KvEntry {
    pub data: Value,
    pub metadata: Value,
    pub version: u64,
}
