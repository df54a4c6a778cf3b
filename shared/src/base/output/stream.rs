//! A paged listing printed as its pages arrive: fixed-width rows, one JSON document written
//! as it goes, or names. Items stay the text the server sent, so thousands of them cost no
//! value per object.

use super::raw_json;
use super::{OutputFormat, write_out};
use crate::base::error::{Error, Result};
use crate::base::secret::redact;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::io::Write;

/// How a listing's items print: rows are cut from the item's text as it came.
#[derive(Clone, Copy)]
pub struct Columns {
    /// The list's key in JSON (`tasks`) and, in the plural, what "No tasks." names.
    pub key: &'static str,
    pub header: &'static [&'static str],
    pub row: fn(&RawValue) -> Vec<String>,
    /// The `kind/name` line for `-o name`.
    pub name: fn(&RawValue) -> String,
}

/// Writes a listing page by page; [`Stream::finish`] closes it with the cursor to resume from.
pub struct Stream<'a> {
    columns: Columns,
    format: OutputFormat,
    /// Upstream's one page (`--limit`): no more items than this, and the JSON says it.
    limit: Option<usize>,
    count: usize,
    opened: bool,
    /// YAML is written whole at the end.
    kept: Vec<Box<RawValue>>,
    out: &'a mut dyn Write,
}

impl<'a> Stream<'a> {
    pub fn new(
        columns: Columns,
        format: OutputFormat,
        limit: Option<usize>,
        out: &'a mut dyn Write,
    ) -> Stream<'a> {
        Stream {
            columns,
            format,
            limit,
            count: 0,
            opened: false,
            kept: Vec::new(),
            out,
        }
    }

    fn opening(&self) -> String {
        format!("{{\n  \"{}\": [", self.columns.key)
    }

    /// Prints one page's items.
    pub fn page(&mut self, items: Vec<Box<RawValue>>) -> Result<()> {
        if self.format == OutputFormat::Yaml {
            self.kept.extend(items);
            return Ok(());
        }
        let mut chunk = String::new();
        let room = self.limit.unwrap_or(usize::MAX).saturating_sub(self.count);
        for item in items.into_iter().take(room) {
            match self.format {
                OutputFormat::Json => {
                    if !self.opened {
                        chunk.push_str(&self.opening());
                        self.opened = true;
                    }
                    chunk.push_str(if self.count == 0 { "\n    " } else { ",\n    " });
                    chunk.push_str(&raw_json::pretty(item.get(), "    "));
                }
                OutputFormat::Name => {
                    chunk.push_str(&(self.columns.name)(&item));
                    chunk.push('\n');
                }
                _ => {
                    if self.count == 0 {
                        let h: Vec<String> = self
                            .columns
                            .header
                            .iter()
                            .map(|h| h.to_uppercase())
                            .collect();
                        push_fixed_row(&mut chunk, &h);
                    }
                    push_fixed_row(&mut chunk, &(self.columns.row)(&item));
                }
            }
            self.count += 1;
        }
        write_raw(self.out, &chunk)
    }

    /// Ends the listing: closes the JSON document, or says the list was empty.
    pub fn finish(self, cursor: Option<String>) -> Result<()> {
        let key = self.columns.key;
        match self.format {
            OutputFormat::Yaml => {
                let all: Vec<Value> = self.kept.iter().map(|r| raw_json::value(r)).collect();
                let mut data = json!({ key: all, "cursor": cursor });
                if let Some(limit) = self.limit {
                    data["limit"] = json!(limit);
                }
                let text = serde_saphyr::to_string(&data)
                    .map_err(|e| Error::internal(format!("cannot render YAML: {e}")))?;
                write_out(self.out, &text)
            }
            OutputFormat::Json => {
                let head = if self.opened {
                    String::new()
                } else {
                    self.opening()
                };
                let close = if self.count == 0 { "]" } else { "\n  ]" };
                // One page (--limit) says its limit, as upstream's page does.
                let limit = match self.limit {
                    Some(l) => format!(",\n  \"limit\": {l}"),
                    None => String::new(),
                };
                let tail = match &cursor {
                    Some(c) => format!("{close}{limit},\n  \"cursor\": {}\n}}\n", json!(c)),
                    None => format!("{close}{limit}\n}}\n"),
                };
                write_raw(self.out, &format!("{head}{tail}"))
            }
            OutputFormat::Table | OutputFormat::Wide if self.count == 0 => {
                write_out(self.out, &format!("No {key}."))
            }
            _ => Ok(()),
        }
    }
}

/// Appends one row of fixed-width columns: rows print as pages arrive, so widths cannot be
/// measured.
fn push_fixed_row(out: &mut String, cells: &[String]) {
    let widths: [usize; 4] = [36, 24, 29, 24];
    let start = out.len();
    for (i, c) in cells.iter().enumerate() {
        out.push_str(c);
        if let Some(w) = widths.get(i) {
            let pad = w.saturating_sub(c.chars().count()) + 3;
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    let kept = out[start..].trim_end().len();
    out.truncate(start + kept);
    out.push('\n');
}

/// Writes a partial chunk (no newline added), redacted like every output path.
pub fn write_raw(out: &mut dyn Write, text: &str) -> Result<()> {
    let text = redact(text);
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(format!("cannot write output: {e}")).with_source(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Columns {
        Columns {
            key: "things",
            header: &["id", "name"],
            row: |r| {
                let v = raw_json::value(r);
                vec![v["id"].to_string(), v["name"].to_string()]
            },
            name: |r| format!("thing/{}", raw_json::value(r)["id"]),
        }
    }

    fn listed(format: OutputFormat, limit: Option<usize>, pages: &[&str]) -> String {
        let mut out = Vec::new();
        let mut s = Stream::new(columns(), format, limit, &mut out);
        for p in pages {
            s.page(serde_json::from_str(p).unwrap()).unwrap();
        }
        s.finish(Some("next".into())).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_is_one_document_written_as_pages_come() {
        let text = listed(
            OutputFormat::Json,
            Some(5),
            &[r#"[{"id":1,"name":"a"}]"#, r#"[{"id":2}]"#],
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({"things": [{"id": 1, "name": "a"}, {"id": 2}], "limit": 5, "cursor": "next"})
        );
        assert_eq!(
            listed(OutputFormat::Json, None, &[]),
            "{\n  \"things\": [],\n  \"cursor\": \"next\"\n}\n"
        );
    }

    #[test]
    fn tables_have_fixed_columns_and_stop_at_the_limit() {
        let text = listed(
            OutputFormat::Table,
            Some(1),
            &[r#"[{"id":1,"name":"a"},{"id":2}]"#],
        );
        assert_eq!(
            text,
            format!("ID{}NAME\n1{}\"a\"\n", " ".repeat(37), " ".repeat(38))
        );
        assert_eq!(listed(OutputFormat::Wide, None, &["[]"]), "No things.\n");
        assert_eq!(
            listed(OutputFormat::Name, None, &[r#"[{"id":1}]"#]),
            "thing/1\n"
        );
    }
}
