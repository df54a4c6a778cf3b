//! `api-key`: function and task API keys, kept in the profile's state file (0600).
//! Only `generate` and `show` print a key, and only to stdout.

use crate::base::confirm::confirm;
use crate::base::error::{Category, Error, ExitCode, Result};
use crate::base::plugin::nvcf;
use crate::base::secret::Secret;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::apikeys::{
    ApiKeys, Issuer, KeyDto, KeyFor, expires_at, parse_expires_in,
};
use crate::clients::nvcf::view::View;
use crate::model::profile::State;
use crate::model::settings::EnvLookup;
use serde_json::json;

/// A view that prints these secrets in full (every other secret stays masked).
pub struct Revealing {
    pub view: View,
    pub revealed: Vec<Secret>,
}

fn keys(session: &Session) -> ApiKeys<'_> {
    ApiKeys {
        client: &session.client,
    }
}

fn issuer(session: &Session, w: KeyFor) -> Issuer {
    Issuer::from_settings(&session.settings, w)
}

/// The saved key and its expiry for one service.
fn saved(s: &mut State, w: KeyFor) -> (&mut Option<Secret>, &mut Option<String>) {
    match w {
        KeyFor::Function => (&mut s.api_key, &mut s.api_key_expiration),
        KeyFor::Task => (&mut s.nvct_api_key, &mut s.nvct_api_key_expiration),
    }
}

/// What `generate` asks for.
pub struct Generate<'a> {
    pub services: &'a [KeyFor],
    pub description: &'a str,
    pub expires_in: &'a str,
    /// Instead of each service's defaults.
    pub scopes: &'a [String],
}

/// Creates a key per service, saving each as soon as it exists.
pub async fn generate(session: &Session, req: Generate<'_>) -> Result<Revealing> {
    if !req.scopes.is_empty() && req.services.len() > 1 {
        return Err(Error::usage("--scopes needs --for function or --for task")
            .hint("scopes differ per service: pass --for"));
    }
    let expires = expires_at(parse_expires_in(req.expires_in)?)?;
    let mut made = Vec::new();
    for &w in req.services {
        let scopes: Vec<String> = if req.scopes.is_empty() {
            w.default_scopes().iter().map(|s| s.to_string()).collect()
        } else {
            req.scopes.to_vec()
        };
        let key = keys(session)
            .create(&issuer(session, w), w, req.description, &expires, &scopes)
            .await?;
        let value = key.value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::new(
                Category::Unknown,
                "api-keys created a key but did not return its value",
            )
        })?;
        // Saved at once, so a failure for the second service keeps the first key.
        session.profile.update_state(|s| {
            let (saved_key, saved_expiry) = saved(s, w);
            *saved_key = Some(value.clone());
            *saved_expiry = Some(key.expires_at.clone());
            Ok(())
        })?;
        made.push((w, key.id.clone(), value, scopes));
    }
    let data = json!({
        "description": req.description,
        "expiresAt": expires,
        "keys": made.iter().map(|(w, id, v, sc)| json!({
            "service": w.as_str(), "id": id, "apiKey": v.expose(), "scopes": sc,
        })).collect::<Vec<_>>(),
    });
    let rows = made
        .iter()
        .map(|(w, id, v, _)| vec![w.as_str().into(), id.clone(), v.expose().into()])
        .collect();
    Ok(Revealing {
        view: View::new(data).columns(&["service", "id", "api key"], rows, ""),
        revealed: made.into_iter().map(|(_, _, v, _)| v).collect(),
    })
}

/// The keys of both issuers.
pub async fn list(session: &Session) -> Result<View> {
    let mut all: Vec<(KeyFor, KeyDto)> = Vec::new();
    for w in [KeyFor::Function, KeyFor::Task] {
        for k in keys(session).list(&issuer(session, w)).await? {
            all.push((w, k));
        }
    }
    let data = json!({"keys": all.iter().map(|(w, k)| {
        let mut v = serde_json::to_value(k).unwrap_or_default();
        v["service"] = json!(w.as_str());
        v
    }).collect::<Vec<_>>()});
    let rows = all
        .iter()
        .map(|(w, k)| {
            vec![
                k.id.clone(),
                w.as_str().into(),
                k.status.clone(),
                k.description.clone(),
                k.expires_at.clone(),
            ]
        })
        .collect();
    let names = all
        .iter()
        .map(|(_, k)| format!("api-key/{}", k.id))
        .collect();
    Ok(View::new(data)
        .columns(
            &["id", "service", "status", "description", "expires"],
            rows,
            "No API keys.",
        )
        .names(names))
}

