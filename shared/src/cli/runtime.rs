//! The runtime every plugin binary runs in: argument errors, logging, the async runtime,
//! Ctrl-C, broken pipes, and the mapping from errors to exit codes.

use crate::base::error::{Error, ExitCode, Result, is_broken_pipe};
use crate::base::events::{Emitter, Event, Final, Mode, ModeFlags, Terminal, Ts, select_mode};
use crate::base::logging::{self, LogArgs};
use crate::base::output::write_out;
use crate::base::plugin::Plugin;
use crate::model::profile::ProfileArgs;
use crate::model::settings::ProcessEnv;
use clap::Parser;
use clap::error::ErrorKind;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Flags every command of every plugin accepts.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// JSONL events on stderr (schema version 1, upstream-compatible)
    #[arg(long, global = true, help_heading = "Output")]
    pub json: bool,
    /// Plain timestamped progress lines (the default when stderr is not a terminal)
    #[arg(long, global = true, help_heading = "Output")]
    pub plain: bool,
    /// Plain lines with explicit [running]/[completed]/[pending]/[failed] markers
    #[arg(long, global = true, help_heading = "Output")]
    pub accessible: bool,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub profile: ProfileArgs,
}

impl CommonArgs {
    pub fn mode_flags(&self) -> ModeFlags {
        ModeFlags {
            json: self.json,
            plain: self.plain,
            accessible: self.accessible,
        }
    }
}

/// A parsed command line that carries [`CommonArgs`].
pub trait HasCommon {
    fn common(&self) -> &CommonArgs;
}

/// What a command gets besides its arguments.
pub struct Ctx {
    pub plugin: Plugin,
    pub terminal: Terminal,
    pub env: ProcessEnv,
    pub mode: Mode,
    started: Instant,
    emitter: Arc<Mutex<Option<Arc<Emitter>>>>,
}

impl Ctx {
    /// The event stream for this run, created on first use in the selected mode.
    pub fn events(&self) -> Arc<Emitter> {
        self.events_with(false)
    }

    /// As [`Ctx::events`], with status snapshots composed into one JSONL line.
    pub fn status_events(&self) -> Arc<Emitter> {
        self.events_with(true)
    }

    fn events_with(&self, composed: bool) -> Arc<Emitter> {
        let mut slot = self.emitter.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| Arc::new(Emitter::for_mode(self.mode, &self.terminal, composed)))
            .clone()
    }

    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// stdout, for reports and rendered manifests.
    pub fn stdout(&self) -> std::io::StdoutLock<'static> {
        std::io::stdout().lock()
    }
}

impl crate::base::events::RunEvents for Ctx {
    fn events(&self) -> Arc<Emitter> {
        Ctx::events(self)
    }

    fn elapsed(&self) -> std::time::Duration {
        Ctx::elapsed(self)
    }
}

/// Parses arguments, runs `body`, and turns the outcome into an exit code.
pub fn run<C, F, Fut>(plugin: Plugin, body: F) -> std::process::ExitCode
where
    C: Parser + HasCommon,
    F: FnOnce(C, Ctx) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    exit(run_args::<C, F, Fut>(plugin, std::env::args_os(), body))
}

