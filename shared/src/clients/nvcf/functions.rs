//! NVCF API: functions, versions, deployments and queues (`api.<domain>`, `/v2/nvcf`).
//!
//! Response types name the fields the CLI reads and keep every other field as it came, so
//! `-o json` shows the server's whole object.

use super::apikeys::seg;
use super::client::Client;
use super::credentials::Bearer;
use super::endpoints::Service;
use crate::base::error::Result;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    pub id: String,
    pub version_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_chart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub function_id: String,
    pub function_version_id: String,
    #[serde(default)]
    pub deployment_id: String,
    #[serde(default)]
    pub function_status: String,
    #[serde(default)]
    pub deployment_specifications: Vec<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Deserialize)]
struct OneFunction {
    function: Function,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionIds {
    #[serde(default)]
    function_ids: Vec<String>,
}
#[derive(Deserialize)]
struct ManyFunctions {
    #[serde(default)]
    functions: Vec<Function>,
}
#[derive(Deserialize)]
struct OneDeployment {
    deployment: Deployment,
}

pub struct Functions<'a> {
    pub client: &'a Client,
}

impl<'a> Functions<'a> {
    fn req(&self, method: Method, path: String) -> super::client::Request {
        self.client.request(Service::Api, method, path)
    }

    /// `POST /v2/nvcf/functions`, or a new version of `existing` when given.
    pub async fn create(&self, body: &Value, existing: Option<&str>) -> Result<Function> {
        let path = match existing {
            Some(fid) => format!("/v2/nvcf/functions/{}/versions", seg(fid)),
            None => "/v2/nvcf/functions".into(),
        };
        let req = self.req(Method::POST, path).json(body)?;
        Ok(self.client.json::<OneFunction>(&req).await?.function)
    }

    pub async fn list(&self, visibility: &[String]) -> Result<Vec<Function>> {
        let mut req = self
            .req(Method::GET, "/v2/nvcf/functions".into())
            .bearer(Bearer::Function);
        if !visibility.is_empty() {
            req = req.query("visibility", visibility.join(","));
        }
        Ok(self.client.json::<ManyFunctions>(&req).await?.functions)
    }

    /// The ids of every function the caller may see (`GET /v2/nvcf/functions/ids`).
    pub async fn ids(&self, visibility: &[String]) -> Result<Vec<String>> {
        let mut req = self
            .req(Method::GET, "/v2/nvcf/functions/ids".into())
            .bearer(Bearer::Function);
        if !visibility.is_empty() {
            req = req.query("visibility", visibility.join(","));
        }
        Ok(self.client.json::<FunctionIds>(&req).await?.function_ids)
    }

    pub async fn versions(&self, fid: &str) -> Result<Vec<Function>> {
        let req = self
            .req(
                Method::GET,
                format!("/v2/nvcf/functions/{}/versions", seg(fid)),
            )
            .bearer(Bearer::Function);
        Ok(self.client.json::<ManyFunctions>(&req).await?.functions)
    }

    pub async fn get(&self, fid: &str, vid: &str, include_secrets: bool) -> Result<Function> {
        let mut req = self
            .req(
                Method::GET,
                format!("/v2/nvcf/functions/{}/versions/{}", seg(fid), seg(vid)),
            )
            .bearer(Bearer::Function);
        if include_secrets {
            req = req.query("includeSecrets", "true");
        }
        Ok(self.client.json::<OneFunction>(&req).await?.function)
    }

    pub async fn update(&self, fid: &str, vid: &str, body: &Value) -> Result<Function> {
        let req = self
            .req(
                Method::PUT,
                format!("/v2/nvcf/functions/{}/versions/{}", seg(fid), seg(vid)),
            )
            .json(body)?;
        Ok(self.client.json::<OneFunction>(&req).await?.function)
    }

    pub async fn delete(&self, fid: &str, vid: &str) -> Result<()> {
        let req = self.req(
            Method::DELETE,
            format!("/v2/nvcf/functions/{}/versions/{}", seg(fid), seg(vid)),
        );
        self.client.send(&req).await.map(drop)
    }

    fn deployment_path(fid: &str, vid: &str) -> String {
        format!(
            "/v2/nvcf/deployments/functions/{}/versions/{}",
            seg(fid),
            seg(vid)
        )
    }

    pub async fn deploy(&self, fid: &str, vid: &str, specs: &[Value]) -> Result<Deployment> {
        let body = serde_json::json!({ "deploymentSpecifications": specs });
        let req = self
            .req(Method::POST, Self::deployment_path(fid, vid))
            .json(&body)?;
        Ok(self.client.json::<OneDeployment>(&req).await?.deployment)
    }

    pub async fn deployment(&self, fid: &str, vid: &str) -> Result<Deployment> {
        let req = self.req(Method::GET, Self::deployment_path(fid, vid));
        Ok(self.client.json::<OneDeployment>(&req).await?.deployment)
    }

    /// `PATCH /deployments/{id}/gpu-specifications/{specId}`; returns the new spec.
    pub async fn update_gpu_spec(
        &self,
        deployment_id: &str,
        spec_id: &str,
        body: &Value,
    ) -> Result<Value> {
        let req = self
            .req(
                Method::PATCH,
                format!(
                    "/v2/nvcf/deployments/{}/gpu-specifications/{}",
                    seg(deployment_id),
                    seg(spec_id)
                ),
            )
            .json(body)?;
        let v: Value = self.client.json(&req).await?;
        Ok(v.get("gpuSpecification").cloned().unwrap_or(v))
    }

    /// `DELETE` the deployment; the version goes back to `INACTIVE`.
    pub async fn undeploy(&self, fid: &str, vid: &str, graceful: bool) -> Result<Function> {
        let req = self
            .req(Method::DELETE, Self::deployment_path(fid, vid))
            .query("graceful", graceful);
        Ok(self.client.json::<OneFunction>(&req).await?.function)
    }

    /// Queue depth per version (`queueDepth` on the server; upstream's CLI misreads it).
    pub async fn queue(&self, fid: &str, vid: Option<&str>) -> Result<Value> {
        let path = match vid {
            Some(v) => format!("/v2/nvcf/queues/functions/{}/versions/{}", seg(fid), seg(v)),
            None => format!("/v2/nvcf/queues/functions/{}", seg(fid)),
        };
        let req = self.req(Method::GET, path).bearer(Bearer::Function);
        self.client.json(&req).await
    }

    /// A request's position (`positionInQueue` on the server).
    pub async fn queue_position(&self, request_id: &str) -> Result<Value> {
        let req = self
            .req(
                Method::GET,
                format!("/v2/nvcf/queues/{}/position", seg(request_id)),
            )
            .bearer(Bearer::Function);
        self.client.json(&req).await
    }
}
