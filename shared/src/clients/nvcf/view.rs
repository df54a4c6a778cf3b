//! What the NVCF commands print: the server's data for `-o json|yaml`, a table built from
//! the same data for people, and `kind/name` lines for `-o name`.

use crate::base::output::{Report, column_table, key_value_table};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A report: `data` is what JSON/YAML show; the tables are views of it.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub data: Value,
    table: String,
    wide: Option<String>,
    names: Vec<String>,
}

impl Serialize for View {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}

impl Report for View {
    fn table(&self, wide: bool) -> String {
        match (&self.wide, wide) {
            (Some(w), true) => w.clone(),
            _ => self.table.clone(),
        }
    }
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }
}

impl View {
    pub fn new(data: impl Serialize) -> View {
        View {
            data: serde_json::to_value(data).unwrap_or(Value::Null),
            ..View::default()
        }
    }

    /// A column table; `empty` is what people see when there are no rows.
    pub fn columns(mut self, header: &[&str], rows: Vec<Vec<String>>, empty: &str) -> View {
        self.table = if rows.is_empty() {
            format!("{empty}\n")
        } else {
            column_table(header, rows)
        };
        self
    }

    /// The `-o wide` table.
    pub fn wide_columns(mut self, header: &[&str], rows: Vec<Vec<String>>) -> View {
        if !rows.is_empty() {
            self.wide = Some(column_table(header, rows));
        }
        self
    }

    /// A request shown instead of sent (`--dry-run`): the same JSON for people and programs.
    pub fn preview(request: &Value) -> View {
        View::new(request).text(serde_json::to_string_pretty(request).unwrap_or_default())
    }

    pub fn pairs(mut self, rows: &[(&str, String)]) -> View {
        self.table = key_value_table(rows);
        self
    }

    /// A sentence instead of a table (for actions: "function f deleted").
    pub fn text(mut self, text: impl Into<String>) -> View {
        let mut t: String = text.into();
        if !t.ends_with('\n') {
            t.push('\n');
        }
        self.table = t;
        self
    }

    pub fn names(mut self, names: Vec<String>) -> View {
        self.names = names;
        self
    }
}

/// What a create request runs, for plans: `image X` or `Helm chart Y`.
pub fn artifact(request: &Value) -> Option<String> {
    request["containerImage"]
        .as_str()
        .map(|i| format!("image {i}"))
        .or_else(|| {
            request["helmChart"]
                .as_str()
                .map(|c| format!("Helm chart {c}"))
        })
}

/// A string field of a JSON object, empty when absent.
pub fn field(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::output::{OutputFormat, render};
    use serde_json::json;

    #[test]
    fn json_is_the_data_and_tables_are_views() {
        let v = View::new(json!({"functions": [{"name": "f"}]}))
            .columns(&["name"], vec![vec!["f".into()]], "none")
            .names(vec!["function/f".into()]);
        let mut out = Vec::new();
        render(&v, OutputFormat::Json, &mut out).unwrap();
        let back: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(back["functions"][0]["name"], "f");
        let mut out = Vec::new();
        render(&v, OutputFormat::Wide, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "NAME\nf\n");
        let empty = View::new(json!([])).columns(&["name"], vec![], "No functions.");
        assert_eq!(empty.table(false), "No functions.\n");
    }
}
