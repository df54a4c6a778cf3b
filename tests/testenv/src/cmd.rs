use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

/// Runs `cmd` to completion and returns its stdout; a non-zero exit is an error that
/// carries the command line and stderr, because that is what a failing test needs to show.
pub fn run(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    if !out.status.success() {
        bail!(
            "{} failed ({}):\n{}{}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("{} printed non-UTF-8", describe(cmd)))
}

/// Runs `cmd` to completion whatever its exit status.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output()
        .with_context(|| format!("cannot run {}", describe(cmd)))
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
