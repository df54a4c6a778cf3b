//! `status --watch` off a terminal: the whole view first, then a line per change (JSONL
//! with `-o json`).

use super::StatusReport;
use crate::base::error::{Error, Result, is_broken_pipe};
use crate::base::output::{OutputFormat, Report, render, write_out};
use std::io::Write;

/// What `watch` calls with each update: writes its lines to `out`; `false` once the reader
/// went away (`| head`), which stops watching quietly.
pub fn change_lines<'a>(
    format: OutputFormat,
    out: &'a mut dyn Write,
) -> impl FnMut(&StatusReport) -> Result<bool> + 'a {
    let mut previous: Option<StatusReport> = None;
    move |r| {
        let text = match format {
            OutputFormat::Json => serde_json::to_string(r)
                .map_err(|e| Error::internal(format!("cannot render JSON: {e}")))?,
            OutputFormat::Table | OutputFormat::Wide => {
                changes(previous.as_ref(), r, format == OutputFormat::Wide)
            }
            _ => {
                let mut s = Vec::new();
                render(r, format, &mut s)?;
                String::from_utf8_lossy(&s).into_owned()
            }
        };
        previous = Some(r.clone());
        match write_out(out, &text) {
            Ok(()) => Ok(true),
            Err(e) if is_broken_pipe(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The whole view first, then one line per release whose state changed, and the verdict
/// when it changes.
fn changes(before: Option<&StatusReport>, now: &StatusReport, wide: bool) -> String {
    let Some(before) = before else {
        return format!("{}\n{}", now.collected_at, now.table(wide));
    };
    let mut out = String::new();
    let (Some(a), Some(b)) = (&before.stack, &now.stack) else {
        return format!("{} {}\n", now.collected_at, now.headline());
    };
    for r in &b.releases {
        let old = a.releases.iter().find(|x| x.release == r.release);
        if old.is_none_or(|o| o.state != r.state || o.message != r.message) {
            out.push_str(&format!(
                "{} release {} {} -> {}{}\n",
                now.collected_at,
                r.release,
                old.map_or("-", |o| o.state.as_str()),
                r.state,
                r.message
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ));
        }
    }
    for bk in &b.backends {
        let old = a.backends.iter().find(|x| x.name == bk.name);
        if old.is_none_or(|o| o.health != bk.health) {
            out.push_str(&format!(
                "{} nvcfbackend {} {} -> {}\n",
                now.collected_at,
                bk.name,
                old.map_or("-", |o| o.health.as_str()),
                bk.health
            ));
        }
    }
    for e in &b.events {
        if !a
            .events
            .iter()
            .any(|x| x.object == e.object && x.reason == e.reason && x.count == e.count)
        {
            out.push_str(&format!(
                "{} warning {} {} {}: {}\n",
                now.collected_at, e.namespace, e.object, e.reason, e.message
            ));
        }
    }
    if a.verdict != b.verdict {
        out.push_str(&format!("{} status {}\n", now.collected_at, now.headline()));
    }
    out
}