/// Deletes a key from the function issuer, or else from the task issuer.
pub async fn delete(
    session: &Session,
    key_id: &str,
    yes: bool,
    env: &dyn EnvLookup,
) -> Result<View> {
    confirm(&format!("delete API key {key_id}"), yes, env)?;
    let keys = keys(session);
    let service = match keys
        .delete(&issuer(session, KeyFor::Function), key_id)
        .await
    {
        Ok(()) => KeyFor::Function,
        Err(e) if e.exit_code() == ExitCode::NotFound => {
            keys.delete(&issuer(session, KeyFor::Task), key_id).await?;
            KeyFor::Task
        }
        Err(e) => return Err(e),
    };
    Ok(
        View::new(json!({"status": "deleted", "keyId": key_id, "service": service.as_str()}))
            .text(format!("API key {key_id} ({}) deleted", service.as_str()))
            .names(vec![format!("api-key/{key_id}")]),
    )
}

pub async fn revoke(
    session: &Session,
    key_id: &str,
    yes: bool,
    env: &dyn EnvLookup,
) -> Result<View> {
    confirm(&format!("revoke API key {key_id}"), yes, env)?;
    keys(session)
        .delete(&issuer(session, KeyFor::Function), key_id)
        .await?;
    Ok(View::new(json!({"status": "revoked", "keyId": key_id}))
        .text(format!("API key {key_id} revoked"))
        .names(vec![format!("api-key/{key_id}")]))
}

/// The saved keys, in full.
pub fn show(session: &Session) -> Result<Revealing> {
    let state = session.profile.read_state()?;
    let f = state.api_key.clone().filter(|k| !k.is_empty());
    let t = state.nvct_api_key.clone().filter(|k| !k.is_empty());
    let data = json!({
        "hasKey": f.is_some(),
        "apiKey": f.as_ref().map(Secret::expose),
        "expiresAt": state.api_key_expiration,
        "hasTaskKey": t.is_some(),
        "taskApiKey": t.as_ref().map(Secret::expose),
        "taskExpiresAt": state.nvct_api_key_expiration,
    });
    let line = |k: &Option<Secret>, exp: &Option<String>| match k {
        Some(k) => format!(
            "{} (expires {})",
            k.expose(),
            exp.as_deref().unwrap_or("unknown")
        ),
        None => format!("not set (run `{}`)", nvcf("api-key generate")),
    };
    let view = View::new(data).pairs(&[
        ("FUNCTION KEY", line(&f, &state.api_key_expiration)),
        ("TASK KEY", line(&t, &state.nvct_api_key_expiration)),
    ]);
    Ok(Revealing {
        view,
        revealed: f.into_iter().chain(t).collect(),
    })
}

/// Forgets the saved keys of `services`; the keys stay valid on the server.
pub fn clear(
    session: &Session,
    services: &[KeyFor],
    yes: bool,
    env: &dyn EnvLookup,
) -> Result<View> {
    let which = match services {
        [KeyFor::Function] => "function",
        [KeyFor::Task] => "task",
        _ => "function and task",
    };
    confirm(
        &format!(
            "forget the saved {which} API key(s) of profile {}",
            session.profile.name
        ),
        yes,
        env,
    )?;
    let cleared = session.profile.update_state(|s| {
        let mut n = 0;
        for &w in services {
            let (key, exp) = saved(s, w);
            n += usize::from(key.take().is_some());
            *exp = None;
        }
        Ok(n)
    })?;
    let status = if cleared == 0 { "no_key" } else { "cleared" };
    Ok(View::new(json!({"status": status, "cleared": cleared}))
        .text(format!("{cleared} saved API key(s) cleared")))
}

/// Deletes every key of the owner (default: the configured owners) on both issuers.
pub async fn clear_all(
    session: &Session,
    owner_id: Option<&str>,
    yes: bool,
    env: &dyn EnvLookup,
) -> Result<View> {
    let keys = keys(session);
    let mut targets = Vec::new();
    for w in [KeyFor::Function, KeyFor::Task] {
        let mut iss = issuer(session, w);
        if let Some(o) = owner_id {
            iss.owner_id = o.to_owned();
        }
        for k in keys.list(&iss).await? {
            targets.push((iss.clone(), k.id));
        }
    }
    let mut owners: Vec<String> = targets.iter().map(|(i, _)| i.owner_id.clone()).collect();
    owners.dedup();
    if !targets.is_empty() {
        let what = format!(
            "delete all {} API keys of {}",
            targets.len(),
            owners.join(", ")
        );
        confirm(&what, yes, env)?;
    }
    let mut deleted = 0;
    for (iss, id) in &targets {
        keys.delete(iss, id).await?;
        deleted += 1;
    }
    if owner_id.is_none() && deleted > 0 {
        session.profile.update_state(|s| {
            for w in [KeyFor::Function, KeyFor::Task] {
                let (key, exp) = saved(s, w);
                *key = None;
                *exp = None;
            }
            Ok(())
        })?;
    }
    Ok(
        View::new(json!({"ownerIds": owners, "deleted": deleted, "total": targets.len()}))
            .text(format!("{deleted} of {} API keys deleted", targets.len())),
    )
}
