//! How tasks, their events and their results look in tables: rows are read from the item's
//! text without building the whole item.

use crate::base::output::raw_json;
use crate::base::output::stream::Columns;
use crate::clients::nvcf::tasks::{Listing, Task};
use crate::clients::nvcf::view::{View, field};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::borrow::Cow;

pub const HEADER: [&str; 5] = ["id", "name", "status", "gpu", "created"];

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

pub fn task_view(t: &Task) -> View {
    let v = json!(t);
    View::new(&v)
        .columns(&HEADER, vec![task_row(&v)], "")
        .names(vec![format!("task/{}", t.id)])
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
        return task_row(&raw_json::value(raw));
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
    let e = raw_json::value(raw);
    vec![field(&e, "createdAt"), field(&e, "message")]
}

fn result_cells(raw: &RawValue) -> Vec<String> {
    let r = raw_json::value(raw);
    vec![
        field(&r, "resultId"),
        field(&r, "name"),
        field(&r, "createdAt"),
        r.get("metadata").map(|m| m.to_string()).unwrap_or_default(),
    ]
}

/// How `listing` prints.
pub fn columns(listing: Listing) -> Columns {
    match listing {
        Listing::Tasks => Columns {
            key: "tasks",
            header: &HEADER,
            row: task_cells,
            name: |r| format!("task/{}", field(&raw_json::value(r), "id")),
        },
        Listing::Events => Columns {
            key: "events",
            header: &["created", "message"],
            row: event_cells,
            name: |r| format!("event/{}", field(&raw_json::value(r), "eventId")),
        },
        Listing::Results => Columns {
            key: "results",
            header: &["id", "name", "created", "metadata"],
            row: result_cells,
            name: |r| format!("result/{}", field(&raw_json::value(r), "resultId")),
        },
    }
}
