//! ICMS/SIS cluster registration (`sis.<domain>`), as `kubectl nvca` needs it: register,
//! list, get, delete and JWKS rotation. Always with the admin JWT (`cluster-management`).

use super::apikeys::seg;
use super::client::Client;
use super::credentials::Bearer;
use super::endpoints::Service;
use crate::base::error::Result;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What `cluster register` sends (contracts/endpoints.md §6.1, `ClusterCreationRequest`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRegistration {
    pub cluster_name: String,
    pub cluster_group_name: String,
    pub nca_id: String,
    pub cloud_provider: String,
    pub region: String,
    pub nvca_version: String,
    pub capabilities: Vec<String>,
    /// The JWKS document as a JSON string, not a nested object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_issuer: Option<String>,
}

impl ClusterRegistration {
    /// Upstream's defaults for a self-managed cluster: group named like the cluster,
    /// `ON-PREM`, `nvcaVersion` `0.0.0`, dynamic GPU discovery.
    pub fn self_managed(name: &str, nca_id: &str, region: &str) -> ClusterRegistration {
        ClusterRegistration {
            cluster_name: name.to_owned(),
            cluster_group_name: name.to_owned(),
            nca_id: nca_id.to_owned(),
            cloud_provider: "ON-PREM".into(),
            region: region.to_owned(),
            nvca_version: "0.0.0".into(),
            capabilities: vec!["DynamicGPUDiscovery".into()],
            jwks: None,
            oidc_issuer: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    pub cluster_id: String,
    #[serde(default)]
    pub cluster_group_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub cluster_id: String,
    #[serde(default)]
    pub cluster_name: String,
    #[serde(default)]
    pub cluster_group_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub nvca_version: Option<String>,
    #[serde(default)]
    pub nvca_last_connected: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

pub struct Sis<'a> {
    pub client: &'a Client,
}

impl Sis<'_> {
    fn req(&self, method: Method, path: String) -> super::client::Request {
        self.client
            .request(Service::Sis, method, path)
            .bearer(Bearer::Admin)
    }

    pub async fn register(&self, reg: &ClusterRegistration) -> Result<Registered> {
        let req = self
            .req(
                Method::POST,
                format!("/v1/accounts/{}/clusters", seg(&reg.nca_id)),
            )
            .json(reg)?;
        self.client.json(&req).await
    }

    /// The account's clusters (a bare JSON array on the wire).
    pub async fn list(&self, nca_id: &str) -> Result<Vec<Cluster>> {
        let req = self.req(
            Method::GET,
            format!("/v1/accounts/{}/clusters", seg(nca_id)),
        );
        self.client.json(&req).await
    }

    pub async fn get(&self, nca_id: &str, cluster_id: &str) -> Result<Cluster> {
        let req = self.req(
            Method::GET,
            format!("/v1/accounts/{}/clusters/{}", seg(nca_id), seg(cluster_id)),
        );
        self.client.json(&req).await
    }

    /// Deregisters; 409 while the cluster still runs instances.
    pub async fn delete(&self, nca_id: &str, cluster_id: &str) -> Result<()> {
        let req = self.req(
            Method::DELETE,
            format!("/v1/accounts/{}/clusters/{}", seg(nca_id), seg(cluster_id)),
        );
        self.client.send(&req).await.map(drop)
    }

    /// Replaces the cluster's signing keys; a blank issuer keeps the stored one.
    pub async fn rotate_jwks(
        &self,
        cluster_id: &str,
        jwks: &str,
        oidc_issuer: Option<&str>,
    ) -> Result<()> {
        let mut body = serde_json::json!({ "jwks": jwks });
        if let Some(i) = oidc_issuer {
            body["oidcIssuer"] = Value::String(i.to_owned());
        }
        let req = self
            .req(
                Method::PUT,
                format!("/v1/nvca/clusters/{}/jwks", seg(cluster_id)),
            )
            .json(&body)?;
        self.client.send(&req).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_sends_jwks_as_a_string() {
        let mut r = ClusterRegistration::self_managed("gpu-a", "nvcf-default", "us-west-1");
        r.jwks = Some(r#"{"keys":[]}"#.into());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["clusterGroupName"], "gpu-a");
        assert_eq!(v["cloudProvider"], "ON-PREM");
        assert_eq!(v["jwks"], r#"{"keys":[]}"#);
        assert!(v.get("oidcIssuer").is_none());
    }
}
