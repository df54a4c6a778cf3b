//! The fault ledger: each fault test writes what it injected, how often, how many retries
//! the product used, whether it survived and what was lost, as one JSON line in
//! `$NVCF_FAULT_REPORT` (when set). `tests/faults/report.sh` prints the table.

use serde_json::{Value, json};
use std::io::Write;

/// One fault test's outcome. Written when dropped: a test that panicked did not survive.
pub struct Entry {
    fault: String,
    injected: u64,
    retries: Option<u64>,
    lost: String,
}

impl Entry {
    pub fn new(fault: &str) -> Entry {
        Entry {
            fault: fault.to_owned(),
            injected: 0,
            retries: None,
            lost: "nothing".into(),
        }
    }

    pub fn injected(&mut self, times: u64) -> &mut Entry {
        self.injected = times;
        self
    }

    pub fn retries(&mut self, used: u64) -> &mut Entry {
        self.retries = Some(used);
        self
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        let survived = !std::thread::panicking();
        record(json!({
            "test": test,
            "fault": self.fault,
            "injected": self.injected,
            "retries": self.retries,
            "survived": survived,
            "lost": if survived { self.lost.clone() } else { "see the test's failure".into() },
        }));
    }
}

/// Appends one line to the ledger. Lines are short and written with one `write`, so
/// concurrent tests do not interleave them.
pub fn record(entry: Value) {
    let Some(path) = std::env::var_os("NVCF_FAULT_REPORT") else {
        return;
    };
    let mut line = entry.to_string();
    line.push('\n');
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}
