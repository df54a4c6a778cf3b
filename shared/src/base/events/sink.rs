//! Where events go: a [`Sink`] per output mode, behind one thread-safe [`Emitter`].

use super::{Event, JsonlSink, Mode, PlainSink, Terminal, tty::TtySink};
use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

pub trait Sink: Send {
    fn emit(&mut self, event: &Event) -> io::Result<()>;
    /// Ends a frame: composed renderers write what they buffered (one status tick).
    fn checkpoint(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()>;
}

/// Serialises emission from concurrent tasks (parallel checks share one sink) and counts
/// events a broken stderr swallowed, reported as `droppedProgressEvents`.
pub struct Emitter {
    sink: Mutex<Box<dyn Sink>>,
    dropped: AtomicU32,
}

impl Emitter {
    pub fn new(sink: Box<dyn Sink>) -> Self {
        Emitter {
            sink: Mutex::new(sink),
            dropped: AtomicU32::new(0),
        }
    }

    /// The sink for `mode`, writing to stderr (stdout is reserved for data: YAML, reports).
    pub fn for_mode(mode: Mode, terminal: &Terminal, composed_status: bool) -> Self {
        let err: Box<dyn Write + Send> = Box::new(io::stderr());
        let sink: Box<dyn Sink> = match mode {
            Mode::Jsonl if composed_status => Box::new(JsonlSink::composed(err)),
            Mode::Jsonl => Box::new(JsonlSink::new(err)),
            Mode::Plain => Box::new(PlainSink::new(err)),
            Mode::Accessible => Box::new(PlainSink::accessible(err)),
            Mode::Tty => Box::new(TtySink::new(err, terminal.color(), false)),
            Mode::TtyCompact => Box::new(TtySink::new(err, terminal.color(), true)),
        };
        Emitter::new(sink)
    }

    pub fn emit(&self, event: Event) {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if sink.emit(&event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn checkpoint(&self) {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if sink.checkpoint().is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn finish(&self) {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        let _ = sink.finish();
    }
}

/// A run's event stream and clock, as a command's runtime keeps them. The stream is made
/// on first use: a run that never opens it reports a failure as the structured `error`
/// event rather than a `final`.
pub trait RunEvents {
    fn events(&self) -> std::sync::Arc<Emitter>;
    /// Since the command started (what `final` reports).
    fn elapsed(&self) -> std::time::Duration;
}
