//! The plain renderer (`--plain`, non-TTY default) and its accessible variant.
//!
//! Plain lines are upstream's, byte for byte, so existing grep patterns keep working.
//! Accessible mode adds the explicit state markers the upstream guide promised but never
//! shipped (`[running]`, `[completed]`, `[pending]`, `[failed]`) right after the prefix, so a
//! screen reader announces the state before the detail.

use super::clock::{go_duration, go_float, humanize_sec};
use super::{Event, Sink};
use crate::base::secret::redact;
use std::io::{self, Write};

/// Upstream's install pipeline has eight phases; the renderer assumes that total until a
/// `phase_started` says otherwise.
const DEFAULT_TOTAL_PHASES: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Running,
    Completed,
    Pending,
    Failed,
}

impl Marker {
    fn text(self) -> &'static str {
        match self {
            Marker::Running => "[running] ",
            Marker::Completed => "[completed] ",
            Marker::Pending => "[pending] ",
            Marker::Failed => "[failed] ",
        }
    }
}

pub struct PlainSink<W: Write> {
    out: W,
    accessible: bool,
    total_phases: u32,
}

impl<W: Write> PlainSink<W> {
    pub fn new(out: W) -> Self {
        PlainSink {
            out,
            accessible: false,
            total_phases: DEFAULT_TOTAL_PHASES,
        }
    }

