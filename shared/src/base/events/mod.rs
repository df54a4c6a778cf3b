//! The one event type every long-running command emits, and the sinks that render it.
//!
//! Wire names, field order and omission rules follow upstream `nvcf-cli` (schema version 1),
//! so tools written against the upstream JSONL stream keep working unchanged.

mod clock;
mod jsonl;
mod mode;
mod phases;
mod plain;
mod sink;
mod tty;

pub use clock::{Ts, go_duration, go_float, humanize_sec};
pub use jsonl::{JsonlSink, to_json_line};
pub use mode::{Mode, ModeFlags, Terminal, select_mode};
pub use phases::Phases;
pub use plain::PlainSink;
pub use sink::{Emitter, RunEvents, Sink};

use crate::base::error::{Category, Raw, RetryClass};
use clock::{serialize_go_float, serialize_whole_seconds};
use serde::Serialize;
use std::time::Duration;

/// Upstream writes `{"event":"schemaVersion","version":1}` before the first event.
pub const SCHEMA_VERSION: u32 = 1;

fn is_false(v: &bool) -> bool {
    !*v
}
fn is_zero(v: &u32) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    PhaseStarted(PhaseStarted),
    PhaseProgress(PhaseProgress),
    PhaseCompleted(PhaseCompleted),
    PhaseFailed(PhaseFailed),
    PhaseCancelled(PhaseCancelled),
    Waiting(Waiting),
    LastProgress(LastProgress),
    Planned(Planned),
    DrainProgress(DrainProgress),
    LogLine(LogLine),
    Final(Final),
    Snapshot(Snapshot),
    ComponentHealth(ComponentHealth),
    ClusterRow(ClusterRow),
    RecentEvent(RecentEvent),
    CheckStarted(CheckStarted),
    CheckCompleted(CheckCompleted),
    CategoryCompleted(CategoryCompleted),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseStarted {
    pub ts: Ts,
    pub phase_num: u32,
    pub phase: String,
    pub total_phases: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Ts>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseProgress {
    pub ts: Ts,
    pub phase_num: u32,
    pub phase: String,
    pub resource: String,
    pub done: u32,
    pub total: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseCompleted {
    pub ts: Ts,
    pub phase_num: u32,
    pub phase: String,
    #[serde(serialize_with = "serialize_whole_seconds")]
    pub duration_sec: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseFailed {
    pub ts: Ts,
    pub phase_num: u32,
    pub phase: String,
    #[serde(serialize_with = "serialize_whole_seconds")]
    pub duration_sec: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub err_category: Category,
    pub err_message: String,
    pub retry_class: RetryClass,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_sec: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remediation: Vec<String>,
    #[serde(skip_serializing_if = "Raw::is_empty")]
    pub raw: Raw,
}

impl PhaseFailed {
    /// The event for `err`, failing `phase`: the taxonomy decides every error field.
    pub fn from_error(
        ts: Ts,
        phase_num: u32,
        phase: impl Into<String>,
        duration: Duration,
        err: &crate::base::error::Error,
    ) -> Self {
        let report = err.report();
        PhaseFailed {
            ts,
            phase_num,
            phase: phase.into(),
            duration_sec: duration,
            context: None,
            err_category: report.err_category,
            err_message: report.err_message,
            retry_class: report.retry_class,
            retry_after_sec: report.retry_after_sec,
            remediation: report.remediation,
            raw: report.raw.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseCancelled {
    pub ts: Ts,
    pub phase_num: u32,
    pub phase: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    pub ts: Ts,
    pub phase_num: u32,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastProgress {
    pub ts: Ts,
    pub phase_num: u32,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    pub ts: Ts,
    pub cluster: String,
    pub target: String,
    pub stack: String,
    #[serde(rename = "totalETASec")]
    pub total_eta_sec: u64,
    pub phases: Vec<PlannedPhase>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub will_uninstall: Vec<PlannedRemoval>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedPhase {
    pub phase_num: u32,
    pub phase: String,
    pub eta_sec: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRemoval {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub command: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainProgress {
    pub ts: Ts,
    pub phase_num: u32,
    pub deployment: String,
    pub state: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    pub ts: Ts,
    pub stream: String,
    pub source: String,
    pub line: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSummary {
    pub verdict: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub total_checks: u32,
    pub passed_count: u32,
    pub failed_count: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Final {
    pub ts: Ts,
    pub success: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub cancelled: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub plan_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nvcf_backend_health: Option<String>,
    #[serde(serialize_with = "serialize_whole_seconds")]
    pub duration_sec: Duration,
    pub dropped_progress_events: u32,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub checks: Option<CheckSummary>,
}

impl Final {
    pub fn new(ts: Ts, success: bool, duration: Duration) -> Self {
        Final {
            ts,
            success,
            cancelled: false,
            plan_only: false,
            cluster_id: None,
            cluster_group_id: None,
            nvcf_backend_health: None,
            duration_sec: duration,
            dropped_progress_events: 0,
            checks: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub cluster_id: String,
    pub target: String,
    pub stack_version: String,
    pub stack_digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_at: Option<Ts>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub ts: Ts,
    pub cluster: String,
    pub verdict: String,
    pub reconcile_age_sec: u64,
    pub identity: Identity,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentHealth {
    pub ts: Ts,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub ready: u32,
    pub total: u32,
    pub uptime_sec: u64,
    pub healthy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRow {
    pub ts: Ts,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub gpu: String,
    pub gpu_count: u32,
    pub active_deployments: u32,
    pub last_seen_age_sec: u64,
    pub healthy: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub is_current: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentEvent {
    pub ts: Ts,
    pub age_sec: u64,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckStarted {
    pub ts: Ts,
    pub category: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckCompleted {
    pub ts: Ts,
    pub category: String,
    pub id: String,
    pub passed: bool,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(rename = "hintURL", skip_serializing_if = "Option::is_none")]
    pub hint_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryCompleted {
    pub ts: Ts,
    pub category: String,
    pub passed_count: u32,
    pub failed_count: u32,
    #[serde(serialize_with = "serialize_go_float")]
    pub duration_sec: f64,
}

impl Event {
    /// The event's timestamp, for renderers that prefix lines with it.
    pub fn ts(&self) -> Ts {
        match self {
            Event::PhaseStarted(e) => e.ts,
            Event::PhaseProgress(e) => e.ts,
            Event::PhaseCompleted(e) => e.ts,
            Event::PhaseFailed(e) => e.ts,
            Event::PhaseCancelled(e) => e.ts,
            Event::Waiting(e) => e.ts,
            Event::LastProgress(e) => e.ts,
            Event::Planned(e) => e.ts,
            Event::DrainProgress(e) => e.ts,
            Event::LogLine(e) => e.ts,
            Event::Final(e) => e.ts,
            Event::Snapshot(e) => e.ts,
            Event::ComponentHealth(e) => e.ts,
            Event::ClusterRow(e) => e.ts,
            Event::RecentEvent(e) => e.ts,
            Event::CheckStarted(e) => e.ts,
            Event::CheckCompleted(e) => e.ts,
            Event::CategoryCompleted(e) => e.ts,
        }
    }
}

#[cfg(test)]
mod golden_tests;
