//! Which bearer each request carries (upstream surface.md §0.5).
//!
//! Admin operations carry the admin JWT; other NVCF calls prefer the function API key;
//! NVCT calls prefer the task API key. Only an admin token we minted ourselves (saved by
//! `init`/`refresh`) is re-minted on a 401: a token the user passed is theirs to replace.

use super::endpoints::Service;
use crate::base::error::{Category, Error};
use crate::base::plugin;
use crate::base::secret::Secret;

/// The credential class of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer {
    /// No `Authorization` header (the admin issuer, api-keys deletes).
    None,
    /// Admin operations: the admin JWT, else the API key.
    Admin,
    /// Reads and invocations: the function API key, else the admin JWT.
    Function,
    /// NVCT: the task API key, else the admin JWT.
    Task,
}

impl Bearer {
    pub fn for_service(service: Service) -> Bearer {
        match service {
            Service::AdminIssuer => Bearer::None,
            Service::Tasks => Bearer::Task,
            Service::Invocation | Service::Llm => Bearer::Function,
            Service::Api | Service::ApiKeys | Service::Sis => Bearer::Admin,
        }
    }
}

/// Where the admin token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenSource {
    #[default]
    None,
    /// `--token` or `NVCF_TOKEN` / the profile's `token` setting: the user's to replace.
    Given,
    /// Minted by `init`/`refresh` and saved in the profile state: ours to re-mint.
    State,
}

#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub token: Option<Secret>,
    pub token_source: TokenSource,
    pub api_key: Option<Secret>,
    pub nvct_api_key: Option<Secret>,
}

/// A freshly minted admin token.
#[derive(Debug, Clone)]
pub struct Minted {
    pub token: Secret,
    pub expires_at: Option<String>,
}

impl Credentials {
    /// The secret to send and a name for it (used in messages, never the value).
    pub fn select(&self, bearer: Bearer) -> Option<(Secret, &'static str)> {
        let token = self.token.clone().map(|t| (t, "admin token"));
        let key = self.api_key.clone().map(|k| (k, "api key"));
        let task = self.nvct_api_key.clone().map(|k| (k, "task api key"));
        match bearer {
            Bearer::None => None,
            Bearer::Admin => token.or(key),
            Bearer::Function => key.or(token),
            Bearer::Task => task.or(token),
        }
    }

    pub fn remintable(&self) -> bool {
        self.token_source != TokenSource::Given
    }

    pub fn missing(&self, bearer: Bearer) -> Error {
        let init = plugin::nvcf("init");
        let fix = match bearer {
            Bearer::Task => format!(
                "run `{init}`, then `{}`",
                plugin::nvcf("api-key generate --for task")
            ),
            _ => format!("run `{init}` (or pass --token / set NVCF_TOKEN)"),
        };
        Error::new(
            Category::Auth,
            "no credential configured: no admin token and no API key in this profile",
        )
        .hint(fix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(token: bool, key: bool, task: bool) -> Credentials {
        Credentials {
            token: token.then(|| Secret::new("eyJtoken.aaaa.bbbb")),
            token_source: TokenSource::State,
            api_key: key.then(|| Secret::new("nvapi-function-key")),
            nvct_api_key: task.then(|| Secret::new("nvapi-task-key-xx")),
        }
    }

    #[test]
    fn selection_follows_upstream() {
        let all = creds(true, true, true);
        assert_eq!(all.select(Bearer::Admin).unwrap().1, "admin token");
        assert_eq!(all.select(Bearer::Function).unwrap().1, "api key");
        assert_eq!(all.select(Bearer::Task).unwrap().1, "task api key");
        assert!(all.select(Bearer::None).is_none());
        let key_only = creds(false, true, false);
        assert_eq!(key_only.select(Bearer::Admin).unwrap().1, "api key");
        let token_only = creds(true, false, false);
        assert_eq!(token_only.select(Bearer::Task).unwrap().1, "admin token");
        assert!(creds(false, false, false).select(Bearer::Admin).is_none());
    }

    #[test]
    fn only_our_own_tokens_are_reminted() {
        let mut c = creds(true, false, false);
        assert!(c.remintable());
        c.token_source = TokenSource::Given;
        assert!(!c.remintable());
    }
}
