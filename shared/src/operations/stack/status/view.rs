//! The human view of a status report: identity, releases, backends, events, then config.

use super::{ReleaseHealth, StatusReport};
use crate::base::events::humanize_sec;
use crate::base::output::{Report, column_table, key_value_table};

fn mark(state: &str) -> &'static str {
    match state {
        "healthy" | "ready" => "✓",
        "not-installed" => "-",
        "unknown" | "progressing" => "?",
        _ => "✘",
    }
}

fn ready(r: &ReleaseHealth) -> String {
    let (ready, desired) = r
        .workloads
        .iter()
        .filter_map(|w| Some((w.ready?, w.desired?)))
        .fold((0, 0), |(a, b), (r, d)| (a + r, b + d));
    if desired == 0 {
        "-".into()
    } else {
        format!("{ready}/{desired}")
    }
}

impl StatusReport {
    pub fn headline(&self) -> String {
        let Some(stack) = &self.stack else {
            return format!(
                "unknown — {}",
                self.cluster_error.as_deref().unwrap_or("not read")
            );
        };
        let bad = stack
            .releases
            .iter()
            .filter(|r| !matches!(r.state.as_str(), "healthy" | "not-installed"))
            .count();
        let installed = stack
            .releases
            .iter()
            .filter(|r| r.state != "not-installed")
            .count();
        match stack.verdict.as_str() {
            "healthy" => format!("✓ healthy — {installed} releases ready"),
            "not-installed" => {
                "- not installed — no release of the stack is on this cluster".into()
            }
            v => format!("{} {v} — {bad} of {installed} not healthy", mark(v)),
        }
    }

    pub fn identity_rows(&self) -> Vec<(&'static str, String)> {
        let i = &self.identity;
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let mut rows = vec![
            (
                "CLUSTER",
                format!("{} ({})", dash(&i.cluster_name), dash(&i.cluster_id)),
            ),
            ("GROUP", dash(&i.cluster_group_id)),
            (
                "CONTEXTS",
                format!(
                    "control-plane {} · compute-plane {}",
                    i.control_plane_context, i.compute_plane_context
                ),
            ),
            ("STATUS", self.headline()),
        ];
        rows.extend(i.drift.iter().map(|d| ("DRIFT", d.clone())));
        rows.extend(i.notes.iter().map(|n| ("NOTE", n.clone())));
        rows
    }

    /// Release rows; without `wide`, optional releases that are not installed are left out.
    pub fn release_rows(&self, wide: bool) -> Vec<Vec<String>> {
        let Some(stack) = &self.stack else {
            return Vec::new();
        };
        stack
            .releases
            .iter()
            .filter(|r| wide || r.state != "not-installed" || r.service.is_some())
            .map(|r| {
                let name = match &r.service {
                    Some(s) => format!("{s} ({})", r.release),
                    None => r.release.clone(),
                };
                vec![
                    format!("{} {name}", mark(&r.state)),
                    r.plane.as_str().to_owned(),
                    r.namespace.clone(),
                    r.state.clone(),
                    ready(r),
                    r.message.clone().unwrap_or_default(),
                ]
            })
            .collect()
    }
}

impl Report for StatusReport {
    fn table(&self, wide: bool) -> String {
        let mut out = key_value_table(&self.identity_rows());
        if let Some(stack) = &self.stack {
            out.push('\n');
            out.push_str(&column_table(
                &[
                    "service / release",
                    "plane",
                    "namespace",
                    "state",
                    "ready",
                    "message",
                ],
                self.release_rows(wide),
            ));
            out.push('\n');
            if stack.backends.is_empty() {
                out.push_str("NVCFBACKEND   none\n");
            } else {
                out.push_str(&column_table(
                    &["nvcfbackend", "namespace", "version", "health"],
                    stack
                        .backends
                        .iter()
                        .map(|b| {
                            vec![
                                format!("{} {}", if b.healthy { "✓" } else { "✘" }, b.name),
                                b.namespace.clone(),
                                b.version.clone().unwrap_or_else(|| "-".into()),
                                b.health.clone(),
                            ]
                        })
                        .collect(),
                ));
            }
            out.push('\n');
            if stack.events.is_empty() {
                out.push_str("WARNING EVENTS   none in the last hour\n");
            } else {
                out.push_str(&column_table(
                    &["age", "namespace", "object", "reason", "message"],
                    stack
                        .events
                        .iter()
                        .map(|e| {
                            vec![
                                humanize_sec(e.age_sec),
                                e.namespace.clone(),
                                e.object.clone(),
                                e.reason.clone(),
                                e.message.clone(),
                            ]
                        })
                        .collect(),
                ));
            }
            for u in &stack.unreadable {
                out.push_str(&format!("UNREADABLE   {u}\n"));
            }
        }
        out.push('\n');
        let rows: Vec<(&str, String)> = self
            .config
            .rows
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        out.push_str(&key_value_table(&rows));
        out
    }

    fn names(&self) -> Vec<String> {
        self.stack
            .iter()
            .flat_map(|s| &s.releases)
            .filter(|r| r.state != "not-installed")
            .map(|r| format!("release/{}", r.release))
            .collect()
    }
}
