//! What every fuzz target checks besides "no panic, no hang": a rejection of outside input
//! is one of our errors with a non-zero exit code and a message, never an internal one
//! (that would mean input reached a state our own code thought impossible).

use nvcf_shared::base::error::Category;
use nvcf_shared::{Error, ExitCode};

/// Panics (a finding) when `err` is not a proper rejection of bad input.
pub fn rejected(err: &Error) {
    assert!(
        err.category() != Category::Internal,
        "outside input reached an internal error: {err} ({:?})",
        err.category()
    );
    assert_ne!(
        err.exit_code(),
        ExitCode::Success,
        "a rejection exits non-zero: {err}"
    );
    assert!(
        !err.to_string().trim().is_empty(),
        "a rejection says what is wrong"
    );
}

/// Splits `data` into up to `n` text parts at the separator line `\n----\n`, so one input
/// can carry several files.
pub fn parts(data: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let mut out: Vec<String> = text.splitn(n, "\n----\n").map(str::to_owned).collect();
    out.resize(n, String::new());
    out
}
