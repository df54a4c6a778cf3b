//! Uninstall's steps as phases on the event stream: started, completed or failed.

use crate::base::error::Error;
use crate::base::events::{Emitter, Event, PhaseCompleted, PhaseFailed, PhaseStarted, Ts};
use crate::base::plan::Step;
use std::time::Instant;

/// The steps a run has.
const TOTAL: u32 = 6;

pub(super) struct Phases<'a> {
    events: &'a Emitter,
    started: Instant,
}

impl<'a> Phases<'a> {
    pub(super) fn new(events: &'a Emitter) -> Phases<'a> {
        Phases {
            events,
            started: Instant::now(),
        }
    }

    pub(super) fn start(&mut self, step: &Step) {
        self.started = Instant::now();
        self.events.emit(Event::PhaseStarted(PhaseStarted {
            ts: Ts::now(),
            phase_num: step.phase_num.unwrap_or(0),
            phase: step.phase.clone().unwrap_or_default(),
            total_phases: TOTAL,
            context: None,
            started_at: Some(Ts::now()),
        }));
    }
    pub(super) fn done(&self, step: &Step) {
        self.events.emit(Event::PhaseCompleted(PhaseCompleted {
            ts: Ts::now(),
            phase_num: step.phase_num.unwrap_or(0),
            phase: step.phase.clone().unwrap_or_default(),
            duration_sec: self.started.elapsed(),
            context: None,
        }));
    }
    pub(super) fn failed(&self, step: &Step, err: &Error) {
        self.events.emit(Event::PhaseFailed(PhaseFailed::from_error(
            Ts::now(),
            step.phase_num.unwrap_or(0),
            step.phase.clone().unwrap_or_default(),
            self.started.elapsed(),
            err,
        )));
    }
}
