//! The JSONL request log: one line per request, in memory (bounded) and optionally in a file.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

pub struct RequestLog {
    entries: Mutex<VecDeque<Value>>,
    capacity: usize,
    file: Option<Mutex<File>>,
}

impl RequestLog {
    pub fn new(capacity: usize, path: Option<&Path>) -> std::io::Result<Self> {
        let file = match path {
            Some(p) => Some(Mutex::new(
                OpenOptions::new().create(true).append(true).open(p)?,
            )),
            None => None,
        };
        Ok(Self {
            entries: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            file,
        })
    }

    pub fn record(&self, entry: Value) {
        if let Some(file) = &self.file {
            let mut f = file.lock().expect("log file lock");
            // A failed write must not fail the request being served; the in-memory copy remains.
            let _ = writeln!(f, "{entry}");
        }
        let mut entries = self.entries.lock().expect("log lock");
        if entries.len() == self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    pub fn snapshot(&self) -> Vec<Value> {
        self.entries
            .lock()
            .expect("log lock")
            .iter()
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.entries.lock().expect("log lock").clear();
    }

    pub fn to_jsonl(&self) -> String {
        let entries = self.entries.lock().expect("log lock");
        let mut out = String::new();
        for e in entries.iter() {
            out.push_str(&e.to_string());
            out.push('\n');
        }
        out
    }
}
