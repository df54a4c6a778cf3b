//! `status --watch`: the same reads as one-shot status, kept current by Kubernetes watches
//! (list once, then watch from that resourceVersion), never by re-polling.

use super::observe::{Observed, Source, from_meta, sources};
use super::{Clusters, Request, StatusReport, report};
use crate::base::error::Result;
use crate::model::stack::catalog::Catalog;
use futures_util::stream::{BoxStream, StreamExt, select_all};
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use std::time::Duration;

/// Events arriving this close together are one update (a rollout touches several objects).
const SETTLE: Duration = Duration::from_millis(150);

/// How often a cluster whose watches lost their connection is asked whether it is back.
const PROBE: Duration = Duration::from_secs(2);

struct Tagged {
    cluster: usize,
    key: String,
    event: std::result::Result<Event<DynamicObject>, watcher::Error>,
}

fn config(s: &Source) -> watcher::Config {
    let mut c = watcher::Config::default();
    if let Some(l) = &s.label_selector {
        c = c.labels(l);
    }
    if let Some(f) = &s.field_selector {
        c = c.fields(f);
    }
    c
}

fn stream(client: &kube::Client, cluster: usize, s: &Source) -> BoxStream<'static, Tagged> {
    let key = s.key.clone();
    let events: BoxStream<'static, std::result::Result<Event<DynamicObject>, watcher::Error>> = if s
        .metadata_only
    {
        let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client.clone(), &s.resource);
        watcher::watcher(api, config(s))
            .default_backoff()
            .map(|r| {
                r.map(|e| match e {
                    Event::Apply(m) => Event::Apply(from_meta(m)),
                    Event::Delete(m) => Event::Delete(from_meta(m)),
                    Event::InitApply(m) => Event::InitApply(from_meta(m)),
                    Event::Init => Event::Init,
                    Event::InitDone => Event::InitDone,
                })
            })
            .boxed()
    } else {
        watcher::watcher(s.api(client), config(s))
            .default_backoff()
            .boxed()
    };
    events
        .map(move |event| Tagged {
            cluster,
            key: key.clone(),
            event,
        })
        .boxed()
}

/// Per cluster and source: the objects an `Init` is collecting, whether it ever finished,
/// and whether its last error was the connection (which heals) rather than a refusal.
struct SourceState {
    pending: Option<Vec<DynamicObject>>,
    ready: bool,
    disconnected: bool,
}

/// Calls `on_update` with the first complete report and then with every report that
/// differs from the last one shown; stops when `on_update` returns `false`.
pub async fn watch(
    catalog: &Catalog,
    clusters: &Clusters,
    req: impl Fn() -> Request,
    mut on_update: impl FnMut(&StatusReport) -> Result<bool>,
) -> Result<()> {
    let each = clusters.each();
    let mut stores: Vec<Observed> = vec![Observed::default(); each.len()];
    let mut states: Vec<Vec<(String, SourceState)>> = Vec::new();
    let mut streams = Vec::new();
    for (i, (c, planes)) in each.iter().enumerate() {
        let srcs = sources(catalog, planes);
        states.push(
            srcs.iter()
                .map(|s| {
                    (
                        s.key.clone(),
                        SourceState {
                            pending: None,
                            ready: false,
                            disconnected: false,
                        },
                    )
                })
                .collect(),
        );
        streams.extend(srcs.iter().map(|s| stream(&c.client, i, s)));
    }
    let mut merged = select_all(streams);
    let mut last: Option<StatusReport> = None;
    let mut probe = tokio::time::interval(PROBE);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let cut_off = states.iter().flatten().any(|(_, s)| s.disconnected);
        tokio::select! {
            next = merged.next() => {
                let Some(first) = next else {
                    return Ok(());
                };
                apply(&mut stores, &mut states, first);
                // Take whatever else is already queued, then a short settle, as one update.
                while let Ok(Some(t)) = tokio::time::timeout(SETTLE, merged.next()).await {
                    apply(&mut stores, &mut states, t);
                }
            }
            _ = probe.tick(), if cut_off => {
                // A watch that lost its connection resumes without an event when nothing
                // changed meanwhile: the API server answering again is the sign it is back.
                for (i, (c, _)) in each.iter().enumerate() {
                    if states[i].iter().any(|(_, s)| s.disconnected)
                        && c.client.apiserver_version().await.is_ok()
                    {
                        for (key, state) in states[i].iter_mut().filter(|(_, s)| s.disconnected) {
                            stores[i].unreadable.remove(key);
                            state.disconnected = false;
                        }
                    }
                }
            }
        }
        if !states.iter().flatten().all(|(_, s)| s.ready) {
            continue;
        }
        let next = report(
            catalog,
            clusters.contexts(),
            req(),
            stores.iter().cloned().map(Ok).collect(),
        );
        if last.as_ref().is_some_and(|l| same(l, &next)) {
            continue;
        }
        if !on_update(&next)? {
            return Ok(());
        }
        last = Some(next);
    }
}

/// The watch failed in a way that heals (the connection, a restarting server), not
/// because the server refused the read (unauthorized, forbidden, not served).
fn heals(e: &watcher::Error) -> bool {
    let refused = |code: u16| matches!(code, 401 | 403 | 404);
    match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => match k {
            kube::Error::Api(s) => !refused(s.code),
            _ => true,
        },
        watcher::Error::WatchError(s) => !refused(s.code),
        watcher::Error::NoResourceVersion => false,
    }
}

/// A transport failure: nothing answered.
fn unreachable(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => !matches!(k, kube::Error::Api(_)),
        _ => false,
    }
}

/// Equal apart from the clock: event ages and collection time move on their own.
fn same(a: &StatusReport, b: &StatusReport) -> bool {
    let strip = |r: &StatusReport| {
        let mut r = r.clone();
        r.collected_at.clear();
        if let Some(s) = r.stack.as_mut() {
            for e in &mut s.events {
                e.age_sec = 0;
            }
        }
        r
    };
    strip(a) == strip(b)
}

fn apply(stores: &mut [Observed], states: &mut [Vec<(String, SourceState)>], t: Tagged) {
    let store = &mut stores[t.cluster];
    let Some((_, state)) = states[t.cluster].iter_mut().find(|(k, _)| *k == t.key) else {
        return;
    };
    match t.event {
        Ok(Event::Init) => state.pending = Some(Vec::new()),
        Ok(Event::InitApply(o)) => state.pending.get_or_insert_with(Vec::new).push(o),
        Ok(Event::InitDone) => {
            store.replace(&t.key, state.pending.take().unwrap_or_default());
            state.ready = true;
            state.disconnected = false;
        }
        Ok(Event::Apply(o)) => {
            store.put(&t.key, o);
            store.unreadable.remove(&t.key);
            state.disconnected = false;
        }
        Ok(Event::Delete(o)) => {
            store.remove(&t.key, &o);
            store.unreadable.remove(&t.key);
            state.disconnected = false;
        }
        // A kind the cluster does not serve (its CRD is absent) is empty, not an error.
        Err(watcher::Error::InitialListFailed(kube::Error::Api(s))) if s.code == 404 => {
            store.replace(&t.key, Vec::new());
            state.ready = true;
        }
        Err(e) => {
            state.disconnected = heals(&e);
            let why = if unreachable(&e) {
                format!("the API server is unreachable ({e}); the watch resumes when it answers")
            } else {
                e.to_string()
            };
            store.unreadable.insert(
                t.key.clone(),
                crate::base::secret::redact(&why).into_owned(),
            );
            state.ready = true;
        }
    }
}
