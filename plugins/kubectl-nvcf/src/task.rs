//! `task`: NVCT tasks. The last created task is remembered per profile and is the default
//! for every command that takes a task id.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::base::confirm::confirm;
use nvcf_shared::base::output::{OutputArgs, OutputFormat, raw_json, write_out};
use nvcf_shared::clients::nvcf::Session;
use nvcf_shared::clients::nvcf::input::{key_value, read_checked, shapes};
use nvcf_shared::clients::nvcf::task_spec::TaskSpecArgs;
use nvcf_shared::clients::nvcf::tasks::{Listing, PageQuery, Task, Tasks};
use nvcf_shared::clients::nvcf::view::{View, artifact, field};
use nvcf_shared::{Error, Result};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum TaskCommand {
    /// Create a task from an image, a Helm chart or an input file (shows the plan first)
    Create {
        #[command(flatten)]
        spec: Box<TaskSpecArgs>,
        /// Print the planned request and stop
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List tasks; rows print as each page arrives
    List {
        /// Only tasks in this status (QUEUED, RUNNING, COMPLETED, …)
        #[arg(long)]
        status: Option<String>,
        /// Exactly one page of at most this many tasks, with the cursor of the next
        /// (upstream's paging); without it every page streams
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
        /// Tasks per request
        #[arg(long, default_value_t = 100)]
        page_size: u32,
        /// Start from this cursor
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Status of several tasks at once
    Bulk {
        /// Task ids, comma-separated
        #[arg(long, value_delimiter = ',')]
        task_ids: Vec<String>,
        /// JSON file: {"taskIds": […]}
        #[arg(long, short = 'f', value_name = "FILE")]
        input_file: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a task (default: the last created)
    Get {
        task_id: Option<String>,
        /// Include secret names
        #[arg(long)]
        include_secrets: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// A task's events; --follow keeps printing until the task ends
    Events {
        task_id: Option<String>,
        #[arg(long, conflicts_with_all = ["limit", "cursor"])]
        follow: bool,
        #[command(flatten)]
        page: OnePage,
        /// Seconds between checks with --follow
        #[arg(long, default_value_t = 2, hide = true)]
        poll_interval: u64,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// A task's results
    Results {
        task_id: Option<String>,
        #[command(flatten)]
        page: OnePage,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Cancel a task (asks unless --yes)
    Cancel {
        task_id: Option<String>,
        /// Confirm without asking
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a task with its events, results and secrets (asks unless --yes)
    Delete {
        task_id: Option<String>,
        /// Confirm without asking
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Replace a task's secrets
    UpdateSecrets {
        task_id: Option<String>,
        /// NAME=VALUE, repeatable
        #[arg(long = "secret", visible_alias = "secrets", value_name = "NAME=VALUE")]
        secrets: Vec<String>,
        /// JSON file: {"secrets": [{name, value}]}
        #[arg(long, short = 'f', value_name = "FILE")]
        input_file: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
}

fn task_id(session: &Session, given: Option<String>) -> Result<String> {
    match given {
        Some(id) => Ok(id),
        None => session.profile.read_state()?.task_id.ok_or_else(|| {
            Error::usage("no task id given and no task created from this profile yet")
                .hint("pass the task id, or create one with `kubectl nvcf task create`")
        }),
    }
}

fn task_row(t: &Value) -> Vec<String> {
    let gpu = format!(
        "{}/{}",
        field(&t["gpuSpecification"], "gpu"),
        field(&t["gpuSpecification"], "instanceType")
    );
    vec![
        field(t, "id"),
        field(t, "name"),
        field(t, "status"),
        gpu,
        field(t, "createdAt"),
    ]
}

const HEADER: [&str; 5] = ["id", "name", "status", "gpu", "created"];

fn task_view(t: &Task) -> View {
    let v = json!(t);
    View::new(&v)
        .columns(&HEADER, vec![task_row(&v)], "")
        .names(vec![format!("task/{}", t.id)])
}

/// Fixed-width rows, so the first page prints before later pages are known.
/// Appends one fixed-width row (rows print as pages arrive, so widths cannot be measured).
fn push_fixed_row(out: &mut String, cells: &[String]) {
    let widths: [usize; 4] = [36, 24, 29, 24];
    let start = out.len();
    for (i, c) in cells.iter().enumerate() {
        out.push_str(c);
        if let Some(w) = widths.get(i) {
            let pad = w.saturating_sub(c.chars().count()) + 3;
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    let kept = out[start..].trim_end().len();
    out.truncate(start + kept);
    out.push('\n');
}

/// Upstream's paging of events and results: one page when a limit is given.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OnePage {
    /// Exactly one page of at most this many items, with the cursor of the next
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limit: Option<u32>,
    /// Start from this cursor (from a previous page)
    #[arg(long)]
    cursor: Option<String>,
}

impl OnePage {
    fn query(&self) -> PageQuery {
        match self.limit {
            Some(limit) => PageQuery::one_page(limit as usize, self.cursor.clone()),
            None => PageQuery {
                cursor: self.cursor.clone(),
                ..PageQuery::default()
            },
        }
    }
}

/// How a listing's rows look in a table; rows are cut from the item's text as it came.
struct Columns {
    header: &'static [&'static str],
    row: fn(&RawValue) -> Vec<String>,
}

fn as_value(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// The cells of a task row, read without building the whole task.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskCells<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    gpu_specification: Option<GpuCells<'a>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GpuCells<'a> {
    #[serde(borrow)]
    gpu: Option<Cow<'a, str>>,
    #[serde(borrow)]
    instance_type: Option<Cow<'a, str>>,
}

fn task_cells(raw: &RawValue) -> Vec<String> {
    let Ok(t) = serde_json::from_str::<TaskCells<'_>>(raw.get()) else {
        // Not the usual shape (a number where text was expected): read it as a value.
        return task_row(&as_value(raw));
    };
    let text = |c: Option<Cow<'_, str>>| c.map(Cow::into_owned).unwrap_or_default();
    let (gpu, instance) = match t.gpu_specification {
        Some(g) => (text(g.gpu), text(g.instance_type)),
        None => (String::new(), String::new()),
    };
    vec![
        text(t.id),
        text(t.name),
        text(t.status),
        format!("{gpu}/{instance}"),
        text(t.created_at),
    ]
}

fn event_cells(raw: &RawValue) -> Vec<String> {
    event_row(&as_value(raw))
}

fn result_cells(raw: &RawValue) -> Vec<String> {
    result_row(&as_value(raw))
}

/// Streams a paged listing: rows (table), one JSON document written as it goes, or names.
async fn stream_list(
    api: &Api<'_>,
    tasks: &Tasks<'_>,
    listing: Listing,
    task: Option<&str>,
    query: &PageQuery,
    format: OutputFormat,
    cols: Columns,
) -> Result<()> {
    let Columns { header, row } = cols;
    let mut out = api.ctx.stdout();
    let key = listing.key();
    if format == OutputFormat::Yaml {
        let mut all = Vec::new();
        let cursor = tasks
            .pages(listing, task, query, |items: Vec<Value>| {
                all.extend(items);
                Ok(())
            })
            .await?;
        let mut data = json!({ key: all, "cursor": cursor });
        if let Some(limit) = query.max_items {
            data["limit"] = json!(limit);
        }
        return api.print(&View::new(data), format);
    }
    let mut count = 0usize;
    let mut opened = false;
    let limit = query.max_items.unwrap_or(usize::MAX);
    let open = format!("{{\n  \"{key}\": [");
    let cursor = tasks
        .pages(listing, task, query, |items: Vec<Box<RawValue>>| {
            let mut chunk = String::new();
            for item in items.into_iter().take(limit.saturating_sub(count)) {
                match format {
                    OutputFormat::Json => {
                        if !opened {
                            chunk.push_str(&open);
                            opened = true;
                        }
                        chunk.push_str(if count == 0 { "\n    " } else { ",\n    " });
                        chunk.push_str(&raw_json::pretty(item.get(), "    "));
                    }
                    OutputFormat::Name => chunk.push_str(&format!(
                        "{}/{}\n",
                        key.trim_end_matches('s'),
                        field(&as_value(&item), name_field(listing))
                    )),
                    _ => {
                        if count == 0 {
                            let h: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
                            push_fixed_row(&mut chunk, &h);
                        }
                        push_fixed_row(&mut chunk, &row(&item));
                    }
                }
                count += 1;
            }
            write_raw(&mut out, &chunk)
        })
        .await?;
    match format {
        OutputFormat::Json => {
            let head = if opened { String::new() } else { open };
            let close = if count == 0 { "]" } else { "\n  ]" };
            // One page (--limit) says its limit, as upstream's page does.
            let limit = match query.max_items {
                Some(l) => format!(",\n  \"limit\": {l}"),
                None => String::new(),
            };
            let tail = match &cursor {
                Some(c) => format!("{close}{limit},\n  \"cursor\": {}\n}}\n", json!(c)),
                None => format!("{close}{limit}\n}}\n"),
            };
            write_raw(&mut out, &format!("{head}{tail}"))
        }
        OutputFormat::Table | OutputFormat::Wide if count == 0 => {
            write_out(&mut out, &format!("No {key}."))
        }
        _ => Ok(()),
    }
}

fn name_field(listing: Listing) -> &'static str {
    match listing {
        Listing::Tasks => "id",
        Listing::Events => "eventId",
        Listing::Results => "resultId",
    }
}

/// Writes a partial chunk (no newline added), redacted like every output path.
fn write_raw(out: &mut dyn std::io::Write, text: &str) -> Result<()> {
    let text = nvcf_shared::base::secret::redact(text);
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(format!("cannot write output: {e}")).with_source(e))
}

fn event_row(e: &Value) -> Vec<String> {
    vec![field(e, "createdAt"), field(e, "message")]
}

fn result_row(r: &Value) -> Vec<String> {
    vec![
        field(r, "resultId"),
        field(r, "name"),
        field(r, "createdAt"),
        r.get("metadata").map(|m| m.to_string()).unwrap_or_default(),
    ]
}

pub async fn run(api: &Api<'_>, cmd: TaskCommand) -> Result<()> {
    let session = api.session()?;
    let tasks = Tasks {
        client: &session.client,
    };
    match cmd {
        TaskCommand::Create {
            spec,
            dry_run,
            output,
        } => {
            let body = spec.body()?;
            let what = artifact(&body).unwrap_or_default();
            api.note(&format!(
                "Plan: create task {:?} ({what}, GPU {} x {})",
                field(&body, "name"),
                field(&body["gpuSpecification"], "gpu"),
                field(&body["gpuSpecification"], "instanceType"),
            ));
            if dry_run {
                return api.print(&View::preview(&body), output.output);
            }
            let t = tasks.create(&body).await?;
            session.profile.update_state(|s| {
                s.task_id = Some(t.id.clone());
                s.task_name = Some(t.name.clone());
                Ok(())
            })?;
            api.print(&task_view(&t), output.output)
        }
        TaskCommand::List {
            status,
            limit,
            page_size,
            cursor,
            output,
        } => {
            let status = status.map(|s| s.to_ascii_uppercase());
            let query = match limit {
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
            };
            stream_list(
                api,
                &tasks,
                Listing::Tasks,
                None,
                &query,
                output.output,
                Columns {
                    header: &HEADER,
                    row: task_cells,
                },
            )
            .await
        }
        TaskCommand::Bulk {
            mut task_ids,
            input_file,
            output,
        } => {
            if let Some(p) = &input_file {
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
            let v = tasks.bulk(&task_ids).await?;
            let rows = v["tasks"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|t| vec![field(t, "id"), field(t, "name"), field(t, "status")])
                        .collect()
                })
                .unwrap_or_default();
            let view = View::new(&v).columns(&["id", "name", "status"], rows, "No tasks.");
            api.print(&view, output.output)
        }
        TaskCommand::Get {
            task_id: id,
            include_secrets,
            output,
        } => {
            let id = task_id(&session, id)?;
            api.print(
                &task_view(&tasks.get(&id, include_secrets).await?),
                output.output,
            )
        }
        TaskCommand::Events {
            task_id: id,
            follow,
            page,
            poll_interval,
            output,
        } => {
            let id = task_id(&session, id)?;
            if !follow {
                return stream_list(
                    api,
                    &tasks,
                    Listing::Events,
                    Some(&id),
                    &page.query(),
                    output.output,
                    Columns {
                        header: &["created", "message"],
                        row: event_cells,
                    },
                )
                .await;
            }
            follow_events(api, &tasks, &id, Duration::from_secs(poll_interval.max(1))).await
        }
        TaskCommand::Results {
            task_id: id,
            page,
            output,
        } => {
            let id = task_id(&session, id)?;
            stream_list(
                api,
                &tasks,
                Listing::Results,
                Some(&id),
                &page.query(),
                output.output,
                Columns {
                    header: &["id", "name", "created", "metadata"],
                    row: result_cells,
                },
            )
            .await
        }
        TaskCommand::Cancel {
            task_id: id,
            yes,
            output,
        } => {
            let id = task_id(&session, id)?;
            confirm(&format!("cancel task {id}"), yes, &api.ctx.env)?;
            api.print(&task_view(&tasks.cancel(&id).await?), output.output)
        }
        TaskCommand::Delete {
            task_id: id,
            yes,
            output,
        } => {
            let id = task_id(&session, id)?;
            confirm(
                &format!("delete task {id} with its events, results and secrets"),
                yes,
                &api.ctx.env,
            )?;
            tasks.delete(&id).await?;
            session.profile.update_state(|s| {
                if s.task_id.as_deref() == Some(&id) {
                    s.task_id = None;
                    s.task_name = None;
                }
                Ok(())
            })?;
            let view = View::new(json!({"status": "deleted", "taskId": id}))
                .text(format!("task {id} deleted"))
                .names(vec![format!("task/{id}")]);
            api.print(&view, output.output)
        }
        TaskCommand::UpdateSecrets {
            task_id: id,
            secrets,
            input_file,
            output,
        } => {
            let id = task_id(&session, id)?;
            let mut pairs = Vec::new();
            if let Some(p) = &input_file {
                let v = read_checked::<shapes::Secrets>(p)?;
                for s in v["secrets"].as_array().into_iter().flatten() {
                    let value = match &s["value"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    pairs.push((field(s, "name"), value));
                }
            }
            for raw in &secrets {
                pairs.push(key_value("--secret", raw)?);
            }
            if pairs.is_empty() {
                return Err(Error::usage("no secrets given")
                    .hint("pass --secret NAME=VALUE or --input-file"));
            }
            for (_, v) in &pairs {
                nvcf_shared::base::secret::register(v);
            }
            tasks.update_secrets(&id, &pairs).await?;
            let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
            let view = View::new(json!({"status": "updated", "taskId": id, "secrets": names}))
                .text(format!("task {id}: secrets {} updated", names.join(", ")));
            api.print(&view, output.output)
        }
    }
}

/// Prints new events until the task reaches a terminal status, then its final status.
async fn follow_events(api: &Api<'_>, tasks: &Tasks<'_>, id: &str, every: Duration) -> Result<()> {
    let mut out = api.ctx.stdout();
    let t = tasks
        .follow_events(id, every, |e| {
            write_out(
                &mut out,
                &format!("{}  {}", field(e, "createdAt"), field(e, "message")),
            )
        })
        .await?;
    write_out(&mut out, &format!("task {} {}", t.id, t.status))
}
