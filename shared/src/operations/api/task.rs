//! `task`: NVCT tasks. The last created task is remembered per profile and is the default
//! for every command that takes a task id.

use super::task_rows::{columns, task_view};
use crate::base::confirm::confirm;
use crate::base::error::{Error, Result};
use crate::base::output::stream::Stream;
use crate::base::output::{OutputFormat, note, write_out};
use crate::base::plugin::nvcf;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::input::{key_value, read_checked, shapes};
use crate::clients::nvcf::tasks::{Listing, PageQuery, Tasks};
use crate::clients::nvcf::view::{View, artifact, field};
use crate::model::settings::EnvLookup;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

fn tasks(session: &Session) -> Tasks<'_> {
    Tasks {
        client: &session.client,
    }
}

/// The task given, else the last one created from this profile.
pub fn task_id(session: &Session, given: Option<String>) -> Result<String> {
    match given {
        Some(id) => Ok(id),
        None => session.profile.read_state()?.task_id.ok_or_else(|| {
            Error::usage("no task id given and no task created from this profile yet").hint(
                format!(
                    "pass the task id, or create one with `{}`",
                    nvcf("task create")
                ),
            )
        }),
    }
}

/// Shows the plan on stderr, then creates the task (unless `dry_run`) and remembers it.
pub async fn create(session: &Session, body: &Value, dry_run: bool) -> Result<View> {
    let what = artifact(body).unwrap_or_default();
    note(&format!(
        "Plan: create task {:?} ({what}, GPU {} x {})",
        field(body, "name"),
        field(&body["gpuSpecification"], "gpu"),
        field(&body["gpuSpecification"], "instanceType"),
    ));
    if dry_run {
        return Ok(View::preview(body));
    }
    let t = tasks(session).create(body).await?;
    session.profile.update_state(|s| {
        s.task_id = Some(t.id.clone());
        s.task_name = Some(t.name.clone());
        Ok(())
    })?;
    Ok(task_view(&t))
}

/// `task list`'s query: one page with a limit (upstream's paging), else every page.
pub fn list_query(
    status: Option<String>,
    limit: Option<u32>,
    page_size: u32,
    cursor: Option<String>,
) -> PageQuery {
    let status = status.map(|s| s.to_ascii_uppercase());
    match limit {
        Some(limit) => PageQuery {
            status,
            ..PageQuery::one_page(limit as usize, cursor)
        },
        None => PageQuery {
            page_size: Some(page_size.max(1)),
            status,
            cursor,
            max_items: None,
        },
    }
}

/// Prints a paged listing as its pages arrive; `task` names whose events or results.
pub async fn list(
    session: &Session,
    listing: Listing,
    task: Option<&str>,
    query: &PageQuery,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let mut stream = Stream::new(columns(listing), format, query.max_items, out);
    let cursor = tasks(session)
        .pages(listing, task, query, |items| stream.page(items))
        .await?;
    stream.finish(cursor)
}

pub async fn bulk(
    session: &Session,
    mut task_ids: Vec<String>,
    input_file: Option<&Path>,
) -> Result<View> {
    if let Some(p) = input_file {
        let v = read_checked::<shapes::TaskIds>(p)?;
        for id in v["taskIds"].as_array().into_iter().flatten() {
            if let Some(s) = id.as_str() {
                task_ids.push(s.to_owned());
            }
        }
    }
    if task_ids.is_empty() {
        return Err(Error::usage("no task ids").hint("pass --task-ids or --input-file"));
    }
    let v = tasks(session).bulk(&task_ids).await?;
    let rows = v["tasks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| vec![field(t, "id"), field(t, "name"), field(t, "status")])
                .collect()
        })
        .unwrap_or_default();
    Ok(View::new(&v).columns(&["id", "name", "status"], rows, "No tasks."))
}

pub async fn get(session: &Session, id: &str, include_secrets: bool) -> Result<View> {
    Ok(task_view(&tasks(session).get(id, include_secrets).await?))
}

pub async fn cancel(session: &Session, id: &str, yes: bool, env: &dyn EnvLookup) -> Result<View> {
    confirm(&format!("cancel task {id}"), yes, env)?;
    Ok(task_view(&tasks(session).cancel(id).await?))
}

/// Deletes the task and forgets it when it was the profile's last created one.
pub async fn delete(session: &Session, id: &str, yes: bool, env: &dyn EnvLookup) -> Result<View> {
    confirm(
        &format!("delete task {id} with its events, results and secrets"),
        yes,
        env,
    )?;
    tasks(session).delete(id).await?;
    session.profile.update_state(|s| {
        if s.task_id.as_deref() == Some(id) {
            s.task_id = None;
            s.task_name = None;
        }
        Ok(())
    })?;
    Ok(View::new(json!({"status": "deleted", "taskId": id}))
        .text(format!("task {id} deleted"))
        .names(vec![format!("task/{id}")]))
}

/// Replaces the task's secrets with those of `input_file` and `--secret NAME=VALUE`s.
pub async fn update_secrets(
    session: &Session,
    id: &str,
    secrets: &[String],
    input_file: Option<&Path>,
) -> Result<View> {
    let mut pairs = Vec::new();
    if let Some(p) = input_file {
        let v = read_checked::<shapes::Secrets>(p)?;
        for s in v["secrets"].as_array().into_iter().flatten() {
            let value = match &s["value"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            pairs.push((field(s, "name"), value));
        }
    }
    for raw in secrets {
        pairs.push(key_value("--secret", raw)?);
    }
    if pairs.is_empty() {
        return Err(
            Error::usage("no secrets given").hint("pass --secret NAME=VALUE or --input-file")
        );
    }
    for (_, v) in &pairs {
        crate::base::secret::register(v);
    }
    tasks(session).update_secrets(id, &pairs).await?;
    let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    Ok(
        View::new(json!({"status": "updated", "taskId": id, "secrets": names}))
            .text(format!("task {id}: secrets {} updated", names.join(", "))),
    )
}

/// Prints new events until the task reaches a terminal status, then its final status.
pub async fn follow_events(
    session: &Session,
    id: &str,
    every: Duration,
    out: &mut dyn Write,
) -> Result<()> {
    let t = tasks(session)
        .follow_events(id, every, |e| {
            write_out(
                out,
                &format!("{}  {}", field(e, "createdAt"), field(e, "message")),
            )
        })
        .await?;
    write_out(out, &format!("task {} {}", t.id, t.status))
}