    pub fn accessible(out: W) -> Self {
        PlainSink {
            accessible: true,
            ..PlainSink::new(out)
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn marker(&self, marker: Marker) -> &'static str {
        if self.accessible { marker.text() } else { "" }
    }

    fn prefix(&self, ts: &str, phase_num: u32, context: Option<&str>) -> String {
        match context {
            Some(ctx) => format!("{ts} [{phase_num:02}/{}] ctx={ctx}", self.total_phases),
            None => format!("{ts} [{phase_num:02}/{}]", self.total_phases),
        }
    }

    fn lines(&mut self, event: &Event) -> Vec<String> {
        let ts = event.ts().rfc3339();
        match event {
            Event::PhaseStarted(e) => {
                if e.total_phases > 0 {
                    self.total_phases = e.total_phases;
                }
                let p = self.prefix(&ts, e.phase_num, e.context.as_deref());
                vec![format!(
                    "{p} {}{}: starting",
                    self.marker(Marker::Running),
                    e.phase
                )]
            }
            Event::PhaseProgress(e) => {
                let p = self.prefix(&ts, e.phase_num, e.context.as_deref());
                vec![format!(
                    "{p} {}{}: {} {}/{}",
                    self.marker(Marker::Running),
                    e.phase,
                    e.resource,
                    e.done,
                    e.total
                )]
            }
            Event::PhaseCompleted(e) => {
                let p = self.prefix(&ts, e.phase_num, e.context.as_deref());
                vec![format!(
                    "{p} {}{}: complete ({})",
                    self.marker(Marker::Completed),
                    e.phase,
                    go_duration(e.duration_sec)
                )]
            }
            Event::PhaseFailed(e) => {
                let p = self.prefix(&ts, e.phase_num, e.context.as_deref());
                let class = match e.retry_after_sec {
                    Some(n) if n > 0 => format!("backoff retry={n}s"),
                    _ => e.retry_class.to_string(),
                };
                let mut out = vec![format!(
                    "{p} {}{}: failed [{} {class}] {}",
                    self.marker(Marker::Failed),
                    e.phase,
                    e.err_category,
                    e.err_message
                )];
                for line in &e.remediation {
                    out.push(format!("{p} {}: → {line}", e.phase));
                }
                out
            }
            Event::PhaseCancelled(e) => {
                let p = self.prefix(&ts, e.phase_num, e.context.as_deref());
                vec![format!(
                    "{p} {}{}: cancelled ({})",
                    self.marker(Marker::Failed),
                    e.phase,
                    e.reason
                )]
            }
            Event::Waiting(e) => {
                let p = self.prefix(&ts, e.phase_num, e.context.as_deref());
                vec![format!(
                    "{p} {}(current): waiting on {}",
                    self.marker(Marker::Pending),
                    e.reason
                )]
            }
            Event::LastProgress(e) => {
                let p = self.prefix(&ts, e.phase_num, e.context.as_deref());
                vec![format!(
                    "{p} {}(current): {}",
                    self.marker(Marker::Running),
                    e.detail
                )]
            }
            Event::Planned(e) => {
                let total = e.phases.len() as u32;
                let mut out = vec![format!(
                    "{ts} plan: cluster={} target={} stack={} totalETA={}s",
                    e.cluster, e.target, e.stack, e.total_eta_sec
                )];
                for phase in &e.phases {
                    out.push(format!(
                        "{ts} plan: [{:02}/{total}] {}{} eta={}s",
                        phase.phase_num,
                        self.marker(Marker::Pending),
                        phase.phase,
                        phase.eta_sec
                    ));
                }
                out
            }
            Event::DrainProgress(e) => {
                let p = self.prefix(&ts, e.phase_num, None);
                vec![format!("{p} drain-active: {} → {}", e.deployment, e.state)]
            }
            Event::LogLine(e) => vec![format!("[{}] {}", e.source, e.line)],
            Event::Final(e) => {
                let marker = self.marker(if e.success {
                    Marker::Completed
                } else {
                    Marker::Failed
                });
                let duration = go_duration(e.duration_sec);
                let cluster = e.cluster_id.as_deref().unwrap_or("");
                let line = if e.plan_only {
                    format!(
                        "{ts} final: {marker}plan-only=true success={} duration={duration}",
                        e.success
                    )
                } else if e.cancelled {
                    format!(
                        "{ts} final: {marker}cancelled=true cluster={cluster} duration={duration} dropped={}",
                        e.dropped_progress_events
                    )
                } else if let Some(checks) = &e.checks {
                    format!(
                        "{ts} final  {marker}verdict={} totalChecks={} passed={} failed={}",
                        checks.verdict,
                        checks.total_checks,
                        checks.passed_count,
                        checks.failed_count
                    )
                } else {
                    format!(
                        "{ts} final: {marker}success={} cluster={cluster} backend={} duration={duration} dropped={}",
                        e.success,
                        e.nvcf_backend_health.as_deref().unwrap_or(""),
                        e.dropped_progress_events
                    )
                };
                vec![line]
            }
            Event::Snapshot(e) => vec![format!(
                "{ts} status snapshot cluster={} verdict={} reconcile-age={}s",
                e.cluster, e.verdict, e.reconcile_age_sec
            )],
            Event::ComponentHealth(e) => {
                let ready = format!("ready={}/{}", e.ready, e.total);
                let uptime = humanize_sec(e.uptime_sec);
                let body = match (e.cluster.as_deref(), e.role.as_deref()) {
                    (Some(c), Some(r)) => format!("cluster={c} role={r} {ready} uptime={uptime}"),
                    (Some(c), None) => format!("cluster={c} {ready} uptime={uptime}"),
                    (None, Some(r)) => format!("role={r} {ready}  uptime={uptime}"),
                    (None, None) => format!("{ready}  uptime={uptime}"),
                };
                let marker = self.marker(if e.healthy {
                    Marker::Completed
                } else {
                    Marker::Failed
                });
                let mut line = format!("{ts} component {marker}{:<18} {body}", e.name);
                if let (false, Some(msg)) = (e.healthy, e.message.as_deref()) {
                    line.push_str(&format!(" reason=\"{msg}\""));
                }
                vec![line]
            }
            Event::ClusterRow(e) => {
                let mut line = format!(
                    "{ts} compute-cluster {:<15}gpu={} count={} active-deployments={}  last-seen-age={}",
                    e.name,
                    e.gpu,
                    e.gpu_count,
                    e.active_deployments,
                    humanize_sec(e.last_seen_age_sec)
                );
                if let Some(ctx) = &e.context {
                    line.push_str(&format!(" ctx={ctx}"));
                }
                if e.is_current {
                    line.push_str(" ◄ this");
                }
                vec![line]
            }
            Event::RecentEvent(e) => {
                let mut line =
                    format!("{ts} event age={} kind={}", humanize_sec(e.age_sec), e.kind);
                if let Some(status) = &e.status {
                    line.push_str(&format!(" status={status}"));
                }
                line.push_str(&format!(" name={}", e.name));
                if let Some(version) = &e.version {
                    line.push_str(&format!(" version={version}"));
                }
                vec![line]
            }
            Event::CheckStarted(e) => vec![format!(
                "{ts} [pre] {:<21}{}{}/{}",
                "check_started",
                self.marker(Marker::Running),
                e.category,
                e.id
            )],
            Event::CheckCompleted(e) => {
                let marker = self.marker(if e.passed {
                    Marker::Completed
                } else {
                    Marker::Failed
                });
                let name = format!("{}/{}", e.category, e.id);
                let mut line = format!(
                    "{ts} [pre] {:<21}{marker}{name:<43}passed={}",
                    "check_completed", e.passed
                );
                if !e.passed {
                    line.push_str(&format!(" severity={}", e.severity.as_str()));
                    if let Some(m) = &e.message {
                        line.push_str(&format!(" message=\"{m}\""));
                    }
                }
                if let Some(d) = &e.detail {
                    line.push_str(&format!(" detail=\"{d}\""));
                }
                if let Some(u) = &e.hint_url {
                    line.push_str(&format!(" hintURL=\"{u}\""));
                }
                vec![line]
            }
            Event::CategoryCompleted(e) => vec![format!(
                "{ts} [pre] {:<21}{}{:<25}passed={} failed={} duration={}s",
                "category_completed",
                self.marker(if e.failed_count == 0 {
                    Marker::Completed
                } else {
                    Marker::Failed
                }),
                e.category,
                e.passed_count,
                e.failed_count,
                go_float(e.duration_sec)
            )],
        }
    }
}

impl<W: Write + Send> Sink for PlainSink<W> {
    fn emit(&mut self, event: &Event) -> io::Result<()> {
        for line in self.lines(event) {
            writeln!(self.out, "{}", redact(&line))?;
        }
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
