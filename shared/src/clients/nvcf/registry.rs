//! Registry credentials (`/v2/nvcf/registry-credentials`, scope `manage_registry_credentials`).

use super::apikeys::seg;
use super::client::Client;
use super::endpoints::Service;
use crate::base::error::Result;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCredential {
    pub registry_credential_id: String,
    #[serde(default)]
    pub registry_hostname: String,
    #[serde(default)]
    pub artifact_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_by: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct One {
    registry_credential: RegistryCredential,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Many {
    #[serde(default)]
    registry_credentials: Vec<RegistryCredential>,
}

pub struct Registries<'a> {
    pub client: &'a Client,
}

const BASE: &str = "/v2/nvcf/registry-credentials";

impl<'a> Registries<'a> {
    pub async fn list(
        &self,
        artifact_types: &[String],
        provisioned_by: &[String],
    ) -> Result<Vec<RegistryCredential>> {
        let mut req = self.client.request(Service::Api, Method::GET, BASE);
        for t in artifact_types {
            req = req.query("artifactType", t);
        }
        for p in provisioned_by {
            req = req.query("provisionedBy", p);
        }
        Ok(self.client.json::<Many>(&req).await?.registry_credentials)
    }

    pub async fn add(&self, body: &Value) -> Result<RegistryCredential> {
        let req = self
            .client
            .request(Service::Api, Method::POST, BASE)
            .json(body)?;
        Ok(self.client.json::<One>(&req).await?.registry_credential)
    }

    pub async fn get(&self, id: &str) -> Result<RegistryCredential> {
        let req = self
            .client
            .request(Service::Api, Method::GET, format!("{BASE}/{}", seg(id)));
        Ok(self.client.json::<One>(&req).await?.registry_credential)
    }

    pub async fn update(&self, id: &str, body: &Value) -> Result<RegistryCredential> {
        let req = self
            .client
            .request(Service::Api, Method::PATCH, format!("{BASE}/{}", seg(id)))
            .json(body)?;
        Ok(self.client.json::<One>(&req).await?.registry_credential)
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        let req = self
            .client
            .request(Service::Api, Method::DELETE, format!("{BASE}/{}", seg(id)));
        self.client.send(&req).await.map(drop)
    }

    pub async fn recognized(&self) -> Result<Value> {
        let req = self
            .client
            .request(Service::Api, Method::GET, "/v2/nvcf/recognized-registries");
        self.client.json(&req).await
    }
}
