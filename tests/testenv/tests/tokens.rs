//! Service-account tokens verify against the JWKS the apiserver publishes anonymously,
//! and a signing-key rotation publishes a new `kid`.

use anyhow::{Context, Result};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use nvcf_testenv::Env;
use serde_json::Value;

async fn anonymous_get(env: &Env, path: &str) -> Result<String> {
    let client = env.anonymous_client().await?;
    Ok(client
        .request_text(http::Request::get(path).body(Vec::new())?)
        .await?)
}

async fn jwks(env: &Env) -> Result<JwkSet> {
    Ok(serde_json::from_str(
        &anonymous_get(env, "/openid/v1/jwks").await?,
    )?)
}

fn kids(set: &JwkSet) -> Vec<String> {
    set.keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect()
}

fn token(env: &Env, ns: &str) -> Result<String> {
    Ok(env
        .kubectl_run(&["create", "token", "default", "-n", ns, "--duration=10m"])?
        .trim()
        .to_owned())
}

/// Verifies `token` as an OIDC relying party would, with the keys in `set`.
fn verify(env: &Env, set: &JwkSet, token: &str) -> Result<Value> {
    let kid = decode_header(token)?.kid.context("token has no kid")?;
    let jwk = set
        .find(&kid)
        .with_context(|| format!("kid {kid} is not in the JWKS"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[env.issuer()]);
    validation.set_audience(&[env.issuer()]);
    Ok(decode::<Value>(token, &DecodingKey::from_jwk(jwk)?, &validation)?.claims)
}

#[tokio::test]
async fn token_request_token_verifies_against_the_published_jwks() -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("tokens")?;

    let discovery: Value =
        serde_json::from_str(&anonymous_get(env, "/.well-known/openid-configuration").await?)?;
    assert_eq!(discovery["issuer"], env.issuer());
    assert_eq!(
        discovery["jwks_uri"],
        format!("{}/openid/v1/jwks", env.issuer())
    );

    let set = jwks(env).await?;
    let claims = verify(env, &set, &token(env, &ns)?)?;
    assert_eq!(claims["sub"], format!("system:serviceaccount:{ns}:default"));

    // A token signed by some other key must not verify against these keys.
    let other = Env::start_named("other-issuer")?;
    let foreign = token(&other, "default")?;
    assert!(
        verify(env, &set, &foreign).is_err(),
        "a foreign token verified"
    );
    Ok(())
}

#[tokio::test]
async fn anonymous_clients_may_read_only_the_discovery_endpoints() -> Result<()> {
    let env = Env::shared();
    let err = anonymous_get(env, "/api/v1/namespaces")
        .await
        .expect_err("anonymous list succeeded");
    let Some(kube::Error::Api(status)) = err.downcast_ref::<kube::Error>() else {
        panic!("{err:#}")
    };
    assert_eq!(status.code, 403);
    Ok(())
}

#[tokio::test]
async fn rotating_the_signing_key_publishes_a_new_kid() -> Result<()> {
    // Rotation restarts the apiserver, so it gets an environment of its own; the shared
    // one keeps running alongside (two environments at once).
    let shared = Env::shared();
    let env = Env::start_named("rotation")?;
    assert_ne!(env.server(), shared.server());
    shared.kubectl_run(&["get", "namespaces"])?;

    let before = jwks(&env).await?;
    let old_token = token(&env, "default")?;
    verify(&env, &before, &old_token)?;

    env.rotate_signing_key()?;
    let after = jwks(&env).await?;
    assert_eq!(kids(&after).len(), 1);
    assert!(
        kids(&after).iter().all(|k| !kids(&before).contains(k)),
        "{:?} vs {:?}",
        kids(&before),
        kids(&after)
    );
    let new_token = token(&env, "default")?;
    assert_eq!(
        decode_header(&new_token)?.kid,
        kids(&after).first().cloned()
    );
    verify(&env, &after, &new_token)?;
    assert!(
        verify(&env, &after, &old_token).is_err(),
        "old token still verifies"
    );

    env.rotate_signing_key_keep_old()?;
    let both = jwks(&env).await?;
    assert_eq!(kids(&both).len(), 2);
    assert!(kids(&both).contains(&kids(&after)[0]));
    verify(&env, &both, &new_token)?;
    verify(&env, &both, &token(&env, "default")?)?;
    Ok(())
}
