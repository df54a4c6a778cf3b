//! Settings: upstream's configuration keys, their `NVCF_*` environment variables and defaults.
//!
//! Precedence is upstream's: flag > environment > profile config > default. The table below
//! is the single list of keys; `kubectl nvcf profile set` accepts exactly these names.

use crate::base::secret::register;
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::base::env::{EnvLookup, MapEnv, Overlaid, ProcessEnv};

pub struct Key {
    pub name: &'static str,
    /// Environment variables, first set wins.
    pub env: &'static [&'static str],
    pub default: &'static str,
    pub secret: bool,
    pub help: &'static str,
}

const fn key(
    name: &'static str,
    env: &'static [&'static str],
    default: &'static str,
    help: &'static str,
) -> Key {
    Key {
        name,
        env,
        default,
        secret: false,
        help,
    }
}

const fn secret(name: &'static str, env: &'static [&'static str], help: &'static str) -> Key {
    Key {
        name,
        env,
        default: "",
        secret: true,
        help,
    }
}

/// Upstream `nvcf-cli`'s keys (surface.md §0.3), same names and variables, after our two
/// gateway-mode keys.
pub const KEYS: &[Key] = &[
    key(
        "gateway_url",
        &["NVCF_GATEWAY_URL"],
        "",
        "one gateway address for every service, routed by Host (with domain); overrides the per-service URLs",
    ),
    key(
        "domain",
        &["NVCF_DOMAIN"],
        "",
        "the domain gateway_url routes on: api.DOMAIN, api-keys.DOMAIN, sis.DOMAIN, tasks.DOMAIN",
    ),
    key(
        "base_http_url",
        &["NVCF_BASE_HTTP_URL"],
        "https://api.nvcf.nvidia.com",
        "NVCF REST API base URL",
    ),
    key(
        "grpc_url",
        &["NVCF_GRPC_URL", "NVCF_BASE_GRPC_URL"],
        "grpc.nvcf.nvidia.com:443",
        "gRPC invocation target",
    ),
    key(
        "invoke_url",
        &["NVCF_INVOKE_URL"],
        "",
        "invocation base URL (default: base_http_url)",
    ),
    key(
        "base_nvct_url",
        &["NVCF_BASE_NVCT_URL"],
        "https://api.nvct.nvidia.com",
        "NVCT (tasks) base URL",
    ),
    key(
        "icms_url",
        &["NVCF_ICMS_URL", "NVCF_SIS_URL"],
        "",
        "ICMS/SIS (cluster registration) base URL",
    ),
    secret("token", &["NVCF_TOKEN"], "admin JWT"),
    secret("api_key", &["NVCF_API_KEY"], "function API key (nvapi-…)"),
    secret(
        "nvct_api_key",
        &["NVCF_NVCT_API_KEY"],
        "task API key (nvapi-…)",
    ),
    key(
        "client_id",
        &["NVCF_CLIENT_ID"],
        "nvcf-default",
        "NCA id used by cluster calls",
    ),
    key(
        "oauth2_client_id",
        &["NVCF_OAUTH2_CLIENT_ID"],
        "",
        "OAuth2 client-credentials client id",
    ),
    secret(
        "oauth2_client_secret",
        &["NVCF_OAUTH2_CLIENT_SECRET"],
        "OAuth2 client secret",
    ),
    key(
        "oauth2_token_endpoint",
        &["NVCF_OAUTH2_TOKEN_ENDPOINT"],
        "",
        "OAuth2 token endpoint",
    ),
    key(
        "api_host",
        &["API_HOST"],
        "",
        "Host header for NVCF API requests",
    ),
    key(
        "invoke_host",
        &["INVOKE_HOST"],
        "",
        "Host header base for invocations",
    ),
    key(
        "icms_host",
        &["NVCF_ICMS_HOST"],
        "",
        "Host header for ICMS requests",
    ),
    key(
        "nvct_host",
        &["NVCT_HOST"],
        "",
        "Host header for NVCT requests",
    ),
    key(
        "api_keys_host",
        &["API_KEYS_HOST"],
        "",
        "Host header for the API Keys service",
    ),
    key(
        "api_keys_service_url",
        &["API_KEYS_SERVICE_URL"],
        "https://api-keys.nvcf.nvidia.com",
        "API Keys service URL",
    ),
    key(
        "api_keys_admin_service_url",
        &["API_KEYS_ADMIN_SERVICE_URL"],
        "",
        "admin token issuer URL (default: api_keys_service_url)",
    ),
    key(
        "api_keys_service_id",
        &["API_KEYS_SERVICE_ID"],
        "nvidia-cloud-functions-ncp-service-id-aketm",
        "function-key service id",
    ),
    key(
        "api_keys_issuer_service",
        &["API_KEYS_ISSUER_SERVICE"],
        "nvcf-api",
        "function-key issuer service",
    ),
    key(
        "api_keys_owner_id",
        &["API_KEYS_OWNER_ID"],
        "svc@nvcf-api.local",
        "function-key owner",
    ),
    key(
        "api_keys_nvct_service_id",
        &["NVCF_API_KEYS_NVCT_SERVICE_ID"],
        "nvidia-cloud-tasks-ncp-service-id-nvcttasks",
        "task-key service id",
    ),
    key(
        "api_keys_nvct_issuer_service",
        &["NVCF_API_KEYS_NVCT_ISSUER_SERVICE"],
        "nvct-api",
        "task-key issuer service",
    ),
    key(
        "api_keys_nvct_owner_id",
        &["NVCF_API_KEYS_NVCT_OWNER_ID"],
        "svc@nvct-api.local",
        "task-key owner",
    ),
];

pub fn lookup_key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    Flag,
    Env,
    Profile,
    Default,
}

