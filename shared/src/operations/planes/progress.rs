//! The phase events of one run, in upstream's JSONL v1 shapes.

use super::{PhaseSpec, TOTAL_PHASES};
use crate::base::error::Error;
use crate::base::events::{
    Emitter, Event, LastProgress, PhaseCancelled, PhaseCompleted, PhaseFailed, PhaseProgress,
    PhaseStarted, Ts,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Progress {
    events: Arc<Emitter>,
    current: Option<(PhaseSpec, Instant, Option<String>)>,
}

impl Progress {
    pub fn new(events: Arc<Emitter>) -> Self {
        Progress {
            events,
            current: None,
        }
    }

    pub fn start(&mut self, phase: PhaseSpec, context: Option<String>) {
        let now = Ts::now();
        self.events.emit(Event::PhaseStarted(PhaseStarted {
            ts: now,
            phase_num: phase.num,
            phase: phase.wire.into(),
            total_phases: TOTAL_PHASES,
            context: context.clone(),
            started_at: Some(now),
        }));
        self.current = Some((phase, Instant::now(), context));
    }

    /// Ends the current phase; returns how long it took.
    pub fn done(&mut self) -> Duration {
        let Some((phase, started, context)) = self.current.take() else {
            return Duration::ZERO;
        };
        let took = started.elapsed();
        self.events.emit(Event::PhaseCompleted(PhaseCompleted {
            ts: Ts::now(),
            phase_num: phase.num,
            phase: phase.wire.into(),
            duration_sec: took,
            context,
        }));
        took
    }

    pub fn failed(&mut self, err: &Error) {
        if let Some((phase, started, context)) = self.current.take() {
            let mut event =
                PhaseFailed::from_error(Ts::now(), phase.num, phase.wire, started.elapsed(), err);
            event.context = context;
            self.events.emit(Event::PhaseFailed(event));
        }
    }

    pub fn note(&self, detail: impl Into<String>) {
        let (num, context) = self
            .current
            .as_ref()
            .map(|(p, _, c)| (p.num, c.clone()))
            .unwrap_or((0, None));
        self.events.emit(Event::LastProgress(LastProgress {
            ts: Ts::now(),
            phase_num: num,
            detail: detail.into(),
            at: None,
            context,
        }));
    }

    pub fn counted(&self, resource: &str, done: u32, total: u32) {
        if let Some((phase, _, context)) = &self.current {
            self.events.emit(Event::PhaseProgress(PhaseProgress {
                ts: Ts::now(),
                phase_num: phase.num,
                phase: phase.wire.into(),
                resource: resource.into(),
                done,
                total,
                context: context.clone(),
            }));
        }
    }
}

/// A run dropped mid-phase was interrupted (the runner drops the command on SIGINT or
/// SIGTERM): say which phase stopped, before the runner's `final{cancelled}`.
impl Drop for Progress {
    fn drop(&mut self) {
        if let Some((phase, _, context)) = self.current.take() {
            self.events.emit(Event::PhaseCancelled(PhaseCancelled {
                ts: Ts::now(),
                phase_num: phase.num,
                phase: phase.wire.into(),
                reason: "sigint".into(),
                context,
            }));
        }
    }
}
