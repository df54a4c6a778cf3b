//! The interactive view: one line per phase or check with a state glyph, the running line
//! redrawn in place. Colour only when the terminal allows it (see [`super::Terminal::color`]).
//!
//! Drawn with crossterm, the terminal library the `status --watch` dashboard draws with
//! through ratatui. Not ratatui's inline viewport: it asks the terminal for the cursor
//! position through stdout, which would corrupt `-o json > file` while progress goes to
//! stderr.

use super::clock::go_duration;
use super::{Event, Sink};
use crate::base::secret::redact;
use crossterm::cursor::MoveToColumn;
use crossterm::queue;
use crossterm::style::{Color, Stylize};
use crossterm::terminal::{Clear, ClearType};
use std::io::{self, Write};

const GREEN: Color = Color::DarkGreen;
const RED: Color = Color::DarkRed;
const YELLOW: Color = Color::DarkYellow;

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

    fn paint(&self, color: Color, text: &str) -> String {
        if self.color {
            text.with(color).to_string()
        } else {
            text.to_owned()
        }
    }

    fn dim(&self, text: &str) -> String {
        if self.color {
            text.dim().to_string()
        } else {
            text.to_owned()
        }
    }

    fn clear_line(&mut self) -> io::Result<()> {
        queue!(self.out, MoveToColumn(0), Clear(ClearType::CurrentLine))
    }

    fn settle(&mut self, line: &str) -> io::Result<()> {
        if self.transient {
            self.clear_line()?;
            self.transient = false;
        }
        writeln!(self.out, "{}", redact(line))
    }

    fn transient(&mut self, line: &str) -> io::Result<()> {
        self.clear_line()?;
        write!(self.out, "{}", redact(line))?;
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
                let line = format!("{} {}", self.paint(YELLOW, "[▶]"), self.dim(&e.detail));
                self.transient(&line)?;
            }
            Event::PhaseCompleted(e) => {
                let line = format!(
                    "{} {}. {}  {}",
                    self.paint(GREEN, "[✓]"),
                    e.phase_num,
                    e.phase,
                    self.dim(&go_duration(e.duration_sec))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::events::clock::Ts;
    use crate::base::events::{PhaseCompleted, PhaseStarted};
    use std::time::Duration;

    fn run(color: bool) -> String {
        let mut sink = TtySink::new(Vec::new(), color, false);
        sink.emit(&Event::PhaseStarted(PhaseStarted {
            ts: Ts::from_unix(0),
            phase_num: 1,
            phase: "install openbao".into(),
            total_phases: 2,
            context: None,
            started_at: None,
        }))
        .unwrap();
        sink.emit(&Event::PhaseCompleted(PhaseCompleted {
            ts: Ts::from_unix(3),
            phase_num: 1,
            phase: "install openbao".into(),
            duration_sec: Duration::from_secs(3),
            context: None,
        }))
        .unwrap();
        sink.finish().unwrap();
        String::from_utf8(sink.out).unwrap()
    }

    #[test]
    fn the_running_line_is_replaced_by_its_outcome() {
        let plain = run(false);
        // The running line, then a clear back to column 0, then the settled line.
        let (running, settled) = plain.rsplit_once("\x1b[2K").unwrap();
        assert!(running.contains("[▶] 1. install openbao"), "{plain:?}");
        assert_eq!(settled, "[✓] 1. install openbao  3s\n", "{plain:?}");
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!run(false).contains("\x1b[3"));
        let coloured = run(true);
        assert!(
            coloured.contains("\x1b[38;5;2m[✓]") || coloured.contains("\x1b[32m[✓]"),
            "{coloured:?}"
        );
    }
}
