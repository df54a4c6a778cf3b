//! NVCT (`tasks.<domain>`, `/v1/nvct`): tasks, their events, results and secrets.
//!
//! Lists are cursor-paged (lifecycles.md §7): a page may be short or empty while a cursor is
//! still returned, so paging follows the cursor until it is absent, and each page is handed
//! to the caller as it arrives so the first row prints before the last page is fetched.

use super::apikeys::seg;
use super::client::{Client, Request};
use super::endpoints::Service;
use crate::base::error::{Category, Error, Result};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_specification: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_chart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Task {
    pub fn gpu(&self) -> String {
        let spec = self.gpu_specification.as_ref();
        let field = |k: &str| {
            spec.and_then(|s| s.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        format!("{}/{}", field("gpu"), field("instanceType"))
    }
}

#[derive(Deserialize)]
struct OneTask {
    task: Task,
}

/// Which paged list.
#[derive(Debug, Clone, Copy)]
pub enum Listing {
    Tasks,
    Events,
    Results,
}

impl Listing {
    pub fn key(self) -> &'static str {
        match self {
            Listing::Tasks => "tasks",
            Listing::Events => "events",
            Listing::Results => "results",
        }
    }
}

pub struct Tasks<'a> {
    pub client: &'a Client,
}

impl<'a> Tasks<'a> {
    fn req(&self, method: Method, path: String) -> Request {
        self.client.request(Service::Tasks, method, path)
    }

    pub async fn create(&self, body: &Value) -> Result<Task> {
        let req = self.req(Method::POST, "/v1/nvct/tasks".into()).json(body)?;
        Ok(self.client.json::<OneTask>(&req).await?.task)
    }

    pub async fn get(&self, id: &str, include_secrets: bool) -> Result<Task> {
        let mut req = self.req(Method::GET, format!("/v1/nvct/tasks/{}", seg(id)));
        if include_secrets {
            req = req.query("includeSecrets", "true");
        }
        Ok(self.client.json::<OneTask>(&req).await?.task)
    }

    pub async fn cancel(&self, id: &str) -> Result<Task> {
        let req = self.req(Method::POST, format!("/v1/nvct/tasks/{}/cancel", seg(id)));
        Ok(self.client.json::<OneTask>(&req).await?.task)
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        let req = self.req(Method::DELETE, format!("/v1/nvct/tasks/{}", seg(id)));
        self.client.send(&req).await.map(drop)
    }

    pub async fn bulk(&self, ids: &[String]) -> Result<Value> {
        let req = self
            .req(Method::POST, "/v1/nvct/tasks/bulk".into())
            .json(&json!({ "taskIds": ids }))?
            .idempotent();
        self.client.json(&req).await
    }

    pub async fn update_secrets(&self, id: &str, secrets: &[(String, String)]) -> Result<()> {
        let secrets: Vec<Value> = secrets
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect();
        let req = self
            .req(Method::PUT, format!("/v1/nvct/secrets/tasks/{}", seg(id)))
            .json(&json!({ "secrets": secrets }))?;
        self.client.send(&req).await.map(drop)
    }

