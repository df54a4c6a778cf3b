//! How checks run: each check judges one prerequisite, says what it saw, and carries the
//! remediation when it fails. Results stream as upstream's `check_*` events and end in one
//! typed [`CheckReport`], rendered like `linkerd check`, as JSON/YAML, or as CTRF. The
//! checks themselves (pre-flight, health, NVCA's) live with the operations that run them.

mod ctrf;
mod report;

pub use report::{CheckOutputArgs, CheckOutputFormat, CheckReport, Status};

use crate::base::error::Category;
use crate::base::events::{
    CategoryCompleted, CheckCompleted, CheckStarted, CheckSummary, Emitter, Event, Final, Severity,
    Ts,
};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One check's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub category: String,
    pub id: String,
    /// What the check establishes, as a passing line reads ("default StorageClass exists").
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    /// What was seen: a version, a name, a count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(rename = "hintURL", skip_serializing_if = "Option::is_none")]
    pub hint_url: Option<String>,
    /// Why it failed, as the error taxonomy names it (`network` when something could not be
    /// reached, `auth` when credentials were refused): tells a retry from a fix.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "category_name"
    )]
    pub cause: Option<Category>,
    #[serde(skip)]
    pub duration: Duration,
}

fn category_name<S: serde::Serializer>(c: &Option<Category>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_str(c.as_str()),
        None => s.serialize_none(),
    }
}

/// The verdict of one check, before it is placed in a category.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub status: Status,
    pub detail: Option<String>,
    pub message: Option<String>,
    pub cause: Option<Category>,
}

impl Verdict {
    pub fn pass(detail: impl Into<String>) -> Self {
        Verdict {
            status: Status::Passed,
            detail: Some(detail.into()).filter(|d: &String| !d.is_empty()),
            message: None,
            cause: None,
        }
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Verdict {
            status: Status::Failed,
            detail: None,
            message: Some(message.into()),
            cause: None,
        }
    }
    pub fn skip(reason: impl Into<String>) -> Self {
        Verdict {
            status: Status::Skipped,
            detail: None,
            message: Some(reason.into()),
            cause: None,
        }
    }
    /// Names why it failed: [`Category::Network`] for what could not be reached,
    /// [`Category::Auth`] for refused credentials.
    pub fn because(mut self, cause: Category) -> Self {
        self.cause = Some(cause);
        self
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// A check's identity and its fix, independent of how it turns out.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Names our commands as `{nvcf} REST`, `{nvca} REST` or `{helm-nvcf} REST`, spelled
    /// for the running plugin when the check runs ([`crate::base::plugin::spell`]).
    pub hint: &'static str,
    pub hint_url: Option<&'static str>,
}

/// An error-severity check with no hint URL: most checks.
pub const fn spec(id: &'static str, title: &'static str, hint: &'static str) -> Spec {
    Spec {
        id,
        title,
        severity: Severity::Error,
        hint,
        hint_url: None,
    }
}

/// A check identity built at run time: [`Spec`] with owned text.
#[derive(Debug, Clone)]
pub struct Named {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub hint: String,
    pub hint_url: Option<String>,
}

/// Runs checks category by category, streaming events when asked to.
pub struct Runner {
    events: Option<Arc<Emitter>>,
    outcomes: Vec<Outcome>,
    category: Option<(String, Instant)>,
    started: Instant,
}

impl Runner {
    pub fn new(events: Option<Arc<Emitter>>) -> Self {
        Runner {
            events,
            outcomes: Vec::new(),
            category: None,
            started: Instant::now(),
        }
    }

    fn emit(&self, event: Event) {
        if let Some(e) = &self.events {
            e.emit(event);
        }
    }

    pub fn begin_category(&mut self, name: &str) {
        self.end_category();
        self.category = Some((name.to_owned(), Instant::now()));
    }

