//! Rules across keys that upstream's templates enforce with `fail` at install time
//! (global.yaml.gotmpl, helmfile.d, the charts' own checks). We check them when the stack
//! config is read, so a value a chart would reject stops the command before anything runs,
//! naming the key and the fix.

use super::{LlmPki, Problem};
use serde_json::Value;
use std::net::Ipv6Addr;

const ROUTER_DEFAULT_ADDRESS: &str = "llm-request-router.nvcf.svc.cluster.local:50071";

/// Adds a problem for each rule `value` (already type-checked) breaks.
pub fn check(value: &Value, out: &mut Vec<Problem>) {
    check_mirrors(value, out);
    let on = |path: &str| value.pointer(path).and_then(Value::as_bool) == Some(true);
    let observability = on("/observability/enabled");
    let state_metrics = value.get("stateMetrics").and_then(Value::as_bool) != Some(false);
    if observability && !state_metrics {
        out.push(Problem::new(
            "stateMetrics",
            "must be true while observability is enabled: the function autoscaler reads its metrics",
            "set `stateMetrics: true`, or `observability: {enabled: false}`",
        ));
    }
    if on("/addons/llm") {
        let address = value
            .pointer("/workerEndpoints/llmRequestRouterAddress")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .unwrap_or(ROUTER_DEFAULT_ADDRESS);
        if !valid_worker_address(address) {
            out.push(Problem::new(
                "workerEndpoints.llmRequestRouterAddress",
                format!("{address:?} is not DNS-or-IPv4:port or [IPv6]:port with port 1-65535"),
                "write host:port, e.g. llm-router.example.com:50071 or [2001:db8::1]:50071",
            ));
        }
        if on("/addons/llmPki") {
            let pki: LlmPki = value
                .get("llmPki")
                .cloned()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            check_pki(&pki, out);
        }
    }
}

/// `chartMirrors`: `all` or a third-party release, each to a chart repository URL.
fn check_mirrors(value: &Value, out: &mut Vec<Problem>) {
    let Some(mirrors) = value.get("chartMirrors").and_then(Value::as_object) else {
        return;
    };
    let catalog = crate::model::stack::catalog::Catalog::embedded();
    let third_party: Vec<&str> = catalog
        .releases
        .iter()
        .filter(|r| r.repo.is_some())
        .map(|r| r.name.as_str())
        .collect();
    for (key, url) in mirrors {
        let path = format!("chartMirrors.{key}");
        if key != "all" && !third_party.contains(&key.as_str()) {
            out.push(Problem::new(
                &path,
                "is not a release whose chart comes from a public repository",
                format!(
                    "use `all` or one of {}; the NVCF charts come from chartSource",
                    third_party.join(", ")
                ),
            ));
        }
        let url = url.as_str().unwrap_or_default();
        if !["oci://", "oci+http://", "https://", "http://"]
            .iter()
            .any(|s| url.starts_with(s) && url.len() > s.len())
        {
            out.push(Problem::new(
                &path,
                format!("{url:?} is not a chart repository URL"),
                "write oci://REGISTRY/PATH (oci+http:// without TLS) or https://HOST/PATH for a classic repository",
            ));
        }
    }
}

fn check_pki(pki: &LlmPki, out: &mut Vec<Problem>) {
    if pki.mode == "existingSecret" {
        let default = LlmPki::default();
        if pki.secret_name.trim().is_empty() {
            out.push(Problem::new(
                "llmPki.secretName",
                "is required when llmPki.mode is existingSecret",
                "name the kubernetes.io/tls Secret holding the router's certificate in namespace nvcf",
            ));
        }
        if pki.dns_names != default.dns_names && !pki.dns_names.is_empty() {
            out.push(Problem::new(
                "llmPki.dnsNames",
                "applies only to a certificate the stack issues, not to existingSecret",
                "remove llmPki.dnsNames, or set llmPki.mode: certManager",
            ));
        }
        if pki.allowed_domains != default.allowed_domains && !pki.allowed_domains.is_empty() {
            out.push(Problem::new(
                "llmPki.allowedDomains",
                "constrains only the stack's OpenBao signing role, not existingSecret",
                "remove llmPki.allowedDomains, or set llmPki.mode: certManager",
            ));
        }
        return;
    }
    if !rfc1123_subdomain(&pki.issuer_name) {
        out.push(Problem::new(
            "llmPki.issuerName",
            format!(
                "{:?} is not a lowercase RFC 1123 DNS subdomain of at most 253 characters",
                pki.issuer_name
            ),
            "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
        ));
    }
    if pki.dns_names.is_empty() {
        out.push(Problem::new(
            "llmPki.dnsNames",
            "must hold at least one DNS name",
            "list the router's names, e.g. [\"*.llm-request-router-headless.nvcf.svc.cluster.local\"], or remove the key for the default",
        ));
    }
    if pki.managed_issuer() {
        if pki.allowed_domains.trim().is_empty() {
            out.push(Problem::new(
                "llmPki.allowedDomains",
                "is required when the stack manages the issuer",
                "set the domains OpenBao may sign for, e.g. \"cluster.local\", or remove the key for the default",
            ));
        }
        if pki.image_tag.trim().is_empty() {
            out.push(Problem::new(
                "llmPki.imageTag",
                "is required when the stack manages the issuer",
                "set the nvcf-openbao-migrations tag, e.g. \"0.18.0\", or remove the key for the default",
            ));
        }
    }
}

