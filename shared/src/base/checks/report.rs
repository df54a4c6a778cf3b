//! The check report: one value, rendered as a linkerd-style list, JSON, YAML or CTRF.

use super::Outcome;
use crate::base::error::{Error, ExitCode, Result};
use crate::base::events::Severity;
use crate::base::output::{OutputFormat, Report, render, write_out};
use serde::Serialize;
use std::io::Write;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    /// Not run: something it depends on failed first.
    Skipped,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CheckOutputFormat {
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
    /// Common Test Report Format JSON
    Ctrf,
}

/// `-o FORMAT` of every check-shaped command.
pub type CheckOutputArgs = crate::base::output::OutputArgs<CheckOutputFormat>;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// `passed` (warnings allowed) or `failed` (an error-severity check failed).
    pub verdict: String,
    pub errors: u32,
    pub warnings: u32,
    pub outcomes: Vec<Outcome>,
    #[serde(skip)]
    pub duration: Duration,
}

impl CheckReport {
    pub fn new(outcomes: Vec<Outcome>, duration: Duration) -> Self {
        let failed_with = |sev: Severity| {
            outcomes
                .iter()
                .filter(|o| o.status == Status::Failed && o.severity == sev)
                .count() as u32
        };
        let errors = failed_with(Severity::Error);
        let warnings = failed_with(Severity::Warning);
        CheckReport {
            verdict: if errors > 0 { "failed" } else { "passed" }.into(),
            errors,
            warnings,
            outcomes,
            duration,
        }
    }

    pub fn failed(&self) -> bool {
        self.errors > 0
    }

    /// Renders in `format`, then turns a failed verdict into the documented exit code.
    pub fn print(&self, format: CheckOutputFormat, out: &mut dyn Write) -> Result<()> {
        self.print_as("pre-flight checks", format, out)
    }

    /// As [`CheckReport::print`]; `what` names the checks in the failure message.
    pub fn print_as(
        &self,
        what: &str,
        format: CheckOutputFormat,
        out: &mut dyn Write,
    ) -> Result<()> {
        match format {
            CheckOutputFormat::Ctrf => {
                let text = serde_json::to_string_pretty(&super::ctrf::report(self))
                    .map_err(|e| Error::internal(format!("cannot render CTRF: {e}")))?;
                write_out(out, &text)?;
            }
            CheckOutputFormat::Table => render(self, OutputFormat::Table, out)?,
            CheckOutputFormat::Wide => render(self, OutputFormat::Wide, out)?,
            CheckOutputFormat::Json => render(self, OutputFormat::Json, out)?,
            CheckOutputFormat::Yaml => render(self, OutputFormat::Yaml, out)?,
        }
        if self.failed() {
            if self.only_unreachable() {
                return Err(Error::new(
                    crate::base::error::Category::Network,
                    format!(
                        "{what} failed: what they check could not be reached ({} error(s))",
                        self.errors
                    ),
                )
                .hint("nothing was judged wrong yet: check the network path to what is named above, then re-run"));
            }
            return Err(Error::new(
                crate::base::error::Category::ChecksFailed,
                format!(
                    "{what} failed: {} error(s), {} warning(s)",
                    self.errors, self.warnings
                ),
            )
            .hint("fix the checks marked × above (each shows its hint), then re-run")
            .exit_code_override(ExitCode::ChecksFailed));
        }
        Ok(())
    }
}

impl CheckReport {
    /// Every failed error-severity check failed because something could not be reached
    /// (a registry, a server): a retry, not a fix, so the exit code says unavailable (7)
    /// rather than checks failed (2).
    pub fn only_unreachable(&self) -> bool {
        let mut failed = self
            .outcomes
            .iter()
            .filter(|o| o.status == Status::Failed && o.severity == Severity::Error)
            .peekable();
        failed.peek().is_some()
            && failed.all(|o| o.cause == Some(crate::base::error::Category::Network))
    }
}

impl Report for CheckReport {
    fn table(&self, wide: bool) -> String {
        let mut out = String::new();
        let mut current = "";
        for o in &self.outcomes {
            if o.category != current {
                if !current.is_empty() {
                    out.push('\n');
                }
                current = &o.category;
                out.push_str(&format!(
                    "{current}\n{}\n",
                    "-".repeat(current.chars().count())
                ));
            }
            let glyph = match (o.status, o.severity) {
                (Status::Passed, _) => "√",
                (Status::Skipped, _) => "-",
                (Status::Failed, Severity::Error) => "×",
                (Status::Failed, _) => "‼",
            };
            let mut line = format!("{glyph} {}", o.title);
            if let (Some(d), true) = (&o.detail, o.status == Status::Passed || wide) {
                line.push_str(&format!(" ({d})"));
            }
            if wide {
                line.push_str(&format!("  [{}/{}]", o.category, o.id));
            }
            out.push_str(&line);
            out.push('\n');
            if o.status != Status::Passed {
                if let Some(m) = &o.message {
                    out.push_str(&format!("    {m}\n"));
                }
                if let Some(h) = &o.hint {
                    out.push_str(&format!("    hint: {h}\n"));
                }
                if let Some(u) = &o.hint_url {
                    out.push_str(&format!("    see: {u}\n"));
                }
            }
        }
        let mark = if self.failed() {
            "×"
        } else if self.warnings > 0 {
            "‼"
        } else {
            "√"
        };
        out.push_str(&format!(
            "\nStatus check results are {mark} ({} error(s), {} warning(s))\n",
            self.errors, self.warnings
        ));
        out
    }

    fn names(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .map(|o| format!("check/{}/{}", o.category, o.id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::error::Category;

    fn outcome(status: Status, severity: Severity, cause: Option<Category>) -> Outcome {
        Outcome {
            category: "registry".into(),
            id: "x".into(),
            title: "x".into(),
            status,
            severity,
            detail: None,
            message: None,
            hint: None,
            hint_url: None,
            cause,
            duration: Duration::ZERO,
        }
    }

    fn exit_code(outcomes: Vec<Outcome>) -> Option<ExitCode> {
        let report = CheckReport::new(outcomes, Duration::ZERO);
        report
            .print_as("checks", CheckOutputFormat::Json, &mut Vec::new())
            .err()
            .map(|e| e.exit_code())
    }

    #[test]
    fn only_unreachable_failures_exit_unavailable_and_anything_else_checks_failed() {
        use Severity::{Error as E, Warning as W};
        let unreachable = || outcome(Status::Failed, E, Some(Category::Network));
        let refused = || outcome(Status::Failed, E, Some(Category::Auth));
        let plain = || outcome(Status::Failed, E, None);
        let passed = || outcome(Status::Passed, E, None);
        assert_eq!(exit_code(vec![passed()]), None);
        assert_eq!(
            exit_code(vec![passed(), unreachable(), unreachable()]),
            Some(ExitCode::Unavailable)
        );
        // A warning that failed for another reason does not make it a fix.
        assert_eq!(
            exit_code(vec![unreachable(), outcome(Status::Failed, W, None)]),
            Some(ExitCode::Unavailable)
        );
        assert_eq!(
            exit_code(vec![unreachable(), refused()]),
            Some(ExitCode::ChecksFailed)
        );
        assert_eq!(exit_code(vec![plain()]), Some(ExitCode::ChecksFailed));
    }
}
