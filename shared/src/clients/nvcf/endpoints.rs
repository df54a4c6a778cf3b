//! Where each NVCF service answers: a base URL and the Host header the gateway routes on.
//!
//! Self-hosted gateways pick the backend from the Host header alone (contracts/endpoints.md
//! §0.1), so one gateway address plus a domain is enough to reach every service. Upstream's
//! per-service URLs and `*_host` overrides (surface.md §0.3, §0.6) work unchanged.

use crate::base::error::{Error, Result};
use crate::model::settings::Settings;
use url::Url;

/// The services the CLI calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// NVCF API (`api.<domain>`, `/v2/nvcf`).
    Api,
    /// api-keys (`api-keys.<domain>`, `/v1/keys`).
    ApiKeys,
    /// The admin token issuer (`api-keys.<domain>`, `/v1/admin/keys`).
    AdminIssuer,
    /// ICMS/SIS cluster registration (`sis.<domain>`).
    Sis,
    /// NVCT (`tasks.<domain>`, `/v1/nvct`).
    Tasks,
    /// http-invocation (`<fid>.invocation.<domain>`).
    Invocation,
    /// The LLM gateway (`llm.<domain>` / `llm.invocation.<domain>`).
    Llm,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Api => "NVCF API",
            Service::ApiKeys => "api-keys",
            Service::AdminIssuer => "admin token issuer",
            Service::Sis => "SIS",
            Service::Tasks => "NVCT",
            Service::Invocation => "invocation",
            Service::Llm => "LLM gateway",
        }
    }
}

/// A base URL and, for gateways that route on it, the Host header to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub base: Url,
    pub host: Option<String>,
}

impl Route {
    /// The full URL of `path` (which starts with `/`) under this base, keeping a base path.
    pub fn url(&self, path: &str) -> Result<Url> {
        let joined = format!("{}{}", self.base.as_str().trim_end_matches('/'), path);
        Url::parse(&joined).map_err(|e| Error::config(format!("invalid URL {joined:?}: {e}")))
    }
}

/// Every service's route for one run.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub api: Route,
    pub api_keys: Route,
    pub admin_issuer: Route,
    pub sis: Route,
    pub tasks: Route,
    /// Invocation base; the Host (or URL host) is per function, see [`Endpoints::invocation`].
    invoke: Url,
    invoke_host: Option<String>,
}

/// A gateway address and its domain: every service at one URL, told apart by Host.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub url: Url,
    pub domain: String,
}

impl Endpoints {
    /// From one gateway: `api.<domain>`, `api-keys.<domain>`, `sis.<domain>`,
    /// `tasks.<domain>`, `<fid>.invocation.<domain>`, `llm.invocation.<domain>`.
    pub fn from_gateway(gw: &Gateway) -> Endpoints {
        let route = |prefix: &str| Route {
            base: gw.url.clone(),
            host: Some(format!("{prefix}.{}", gw.domain)),
        };
        Endpoints {
            api: route("api"),
            api_keys: route("api-keys"),
            admin_issuer: route("api-keys"),
            sis: route("sis"),
            tasks: route("tasks"),
            invoke: gw.url.clone(),
            invoke_host: Some(format!("invocation.{}", gw.domain)),
        }
    }

    /// From upstream's settings (per-service URLs and `*_host` overrides).
    pub fn from_settings(s: &Settings) -> Result<Endpoints> {
        let url = |key: &str, value: &str| -> Result<Url> {
            Url::parse(value).map_err(|e| {
                Error::config(format!("setting {key} = {value:?} is not a URL: {e}"))
                    .hint(format!("fix it with `{nvcf_cmd0} {key} URL`, or unset the environment variable that sets it", nvcf_cmd0 = crate::base::plugin::nvcf("profile set")))
            })
        };
        let host = |key: &str| Some(s.get(key).to_owned()).filter(|h| !h.is_empty());
        let base = url("base_http_url", s.get("base_http_url"))?;
        let api_host = host("api_host");
        // Upstream applies api_host to any request whose URL host is the base URL's host.
        let host_for = |u: &Url, own: Option<String>| {
            own.or_else(|| (u.host_str() == base.host_str()).then(|| api_host.clone())?)
        };
        let api_keys = url("api_keys_service_url", s.get("api_keys_service_url"))?;
        let admin = match s.get("api_keys_admin_service_url") {
            "" => api_keys.clone(),
            v => url("api_keys_admin_service_url", v)?,
        };
        let tasks = url("base_nvct_url", s.get("base_nvct_url"))?;
        let sis = match s.get("icms_url") {
            "" => derive_sis(&base),
            v => url("icms_url", v)?,
        };
        let invoke = match s.get("invoke_url") {
            "" => base.clone(),
            v => url("invoke_url", v)?,
        };
        Ok(Endpoints {
            api: Route {
                base: base.clone(),
                host: api_host.clone(),
            },
            api_keys: Route {
                host: host("api_keys_host"),
                base: api_keys,
            },
            admin_issuer: Route {
                host: host("api_keys_host"),
                base: admin,
            },
            sis: Route {
                host: host_for(&sis, host("icms_host")),
                base: sis,
            },
            tasks: Route {
                host: host_for(&tasks, host("nvct_host")),
                base: tasks,
            },
            invoke,
            invoke_host: host("invoke_host"),
        })
    }

