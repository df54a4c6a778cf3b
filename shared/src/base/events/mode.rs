//! Which renderer a run gets: upstream's selection rules, first match wins.

use crate::base::error::{Error, Result};
use is_terminal::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// JSONL events on stderr (`--json`).
    Jsonl,
    /// Timestamped lines (`--plain`, and every non-interactive stderr).
    Plain,
    /// Plain lines with explicit state markers (`--accessible`).
    Accessible,
    /// The live terminal view.
    Tty,
    /// The live view for terminals smaller than 100×30.
    TtyCompact,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ModeFlags {
    pub json: bool,
    pub plain: bool,
    pub accessible: bool,
}

/// What we know about the terminal and environment; captured once so selection is pure.
#[derive(Debug, Clone, Default)]
pub struct Terminal {
    pub stderr_is_tty: bool,
    pub term: Option<String>,
    pub no_color: bool,
    pub ci: Option<String>,
    pub size: Option<(u16, u16)>,
}

impl Terminal {
    pub fn detect() -> Self {
        let stderr = std::io::stderr();
        Terminal {
            stderr_is_tty: stderr.is_terminal(),
            term: std::env::var("TERM").ok(),
            no_color: std::env::var_os("NO_COLOR").is_some(),
            ci: std::env::var("CI").ok(),
            size: terminal_size::terminal_size_of(&stderr).map(|(w, h)| (w.0, h.0)),
        }
    }

    /// Colour is allowed only on an interactive stderr, and never with NO_COLOR or TERM=dumb.
    pub fn color(&self) -> bool {
        self.stderr_is_tty
            && !self.no_color
            && self
                .term
                .as_deref()
                .is_some_and(|t| !t.is_empty() && t != "dumb")
    }
}

fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "y" | "on"
    )
}

/// The smallest terminal the full live view fits in.
pub const FULL_VIEW_MIN: (u16, u16) = (100, 30);

pub fn select_mode(flags: ModeFlags, term: &Terminal) -> Result<Mode> {
    if flags.json && flags.plain {
        return Err(
            Error::usage("--json and --plain are mutually exclusive").hint("pass only one of them")
        );
    }
    if flags.json {
        return Ok(Mode::Jsonl);
    }
    if flags.plain {
        return Ok(Mode::Plain);
    }
    if flags.accessible {
        return Ok(Mode::Accessible);
    }
    if !term.stderr_is_tty
        || term
            .term
            .as_deref()
            .is_none_or(|t| t.is_empty() || t == "dumb")
        || term.no_color
        || term.ci.as_deref().is_some_and(truthy)
    {
        return Ok(Mode::Plain);
    }
    match term.size {
        Some((w, h)) if w < FULL_VIEW_MIN.0 || h < FULL_VIEW_MIN.1 => Ok(Mode::TtyCompact),
        _ => Ok(Mode::Tty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tty() -> Terminal {
        Terminal {
            stderr_is_tty: true,
            term: Some("xterm-256color".into()),
            no_color: false,
            ci: None,
            size: Some((120, 40)),
        }
    }

    fn flags(json: bool, plain: bool, accessible: bool) -> ModeFlags {
        ModeFlags {
            json,
            plain,
            accessible,
        }
    }

    #[test]
    fn explicit_flags_win_in_order() {
        assert!(select_mode(flags(true, true, false), &tty()).is_err());
        assert_eq!(
            select_mode(flags(true, false, true), &tty()).unwrap(),
            Mode::Jsonl
        );
        assert_eq!(
            select_mode(flags(false, true, true), &tty()).unwrap(),
            Mode::Plain
        );
        assert_eq!(
            select_mode(flags(false, false, true), &tty()).unwrap(),
            Mode::Accessible
        );
    }

    #[test]
    fn environment_forces_plain() {
        let none = ModeFlags::default();
        let cases: [fn(&mut Terminal); 6] = [
            |t| t.stderr_is_tty = false,
            |t| t.term = None,
            |t| t.term = Some("dumb".into()),
            |t| t.no_color = true,
            |t| t.ci = Some(" TRUE ".into()),
            |t| t.ci = Some("on".into()),
        ];
        for change in cases {
            let mut t = tty();
            change(&mut t);
            assert_eq!(select_mode(none, &t).unwrap(), Mode::Plain, "{t:?}");
        }
        let mut t = tty();
        t.ci = Some("false".into());
        assert_eq!(select_mode(none, &t).unwrap(), Mode::Tty);
    }

    #[test]
    fn small_terminals_get_the_compact_view() {
        let none = ModeFlags::default();
        let mut t = tty();
        t.size = Some((100, 30));
        assert_eq!(select_mode(none, &t).unwrap(), Mode::Tty);
        t.size = Some((99, 30));
        assert_eq!(select_mode(none, &t).unwrap(), Mode::TtyCompact);
        t.size = Some((100, 29));
        assert_eq!(select_mode(none, &t).unwrap(), Mode::TtyCompact);
    }
}
