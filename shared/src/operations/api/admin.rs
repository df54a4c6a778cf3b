//! `admin`: account management for super-admins, refused unless `NVCF_CLI_ENABLE_ADMIN` is
//! set, as upstream.

use crate::base::error::{Error, Result};
use crate::base::output::note;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::accounts::{Accounts, ENABLE_ENV, secrets_payload};
use crate::clients::nvcf::view::{View, field};
use crate::model::settings::EnvLookup;
use serde_json::{Map, Value, json};
use std::path::Path;

fn accounts(session: &Session) -> Accounts<'_> {
    Accounts {
        client: &session.client,
    }
}

/// Refuses unless the admin commands were switched on.
pub fn require_enabled(env: &dyn EnvLookup) -> Result<()> {
    if env.get(ENABLE_ENV).is_none_or(|v| v.is_empty()) {
        return Err(
            Error::usage("the admin commands are disabled").hint(format!(
                "set {ENABLE_ENV}=1 to use them, as with upstream nvcf-cli"
            )),
        );
    }
    Ok(())
}

fn account_rows(list: &[Value]) -> Vec<Vec<String>> {
    list.iter()
        .map(|a| {
            vec![
                field(a, "ncaId"),
                field(a, "name"),
                field(a, "maxFunctionsAllowed"),
                field(a, "maxTasksAllowed"),
                field(a, "maxTelemetriesAllowed"),
                field(a, "maxRegistryCredentialsAllowed"),
            ]
        })
        .collect()
}

const HEADER: [&str; 6] = [
    "nca id",
    "name",
    "max functions",
    "max tasks",
    "max telemetries",
    "max registry credentials",
];

pub async fn list_accounts(session: &Session) -> Result<View> {
    let v = accounts(session).list().await?;
    let list = v["cloudAccounts"].as_array().cloned().unwrap_or_default();
    Ok(View::new(&v)
        .columns(&HEADER, account_rows(&list), "No accounts.")
        .names(
            list.iter()
                .map(|a| format!("account/{}", field(a, "ncaId")))
                .collect(),
        ))
}

/// An account's new name and limits; what is not given stays.
pub struct AccountUpdate {
    pub name: Option<String>,
    pub max_functions: Option<u32>,
    pub max_tasks: Option<u32>,
    pub max_telemetries: Option<u32>,
    pub max_registry_credentials: Option<u32>,
}

pub async fn update_account(session: &Session, nca_id: &str, u: AccountUpdate) -> Result<View> {
    let mut body = Map::new();
    if let Some(n) = u.name {
        body.insert("name".into(), json!(n));
    }
    for (k, v) in [
        ("maxFunctionsAllowed", u.max_functions),
        ("maxTasksAllowed", u.max_tasks),
        ("maxTelemetriesAllowed", u.max_telemetries),
        ("maxRegistryCredentialsAllowed", u.max_registry_credentials),
    ] {
        if let Some(v) = v {
            body.insert(k.into(), json!(v));
        }
    }
    if body.is_empty() {
        return Err(Error::usage("nothing to update").hint(
            "pass --name, --max-functions, --max-tasks, --max-telemetries or --max-registry-credentials",
        ));
    }
    let a = accounts(session)
        .update(nca_id, &Value::Object(body))
        .await?;
    Ok(View::new(&a).columns(&HEADER, account_rows(std::slice::from_ref(&a)), ""))
}

/// Whose secrets `update_secrets` replaces.
pub enum SecretsOf<'a> {
    Function {
        nca_id: &'a str,
        function_id: &'a str,
        version_id: &'a str,
    },
    Telemetry {
        nca_id: &'a str,
        telemetry_id: &'a str,
    },
}

/// Replaces the secrets with those of `input_file` or the inline JSON `secrets`.
pub async fn update_secrets(
    session: &Session,
    of: SecretsOf<'_>,
    input_file: Option<&Path>,
    secrets: Option<&str>,
) -> Result<View> {
    if secrets.is_some() {
        note("warning: --secrets puts secret values in your shell history; prefer --input-file");
    }
    let body = secrets_payload(input_file, secrets)?;
    let names: Vec<String> = body["secrets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| field(s, "name"))
        .collect();
    let accounts = accounts(session);
    let envelope = match of {
        SecretsOf::Function {
            nca_id,
            function_id,
            version_id,
        } => {
            accounts
                .update_function_secrets(nca_id, function_id, version_id, &body)
                .await?;
            json!({"status": "ok", "ncaId": nca_id, "functionId": function_id, "versionId": version_id})
        }
        SecretsOf::Telemetry {
            nca_id,
            telemetry_id,
        } => {
            accounts
                .update_telemetry_secrets(nca_id, telemetry_id, &body)
                .await?;
            json!({"status": "ok", "ncaId": nca_id, "telemetryId": telemetry_id})
        }
    };
    Ok(View::new(&envelope).text(format!("secrets {} updated", names.join(", "))))
}

/// Queue depths of every version of the function, or of one.
pub async fn queues(
    session: &Session,
    nca_id: &str,
    function_id: &str,
    version_id: Option<&str>,
) -> Result<View> {
    let v = accounts(session)
        .queues(nca_id, function_id, version_id)
        .await?;
    let queues = v["queues"].as_array().cloned().unwrap_or_default();
    let rows = queues
        .iter()
        .map(|q| {
            vec![
                field(q, "functionVersionId"),
                field(q, "functionName"),
                field(q, "functionStatus"),
                field(q, "queueDepth"),
            ]
        })
        .collect();
    Ok(View::new(&v).columns(
        &["version", "name", "status", "queue depth"],
        rows,
        "No queues.",
    ))
}
