//! One error taxonomy for every failure a user can hit.
//!
//! Each error carries a [`Category`] (what went wrong), a [`RetryClass`] (what a caller or an
//! agent should do about it), remediation lines (what the user should do next), and a
//! [`Raw`] block with the underlying signal. The category decides the process exit code; the
//! table lives in `docs/exit-codes.md` and in [`ExitCode`].

use serde::Serialize;
use std::fmt;

use crate::base::secret::redact;

/// Process exit codes. Documented in `docs/exit-codes.md`; a test keeps the two in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[repr(u8)]
pub enum ExitCode {
    Success = 0,
    /// A failure we could not classify more precisely (also: a bug).
    Failure = 1,
    /// Checks ran and at least one error-severity check failed.
    ChecksFailed = 2,
    /// Authentication or authorization failed: no/expired/revoked token, 401/403, RBAC.
    AuthFailed = 3,
    /// A named object (function, cluster, release, task, profile) does not exist.
    NotFound = 4,
    /// A wait or deadline ran out.
    Timeout = 5,
    /// The operation conflicts with current state: already exists, lock held, pending helm op.
    Conflict = 6,
    /// A server or cluster could not be reached, or kept failing: network, DNS, TLS, 5xx, 429.
    Unavailable = 7,
    /// A subprocess we drive (helm, kubectl) failed.
    SubprocessFailed = 8,
    /// The command line is wrong: unknown flag, missing or invalid argument.
    Usage = 64,
    /// An input file or value was read but its content is invalid.
    InvalidInput = 65,
    /// A file the command needs (kubeconfig, input file, config) does not exist or cannot be read.
    InputMissing = 66,
    /// The environment's configuration is wrong: unknown context, malformed kubeconfig or profile.
    Config = 78,
    /// Interrupted by Ctrl-C or SIGTERM.
    Cancelled = 130,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Every code, in table order: used to check the documented table is complete.
    pub const ALL: [ExitCode; 14] = [
        ExitCode::Success,
        ExitCode::Failure,
        ExitCode::ChecksFailed,
        ExitCode::AuthFailed,
        ExitCode::NotFound,
        ExitCode::Timeout,
        ExitCode::Conflict,
        ExitCode::Unavailable,
        ExitCode::SubprocessFailed,
        ExitCode::Usage,
        ExitCode::InvalidInput,
        ExitCode::InputMissing,
        ExitCode::Config,
        ExitCode::Cancelled,
    ];
}

/// What went wrong. The first fifteen names are upstream's `errCategory` values, kept so
/// consumers of upstream's `phase_failed` events keep working; the rest are ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Auth,
    Network,
    Dns,
    TokenExpiry,
    ClusterState,
    HelmRender,
    HelmApply,
    HelmPendingUpgrade,
    Register,
    PartialSisWrite,
    ComputePlane,
    CacheCorruption,
    CassandraMigrationLock,
    Internal,
    Unknown,
    Usage,
    InvalidInput,
    InputMissing,
    Config,
    NotFound,
    Conflict,
    Forbidden,
    RateLimited,
    Timeout,
    ChecksFailed,
    Subprocess,
    Io,
    Cancelled,
}

impl Category {
    pub const ALL: [Category; 28] = {
        use Category::*;
        [
            Auth,
            Network,
            Dns,
            TokenExpiry,
            ClusterState,
            HelmRender,
            HelmApply,
            HelmPendingUpgrade,
            Register,
            PartialSisWrite,
            ComputePlane,
            CacheCorruption,
            CassandraMigrationLock,
            Internal,
            Unknown,
            Usage,
            InvalidInput,
            InputMissing,
            Config,
            NotFound,
            Conflict,
            Forbidden,
            RateLimited,
            Timeout,
            ChecksFailed,
            Subprocess,
            Io,
            Cancelled,
        ]
    };

    pub fn exit_code(self) -> ExitCode {
        use Category::*;
        match self {
            Auth | TokenExpiry | Forbidden => ExitCode::AuthFailed,
            Network | Dns | RateLimited | PartialSisWrite => ExitCode::Unavailable,
            ClusterState | Register | ComputePlane | CacheCorruption | Internal | Unknown | Io => {
                ExitCode::Failure
            }
            HelmRender | HelmApply | Subprocess => ExitCode::SubprocessFailed,
            HelmPendingUpgrade | CassandraMigrationLock | Conflict => ExitCode::Conflict,
            Usage => ExitCode::Usage,
            InvalidInput => ExitCode::InvalidInput,
            InputMissing => ExitCode::InputMissing,
            Config => ExitCode::Config,
            NotFound => ExitCode::NotFound,
            Timeout => ExitCode::Timeout,
            ChecksFailed => ExitCode::ChecksFailed,
            Cancelled => ExitCode::Cancelled,
        }
    }