fn rfc1123_subdomain(name: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    name.len() <= 253 && name.split('.').all(label)
}

/// global.yaml.gotmpl's rule for `llmRequestRouterAddress`: `host:port` where host is DNS
/// labels (IPv4 included), or `[IPv6]:port`; the port 1-65535.
fn valid_worker_address(address: &str) -> bool {
    let Some((host, port)) = address.rsplit_once(':') else {
        return false;
    };
    let port_ok = (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
    let dns_label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => host.split('.').all(dns_label),
    };
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stack::config::{LoadError, StackConfig};

    fn problems(text: &str) -> Vec<String> {
        match StackConfig::parse(
            &format!("registry: r.example\nrepository: a/b\n{text}"),
            "f",
        ) {
            Ok(_) => Vec::new(),
            Err(LoadError::Invalid(p)) => p.problems.into_iter().map(|p| p.key).collect(),
            Err(LoadError::Read(e)) => panic!("{e}"),
        }
    }

    #[test]
    fn llm_pki_defaults_pass_and_each_rule_names_its_key() {
        assert!(problems("addons: {llm: true, llmPki: true}\n").is_empty());
        assert_eq!(
            problems(
                "addons: {llm: true, llmPki: true}\nllmPki: {dnsNames: [], allowedDomains: \"\", imageTag: \"\"}\n"
            ),
            [
                "llmPki.dnsNames",
                "llmPki.allowedDomains",
                "llmPki.imageTag"
            ]
        );
        assert_eq!(
            problems("addons: {llm: true, llmPki: true}\nllmPki: {mode: existingSecret}\n"),
            ["llmPki.secretName"]
        );
        assert_eq!(
            problems("addons: {llm: true, llmPki: true}\nllmPki: {issuerName: Bad_Name}\n"),
            ["llmPki.issuerName"]
        );
        // Rules of an add-on that is off do not apply.
        assert!(problems("llmPki: {dnsNames: []}\n").is_empty());
    }

    #[test]
    fn worker_addresses_follow_upstreams_rule() {
        for good in [
            "llm-request-router.nvcf.svc.cluster.local:50071",
            "10.0.0.7:1",
            "[2001:db8::1]:65535",
            "[::ffff:10.0.0.1]:8080",
        ] {
            assert!(valid_worker_address(good), "{good}");
        }
        for bad in [
            "no-port",
            "host:0",
            "host:65536",
            "-bad.example:80",
            "[2001:db8:::1]:80",
            "2001:db8::1:80",
            "host:123456",
        ] {
            assert!(!valid_worker_address(bad), "{bad}");
        }
        assert_eq!(
            problems(
                "addons: {llm: true}\nworkerEndpoints: {llmRequestRouterAddress: \"router\"}\n"
            ),
            ["workerEndpoints.llmRequestRouterAddress"]
        );
    }

    #[test]
    fn mirrors_name_third_party_releases_and_repository_urls() {
        assert!(problems("chartMirrors: {all: \"oci://mirror.example/charts\", kai-scheduler: \"https://m.example/kai\"}\n").is_empty());
        assert_eq!(
            problems("chartMirrors: {api: \"oci://m.example/x\", grove-operator: \"ftp://m\"}\n"),
            ["chartMirrors.api", "chartMirrors.grove-operator"]
        );
    }

    #[test]
    fn observability_needs_state_metrics() {
        assert_eq!(
            problems("observability: {enabled: true}\nstateMetrics: false\n"),
            ["stateMetrics"]
        );
    }
}
