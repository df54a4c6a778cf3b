//! Super-admin account management (`/v2/nvcf/accounts`, scope `account_setup`), behind
//! upstream's `NVCF_CLI_ENABLE_ADMIN` gate. Only the admin JWT is accepted.

use super::apikeys::seg;
use super::client::Client;
use super::credentials::Bearer;
use super::endpoints::Service;
use crate::error::{Category, Error, Result};
use reqwest::Method;
use serde_json::Value;

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
}