    /// The retry class a failure of this category gets unless the site knows better.
    pub fn default_retry(self) -> RetryClass {
        use Category::*;
        match self {
            Network => RetryClass::Immediate,
            RateLimited | HelmPendingUpgrade | CassandraMigrationLock | Timeout => {
                RetryClass::Backoff
            }
            Usage | InvalidInput | Cancelled => RetryClass::None,
            Unknown => RetryClass::Unknown,
            _ => RetryClass::AfterRemediation,
        }
    }

    pub fn as_str(self) -> &'static str {
        use Category::*;
        match self {
            Auth => "auth",
            Network => "network",
            Dns => "dns",
            TokenExpiry => "token_expiry",
            ClusterState => "cluster_state",
            HelmRender => "helm_render",
            HelmApply => "helm_apply",
            HelmPendingUpgrade => "helm_pending_upgrade",
            Register => "register",
            PartialSisWrite => "partial_sis_write",
            ComputePlane => "compute_plane",
            CacheCorruption => "cache_corruption",
            CassandraMigrationLock => "cassandra_migration_lock",
            Internal => "internal",
            Unknown => "unknown",
            Usage => "usage",
            InvalidInput => "invalid_input",
            InputMissing => "input_missing",
            Config => "config",
            NotFound => "not_found",
            Conflict => "conflict",
            Forbidden => "forbidden",
            RateLimited => "rate_limited",
            Timeout => "timeout",
            ChecksFailed => "checks_failed",
            Subprocess => "subprocess",
            Io => "io",
            Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a caller should treat the failure. Wire names match upstream's `retryClass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryClass {
    /// A transient blip: retry the same command now.
    Immediate,
    /// Rate limit or pending operation: wait `retry_after_sec`, then retry.
    Backoff,
    /// The operator must intervene first; do not retry automatically.
    AfterRemediation,
    /// Never retryable.
    None,
    /// The classifier is unsure: treat conservatively.
    Unknown,
}

impl RetryClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryClass::Immediate => "immediate",
            RetryClass::Backoff => "backoff",
            RetryClass::AfterRemediation => "after_remediation",
            RetryClass::None => "none",
            RetryClass::Unknown => "unknown",
        }
    }
}

impl fmt::Display for RetryClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The underlying signal, as upstream's `raw` block: each field only when known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Raw {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subprocess: String,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub exit_code: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stderr_tail: String,
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub http_status: u16,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kubernetes_reason: String,
}

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}
fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

impl Raw {
    pub fn is_empty(&self) -> bool {
        *self == Raw::default()
    }
}

/// The most stderr we keep from a subprocess: enough to diagnose, bounded in memory.
pub const STDERR_TAIL_BYTES: usize = 16 * 1024;

/// Keeps the last [`STDERR_TAIL_BYTES`] of `text`, cut on a character boundary, redacted.
pub fn stderr_tail(text: &str) -> String {
    let mut start = text.len().saturating_sub(STDERR_TAIL_BYTES);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    redact(&text[start..]).into_owned()
}