    /// True when any service is reached over HTTPS.
    pub fn uses_tls(&self) -> bool {
        [
            &self.api.base,
            &self.api_keys.base,
            &self.admin_issuer.base,
            &self.sis.base,
            &self.tasks.base,
            &self.invoke,
        ]
        .iter()
        .any(|u| u.scheme() != "http")
    }

    pub fn route(&self, service: Service) -> &Route {
        match service {
            Service::Api => &self.api,
            Service::ApiKeys => &self.api_keys,
            Service::AdminIssuer => &self.admin_issuer,
            Service::Sis => &self.sis,
            Service::Tasks => &self.tasks,
            // Per-function routes come from `invocation`/`llm`; the bare one serves polling.
            Service::Invocation | Service::Llm => &self.api,
        }
    }

    /// The route for invoking function `fid` over HTTP (endpoints.md §0.1, "invoke_host").
    pub fn invocation(&self, fid: &str) -> Route {
        match &self.invoke_host {
            Some(h) => Route {
                base: self.invoke.clone(),
                host: Some(format!("{fid}.{}", strip_fid(h, fid))),
            },
            None => Route {
                base: rewrite_host(&self.invoke, |h| invocation_host(h, fid)),
                host: None,
            },
        }
    }

    /// The bare invocation route (status polling), without a function in the host.
    pub fn invocation_bare(&self) -> Route {
        match &self.invoke_host {
            Some(h) => Route {
                base: self.invoke.clone(),
                host: Some(h.clone()),
            },
            None => Route {
                base: self.invoke.clone(),
                host: None,
            },
        }
    }

    /// The LLM gateway route (upstream's `llmInvocationHostname` mapping).
    pub fn llm(&self) -> Route {
        match &self.invoke_host {
            Some(h) => Route {
                base: self.invoke.clone(),
                host: Some(llm_host(h)),
            },
            None => Route {
                base: rewrite_host(&self.invoke, llm_host),
                host: None,
            },
        }
    }
}

fn strip_fid<'a>(host: &'a str, fid: &str) -> &'a str {
    host.strip_prefix(fid)
        .and_then(|r| r.strip_prefix('.'))
        .unwrap_or(host)
}

/// `<fid>.x` stays, `invocation.x` and `api.x` become `<fid>.invocation.x`, others gain
/// `<fid>.invocation.`.
pub fn invocation_host(host: &str, fid: &str) -> String {
    if host.starts_with(&format!("{fid}.")) {
        host.to_owned()
    } else if let Some(rest) = host.strip_prefix("invocation.") {
        format!("{fid}.invocation.{rest}")
    } else if let Some(rest) = host.strip_prefix("api.") {
        format!("{fid}.invocation.{rest}")
    } else {
        format!("{fid}.invocation.{host}")
    }
}

/// `llm.*` stays, `invocation.localhost` → `llm.localhost`, `invocation.x`/`api.x` →
/// `llm.invocation.x`, others gain `llm.`.
pub fn llm_host(host: &str) -> String {
    if host.starts_with("llm.") {
        host.to_owned()
    } else if host == "invocation.localhost" {
        "llm.localhost".to_owned()
    } else if let Some(rest) = host
        .strip_prefix("invocation.")
        .or_else(|| host.strip_prefix("api."))
    {
        format!("llm.invocation.{rest}")
    } else {
        format!("llm.{host}")
    }
}

