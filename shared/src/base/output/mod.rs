//! Reports on stdout: one typed value rendered as a table for people and as JSON, YAML or
//! names for programs, so every human view has a machine twin.

pub mod raw_json;

use crate::base::error::{Error, Result};
use crate::base::secret::{Secret, redact};
use serde::Serialize;
use std::io::Write;
use tabled::builder::Builder;
use tabled::settings::{Padding, Style};

#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
    Name,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Output format
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub output: OutputFormat,
}

/// A value a command prints. `Serialize` gives JSON and YAML; the two methods give the rest.
pub trait Report: Serialize {
    /// The human view; `wide` adds the columns a terminal has no room for by default.
    fn table(&self, wide: bool) -> String;
    /// One name per line for `-o name`, as kubectl prints `kind/name`.
    fn names(&self) -> Vec<String>;
}

/// Renders `report` to `out`. Secrets are masked on every path, even in JSON.
pub fn render<R: Report>(report: &R, format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    write_out(out, &format_report(report, format)?)
}

/// As [`render`], but prints the `revealed` secrets in full: only for the commands whose
/// job is to print a secret (`api-key generate`, `api-key show`). Every other secret in the
/// output is still masked.
pub fn render_revealing<R: Report>(
    report: &R,
    format: OutputFormat,
    out: &mut dyn Write,
    revealed: &[&Secret],
) -> Result<()> {
    let mut text = format_report(report, format)?;
    // Swap each revealed value for a marker no redaction pattern matches, redact the rest,
    // then put the values back.
    let marker = |i: usize| format!("\u{1}revealed-{i}\u{1}");
    for (i, s) in revealed.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        text = text.replace(s.expose(), &marker(i));
    }
    let mut text = redact(&text).into_owned();
    for (i, s) in revealed.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        text = text.replace(&marker(i), s.expose());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(format!("cannot write output: {e}")).with_source(e))
}

fn format_report<R: Report>(report: &R, format: OutputFormat) -> Result<String> {
    Ok(match format {
        OutputFormat::Table => report.table(false),
        OutputFormat::Wide => report.table(true),
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(report)
                .map_err(|e| Error::internal(format!("cannot render JSON: {e}")))?;
            s.push('\n');
            s
        }
        OutputFormat::Yaml => serde_saphyr::to_string(report)
            .map_err(|e| Error::internal(format!("cannot render YAML: {e}")))?,
        OutputFormat::Name => report.names().iter().map(|n| format!("{n}\n")).collect(),
    })
}

/// Writes to stdout-like sinks; a closed pipe surfaces as an error `is_broken_pipe` spots.
pub fn write_out(out: &mut dyn Write, text: &str) -> Result<()> {
    let text = redact(text);
    let text = if text.is_empty() || text.ends_with('\n') {
        text.into_owned()
    } else {
        format!("{text}\n")
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(format!("cannot write output: {e}")).with_source(e))
}

/// A line for people on stderr (plans, notes), never mixed into the report on stdout.
pub fn note(text: &str) {
    let text = redact(text);
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// A two-column `KEY  value` view, as `kubectl describe`-like summaries read best.
pub fn key_value_table(rows: &[(&str, String)]) -> String {
    let mut b = Builder::default();
    for (k, v) in rows {
        b.push_record([k.to_string(), v.clone()]);
    }
    trimmed(b)
}

/// A column table with a header row, kubectl style (no borders, upper-case headers).
pub fn column_table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut b = Builder::default();
    b.push_record(header.iter().map(|h| h.to_uppercase()));
    for r in rows {
        b.push_record(r);
    }
    trimmed(b)
}

/// kubectl's look: no borders, three spaces between columns (blank separator plus padding), and no trailing blanks
/// (tabled pads the last column; trailing blanks break `grep -x`).
fn trimmed(builder: Builder) -> String {
    let mut t = builder.build();
    t.with(Style::blank()).with(Padding::new(0, 2, 0, 0));
    t.to_string()
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Demo {
        name: String,
        token: String,
    }

    impl Report for Demo {
        fn table(&self, wide: bool) -> String {
            let mut rows = vec![("NAME", self.name.clone())];
            if wide {
                rows.push(("TOKEN", self.token.clone()));
            }
            key_value_table(&rows)
        }
        fn names(&self) -> Vec<String> {
            vec![format!("demo/{}", self.name)]
        }
    }

    fn render_to_string(format: OutputFormat) -> String {
        let demo = Demo {
            name: "a".into(),
            token: "nvapi-supersecretvalue".into(),
        };
        let mut out = Vec::new();
        render(&demo, format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_format_renders_the_same_value() {
        assert_eq!(render_to_string(OutputFormat::Table), "NAME   a\n");
        assert_eq!(render_to_string(OutputFormat::Name), "demo/a\n");
        let json: serde_json::Value =
            serde_json::from_str(&render_to_string(OutputFormat::Json)).unwrap();
        assert_eq!(json["name"], "a");
        assert!(render_to_string(OutputFormat::Yaml).contains("name: a"));
    }

    #[test]
    fn secrets_are_masked_even_in_json() {
        for f in [OutputFormat::Wide, OutputFormat::Json, OutputFormat::Yaml] {
            let out = render_to_string(f);
            assert!(!out.contains("supersecret"), "{f:?}: {out}");
            assert!(out.contains("nvapi-su..."), "{f:?}: {out}");
        }
    }

    #[test]
    fn revealing_prints_only_the_named_secret() {
        let shown = Secret::new("nvapi-revealed-on-purpose-1");
        let demo = Demo {
            name: "nvapi-other-key-stays-masked".into(),
            token: shown.expose().into(),
        };
        let mut out = Vec::new();
        render_revealing(&demo, OutputFormat::Json, &mut out, &[&shown]).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("nvapi-revealed-on-purpose-1"), "{out}");
        assert!(!out.contains("other-key"), "{out}");
    }

    #[test]
    fn column_tables_have_no_trailing_blanks() {
        let t = column_table(
            &["name", "status"],
            vec![
                vec!["a".into(), "ok".into()],
                vec!["long-name".into(), "".into()],
            ],
        );
        assert_eq!(t, "NAME        STATUS\na           ok\nlong-name\n");
        assert_eq!(
            key_value_table(&[("A", "1".into()), ("LONGER", "2".into())]),
            "A        1\nLONGER   2\n"
        );
    }
}
