//! `function`: create, update, list, get, versions, delete and queues. The last created
//! function is the profile's current one, the default where a function is not given.

use crate::base::confirm::confirm;
use crate::base::error::{Error, Result};
use crate::base::output::note;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::functions::{Function, Functions};
use crate::clients::nvcf::view::{View, artifact, field};
use crate::model::settings::EnvLookup;
use serde_json::{Value, json};

fn functions(session: &Session) -> Functions<'_> {
    Functions {
        client: &session.client,
    }
}

fn function_rows(list: &[Function], wide: bool) -> Vec<Vec<String>> {
    list.iter()
        .map(|f| {
            let mut row = vec![
                f.name.clone(),
                f.id.clone(),
                f.version_id.clone(),
                f.status.clone(),
                f.function_type.clone().unwrap_or_default(),
            ];
            if wide {
                row.push(
                    f.container_image
                        .clone()
                        .or_else(|| f.helm_chart.clone())
                        .unwrap_or_default(),
                );
                row.push(f.inference_url.clone().unwrap_or_default());
                row.push(f.created_at.clone().unwrap_or_default());
            }
            row
        })
        .collect()
}

const HEADER: [&str; 5] = ["name", "function id", "version id", "status", "type"];
const WIDE: [&str; 8] = [
    "name",
    "function id",
    "version id",
    "status",
    "type",
    "image/chart",
    "inference url",
    "created",
];

fn function_view(data: Value, list: &[Function], empty: &str) -> View {
    View::new(data)
        .columns(&HEADER, function_rows(list, false), empty)
        .wide_columns(&WIDE, function_rows(list, true))
        .names(list.iter().map(|f| format!("function/{}", f.id)).collect())
}

fn one(f: &Function) -> View {
    function_view(json!(f), std::slice::from_ref(f), "")
}

fn many(list: &[Function], empty: &str) -> View {
    function_view(json!({ "functions": list }), list, empty)
}

/// What a create will do, for people, before it is sent.
fn plan(body: &Value, new_version_of: Option<&str>) -> String {
    let what = artifact(body).unwrap_or_else(|| "models only".into());
    let models: Vec<String> = body["models"]
        .as_array()
        .map(|m| m.iter().map(|m| field(m, "name")).collect())
        .unwrap_or_default();
    format!(
        "Plan: create {} {:?} ({}, {} type, inference {}{}){}",
        if new_version_of.is_some() {
            "a new version of function"
        } else {
            "function"
        },
        field(body, "name"),
        what,
        body["functionType"].as_str().unwrap_or("DEFAULT"),
        field(body, "inferenceUrl"),
        if models.is_empty() {
            String::new()
        } else {
            format!(", models {}", models.join(", "))
        },
        new_version_of
            .map(|f| format!(" under {f}"))
            .unwrap_or_default(),
    )
}

/// Shows the plan on stderr, then creates the function (or a new version of
/// `new_version_of`) unless `dry_run`, and makes it the current one.
pub async fn create(
    session: &Session,
    body: &Value,
    new_version_of: Option<&str>,
    dry_run: bool,
) -> Result<View> {
    note(&plan(body, new_version_of));
    if dry_run {
        return Ok(View::preview(body));
    }
    let f = functions(session).create(body, new_version_of).await?;
    session.profile.update_state(|s| {
        s.function_id = Some(f.id.clone());
        s.version_id = Some(f.version_id.clone());
        s.function_name = Some(f.name.clone());
        Ok(())
    })?;
    Ok(one(&f))
}

pub async fn update(session: &Session, (fid, vid): (&str, &str), body: &Value) -> Result<View> {
    Ok(one(&functions(session).update(fid, vid, body).await?))
}

pub async fn list(session: &Session, visibility: &[String]) -> Result<View> {
    let list = functions(session).list(visibility).await?;
    Ok(many(&list, "No functions."))
}