/// The one error type every fallible operation in the product returns. Boxed: errors are
/// rare and `Result<T>` travels everywhere, so the happy path stays small.
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    category: Category,
    message: String,
    retry: RetryClass,
    retry_after_sec: Option<u64>,
    remediation: Vec<String>,
    raw: Raw,
    exit_override: Option<ExitCode>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(category: Category, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            category,
            message: message.into(),
            retry: category.default_retry(),
            retry_after_sec: None,
            remediation: Vec::new(),
            raw: Raw::default(),
            exit_override: None,
            source: None,
        }))
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Category::Usage, message)
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(Category::InvalidInput, message)
    }
    pub fn input_missing(message: impl Into<String>) -> Self {
        Self::new(Category::InputMissing, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Category::Config, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Category::NotFound, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Category::Internal, message)
    }
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(Category::Io, message)
    }
    pub fn cancelled() -> Self {
        Self::new(Category::Cancelled, "interrupted")
    }

    /// Adds a line telling the user what to do next.
    pub fn hint(mut self, line: impl Into<String>) -> Self {
        self.0.remediation.push(line.into());
        self
    }
    pub fn retry(mut self, class: RetryClass) -> Self {
        self.0.retry = class;
        self
    }
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.0.retry = RetryClass::Backoff;
        self.0.retry_after_sec = Some(seconds);
        self
    }
    pub fn raw(mut self, raw: Raw) -> Self {
        self.0.raw = raw;
        self
    }
    pub fn exit_code_override(mut self, code: ExitCode) -> Self {
        self.0.exit_override = Some(code);
        self
    }
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    pub fn category(&self) -> Category {
        self.0.category
    }
    /// The message, with any secret masked.
    pub fn message(&self) -> String {
        redact(&self.0.message).into_owned()
    }
    pub fn retry_class(&self) -> RetryClass {
        self.0.retry
    }
    /// Only meaningful for [`RetryClass::Backoff`], as upstream serialises it.
    pub fn retry_after_sec(&self) -> Option<u64> {
        match self.0.retry {
            RetryClass::Backoff => self.0.retry_after_sec.filter(|s| *s > 0),
            _ => None,
        }
    }
    pub fn remediation(&self) -> Vec<String> {
        self.0
            .remediation
            .iter()
            .map(|l| redact(l).into_owned())
            .collect()
    }
    pub fn raw_block(&self) -> Raw {
        let mut raw = self.0.raw.clone();
        raw.stderr_tail = redact(&raw.stderr_tail).into_owned();
        raw
    }
    pub fn exit_code(&self) -> ExitCode {
        self.0
            .exit_override
            .unwrap_or_else(|| self.0.category.exit_code())
    }

    /// The one line a user sees on stderr: the message (naming the thing), then the fix.
    pub fn one_line(&self) -> String {
        let mut line = format!("error: {}", self.message());
        let hints = self.remediation();
        if !hints.is_empty() {
            line.push_str(" (fix: ");
            line.push_str(&hints.join("; "));
            line.push(')');
        }
        line.replace('\n', " ")
    }

    /// A serialisable view for `--json`/`-o json` error reports and `phase_failed` events.
    pub fn report(&self) -> ErrorReport {
        ErrorReport {
            err_category: self.0.category,
            err_message: self.message(),
            retry_class: self.0.retry,
            retry_after_sec: self.retry_after_sec(),
            remediation: self.remediation(),
            raw: Some(self.raw_block()).filter(|r| !r.is_empty()),
            exit_code: self.exit_code().code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An error as a machine reads it (field names as upstream's `phase_failed`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    pub err_category: Category,
    pub err_message: String,
    pub retry_class: RetryClass,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_sec: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remediation: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Raw>,
    pub exit_code: u8,
}

impl ErrorReport {
    /// The error again, for a report that kept why something failed to fail with it later.
    pub fn to_error(&self) -> Error {
        let mut e = Error::new(self.err_category, self.err_message.clone()).retry(self.retry_class);
        if let Some(seconds) = self.retry_after_sec {
            e = e.retry_after(seconds);
        }
        for hint in &self.remediation {
            e = e.hint(hint.clone());
        }
        e
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        let category = match err.kind() {
            std::io::ErrorKind::NotFound => Category::InputMissing,
            std::io::ErrorKind::PermissionDenied => Category::InputMissing,
            std::io::ErrorKind::Interrupted => Category::Cancelled,
            _ => Category::Io,
        };
        Error::new(category, err.to_string()).with_source(err)
    }
}

/// True when the error (or its cause) is a write to a closed pipe: `nvcf … | head` is success.
pub fn is_broken_pipe(err: &Error) -> bool {
    any_in_chain(std::error::Error::source(err), |e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// True when `first` or any error it was caused by matches.
pub fn any_in_chain(
    first: Option<&(dyn std::error::Error + 'static)>,
    matches: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    let mut cause = first;
    while let Some(e) = cause {
        if matches(e) {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_wire_names_match_serde() {
        for c in Category::ALL {
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::String(c.as_str().into())
            );
        }
    }

    #[test]
    fn a_kept_report_fails_again_with_its_category_and_fix() {
        let e = Error::new(Category::RateLimited, "cannot list pods: too many requests")
            .retry_after(5)
            .hint("retry later");
        let again = e.report().to_error();
        assert_eq!(again.report(), e.report());
        assert_eq!(again.exit_code(), ExitCode::Unavailable);
    }

    #[test]
    fn retry_after_only_for_backoff() {
        let e = Error::new(Category::HelmApply, "x").retry_after(60);
        assert_eq!(e.retry_after_sec(), Some(60));
        let e = e.retry(RetryClass::AfterRemediation);
        assert_eq!(e.retry_after_sec(), None);
    }

    #[test]
    fn one_line_masks_secrets_and_names_the_fix() {
        let e = Error::new(
            Category::Auth,
            "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl rejected",
        )
        .hint("run kubectl nvcf init");
        let line = e.one_line();
        assert!(!line.contains("c2lnbmF0dXJl"), "{line}");
        assert!(line.contains("eyJhbGci..."), "{line}");
        assert!(line.ends_with("(fix: run kubectl nvcf init)"), "{line}");
        assert_eq!(e.exit_code(), ExitCode::AuthFailed);
    }

    #[test]
    fn stderr_tail_keeps_the_end() {
        let long = "a".repeat(STDERR_TAIL_BYTES) + "the end";
        let tail = stderr_tail(&long);
        assert!(tail.ends_with("the end"));
        assert_eq!(tail.len(), STDERR_TAIL_BYTES);
    }
}

#[cfg(test)]
mod exit_code_doc {
    use super::ExitCode;

    /// `docs/exit-codes.md` lists exactly the codes [`ExitCode`] has, in the same order.
    #[test]
    fn documented_table_matches_the_enum() {
        let doc = include_str!("../../../docs/exit-codes.md");
        let documented: Vec<u8> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| "))
            .filter_map(|l| l.split(" |").next())
            .filter_map(|c| c.trim().parse().ok())
            .collect();
        let ours: Vec<u8> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(documented, ours);
    }
}
