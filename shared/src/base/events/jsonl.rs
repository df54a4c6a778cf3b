//! The JSONL renderer: one JSON object per line, byte-compatible with upstream's encoder.

use super::{Event, SCHEMA_VERSION, Sink};
use crate::base::secret::redact;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{self, Write};

/// Go's `encoding/json` with HTML escaping off: serde_json already leaves `<`, `>`, `&`
/// alone and writes `\b`/`\f` like Go ≥ 1.22; Go also escapes U+2028 and U+2029, which
/// JavaScript parsers treat as line breaks, so we do too.
struct GoCompatFormatter;

impl serde_json::ser::Formatter for GoCompatFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        frag: &str,
    ) -> io::Result<()> {
        let mut rest = frag;
        while let Some(pos) = rest.find(['\u{2028}', '\u{2029}']) {
            w.write_all(&rest.as_bytes()[..pos])?;
            let ch = rest[pos..].chars().next().unwrap_or('\u{2028}');
            write!(w, "\\u{:04x}", ch as u32)?;
            rest = &rest[pos + ch.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
}

/// Serialises `value` as one JSONL line (with the trailing newline), secrets masked.
pub fn to_json_line<T: Serialize + ?Sized>(value: &T) -> io::Result<String> {
    let mut buf = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, GoCompatFormatter);
    value.serialize(&mut ser).map_err(io::Error::other)?;
    let text = String::from_utf8(buf).map_err(io::Error::other)?;
    let mut line = redact(&text).into_owned();
    line.push('\n');
    Ok(line)
}

/// Writes events as JSONL. In composed mode (`status --json`), a `snapshot` and the
/// component, cluster and event rows after it are written as one line, as upstream does.
pub struct JsonlSink<W: Write> {
    out: W,
    header_written: bool,
    composed: bool,
    pending: Option<Map<String, Value>>,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W) -> Self {
        JsonlSink {
            out,
            header_written: false,
            composed: false,
            pending: None,
        }
    }

    pub fn composed(out: W) -> Self {
        JsonlSink {
            composed: true,
            ..JsonlSink::new(out)
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn write_line<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            let header = serde_json::json!({"event": "schemaVersion", "version": SCHEMA_VERSION});
            self.out.write_all(to_json_line(&header)?.as_bytes())?;
        }
        self.out.write_all(to_json_line(value)?.as_bytes())?;
        self.out.flush()
    }

    fn flush_composed(&mut self) -> io::Result<()> {
        match self.pending.take() {
            Some(snapshot) => self.write_line(&snapshot),
            None => Ok(()),
        }
    }

    /// Appends a row event to the pending snapshot's array, without its `event`/`ts`.
    fn compose_row(&mut self, array: &str, event: &Event) -> io::Result<bool> {
        let Some(snapshot) = self.pending.as_mut() else {
            return Ok(false);
        };
        let mut row = match serde_json::to_value(event).map_err(io::Error::other)? {
            Value::Object(map) => map,
            _ => return Ok(false),
        };
        row.shift_remove("event");
        row.shift_remove("ts");
        let slot = snapshot
            .entry(array.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(rows) = slot {
            rows.push(Value::Object(row));
        }
        Ok(true)
    }
}

impl<W: Write + Send> Sink for JsonlSink<W> {
    fn emit(&mut self, event: &Event) -> io::Result<()> {
        if self.composed {
            match event {
                Event::Snapshot(_) => {
                    self.flush_composed()?;
                    if let Value::Object(map) =
                        serde_json::to_value(event).map_err(io::Error::other)?
                    {
                        self.pending = Some(map);
                    }
                    return Ok(());
                }
                Event::ComponentHealth(_) if self.compose_row("components", event)? => {
                    return Ok(());
                }
                Event::ClusterRow(_) if self.compose_row("computeClusters", event)? => {
                    return Ok(());
                }
                Event::RecentEvent(_) if self.compose_row("events", event)? => return Ok(()),
                Event::Final(_) => self.flush_composed()?,
                _ => {}
            }
        }
        self.write_line(event)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.flush_composed()?;
        self.out.flush()
    }
}
