//! `init`, `refresh` and `status`'s configuration: the admin token and what a profile is
//! configured with.

use crate::base::confirm::{can_prompt, confirm};
use crate::base::error::Result;
use crate::base::events::Ts;
use crate::base::secret::Secret;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::credentials::{Minted, TokenSource};
use crate::clients::nvcf::endpoints::Route;
use crate::clients::nvcf::view::View;
use crate::model::profile::State;
use crate::model::settings::EnvLookup;
use serde_json::json;

/// `init`: mint (or take `token`) the admin token and start a clean session: saved API
/// keys and the current function are cleared, as upstream does. Asks first when keys would
/// be lost and someone can answer.
pub async fn init(
    session: &Session,
    token: Option<&str>,
    non_interactive: bool,
    env: &dyn EnvLookup,
) -> Result<View> {
    let state = session.profile.read_state()?;
    let has_keys = state.api_key.is_some() || state.nvct_api_key.is_some();
    if has_keys && !non_interactive && can_prompt(env) {
        confirm(
            &format!(
                "re-initialise profile {} (its saved API keys are cleared)",
                session.profile.name
            ),
            false,
            env,
        )?;
    }
    let given = token.filter(|t| !t.is_empty());
    let minted = match given {
        Some(t) => Minted {
            token: Secret::new(t),
            expires_at: None,
        },
        None => session.client.remint_without_saving().await?,
    };
    session.profile.update_state(|s| {
        *s = State {
            token: Some(minted.token.clone()),
            token_expiration: minted.expires_at.clone(),
            extra: std::mem::take(&mut s.extra),
            task_id: s.task_id.take(),
            task_name: s.task_name.take(),
            cluster_id: s.cluster_id.take(),
            ..State::default()
        };
        Ok(())
    })?;
    let how = if given.is_some() { "saved" } else { "minted" };
    Ok(View::new(json!({
        "profile": session.profile.name,
        "token": minted.token.masked(),
        "expiresAt": minted.expires_at,
        "apiKeysCleared": has_keys,
    }))
    .text(format!(
        "profile {}: admin token {how} ({}), expires {}{}",
        session.profile.name,
        minted.token.masked(),
        minted.expires_at.as_deref().unwrap_or("(unknown)"),
        if has_keys {
            "; saved API keys cleared"
        } else {
            ""
        }
    )))
}

/// `refresh`: a new admin token; API keys and the current function are kept.
pub async fn refresh(session: &Session) -> Result<View> {
    let minted = session.client.remint().await?;
    Ok(View::new(json!({
        "profile": session.profile.name,
        "token": minted.token.masked(),
        "expiresAt": minted.expires_at,
    }))
    .text(format!(
        "profile {}: new admin token ({}), expires {}",
        session.profile.name,
        minted.token.masked(),
        minted.expires_at.as_deref().unwrap_or("(unknown)")
    )))
}

fn secret_status(
    secret: Option<&Secret>,
    expires: Option<&str>,
    revealed: &mut Option<&mut Vec<Secret>>,
) -> serde_json::Value {
    let Some(s) = secret.filter(|s| !s.is_empty()) else {
        return json!({"status": "not_set"});
    };
    let value = match revealed {
        Some(list) => {
            list.push(s.clone());
            s.expose().to_owned()
        }
        None => s.masked(),
    };
    let expired = expires
        .and_then(Ts::parse)
        .is_some_and(|t| t.unix() <= Ts::now().unix());
    json!({
        "status": if expired { "expired" } else { "valid" },
        "value": value,
        "expiresAt": expires,
    })
}

fn route(r: &Route) -> serde_json::Value {
    json!({"url": r.base.as_str(), "host": r.host})
}

/// `status`'s configuration section: endpoints, credentials (masked, or in full into
/// `revealed` when given) and the current function and task, as JSON and as `KEY value` rows.
pub fn config_view(
    session: &Session,
    mut revealed: Option<&mut Vec<Secret>>,
) -> Result<(serde_json::Value, Vec<(String, String)>)> {
    let state = session.profile.read_state()?;
    let creds = session.client.credentials();
    let e = &session.client.endpoints;
    let token_source = match creds.token_source {
        TokenSource::Given => "setting or --token",
        TokenSource::State => "profile state",
        TokenSource::None => "none",
    };
    let token_expiry = match creds.token_source {
        TokenSource::State => state.token_expiration.as_deref(),
        _ => None,
    };
    let mut admin = secret_status(creds.token.as_ref(), token_expiry, &mut revealed);
    admin["source"] = json!(token_source);
    let data = json!({
        "profile": session.profile.name,
        "gateway": session.gateway.as_ref().map(|g| json!({"url": g.url.as_str(), "domain": g.domain})),
        "endpoints": {
            "api": route(&e.api),
            "apiKeys": route(&e.api_keys),
            "adminIssuer": route(&e.admin_issuer),
            "sis": route(&e.sis),
            "tasks": route(&e.tasks),
            "invocation": route(&e.invocation("<function-id>")),
            "llm": route(&e.llm()),
        },
        "auth": {
            "adminToken": admin,
            "apiKey": secret_status(creds.api_key.as_ref(), state.api_key_expiration.as_deref(), &mut revealed),
            "taskApiKey": secret_status(creds.nvct_api_key.as_ref(), state.nvct_api_key_expiration.as_deref(), &mut revealed),
        },
        "currentFunction": {"functionId": state.function_id, "versionId": state.version_id, "name": state.function_name},
        "currentTask": {"taskId": state.task_id, "name": state.task_name},
    });
    let rows = config_rows(session, &state, &data, token_source);
    Ok((data, rows))
}

/// The `KEY value` rows of [`config_view`]'s `data`.
fn config_rows(
    session: &Session,
    state: &State,
    data: &serde_json::Value,
    token_source: &str,
) -> Vec<(String, String)> {
    let e = &session.client.endpoints;
    let show = |v: &serde_json::Value| {
        let status = v["status"].as_str().unwrap_or("");
        match v["value"].as_str() {
            Some(val) => format!("{status} ({val})"),
            None => status.to_owned(),
        }
    };
    let at = |r: &Route| match &r.host {
        Some(h) => format!("{} (Host: {h})", r.base),
        None => r.base.to_string(),
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    [
        ("PROFILE", session.profile.name.clone()),
        ("API", at(&e.api)),
        ("API KEYS", at(&e.api_keys)),
        ("SIS", at(&e.sis)),
        ("TASKS", at(&e.tasks)),
        ("INVOCATION", at(&e.invocation("<function-id>"))),
        ("LLM", at(&e.llm())),
        (
            "ADMIN TOKEN",
            format!("{} from {token_source}", show(&data["auth"]["adminToken"])),
        ),
        ("API KEY", show(&data["auth"]["apiKey"])),
        ("TASK API KEY", show(&data["auth"]["taskApiKey"])),
        (
            "FUNCTION",
            format!(
                "{} {} {}",
                opt(&state.function_name),
                opt(&state.function_id),
                opt(&state.version_id)
            ),
        ),
        (
            "TASK",
            format!("{} {}", opt(&state.task_name), opt(&state.task_id)),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
