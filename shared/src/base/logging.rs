//! Diagnostics through `tracing`, to stderr only: quiet by default, `--debug` with
//! metadata, `--log-json` structured. Every line passes the secret filter first.

use crate::base::secret::redact;
use std::io::{self, Write};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// Verbose diagnostics on stderr (file, line and target of every message)
    #[arg(long, global = true, help_heading = "Diagnostics")]
    pub debug: bool,
    /// Diagnostics as JSON lines on stderr
    #[arg(long, global = true, help_heading = "Diagnostics")]
    pub log_json: bool,
}

/// Writes each formatted record to stderr after masking secrets in it.
#[derive(Clone, Copy)]
struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().lock().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingStderr;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// `NVCF_LOG` (EnvFilter syntax) overrides the level the flags pick.
pub fn init(args: &LogArgs) {
    // Without --debug only our own warnings show: a dependency's log line (rustls reporting
    // each retried handshake, say) repeats what the final error already says, minus the fix.
    let default = if args.debug {
        "debug"
    } else {
        "off,nvcf_shared=warn,kubectl_nvcf=warn,kubectl_nvca=warn,helm_nvcf=warn"
    };
    let filter = EnvFilter::try_from_env("NVCF_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr)
        .with_target(args.debug)
        .with_file(args.debug)
        .with_line_number(args.debug);
    // A second init (tests running several commands in one process) keeps the first.
    let _ = if args.log_json {
        builder.json().try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}
