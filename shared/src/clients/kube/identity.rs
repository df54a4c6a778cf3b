//! A cluster's service-account identity: its OIDC issuer and signing keys (JWKS), which SIS
//! stores to verify NVCA's projected tokens.
//!
//! Discovery order: a SPIRE OIDC discovery provider when one is named; the issuer's own public
//! discovery document when the issuer is a public https URL; otherwise the API server's
//! `/.well-known/openid-configuration` and `/openid/v1/jwks`, read through the Kubernetes API
//! with the caller's credentials (no curl pods).

use super::from_kube;
use crate::base::error::{Category, Error, Result};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentitySource {
    SpireOidc,
    PublicIssuer,
    ApiServer,
}

/// An OIDC issuer named on the command line instead of the one the cluster advertises:
/// SPIRE's discovery provider, or any issuer whose discovery document this machine reaches.
#[derive(Debug, Clone, Copy)]
pub struct ManualIssuer<'a> {
    pub url: &'a str,
    pub source: IdentitySource,
}

impl<'a> ManualIssuer<'a> {
    pub fn spire(url: &'a str) -> Self {
        ManualIssuer {
            url,
            source: IdentitySource::SpireOidc,
        }
    }

    /// Upstream's `--oidc-issuer-url`: a SPIRE/SPIFFE issuer by its name, else a custom one.
    pub fn named(url: &'a str) -> Self {
        let lower = url.to_ascii_lowercase();
        let source = if lower.contains("spire") || lower.contains("spiffe") {
            IdentitySource::SpireOidc
        } else {
            IdentitySource::PublicIssuer
        };
        ManualIssuer { url, source }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterIdentity {
    pub issuer: String,
    /// The JWKS document exactly as served: SIS takes it as a string.
    #[serde(skip)]
    pub jwks: String,
    pub key_ids: Vec<String>,
    pub fingerprint: String,
    pub source: IdentitySource,
}

/// A stable digest of the signing keys (not of the document's formatting): sha256 over each
/// key's id and public material, in key-id order.
pub fn fingerprint(jwks: &Value) -> Result<(Vec<String>, String)> {
    let keys = jwks["keys"]
        .as_array()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            Error::invalid_input("the JWKS has no keys").hint("check the issuer's jwks_uri")
        })?;
    let mut parts: Vec<(String, String)> = keys
        .iter()
        .map(|k| {
            let field = |n: &str| k[n].as_str().unwrap_or_default().to_owned();
            let material = ["kty", "crv", "n", "e", "x", "y"].map(field).join("|");
            (field("kid"), material)
        })
        .collect();
    parts.sort();
    let mut hasher = Sha256::new();
    for (kid, material) in &parts {
        hasher.update(kid.as_bytes());
        hasher.update(b"|");
        hasher.update(material.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((
        parts.into_iter().map(|(kid, _)| kid).collect(),
        format!("sha256:{hex}"),
    ))
}

fn parse(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::new(Category::ClusterState, format!("{what} is not JSON: {e}")).hint(
            "check the cluster's --service-account-issuer and --service-account-jwks-uri settings",
        )
    })
}

fn identity(issuer: String, jwks: String, source: IdentitySource) -> Result<ClusterIdentity> {
    let doc = parse(&jwks, "the JWKS")?;
    let (key_ids, fingerprint) = fingerprint(&doc)?;
    Ok(ClusterIdentity {
        issuer,
        jwks,
        key_ids,
        fingerprint,
        source,
    })
}

async fn api_server_get(client: &kube::Client, path: &str) -> Result<String> {
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| Error::internal(format!("build request for {path}: {e}")))?;
    client
        .request_text(req)
        .await
        .map_err(|e| from_kube(e, &format!("read {path} from the API server")))
}

/// Fetches a discovery document and its JWKS over plain HTTPS (SPIRE, public issuers).
async fn over_https(discovery_base: &str, source: IdentitySource) -> Result<ClusterIdentity> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Error::internal(format!("build HTTP client: {e}")))?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        discovery_base.trim_end_matches('/')
    );
    let get = |u: String| {
        let http = http.clone();
        async move {
            let resp = http.get(&u).send().await.map_err(|e| {
                Error::new(Category::Network, format!("cannot fetch {u}: {e}"))
                    .hint("check the URL and that it is reachable from here")
            })?;
            if !resp.status().is_success() {
                return Err(Error::new(
                    Category::ClusterState,
                    format!("{u} answered {}", resp.status()),
                ));
            }
            resp.text()
                .await
                .map_err(|e| Error::new(Category::Network, format!("cannot read {u}: {e}")))
        }
    };
    let discovery = parse(&get(url.clone()).await?, &url)?;
    let issuer = discovery["issuer"].as_str().unwrap_or_default().to_owned();
    let jwks_uri = discovery["jwks_uri"]
        .as_str()
        .ok_or_else(|| Error::new(Category::ClusterState, format!("{url} names no jwks_uri")))?
        .to_owned();
    identity(issuer, get(jwks_uri).await?, source)
}