pub async fn list_ids(session: &Session, visibility: &[String]) -> Result<View> {
    let ids = functions(session).ids(visibility).await?;
    let rows = ids.iter().map(|id| vec![id.clone()]).collect();
    Ok(View::new(json!({"functionIds": ids}))
        .columns(&["FUNCTION ID"], rows, "No functions.")
        .names(ids.iter().map(|id| format!("function/{id}")).collect()))
}

pub async fn get(
    session: &Session,
    (fid, vid): (&str, &str),
    include_secrets: bool,
) -> Result<View> {
    Ok(one(&functions(session)
        .get(fid, vid, include_secrets)
        .await?))
}

/// The function given, else the current one.
pub fn function_id(session: &Session, given: Option<String>) -> Result<String> {
    match given {
        Some(f) => Ok(f),
        None => session.profile.read_state()?.function_id.ok_or_else(|| {
            Error::usage("no function given and no current function").hint("pass the function id")
        }),
    }
}

pub async fn versions(session: &Session, fid: &str) -> Result<View> {
    let list = functions(session).versions(fid).await?;
    Ok(many(&list, "No versions."))
}

/// How much of a function version `delete` removes.
pub struct Removal {
    /// Only the deployment; the function stays.
    pub deployment_only: bool,
    /// With `deployment_only`: let queued requests drain first.
    pub graceful: bool,
}

/// Deletes a version (and any deployment) or only its deployment, once confirmed; a deleted
/// current function is forgotten.
pub async fn delete(
    session: &Session,
    (fid, vid): (&str, &str),
    removal: Removal,
    yes: bool,
    env: &dyn EnvLookup,
) -> Result<View> {
    let fns = functions(session);
    let name = fns.get(fid, vid, false).await?.name;
    let what = if removal.deployment_only {
        format!("remove the deployment of function {name:?} ({fid}, version {vid})")
    } else {
        format!("delete function {name:?} ({fid}, version {vid}) and any deployment")
    };
    confirm(&what, yes, env)?;
    if removal.deployment_only {
        fns.undeploy(fid, vid, removal.graceful).await?;
    } else {
        fns.delete(fid, vid).await?;
        session.profile.update_state(|s| {
            if s.function_id.as_deref() == Some(fid) && s.version_id.as_deref() == Some(vid) {
                s.function_id = None;
                s.version_id = None;
                s.function_name = None;
            }
            Ok(())
        })?;
    }
    let status = if removal.deployment_only {
        "deployment removed"
    } else {
        "deleted"
    };
    Ok(
        View::new(json!({"status": status, "functionId": fid, "versionId": vid, "name": name}))
            .text(format!("function {name} ({fid}, version {vid}) {status}"))
            .names(vec![format!("function/{fid}")]),
    )
}

/// Queue depth of the function's versions (default: the current function).
pub async fn queue_status(
    session: &Session,
    function_id: Option<String>,
    version_id: Option<&str>,
) -> Result<View> {
    let state = session.profile.read_state()?;
    let fid = function_id.or(state.function_id).ok_or_else(|| {
        Error::usage("no function given and no current function").hint("pass the function id")
    })?;
    let q = functions(session).queue(&fid, version_id).await?;
    let rows = q["queues"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    vec![
                        field(r, "functionName"),
                        field(r, "functionVersionId"),
                        field(r, "functionStatus"),
                        field(r, "queueDepth"),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(View::new(&q).columns(
        &["name", "version id", "status", "queue depth"],
        rows,
        "No queues.",
    ))
}

pub async fn queue_position(session: &Session, request_id: &str) -> Result<View> {
    let p = functions(session).queue_position(request_id).await?;
    Ok(View::new(&p).pairs(&[
        ("REQUEST", request_id.to_owned()),
        ("FUNCTION", field(&p, "functionId")),
        ("VERSION", field(&p, "functionVersionId")),
        ("POSITION", field(&p, "positionInQueue")),
    ]))
}