#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub value: String,
    pub origin: Origin,
    #[serde(skip)]
    pub secret: bool,
}

/// The effective settings of one run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    values: BTreeMap<&'static str, Setting>,
}

impl Settings {
    /// Resolves every key: `flags` (already-parsed command-line values) > environment >
    /// `profile` > default. Secret values are registered with the output filter.
    pub fn resolve(
        flags: &BTreeMap<String, String>,
        env: &dyn EnvLookup,
        profile: &BTreeMap<String, String>,
    ) -> Settings {
        let mut values = BTreeMap::new();
        for k in KEYS {
            let from_env = k
                .env
                .iter()
                .find_map(|v| env.get(v).filter(|s| !s.is_empty()));
            let (value, origin) = if let Some(v) = flags.get(k.name).filter(|s| !s.is_empty()) {
                (v.clone(), Origin::Flag)
            } else if let Some(v) = from_env {
                (v, Origin::Env)
            } else if let Some(v) = profile.get(k.name).filter(|s| !s.is_empty()) {
                (v.clone(), Origin::Profile)
            } else {
                (k.default.to_owned(), Origin::Default)
            };
            if k.secret {
                register(&value);
            }
            values.insert(
                k.name,
                Setting {
                    value,
                    origin,
                    secret: k.secret,
                },
            );
        }
        Settings { values }
    }

    /// The value of `name`, empty when unset. Panics on a name not in [`KEYS`]: a typo in
    /// our own code, caught by any test that reaches it.
    pub fn get(&self, name: &str) -> &str {
        match self.values.get(name) {
            Some(s) => &s.value,
            None => panic!("unknown setting {name:?}"),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Setting)> {
        self.values.iter().map(|(k, v)| (*k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flag_env_profile_default() {
        let env = MapEnv::new([
            ("NVCF_BASE_HTTP_URL", "http://env"),
            ("NVCF_SIS_URL", "http://sis"),
        ]);
        let profile: BTreeMap<String, String> = [
            ("base_http_url".to_string(), "http://profile".to_string()),
            ("client_id".to_string(), "from-profile".to_string()),
        ]
        .into();
        let none = BTreeMap::new();
        let s = Settings::resolve(&none, &env, &profile);
        assert_eq!(s.get("base_http_url"), "http://env");
        assert_eq!(s.get("client_id"), "from-profile");
        assert_eq!(
            s.get("icms_url"),
            "http://sis",
            "second env name is a fallback"
        );
        assert_eq!(s.get("base_nvct_url"), "https://api.nvct.nvidia.com");
        let flags: BTreeMap<String, String> =
            [("base_http_url".to_string(), "http://flag".to_string())].into();
        let s = Settings::resolve(&flags, &env, &profile);
        assert_eq!(s.get("base_http_url"), "http://flag");
    }

    #[test]
    fn secret_settings_are_masked_in_output() {
        let env = MapEnv::new([("NVCF_TOKEN", "settings-test-token-value-123")]);
        let s = Settings::resolve(&BTreeMap::new(), &env, &BTreeMap::new());
        assert_eq!(s.get("token"), "settings-test-token-value-123");
        assert_eq!(
            crate::base::secret::redact("t=settings-test-token-value-123"),
            "t=settings..."
        );
    }
}
