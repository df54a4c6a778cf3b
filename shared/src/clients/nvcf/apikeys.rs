//! The admin token issuer (`POST /v1/admin/keys`) and the api-keys service (`/v1/keys`).
//!
//! api-keys identifies the caller by the `Key-Issuer-Id` / `Key-Owner-Id` headers, not by
//! the bearer, and speaks snake_case (contracts/endpoints.md §2).

use super::client::{Client, decode};
use super::credentials::Bearer;
use super::endpoints::Service;
use crate::base::error::{Error, Result};
use crate::base::secret::Secret;
use reqwest::Method;
use reqwest::header::HeaderName;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Which service a key is for; each has its own issuer identity and default policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyFor {
    Function,
    Task,
}

impl KeyFor {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyFor::Function => "function",
            KeyFor::Task => "task",
        }
    }
    pub fn default_scopes(self) -> &'static [&'static str] {
        match self {
            KeyFor::Function => &[
                "invoke_function",
                "list_functions",
                "queue_details",
                "list_functions_details",
            ],
            KeyFor::Task => &[
                "launch_task",
                "list_tasks",
                "task_details",
                "cancel_task",
                "delete_task",
                "list_events",
                "list_results",
                "update_secrets",
            ],
        }
    }
    fn product(self) -> &'static str {
        match self {
            KeyFor::Function => "nv-cloud-functions",
            KeyFor::Task => "nv-cloud-tasks",
        }
    }
    fn resources(self) -> Value {
        match self {
            KeyFor::Function => json!([
                {"id": "*", "type": "account-functions"},
                {"id": "*", "type": "authorized-functions"}
            ]),
            KeyFor::Task => json!([{"id": "*", "type": "account-tasks"}]),
        }
    }
}

/// The issuer identity api-keys reads from headers.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub service_id: String,
    pub issuer_service: String,
    pub owner_id: String,
}

impl Issuer {
    pub fn from_settings(s: &crate::model::settings::Settings, what: KeyFor) -> Issuer {
        let (id, svc, owner) = match what {
            KeyFor::Function => (
                "api_keys_service_id",
                "api_keys_issuer_service",
                "api_keys_owner_id",
            ),
            KeyFor::Task => (
                "api_keys_nvct_service_id",
                "api_keys_nvct_issuer_service",
                "api_keys_nvct_owner_id",
            ),
        };
        Issuer {
            service_id: s.get(id).to_owned(),
            issuer_service: s.get(svc).to_owned(),
            owner_id: s.get(owner).to_owned(),
        }
    }
}

/// A key as api-keys returns it. `value` is the full key only right after creation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyDto {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Secret>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
}

pub struct ApiKeys<'a> {
    pub client: &'a Client,
}

impl<'a> ApiKeys<'a> {
    fn headers(&self, req: super::client::Request, issuer: &Issuer) -> super::client::Request {
        req.header(
            HeaderName::from_static("key-issuer-service"),
            &issuer.issuer_service,
        )
        .header(HeaderName::from_static("key-issuer-id"), &issuer.service_id)
        .header(HeaderName::from_static("key-owner-id"), &issuer.owner_id)
    }

    pub async fn create(
        &self,
        issuer: &Issuer,
        what: KeyFor,
        description: &str,
        expires_at: &str,
        scopes: &[String],
    ) -> Result<KeyDto> {
        let body = json!({
            "description": description,
            "expires_at": expires_at,
            "authorizations": {"policies": [{
                "aud": issuer.service_id,
                "auds": [issuer.service_id],
                "product": what.product(),
                "resources": what.resources(),
                "scopes": scopes,
            }]},
            "audience_service_ids": [issuer.service_id],
        });
        let req = self.headers(
            self.client
                .request(Service::ApiKeys, Method::POST, "/v1/keys")
                .json(&body)?,
            issuer,
        );
        self.client.json(&req).await
    }

    pub async fn list(&self, issuer: &Issuer) -> Result<Vec<KeyDto>> {
        #[derive(Deserialize)]
        struct Keys {
            #[serde(default)]
            keys: Vec<KeyDto>,
        }
        let req = self.headers(
            self.client
                .request(Service::ApiKeys, Method::GET, "/v1/keys"),
            issuer,
        );
        let resp = self.client.send(&req).await?;
        Ok(decode::<Keys>(&resp.body, "api-keys list")?.keys)
    }

    /// `DELETE /v1/keys/{id}`, without a bearer as upstream sends it.
    pub async fn delete(&self, issuer: &Issuer, id: &str) -> Result<()> {
        let req = self.headers(
            self.client
                .request(
                    Service::ApiKeys,
                    Method::DELETE,
                    format!("/v1/keys/{}", seg(id)),
                )
                .bearer(Bearer::None),
            issuer,
        );
        self.client.send(&req).await.map(drop)
    }
}

/// Percent-encodes one path segment so an id can never add path components.
pub fn seg(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Parses `--expires-in`: Go-style durations (`24h`, `90m`, `1h30m`) plus `<n>d` and `<n>w`.
pub fn parse_expires_in(raw: &str) -> Result<std::time::Duration> {
    let bad = || {
        Error::usage(format!("--expires-in {raw:?} is not a duration"))
            .hint("write it like 24h, 90m, 1h30m, 7d or 2w")
    };
    let mut total = 0u64;
    let mut digits = String::new();
    for c in raw.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        total = total.saturating_add(n.saturating_mul(unit));
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

/// `now + d` as api-keys wants it: UTC, millisecond precision, `Z`.
pub fn expires_at(d: std::time::Duration) -> Result<String> {
    let at = time::Duration::try_from(d)
        .ok()
        .and_then(|d| time::OffsetDateTime::now_utc().checked_add(d))
        .filter(|at| at.year() <= 9999)
        .ok_or_else(|| {
            Error::usage("--expires-in reaches past the year 9999")
                .hint("give a shorter lifetime, such as 24h, 30d or 52w")
        })?;
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .map_err(|e| Error::internal(format!("cannot format a timestamp: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_past_any_date_is_refused_not_a_panic() {
        let d = parse_expires_in("9999999999999999w").unwrap();
        assert_eq!(
            expires_at(d).unwrap_err().exit_code(),
            crate::ExitCode::Usage
        );
        assert!(expires_at(parse_expires_in("24h").unwrap()).is_ok());
    }

    #[test]
    fn expires_in_accepts_go_durations_days_and_weeks() {
        assert_eq!(parse_expires_in("24h").unwrap().as_secs(), 86_400);
        assert_eq!(parse_expires_in("1h30m").unwrap().as_secs(), 5_400);
        assert_eq!(parse_expires_in("7d").unwrap().as_secs(), 604_800);
        assert_eq!(parse_expires_in("2w").unwrap().as_secs(), 1_209_600);
        for bad in ["", "24", "h", "3y", "0h"] {
            assert!(parse_expires_in(bad).is_err(), "{bad}");
        }
        assert!(
            expires_at(std::time::Duration::from_secs(60))
                .unwrap()
                .ends_with('Z')
        );
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
