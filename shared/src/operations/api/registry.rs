//! `registry-credential`: credentials NVCF uses to pull images, charts, models and resources.

use crate::base::confirm::confirm;
use crate::base::error::{Error, Result};
use crate::base::output::note;
use crate::base::secret::Secret;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::input::refuse_placeholders;
use crate::clients::nvcf::registry::{Registries, RegistryCredential};
use crate::clients::nvcf::view::View;
use crate::model::settings::EnvLookup;
use serde_json::{Value, json};

const ARTIFACT_TYPES: &[&str] = &["CONTAINER", "HELM", "MODEL", "RESOURCE"];

fn registries(session: &Session) -> Registries<'_> {
    Registries {
        client: &session.client,
    }
}

fn artifact_types(raw: &[String]) -> Result<Vec<String>> {
    raw.iter()
        .map(|t| {
            let up = t.trim().to_ascii_uppercase();
            if ARTIFACT_TYPES.contains(&up.as_str()) {
                Ok(up)
            } else {
                Err(
                    Error::usage(format!("--artifact-type {t:?} is not an artifact type"))
                        .hint(format!("use {}", ARTIFACT_TYPES.join(", "))),
                )
            }
        })
        .collect()
}

/// A password from `--password`, or the first line of stdin.
pub struct Password {
    pub given: Option<String>,
    pub from_stdin: bool,
}

impl Password {
    fn read(self) -> Result<Option<String>> {
        if !self.from_stdin {
            return Ok(self.given);
        }
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
    }
}

/// `username:password`, the form the API takes (contracts/endpoints.md §3.4; upstream's CLI
/// base64-encodes it, which the server's `username:password` check refuses).
fn encoded_secret(user: Option<String>, pass: Option<String>) -> Result<Option<Secret>> {
    match (user, pass) {
        (Some(u), Some(p)) => {
            crate::base::secret::register(&p);
            Ok(Some(Secret::new(format!("{u}:{p}"))))
        }
        (None, None) => Ok(None),
        _ => Err(Error::usage("--username and --password go together")
            .hint("pass both (or --password-stdin)")),
    }
}

fn rows(list: &[RegistryCredential]) -> Vec<Vec<String>> {
    list.iter()
        .map(|c| {
            vec![
                c.registry_credential_id.clone(),
                c.registry_hostname.clone(),
                c.artifact_types.join(","),
                c.provisioned_by.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn view(data: Value, list: &[RegistryCredential], empty: &str) -> View {
    View::new(data)
        .columns(
            &["id", "hostname", "artifact types", "provisioned by"],
            rows(list),
            empty,
        )
        .names(
            list.iter()
                .map(|c| format!("registry-credential/{}", c.registry_credential_id))
                .collect(),
        )
}

fn one(c: &RegistryCredential) -> View {
    view(json!(c), std::slice::from_ref(c), "")
}

pub async fn list(
    session: &Session,
    artifact_type: &[String],
    provisioned_by: &[String],
) -> Result<View> {
    let types = artifact_types(artifact_type)?;
    let by: Vec<String> = provisioned_by
        .iter()
        .map(|p| p.to_ascii_uppercase())
        .collect();
    let list = registries(session).list(&types, &by).await?;
    Ok(view(
        json!({"registryCredentials": list}),
        &list,
        "No registry credentials.",
    ))
}

/// What `add` asks for.
pub struct Add {
    pub hostname: String,
    pub username: Option<String>,
    pub password: Password,
    /// `username:password` in one value.
    pub secret: Option<String>,
    pub artifact_type: Vec<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
}

pub async fn add(session: &Session, a: Add) -> Result<View> {
    let pass = a.password.read()?;
    let value = match (a.secret, encoded_secret(a.username, pass)?) {
        (Some(s), None) => Secret::new(s),
        (None, Some(s)) => s,
        _ => {
            return Err(
                Error::usage("give either --secret or --username with --password")
                    .hint("--secret is the base64 of username:password"),
            );
        }
    };
    let mut body = json!({
        "registryHostname": a.hostname,
        "secret": {"name": "credentials", "value": value.expose()},
        "artifactTypes": artifact_types(&a.artifact_type)?,
    });
    if let Some(d) = a.description {
        body["description"] = json!(d);
    }
    if !a.tags.is_empty() {
        body["tags"] = json!(a.tags);
    }
    refuse_placeholders(&body, &["secret"])?;
    note(&format!(
        "Plan: add a registry credential for {} ({})",
        a.hostname,
        a.artifact_type.join(",").to_ascii_uppercase()
    ));
    Ok(one(&registries(session).add(&body).await?))
}

pub async fn get(session: &Session, id: &str) -> Result<View> {
    Ok(one(&registries(session).get(id).await?))
}

/// Replaces the secret and/or adds artifact types.
pub async fn update(
    session: &Session,
    id: &str,
    username: Option<String>,
    password: Password,
    artifact_type: &[String],
) -> Result<View> {
    let pass = password.read()?;
    let mut body = serde_json::Map::new();
    if let Some(s) = encoded_secret(username, pass)? {
        body.insert(
            "secret".into(),
            json!({"name": "credentials", "value": s.expose()}),
        );
    }
    if !artifact_type.is_empty() {
        body.insert(
            "artifactTypeEnums".into(),
            json!(artifact_types(artifact_type)?),
        );
    }
    if body.is_empty() {
        return Err(Error::usage("nothing to update")
            .hint("pass --username with --password, or --artifact-type"));
    }
    Ok(one(&registries(session)
        .update(id, &Value::Object(body))
        .await?))
}

/// Deletes the credential once confirmed (the question names its host).
pub async fn delete(session: &Session, id: &str, yes: bool, env: &dyn EnvLookup) -> Result<View> {
    let reg = registries(session);
    let host = if yes {
        String::new()
    } else {
        format!(" for {}", reg.get(id).await?.registry_hostname)
    };
    confirm(&format!("delete registry credential {id}{host}"), yes, env)?;
    reg.delete(id).await?;
    Ok(
        View::new(json!({"status": "deleted", "registryCredentialId": id}))
            .text(format!("registry credential {id} deleted"))
            .names(vec![format!("registry-credential/{id}")]),
    )
}

/// The registries NVCF recognises, one row per registry.
pub async fn list_recognized(session: &Session) -> Result<View> {
    let v = registries(session).recognized().await?;
    let mut rows = Vec::new();
    if let Some(map) = v["recognizedRegistries"].as_object() {
        for (kind, list) in map {
            for r in list.as_array().into_iter().flatten() {
                rows.push(vec![kind.clone(), describe(r)]);
            }
        }
    }
    Ok(View::new(&v).columns(
        &["artifact type", "registry"],
        rows,
        "No recognised registries.",
    ))
}

/// `key=value` pairs of a recognised registry.
fn describe(r: &Value) -> String {
    r.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_owned)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| r.to_string())
}
