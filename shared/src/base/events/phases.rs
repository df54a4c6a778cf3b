//! One long command as numbered phases on the event stream: `phase_started`, progress,
//! `phase_completed` or `phase_failed`, then `final`. Without an emitter it stays silent, so
//! library callers that report nothing use the same code path.

use super::{Emitter, Event, Final, PhaseCompleted, PhaseFailed, PhaseProgress, PhaseStarted, Ts};
use crate::base::error::{Error, Result};
use std::sync::Mutex;
use std::time::Instant;

pub struct Phases<'a> {
    events: Option<&'a Emitter>,
    total: u32,
    run_started: Instant,
    current: Mutex<(u32, String, Instant)>,
}

impl<'a> Phases<'a> {
    pub fn new(events: Option<&'a Emitter>, total: u32) -> Self {
        Phases {
            events,
            total,
            run_started: Instant::now(),
            current: Mutex::new((0, String::new(), Instant::now())),
        }
    }

    fn emit(&self, event: Event) {
        if let Some(e) = self.events {
            e.emit(event);
        }
    }

    fn current(&self) -> (u32, String, Instant) {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Starts the next phase.
    pub fn start(&self, phase: &str) {
        let num = {
            let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
            *cur = (cur.0 + 1, phase.to_owned(), Instant::now());
            cur.0
        };
        self.emit(Event::PhaseStarted(PhaseStarted {
            ts: Ts::now(),
            phase_num: num,
            phase: phase.to_owned(),
            total_phases: self.total,
            context: None,
            started_at: Some(Ts::now()),
        }));
    }

    /// `done` of `total` items of the current phase are finished; `resource` names the last.
    pub fn progress(&self, resource: &str, done: u32, total: u32) {
        let (num, phase, _) = self.current();
        self.emit(Event::PhaseProgress(PhaseProgress {
            ts: Ts::now(),
            phase_num: num,
            phase,
            resource: resource.to_owned(),
            done,
            total,
            context: None,
        }));
    }

    pub fn done(&self) {
        let (num, phase, started) = self.current();
        self.emit(Event::PhaseCompleted(PhaseCompleted {
            ts: Ts::now(),
            phase_num: num,
            phase,
            duration_sec: started.elapsed(),
            context: None,
        }));
    }

    /// The current phase failed with `err`: `phase_failed`, then an unsuccessful `final`.
    pub fn fail(&self, err: &Error) {
        let (num, phase, started) = self.current();
        self.emit(Event::PhaseFailed(PhaseFailed::from_error(
            Ts::now(),
            num,
            phase,
            started.elapsed(),
            err,
        )));
        self.finish(false);
    }

    pub fn finish(&self, success: bool) {
        self.emit(Event::Final(Final::new(
            Ts::now(),
            success,
            self.run_started.elapsed(),
        )));
    }

    /// Runs `work` as the next phase; its error fails the phase and ends the run.
    pub async fn run<T>(
        &self,
        phase: &str,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.start(phase);
        match work.await {
            Ok(v) => {
                self.done();
                Ok(v)
            }
            Err(e) => {
                self.fail(&e);
                Err(e)
            }
        }
    }
}
