//! Seed 000's safety rules for destructive commands: ask a person, or require `--yes`.
//!
//! A prompt is shown only when someone can answer it: stdin and stderr are terminals and
//! `CI` is not set. Otherwise a destructive command without `--yes` is a usage error that
//! names the flag, so scripts never hang and never delete by accident.

use crate::base::error::{Category, Error, Result};
use crate::model::settings::EnvLookup;
use is_terminal::IsTerminal;
use std::io::{BufRead, Write};

fn ci(env: &dyn EnvLookup) -> bool {
    env.get("CI").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "y" | "on"
        )
    })
}

/// True when a person can be asked on this terminal.
pub fn can_prompt(env: &dyn EnvLookup) -> bool {
    !ci(env) && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Confirms `action` (e.g. `delete function my-fn (id …, version …)`).
pub fn confirm(action: &str, yes: bool, env: &dyn EnvLookup) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !can_prompt(env) {
        return Err(
            Error::usage(format!("refusing to {action} without confirmation"))
                .hint("pass --yes (-y) to confirm"),
        );
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "About to {action}. Proceed? [y/N]: ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Error::new(
            Category::Cancelled,
            format!("did not {action}: not confirmed"),
        )
        .exit_code_override(crate::base::error::ExitCode::Failure)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;

    #[test]
    fn without_a_person_yes_is_required() {
        let env = MapEnv::new([("CI", "true")]);
        assert!(confirm("delete task t", true, &env).is_ok());
        let e = confirm("delete task t", false, &env).unwrap_err();
        assert_eq!(e.category(), Category::Usage);
        assert!(e.remediation()[0].contains("--yes"));
        assert!(e.message().contains("delete task t"));
    }
}