/// [`run`] for a command line the caller built (`nvcf-cli` translates upstream's), giving
/// our exit code back instead of exiting.
pub fn run_args<C, F, Fut>(
    plugin: Plugin,
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
    body: F,
) -> ExitCode
where
    C: Parser + HasCommon,
    F: FnOnce(C, Ctx) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    crate::base::plugin::set_running(plugin);
    install_panic_hook(plugin);
    let cli = match C::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return clap_error(plugin, err),
    };
    logging::init(&cli.common().log);
    let terminal = Terminal::detect();
    let mode = match select_mode(cli.common().mode_flags(), &terminal) {
        Ok(mode) => mode,
        Err(err) => return report_error(&err, None),
    };
    let emitter = Arc::new(Mutex::new(None));
    let ctx = Ctx {
        plugin,
        terminal,
        env: ProcessEnv,
        mode,
        started: Instant::now(),
        emitter: emitter.clone(),
    };
    // One thread: every command here waits on the network, the API server or helm, and a
    // second thread only adds a cross-thread wake-up to each response (measured: a fifth
    // of `task list`'s CPU over 10,000 tasks in pages of 100).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report_error(
                &Error::internal(format!("cannot start the async runtime: {e}")),
                None,
            );
        }
    };
    let started = Instant::now();
    let outcome = runtime.block_on(async move {
        tokio::select! {
            result = body(cli, ctx) => result,
            () = interrupted() => Err(Error::cancelled()),
        }
    });
    if outcome
        .as_ref()
        .is_err_and(|e| e.exit_code() == ExitCode::Cancelled)
    {
        // What an interrupted command holds (its install lock) is given back.
        runtime.block_on(crate::base::on_cancel::run_all(
            std::time::Duration::from_secs(3),
        ));
    }
    // Commands may leave blocking work behind on cancellation; do not wait for it.
    runtime.shutdown_background();
    let emitter = emitter.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match outcome {
        Ok(()) => {
            if let Some(e) = &emitter {
                e.finish();
            }
            ExitCode::Success
        }
        Err(err) if err.exit_code() == ExitCode::Cancelled => {
            let emitter = emitter
                .unwrap_or_else(|| Arc::new(Emitter::for_mode(mode, &Terminal::detect(), false)));
            let mut done = Final::new(Ts::now(), false, started.elapsed());
            done.cancelled = true;
            done.dropped_progress_events = emitter.dropped();
            emitter.emit(Event::Final(done));
            emitter.finish();
            ExitCode::Cancelled
        }
        Err(err) => {
            // A stream that ended in `final` has told machines everything; only commands
            // without one get the structured `error` event.
            let structured = match &emitter {
                Some(e) => {
                    e.finish();
                    None
                }
                None => Some(mode),
            };
            report_error(&err, structured)
        }
    }
}

fn exit(code: ExitCode) -> std::process::ExitCode {
    std::process::ExitCode::from(code.code())
}

/// Reports an error found before any command ran (a command line that cannot be
/// translated), as every other failure is reported.
pub fn fail(err: &Error) -> ExitCode {
    report_error(err, None)
}

/// Prints the one-line error (and, for `--json`, its structured twin) and picks the code.
fn report_error(err: &Error, mode: Option<Mode>) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::Success;
    }
    let mut stderr = std::io::stderr().lock();
    if mode == Some(Mode::Jsonl) {
        let mut value = serde_json::json!({"event": "error", "ts": Ts::now()});
        if let (Some(map), Ok(serde_json::Value::Object(report))) =
            (value.as_object_mut(), serde_json::to_value(err.report()))
        {
            map.extend(report);
        }
        if let Ok(line) = crate::base::events::to_json_line(&value) {
            let _ = stderr.write_all(line.as_bytes());
        }
    }
    let _ = writeln!(stderr, "{}", err.one_line());
    err.exit_code()
}

/// clap's errors are multi-line with usage dumps; ours are one line naming the fix.
fn clap_error(plugin: Plugin, err: clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let text = err.render().to_string();
            return match write_out(&mut std::io::stdout().lock(), &text) {
                Err(e) if !is_broken_pipe(&e) => report_error(&e, None),
                _ => ExitCode::Success,
            };
        }
        _ => {}
    }
    let rendered = err.render().to_string();
    let headline = rendered
        .lines()
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_owned();
    let tip = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("tip: "))
        .map(str::to_owned);
    let command = rendered
        .lines()
        .find_map(|l| l.strip_prefix("Usage: "))
        .map(|usage| {
            usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| plugin.display.to_owned());
    let mut error = Error::usage(headline);
    if let Some(tip) = tip {
        error = error.hint(tip);
    }
    error = error.hint(format!(
        "run `{command} --help` for the accepted flags and arguments"
    ));
    report_error(&error, None)
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A panic is a bug: say so in one line, without a backtrace, and exit 1.
fn install_panic_hook(plugin: Plugin) {
    std::panic::set_hook(Box::new(move |info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let err = Error::internal(format!("internal error in {}: {what}{at}", plugin.display))
            .hint(
                "this is a bug: please report it with the command you ran and its --debug output",
            );
        let _ = writeln!(std::io::stderr(), "{}", err.one_line());
        std::process::exit(i32::from(ExitCode::Failure.code()));
    }));
}