    /// Follows the cursor from `cursor` and hands each page's items to `on_page`; stops
    /// after `max_items` items when given. Returns the cursor to resume from, if any.
    /// Items decode as `T`: `Value`, or `Box<RawValue>` for listings that print the text
    /// as it came (thousands of items cost a map per object otherwise).
    pub async fn pages<T: DeserializeOwned>(
        &self,
        listing: Listing,
        task_id: Option<&str>,
        query: &PageQuery,
        mut on_page: impl FnMut(Vec<T>) -> Result<()>,
    ) -> Result<Option<String>> {
        let path = match (listing, task_id) {
            (Listing::Tasks, _) | (_, None) => "/v1/nvct/tasks".to_owned(),
            (l, Some(id)) => format!("/v1/nvct/tasks/{}/{}", seg(id), l.key()),
        };
        let mut cursor = query.cursor.clone();
        let mut seen = 0usize;
        loop {
            let mut req = self.req(Method::GET, path.clone());
            if let Some(l) = query.page_size {
                req = req.query("limit", l);
            }
            if let Some(s) = &query.status {
                req = req.query("status", s);
            }
            if let Some(c) = &cursor {
                req = req.query("cursor", c);
            }
            let resp = self.client.send(&req).await?;
            let (items, next) = decode_page::<T>(&resp.body, listing.key()).map_err(|e| {
                Error::new(
                    Category::Unknown,
                    format!("unexpected NVCT {} response: {e}", req.path),
                )
                .hint("the server and this plugin disagree on the API; check both versions")
            })?;
            seen += items.len();
            on_page(items)?;
            cursor = next;
            // A page as large as the limit is the last one asked for, however full it came.
            let one_page = query
                .max_items
                .is_some_and(|m| query.page_size.is_some_and(|p| p as usize >= m));
            let done = one_page || query.max_items.is_some_and(|m| seen >= m);
            if cursor.is_none() || done {
                return Ok(cursor);
            }
        }
    }
}

/// One page: the items under `key` and the cursor of the next page, if any. The page's
/// other fields are skipped without being built.
fn decode_page<T: DeserializeOwned>(
    body: &[u8],
    key: &str,
) -> std::result::Result<(Vec<T>, Option<String>), serde_json::Error> {
    let page: std::collections::HashMap<String, &RawValue> = serde_json::from_slice(body)?;
    let items = match page.get(key) {
        Some(raw) if raw.get() != "null" => serde_json::from_str(raw.get())?,
        _ => Vec::new(),
    };
    let cursor = match page.get("cursor") {
        Some(raw) => serde_json::from_str::<Option<String>>(raw.get())?,
        None => None,
    }
    .filter(|c| !c.is_empty());
    Ok((items, cursor))
}

/// Statuses a task never leaves.
pub const TERMINAL: &[&str] = &[
    "COMPLETED",
    "ERRORED",
    "CANCELED",
    "EXCEEDED_MAX_RUNTIME_DURATION",
    "EXCEEDED_MAX_QUEUED_DURATION",
];

impl Tasks<'_> {
    /// Hands each new event to `on_event` until the task reaches a terminal status, checking
    /// every `every`; returns the task as it ended.
    pub async fn follow_events(
        &self,
        id: &str,
        every: std::time::Duration,
        mut on_event: impl FnMut(&Value) -> Result<()>,
    ) -> Result<Task> {
        let mut seen = std::collections::HashSet::new();
        loop {
            // Read the status first: events written before a terminal status are then all
            // in the page read after it.
            let task = self.get(id, false).await?;
            let mut fresh = Vec::new();
            self.pages(
                Listing::Events,
                Some(id),
                &PageQuery::default(),
                |items: Vec<Value>| {
                    for e in items {
                        let key = e.get("eventId").map(|v| v.to_string()).unwrap_or_default();
                        if seen.insert(key) {
                            fresh.push(e);
                        }
                    }
                    Ok(())
                },
            )
            .await?;
            for e in &fresh {
                on_event(e)?;
            }
            if TERMINAL.contains(&task.status.as_str()) {
                return Ok(task);
            }
            tokio::time::sleep(every).await;
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub page_size: Option<u32>,
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub max_items: Option<usize>,
}

impl PageQuery {
    /// Exactly one page of at most `limit` items from `cursor`, as upstream's `--limit`
    /// asks: the cursor returned then resumes right after the last item shown.
    pub fn one_page(limit: usize, cursor: Option<String>) -> PageQuery {
        PageQuery {
            page_size: Some(u32::try_from(limit).unwrap_or(u32::MAX)),
            status: None,
            cursor,
            max_items: Some(limit),
        }
    }
}
