//! The report in CTRF (Common Test Report Format), as aicr's `validate` writes it, so CI
//! dashboards that read test reports can show pre-flight results.

use super::{CheckReport, Status};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn report(r: &CheckReport) -> Value {
    let stop = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let start = stop.saturating_sub(r.duration.as_millis() as u64);
    let count = |s: Status| r.outcomes.iter().filter(|o| o.status == s).count();
    let tests: Vec<Value> = r
        .outcomes
        .iter()
        .map(|o| {
            let mut t = json!({
                "name": format!("{}/{}", o.category, o.id),
                "status": match o.status {
                    Status::Passed => "passed",
                    Status::Failed => "failed",
                    Status::Skipped => "skipped",
                },
                "duration": o.duration.as_millis() as u64,
                "suite": o.category,
                "extra": {"title": o.title, "severity": o.severity.as_str()},
            });
            let lines: Vec<String> = [&o.detail, &o.message, &o.hint, &o.hint_url]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            if let Some(m) = &o.message {
                t["message"] = json!(m);
            }
            if !lines.is_empty() {
                t["stdout"] = json!(lines);
            }
            t
        })
        .collect();
    json!({
        "reportFormat": "CTRF",
        "specVersion": "0.0.0",
        "results": {
            "tool": {"name": crate::base::plugin::running().binary, "version": env!("CARGO_PKG_VERSION")},
            "summary": {
                "tests": r.outcomes.len(),
                "passed": count(Status::Passed),
                "failed": count(Status::Failed),
                "pending": 0,
                "skipped": count(Status::Skipped),
                "other": 0,
                "start": start,
                "stop": stop,
            },
            "tests": tests,
        }
    })
}