fn rewrite_host(url: &Url, f: impl Fn(&str) -> String) -> Url {
    let mut out = url.clone();
    if let Some(h) = url.host_str() {
        let _ = out.set_host(Some(&f(h)));
    }
    out
}

/// Upstream's `deriveICMSFromAPI`: `api.x` → `sis.x`, otherwise the base URL itself.
fn derive_sis(base: &Url) -> Url {
    match base.host_str().and_then(|h| h.strip_prefix("api.")) {
        Some(rest) => rewrite_host(base, |_| format!("sis.{rest}")),
        None => base.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;
    use std::collections::BTreeMap;

    const FID: &str = "0e3a3f46-7a43-4a2b-9f1e-2c8f0d0b9a11";

    fn settings(env: MapEnv) -> Settings {
        Settings::resolve(&BTreeMap::new(), &env, &BTreeMap::new())
    }

    #[test]
    fn invocation_host_rewrites_follow_upstream() {
        assert_eq!(
            invocation_host("invocation.x.io", FID),
            format!("{FID}.invocation.x.io")
        );
        assert_eq!(
            invocation_host("api.x.io", FID),
            format!("{FID}.invocation.x.io")
        );
        assert_eq!(
            invocation_host(&format!("{FID}.invocation.x.io"), FID),
            format!("{FID}.invocation.x.io")
        );
        assert_eq!(
            invocation_host("gw.local", FID),
            format!("{FID}.invocation.gw.local")
        );
    }

    #[test]
    fn llm_host_rewrites_follow_upstream() {
        assert_eq!(llm_host("llm.x"), "llm.x");
        assert_eq!(llm_host("invocation.localhost"), "llm.localhost");
        assert_eq!(llm_host("invocation.x"), "llm.invocation.x");
        assert_eq!(llm_host("api.x"), "llm.invocation.x");
        assert_eq!(llm_host("gw"), "llm.gw");
    }

    #[test]
    fn gateway_routes_every_service_by_host() {
        let gw = Gateway {
            url: Url::parse("http://10.0.0.1:8080").unwrap(),
            domain: "nvcf.example.com".into(),
        };
        let e = Endpoints::from_gateway(&gw);
        assert_eq!(e.api.host.as_deref(), Some("api.nvcf.example.com"));
        assert_eq!(e.sis.host.as_deref(), Some("sis.nvcf.example.com"));
        assert_eq!(e.tasks.host.as_deref(), Some("tasks.nvcf.example.com"));
        assert_eq!(
            e.invocation(FID).host,
            Some(format!("{FID}.invocation.nvcf.example.com"))
        );
        assert_eq!(
            e.llm().host.as_deref(),
            Some("llm.invocation.nvcf.example.com")
        );
        assert_eq!(
            e.api.url("/v2/nvcf/functions").unwrap().as_str(),
            "http://10.0.0.1:8080/v2/nvcf/functions"
        );
        assert!(!e.uses_tls());
        let defaults = Endpoints::from_settings(&settings(MapEnv::default())).unwrap();
        assert!(defaults.uses_tls());
    }

    #[test]
    fn settings_route_with_upstream_overrides() {
        let e = Endpoints::from_settings(&settings(MapEnv::new([
            ("NVCF_BASE_HTTP_URL", "http://api.gw.io:8080/base"),
            ("API_HOST", "api.nvcf.local"),
            ("NVCF_BASE_NVCT_URL", "http://api.gw.io:8080"),
        ])))
        .unwrap();
        assert_eq!(
            e.api.url("/v2/nvcf/functions").unwrap().as_str(),
            "http://api.gw.io:8080/base/v2/nvcf/functions"
        );
        assert_eq!(e.api.host.as_deref(), Some("api.nvcf.local"));
        // Same host as the base URL and no nvct_host: api_host applies, as upstream.
        assert_eq!(e.tasks.host.as_deref(), Some("api.nvcf.local"));
        // No icms_url: api.x becomes sis.x, port kept.
        assert_eq!(e.sis.base.as_str(), "http://sis.gw.io:8080/base");
        assert_eq!(
            e.invocation(FID).base.host_str(),
            Some(format!("{FID}.invocation.gw.io").as_str())
        );
    }

    #[test]
    fn a_bad_url_names_the_setting() {
        let err = Endpoints::from_settings(&settings(MapEnv::new([(
            "NVCF_BASE_NVCT_URL",
            "not a url",
        )])))
        .unwrap_err();
        assert!(err.message().contains("base_nvct_url"), "{}", err.message());
    }
}
