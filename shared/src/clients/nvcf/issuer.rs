//! Which control plane issued a saved admin token. Every self-hosted install names the same
//! in-cluster issuer, so the issuer alone cannot tell two control planes apart; the signing
//! key can. The token's `iss` and `kid` are compared with what the control plane publishes at
//! `/.well-known/openid-configuration` and its `jwks_uri`, the documents upstream's auth
//! probe reads.

use super::Client;
use super::credentials::Bearer;
use super::endpoints::Service;
use crate::base::error::{Error, Result};
use crate::base::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use serde_json::Value;

/// What a token says about where it came from (read, not verified: we only compare).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenOrigin {
    pub issuer: Option<String>,
    pub key_id: Option<String>,
}

/// What the control plane says it signs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub issuer: String,
    pub key_ids: Vec<String>,
}

fn segment(token: &str, index: usize) -> Option<Value> {
    let part = token.split('.').nth(index)?;
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `iss` claim and `kid` header of a JWT; an error when it is not a JWT at all.
pub fn origin(token: &Secret) -> Result<TokenOrigin> {
    let text = token.expose();
    let (Some(header), Some(claims)) = (segment(text, 0), segment(text, 1)) else {
        return Err(Error::invalid_input(
            "the saved admin token is not a JWT (header and claims do not decode)",
        ));
    };
    let field = |v: &Value, k: &str| v[k].as_str().map(str::to_owned);
    Ok(TokenOrigin {
        issuer: field(&claims, "iss"),
        key_id: field(&header, "kid"),
    })
}

/// The issuer and key ids the NVCF API publishes. The JWKS is fetched from the path of
/// `jwks_uri` on the address we already reach, since the document may name an in-cluster host.
pub async fn published(client: &Client) -> Result<Published> {
    let get = |path: String| {
        client
            .request(Service::Api, Method::GET, path)
            .bearer(Bearer::None)
    };
    let discovery = client
        .json_value(&get("/.well-known/openid-configuration".into()))
        .await?;
    let issuer = discovery["issuer"].as_str().unwrap_or_default().to_owned();
    let jwks_path = discovery["jwks_uri"]
        .as_str()
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|| "/.well-known/jwks.json".into());
    let jwks = client.json_value(&get(jwks_path)).await?;
    let key_ids = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect();
    Ok(Published { issuer, key_ids })
}

/// `Ok(evidence)` when the token could have come from this control plane, else what differs.
pub fn compare(token: &TokenOrigin, here: &Published) -> std::result::Result<String, String> {
    if let Some(iss) = &token.issuer
        && !here.issuer.is_empty()
        && iss != &here.issuer
    {
        return Err(format!(
            "the saved admin token was issued by {iss}, but this control plane is {}",
            here.issuer
        ));
    }
    match &token.key_id {
        Some(kid) if !here.key_ids.contains(kid) => Err(format!(
            "the saved admin token is signed with key {kid}, which this control plane does not publish (it signs with {}): the profile holds a token from another control plane",
            if here.key_ids.is_empty() {
                "no published keys".to_owned()
            } else {
                here.key_ids.join(", ")
            }
        )),
        Some(kid) => Ok(format!("signed with key {kid}, published here")),
        None => Ok("the token names no signing key; issuer matches".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: Value, claims: Value) -> Secret {
        let enc = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        Secret::new(format!("{}.{}.signature", enc(header), enc(claims)))
    }

    fn here() -> Published {
        Published {
            issuer: "http://api.nvcf.svc.cluster.local".into(),
            key_ids: vec!["k1".into(), "k2".into()],
        }
    }

    #[test]
    fn a_token_signed_with_a_published_key_is_from_here() {
        let t = jwt(
            serde_json::json!({"alg": "ES256", "kid": "k2"}),
            serde_json::json!({"iss": "http://api.nvcf.svc.cluster.local"}),
        );
        let o = origin(&t).unwrap();
        assert_eq!(o.key_id.as_deref(), Some("k2"));
        assert!(compare(&o, &here()).is_ok());
    }

    #[test]
    fn another_key_or_issuer_is_another_control_plane() {
        let other_key = jwt(
            serde_json::json!({"kid": "k9"}),
            serde_json::json!({"iss": "http://api.nvcf.svc.cluster.local"}),
        );
        let why = compare(&origin(&other_key).unwrap(), &here()).unwrap_err();
        assert!(why.contains("k9") && why.contains("k1, k2"), "{why}");
        let other_issuer = jwt(
            serde_json::json!({"kid": "k1"}),
            serde_json::json!({"iss": "https://elsewhere"}),
        );
        let why = compare(&origin(&other_issuer).unwrap(), &here()).unwrap_err();
        assert!(why.contains("https://elsewhere"), "{why}");
    }

    #[test]
    fn a_token_that_is_not_a_jwt_is_an_error_that_shows_no_part_of_it() {
        let err = origin(&Secret::new("nvapi-not-a-jwt-SECRETPART")).unwrap_err();
        assert!(!err.to_string().contains("SECRETPART"), "{err}");
    }
}