/// An issuer other clients can reach: https, and not a cluster-internal name.
fn public_issuer(issuer: &str, api_server: &str) -> bool {
    let Ok(url) = url::Url::parse(issuer) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    url.scheme() == "https"
        && !issuer
            .trim_end_matches('/')
            .eq_ignore_ascii_case(api_server.trim_end_matches('/'))
        && !host.ends_with(".svc")
        && !host.ends_with(".cluster.local")
        && !host.ends_with(".svc.cluster.local")
}

/// Discovers the cluster's identity in the documented order. `api_server` is the URL the
/// kube client talks to, so an issuer equal to it is read through the API instead.
pub async fn discover(
    client: &kube::Client,
    api_server: &str,
    manual: Option<ManualIssuer<'_>>,
) -> Result<ClusterIdentity> {
    if let Some(m) = manual {
        return over_https(m.url, m.source).await;
    }
    let config_text = api_server_get(client, "/.well-known/openid-configuration").await?;
    let config = parse(&config_text, "the API server's OIDC discovery document")?;
    let issuer = config["issuer"]
        .as_str()
        .ok_or_else(|| {
            Error::new(
                Category::ClusterState,
                "the API server's discovery document has no issuer",
            )
            .hint("set --service-account-issuer on the kube-apiserver")
        })?
        .to_owned();
    if public_issuer(&issuer, api_server) {
        match over_https(&issuer, IdentitySource::PublicIssuer).await {
            Ok(found) => return Ok(found),
            Err(e) => tracing::debug!(
                "public issuer {issuer} not usable, reading the API server's keys: {e}"
            ),
        }
    }
    let jwks = api_server_get(client, "/openid/v1/jwks").await?;
    identity(issuer, jwks, IdentitySource::ApiServer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_order_and_formatting() {
        let a: Value = serde_json::from_str(r#"{"keys":[{"kid":"b","kty":"RSA","n":"2","e":"AQAB"},{"kid":"a","kty":"RSA","n":"1","e":"AQAB"}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"keys": [ {"e":"AQAB","n":"1","kty":"RSA","kid":"a","use":"sig"}, {"kid":"b","kty":"RSA","n":"2","e":"AQAB"} ]}"#).unwrap();
        let (kids, fa) = fingerprint(&a).unwrap();
        assert_eq!(kids, ["a", "b"]);
        assert_eq!(fa, fingerprint(&b).unwrap().1);
        let c: Value =
            serde_json::from_str(r#"{"keys":[{"kid":"a","kty":"RSA","n":"9","e":"AQAB"}]}"#)
                .unwrap();
        assert_ne!(fa, fingerprint(&c).unwrap().1);
        assert!(fingerprint(&serde_json::json!({"keys": []})).is_err());
    }

    #[test]
    fn a_named_issuer_is_spire_only_by_its_name() {
        let spire = ManualIssuer::named("https://oidc.spire.example.com");
        assert_eq!(spire.source, IdentitySource::SpireOidc);
        let spiffe = ManualIssuer::named("https://SPIFFE-oidc.example.com");
        assert_eq!(spiffe.source, IdentitySource::SpireOidc);
        let custom = ManualIssuer::named("https://issuer.example.com/k8s");
        assert_eq!(custom.source, IdentitySource::PublicIssuer);
        assert_eq!(
            ManualIssuer::spire("http://10.0.0.5:8080").source,
            IdentitySource::SpireOidc
        );
    }

    #[test]
    fn only_public_https_issuers_are_fetched_directly() {
        assert!(public_issuer(
            "https://oidc.example.com/id",
            "https://10.0.0.1:6443"
        ));
        assert!(!public_issuer(
            "https://kubernetes.default.svc.cluster.local",
            "https://10.0.0.1:6443"
        ));
        assert!(!public_issuer(
            "https://kubernetes.default.svc",
            "https://10.0.0.1:6443"
        ));
        assert!(!public_issuer(
            "https://127.0.0.1:6443",
            "https://127.0.0.1:6443/"
        ));
        assert!(!public_issuer("http://oidc.example.com", "https://x"));
    }
}
