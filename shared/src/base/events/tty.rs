//! The interactive view: one line per phase or check with a state glyph, the running line
//! redrawn in place. Colour only when the terminal allows it (see [`super::Terminal::color`]).

use super::clock::go_duration;
use super::{Event, Sink};
use crate::base::secret::redact;
use std::io::{self, Write};

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";
const CLEAR_LINE: &str = "\r\x1b[2K";

pub struct TtySink<W: Write> {
    out: W,
    color: bool,
    compact: bool,
    /// True while the last thing written is a transient line we will overwrite.
    transient: bool,
}

impl<W: Write> TtySink<W> {
    pub fn new(out: W, color: bool, compact: bool) -> Self {
        TtySink {
            out,
            color,
            compact,
            transient: false,
        }
    }

    fn paint(&self, color: &str, text: &str) -> String {
        if self.color {
            format!("{color}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    fn settle(&mut self, line: &str) -> io::Result<()> {
        if self.transient {
            write!(self.out, "{CLEAR_LINE}")?;
            self.transient = false;
        }
        writeln!(self.out, "{}", redact(line))
    }

    fn transient(&mut self, line: &str) -> io::Result<()> {
        write!(self.out, "{CLEAR_LINE}{}", redact(line))?;
        self.transient = true;
        Ok(())
    }
}

impl<W: Write + Send> Sink for TtySink<W> {
    fn emit(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::PhaseStarted(e) => {
                let line = format!("{} {}. {}", self.paint(YELLOW, "[▶]"), e.phase_num, e.phase);
                self.transient(&line)?;
            }
            Event::PhaseProgress(e) if !self.compact => {
                let line = format!(
                    "{} {}. {}  {} {}/{}",
                    self.paint(YELLOW, "[▶]"),
                    e.phase_num,
                    e.phase,
                    e.resource,
                    e.done,
                    e.total
                );
                self.transient(&line)?;
            }
            Event::LastProgress(e) if !self.compact => {
                let line = format!(
                    "{} {}",
                    self.paint(YELLOW, "[▶]"),
                    self.paint(DIM, &e.detail)
                );
                self.transient(&line)?;
            }
            Event::PhaseCompleted(e) => {
                let line = format!(
                    "{} {}. {}  {}",
                    self.paint(GREEN, "[✓]"),
                    e.phase_num,
                    e.phase,
                    self.paint(DIM, &go_duration(e.duration_sec))
                );
                self.settle(&line)?;
            }
            Event::PhaseFailed(e) => {
                let line = format!(
                    "{} {}. {} failed [{} {}]: {}",
                    self.paint(RED, "[✘]"),
                    e.phase_num,
                    e.phase,
                    e.err_category,
                    e.retry_class,
                    e.err_message
                );
                self.settle(&line)?;
                for hint in &e.remediation {
                    self.settle(&format!("      → {hint}"))?;
                }
            }
            Event::PhaseCancelled(e) => {
                let line = format!(
                    "{} {}. {} cancelled",
                    self.paint(RED, "[✘]"),
                    e.phase_num,
                    e.phase
                );
                self.settle(&line)?;
            }
            Event::CheckCompleted(e) => {
                let glyph = if e.passed {
                    self.paint(GREEN, "[✓]")
                } else {
                    self.paint(RED, "[✘]")
                };
                let text = e
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("{}/{}", e.category, e.id));
                self.settle(&format!("{glyph} {text}"))?;
                if let (false, Some(url)) = (e.passed, &e.hint_url) {
                    self.settle(&format!("      → see {url}"))?;
                }
            }
            Event::Final(e) => {
                let (glyph, color) = if e.success {
                    ("✓", GREEN)
                } else {
                    ("✘", RED)
                };
                let what = if e.cancelled {
                    "cancelled".to_owned()
                } else if e.plan_only {
                    "plan complete (nothing was changed)".to_owned()
                } else if let Some(c) = &e.checks {
                    format!(
                        "{}: {} passed, {} failed",
                        c.verdict, c.passed_count, c.failed_count
                    )
                } else if e.success {
                    "done".to_owned()
                } else {
                    "failed".to_owned()
                };
                let line = format!(
                    "{} {what} in {}",
                    self.paint(color, glyph),
                    go_duration(e.duration_sec)
                );
                self.settle(&line)?;
            }
            other => {
                // Everything else reads best as the plain line, without the timestamp noise.
                let mut plain = super::PlainSink::new(Vec::new());
                plain.emit(other)?;
                let text = String::from_utf8_lossy(&plain.into_inner()).into_owned();
                for line in text.lines() {
                    let trimmed = line.split_once(' ').map_or(line, |(_, rest)| rest);
                    self.settle(trimmed)?;
                }
            }
        }
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.transient {
            writeln!(self.out)?;
            self.transient = false;
        }
        self.out.flush()
    }
}
