//! Interrupting a command at a step boundary it announces: its `--json` events are read
//! from stderr as they come, and the signal is sent on the first event that marks the
//! boundary, never after a guessed sleep.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};

/// Ctrl-C, or a kill nothing can catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Int,
    Kill,
}

impl Signal {
    /// SIGINT on even rounds, SIGKILL on odd ones; the other way round with
    /// `NVCF_KILL_PARITY=1`, so two runs give every boundary both signals.
    pub fn alternating(round: usize) -> Signal {
        let parity = std::env::var("NVCF_KILL_PARITY")
            .ok()
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(0);
        if (round + parity).is_multiple_of(2) {
            Signal::Int
        } else {
            Signal::Kill
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Int => "INT",
            Signal::Kill => "KILL",
        }
    }
}

/// How an interrupted run ended.
#[derive(Debug)]
pub struct Interrupted {
    /// Whether an event marked the boundary (and the signal was sent).
    pub hit: bool,
    pub status: ExitStatus,
    /// stderr up to the boundary.
    pub seen: Vec<String>,
}

impl Interrupted {
    /// The run ended as `signal` says: exit 130 (cancelled) after SIGINT, killed by
    /// SIGKILL; panics naming `case` otherwise.
    pub fn expect_ended_by(&self, signal: Signal, case: &str) {
        use std::os::unix::process::ExitStatusExt;
        assert!(self.hit, "{case}: never reached: {:#?}", self.seen);
        match signal {
            Signal::Int => assert_eq!(
                self.status.code(),
                Some(130),
                "{case}: {:?} {:#?}",
                self.status,
                self.seen
            ),
            Signal::Kill => assert_eq!(self.status.signal(), Some(9), "{case}: {:?}", self.status),
        }
    }
}

/// Runs `cmd` (stdout discarded) and sends `signal` to it on the first JSONL event on its
/// stderr for which `at` holds.
pub fn at_event(cmd: &mut Command, signal: Signal, at: impl Fn(&Value) -> bool) -> Interrupted {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut hit = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if at(&v) {
            Command::new("kill")
                .args([&format!("-{}", signal.name()), &child.id().to_string()])
                .status()
                .unwrap();
            hit = true;
            break;
        }
    }
    let status = child.wait().unwrap();
    Interrupted { hit, status, seen }
}
