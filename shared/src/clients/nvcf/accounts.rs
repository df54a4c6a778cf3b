//! Super-admin account management (`/v2/nvcf/accounts`, scope `account_setup`), behind
//! upstream's `NVCF_CLI_ENABLE_ADMIN` gate. Only the admin JWT is accepted.

use super::apikeys::seg;
use super::client::Client;
use super::credentials::Bearer;
use super::endpoints::Service;
use super::input::{parse_checked, read_checked, shapes};
use crate::base::error::{Category, Error, Result};
use reqwest::Method;
use serde_json::Value;
use std::path::Path;

/// The variable that makes the `admin` commands available, as upstream.
pub const ENABLE_ENV: &str = "NVCF_CLI_ENABLE_ADMIN";

pub struct Accounts<'a> {
    pub client: &'a Client,
}

impl Accounts<'_> {
    fn require_token(&self) -> Result<()> {
        if self.client.credentials().token.is_none() {
            return Err(Error::new(
                Category::Auth,
                "admin commands need the admin token with the account_setup scope; an API key is not accepted",
            )
            .hint("pass --token or set NVCF_TOKEN"));
        }
        Ok(())
    }

    pub async fn list(&self) -> Result<Value> {
        self.require_token()?;
        let req = self
            .client
            .request(Service::Api, Method::GET, "/v2/nvcf/accounts")
            .bearer(Bearer::Admin);
        self.client.json(&req).await
    }

    /// `PATCH` with at least one field; returns the updated account.
    pub async fn update(&self, nca_id: &str, body: &Value) -> Result<Value> {
        self.require_token()?;
        let req = self
            .client
            .request(
                Service::Api,
                Method::PATCH,
                format!("/v2/nvcf/accounts/{}", seg(nca_id)),
            )
            .bearer(Bearer::Admin)
            .json(body)?;
        let v: Value = self.client.json(&req).await?;
        Ok(v.get("account").cloned().unwrap_or(v))
    }

    /// Queue depths of another account's function (every version, or `vid`'s).
    pub async fn queues(&self, nca_id: &str, fid: &str, vid: Option<&str>) -> Result<Value> {
        self.require_token()?;
        let mut path = format!(
            "/v2/nvcf/accounts/{}/queues/functions/{}",
            seg(nca_id),
            seg(fid)
        );
        if let Some(v) = vid {
            path.push_str(&format!("/versions/{}", seg(v)));
        }
        let req = self
            .client
            .request(Service::Api, Method::GET, path)
            .bearer(Bearer::Admin);
        self.client.json(&req).await
    }

    /// Replaces the secrets of another account's function version (`{"secrets": […]}`).
    pub async fn update_function_secrets(
        &self,
        nca_id: &str,
        fid: &str,
        vid: &str,
        body: &Value,
    ) -> Result<()> {
        self.put_secrets(
            format!(
                "/v2/nvcf/accounts/{}/secrets/functions/{}/versions/{}",
                seg(nca_id),
                seg(fid),
                seg(vid)
            ),
            body,
        )
        .await
    }

    /// Replaces the secrets of another account's telemetry endpoint.
    pub async fn update_telemetry_secrets(
        &self,
        nca_id: &str,
        tid: &str,
        body: &Value,
    ) -> Result<()> {
        self.put_secrets(
            format!(
                "/v2/nvcf/accounts/{}/secrets/telemetries/{}",
                seg(nca_id),
                seg(tid)
            ),
            body,
        )
        .await
    }

    async fn put_secrets(&self, path: String, body: &Value) -> Result<()> {
        self.require_token()?;
        let req = self
            .client
            .request(Service::Api, Method::PUT, path)
            .bearer(Bearer::Admin)
            .json(body)?;
        self.client.send(&req).await.map(drop)
    }
}

/// The secrets payload of `admin secrets update-*`: a file, or upstream's inline JSON.
/// Every value is registered with the output filter before anything is sent.
pub fn secrets_payload(input_file: Option<&Path>, inline: Option<&str>) -> Result<Value> {
    let body = match (input_file, inline) {
        (Some(path), None) => read_checked::<shapes::Secrets>(path)?,
        (None, Some(text)) => parse_checked::<shapes::Secrets>(text, "--secrets")?,
        (None, None) => {
            return Err(Error::usage("no secrets given")
                .hint("pass --input-file FILE with {\"secrets\": [{\"name\": …, \"value\": …}]}"));
        }
        (Some(_), Some(_)) => {
            return Err(
                Error::usage("--input-file and --secrets both given").hint("pass one of them")
            );
        }
    };
    let list = body["secrets"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return Err(Error::invalid_input("the secrets list is empty")
            .hint("give at least one {\"name\": …, \"value\": …}"));
    }
    for s in &list {
        match &s["value"] {
            Value::String(v) => crate::base::secret::register(v),
            other => crate::base::secret::register(&other.to_string()),
        }
    }
    Ok(body)
}
