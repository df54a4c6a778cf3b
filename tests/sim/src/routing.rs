//! Host-header routing, as the Envoy gateway in front of the real services does it
//! (contracts/endpoints.md §0.1): the backend is picked from the Host alone.

use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    AdminIssuer,
    ApiKeys,
    Nvcf,
    /// http-invocation; `function`/`version` come from a UUID-prefixed Host.
    Invocation {
        function: Option<Uuid>,
        version: Option<Uuid>,
    },
    Llm,
    Sis,
    Tasks,
    /// The simulator's own control endpoints (`/_sim/...`).
    SimAdmin,
    /// No HTTPRoute matches: the gateway answers 404.
    Gateway404,
}

impl Service {
    pub fn name(&self) -> &'static str {
        match self {
            Service::AdminIssuer => "admin-issuer",
            Service::ApiKeys => "api-keys",
            Service::Nvcf => "nvcf",
            Service::Invocation { .. } => "invocation",
            Service::Llm => "llm",
            Service::Sis => "sis",
            Service::Tasks => "tasks",
            Service::SimAdmin => "sim",
            Service::Gateway404 => "gateway",
        }
    }
}

/// Picks the backend for `host` (with or without `:port`) under `domain`.
pub fn route(host: &str, path: &str, domain: &str) -> Service {
    let host = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
    let Some(prefix) = host.strip_suffix(domain).and_then(|p| p.strip_suffix('.')) else {
        // Not a gateway host at all (e.g. the bare loopback address): only the sim's own
        // endpoints live there, so a CLI pointed at the wrong host still sees the gateway 404.
        return if path.starts_with("/_sim/") {
            Service::SimAdmin
        } else {
            Service::Gateway404
        };
    };
    match prefix {
        "api" => Service::Nvcf,
        "api-keys" if path == "/v1/admin/keys" || path.starts_with("/v1/admin/keys/") => {
            Service::AdminIssuer
        }
        "api-keys" => Service::ApiKeys,
        "sis" => Service::Sis,
        "tasks" => Service::Tasks,
        "llm" | "llm.invocation" => Service::Llm,
        "sim" => Service::SimAdmin,
        "invocation" => Service::Invocation {
            function: None,
            version: None,
        },
        other => match other.strip_suffix(".invocation") {
            Some(labels) => invocation_target(labels),
            None => Service::Gateway404,
        },
    }
}

/// `<fid>` pins a function, `<vid>.<fid>` a version (version first). Any other
/// label set still matches the wildcard route but is not a pass-through target.
fn invocation_target(labels: &str) -> Service {
    let parts: Vec<&str> = labels.split('.').collect();
    let uuid = |s: &str| Uuid::parse_str(s).ok().filter(|_| s.len() == 36);
    match parts.as_slice() {
        [f] => Service::Invocation {
            function: uuid(f),
            version: None,
        },
        [v, f] => match (uuid(v), uuid(f)) {
            (Some(v), Some(f)) => Service::Invocation {
                function: Some(f),
                version: Some(v),
            },
            _ => Service::Invocation {
                function: None,
                version: None,
            },
        },
        _ => Service::Invocation {
            function: None,
            version: None,
        },
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map(|(h, _)| &h[1..]).unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "nvcf.local";

    #[test]
    fn hosts_map_to_services() {
        assert_eq!(
            route("api.nvcf.local:8080", "/v2/nvcf/functions", D),
            Service::Nvcf
        );
        assert_eq!(
            route("api-keys.nvcf.local", "/v1/keys", D),
            Service::ApiKeys
        );
        assert_eq!(
            route("api-keys.nvcf.local", "/v1/admin/keys", D),
            Service::AdminIssuer
        );
        assert_eq!(
            route("api-keys.nvcf.local", "/v1/admin/keysx", D),
            Service::ApiKeys
        );
        assert_eq!(route("sis.nvcf.local", "/", D), Service::Sis);
        assert_eq!(route("icms.nvcf.local", "/", D), Service::Gateway404);
        assert_eq!(route("tasks.nvcf.local", "/", D), Service::Tasks);
        assert_eq!(route("llm.nvcf.local", "/", D), Service::Llm);
        assert_eq!(route("llm.invocation.nvcf.local", "/", D), Service::Llm);
        assert_eq!(
            route("other.example", "/v2/nvcf/functions", D),
            Service::Gateway404
        );
        assert_eq!(route("127.0.0.1:9", "/_sim/requests", D), Service::SimAdmin);
    }

    #[test]
    fn invocation_hosts_pin_function_then_version() {
        let f = Uuid::new_v4();
        let v = Uuid::new_v4();
        assert_eq!(
            route(&format!("{f}.invocation.nvcf.local"), "/echo", D),
            Service::Invocation {
                function: Some(f),
                version: None
            }
        );
        assert_eq!(
            route(&format!("{v}.{f}.invocation.nvcf.local"), "/echo", D),
            Service::Invocation {
                function: Some(f),
                version: Some(v)
            }
        );
        assert_eq!(
            route("invocation.nvcf.local", "/v2/nvcf/pexec/functions/x", D),
            Service::Invocation {
                function: None,
                version: None
            }
        );
    }
}