    fn end_category(&mut self) {
        if let Some((name, started)) = self.category.take() {
            let ours = self
                .outcomes
                .iter()
                .filter(|o| o.category == name && o.status != Status::Skipped);
            let (passed, failed) = ours.fold((0, 0), |(p, f), o| match o.status {
                Status::Passed => (p + 1, f),
                _ => (p, f + 1),
            });
            self.emit(Event::CategoryCompleted(CategoryCompleted {
                ts: Ts::now(),
                category: name,
                passed_count: passed,
                failed_count: failed,
                duration_sec: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            }));
        }
    }

    /// Runs one check: `judge` gives the verdict; the spec gives the rest.
    pub async fn check<F>(&mut self, spec: Spec, judge: F) -> Status
    where
        F: std::future::Future<Output = Verdict>,
    {
        let named = Named {
            id: spec.id.into(),
            title: spec.title.into(),
            severity: spec.severity,
            hint: crate::base::plugin::spell(spec.hint),
            hint_url: spec.hint_url.map(str::to_owned),
        };
        self.check_named(named, judge).await
    }

    /// As [`Runner::check`], for checks made per object found at run time (one per
    /// workload, one per pod), whose ids and titles are not known in advance.
    pub async fn check_named<F>(&mut self, spec: Named, judge: F) -> Status
    where
        F: std::future::Future<Output = Verdict>,
    {
        let category = self
            .category
            .as_ref()
            .map(|(c, _)| c.clone())
            .unwrap_or_default();
        self.emit(Event::CheckStarted(CheckStarted {
            ts: Ts::now(),
            category: category.clone(),
            id: spec.id.clone(),
            message: Some(spec.title.clone()),
        }));
        let started = Instant::now();
        let verdict = judge.await;
        let failed = verdict.status == Status::Failed;
        let outcome = Outcome {
            category,
            id: spec.id,
            title: spec.title,
            status: verdict.status,
            severity: spec.severity,
            detail: verdict.detail,
            message: verdict.message,
            hint: if failed { Some(spec.hint) } else { None },
            hint_url: if failed { spec.hint_url } else { None },
            cause: if failed { verdict.cause } else { None },
            duration: started.elapsed(),
        };
        if outcome.status != Status::Skipped {
            self.emit(Event::CheckCompleted(CheckCompleted {
                ts: Ts::now(),
                category: outcome.category.clone(),
                id: outcome.id.clone(),
                passed: !failed,
                severity: if failed {
                    spec.severity
                } else {
                    Severity::Info
                },
                message: Some(
                    outcome
                        .message
                        .clone()
                        .unwrap_or_else(|| outcome.title.clone()),
                ),
                detail: outcome.detail.clone(),
                hint_url: outcome.hint_url.clone(),
            }));
        }
        let status = outcome.status;
        self.outcomes.push(outcome);
        status
    }

    /// Ends the run: the last category, the `final` event, and the report.
    pub fn finish(mut self) -> CheckReport {
        self.end_category();
        let report = CheckReport::new(std::mem::take(&mut self.outcomes), self.started.elapsed());
        let counted = report
            .outcomes
            .iter()
            .filter(|o| o.status != Status::Skipped);
        let (passed, failed) = counted.fold((0u32, 0u32), |(p, f), o| match o.status {
            Status::Passed => (p + 1, f),
            _ => (p, f + 1),
        });
        let mut done = Final::new(Ts::now(), !report.failed(), self.started.elapsed());
        done.checks = Some(CheckSummary {
            verdict: report.verdict.clone(),
            total_checks: passed + failed,
            passed_count: passed,
            failed_count: failed,
        });
        self.emit(Event::Final(done));
        report
    }
}

/// How often `check --wait` re-runs the checks, as upstream does.
pub const RETRY_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `round` until no error-severity check fails or `wait` (if any) would run out before
/// the next round. Returns the last report and whether it still failed at the deadline.
pub async fn until_passing<F, Fut>(
    wait: Option<std::time::Duration>,
    mut round: F,
) -> (CheckReport, bool)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = CheckReport>,
{
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        let report = round().await;
        let out_of_time = deadline.is_none_or(|d| Instant::now() + RETRY_EVERY > d);
        if !report.failed() || out_of_time {
            let timed_out = wait.is_some() && report.failed();
            return (report, timed_out);
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}
