//! The one confirmation policy for every command that changes or destroys something.
//!
//! - `--yes` proceeds. A gate whose name must be typed (destructive-wide: a whole cluster's
//!   functions, a registration, an outage) also wants that name by flag when nobody types it,
//!   so `--yes` alone is never enough there.
//! - A person is asked only when stdin and stderr are terminals and `CI` is not set.
//! - With nobody to ask and no `--yes`, nothing happens: a usage error (exit 64) naming the
//!   flag, so scripts never hang and never destroy by accident.
//! - A question answered "no", or a name typed wrong, declines the run: exit 1, nothing changed.
//!
//! Prompts are single line reads on stderr/stdin rather than a prompt crate's raw-mode
//! widgets: they work the same on a terminal, under `script`, and with the answer piped.

use crate::base::env::EnvLookup;
use crate::base::error::{Category, Error, ExitCode, Result};
use is_terminal::IsTerminal;
use std::io::{BufRead, Write};

/// Asks a person one question and returns the answer.
type Person = Box<dyn FnMut(&str) -> Result<String> + Send>;

/// What the operator granted for this run: `--yes`, and whether a person can be asked.
pub struct Consent {
    yes: bool,
    person: Option<Person>,
    shown: Box<dyn FnMut(&str) + Send>,
}

impl Consent {
    /// From the command line: `--yes`, and a person when the terminals and `CI` allow one.
    pub fn from_env(yes: bool, env: &dyn EnvLookup) -> Self {
        let person: Option<Person> = can_prompt(env).then(|| Box::new(read_answer) as Person);
        Consent {
            yes,
            person,
            shown: Box::new(|line| eprintln!("{line}")),
        }
    }

    /// Nobody to ask: only `--yes` (and names given by flag) can grant.
    #[cfg(test)]
    pub fn unattended(yes: bool) -> Self {
        Consent {
            yes,
            person: None,
            shown: Box::new(|_| {}),
        }
    }

    /// A person who gives these answers in turn, for tests.
    #[cfg(test)]
    pub fn scripted(yes: bool, answers: &[&str]) -> Self {
        let mut answers: Vec<String> = answers.iter().rev().map(|a| a.to_string()).collect();
        Consent {
            yes,
            person: Some(Box::new(move |_| Ok(answers.pop().unwrap_or_default()))),
            shown: Box::new(|_| {}),
        }
    }
}

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

fn read_answer(question: &str) -> Result<String> {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io(format!("cannot read the answer: {e}")))?;
    Ok(answer)
}

/// A name that must be typed back, or given by flag.
struct TypedName {
    name: String,
    flag: Option<&'static str>,
    given: Option<String>,
}

/// One question before a change: what will happen, what to show first, and how to agree.
pub struct Gate {
    action: String,
    shown: Vec<String>,
    typed: Option<TypedName>,
    reviewable: bool,
    yes_flag: &'static str,
}

impl Gate {
    /// A yes/no question: `action` reads after "About to" (`delete task t`).
    pub fn proceed(action: impl Into<String>) -> Self {
        Gate {
            action: action.into(),
            shown: Vec::new(),
            typed: None,
            reviewable: false,
            yes_flag: "--yes",
        }
    }

    /// Destructive-wide: the person types `name` back.
    pub fn type_name(action: impl Into<String>, name: impl Into<String>) -> Self {
        Gate {
            typed: Some(TypedName {
                name: name.into(),
                flag: None,
                given: None,
            }),
            ..Gate::proceed(action)
        }
    }

    /// The flag that gives the typed name without a prompt, and its value if given. With a
    /// flag, `--yes` alone does not grant: the name must come with it.
    pub fn name_flag(mut self, flag: &'static str, given: Option<String>) -> Self {
        if let Some(t) = self.typed.as_mut() {
            t.flag = Some(flag);
            t.given = given;
        }
        self
    }

    /// Lines shown (on stderr) before asking: the plan being agreed to.
    pub fn showing(mut self, lines: impl IntoIterator<Item = String>) -> Self {
        self.shown.extend(lines);
        self
    }

    /// The command's own name for `--yes` (upstream's `down --confirm`).
    pub fn granted_with(mut self, flag: &'static str) -> Self {
        self.yes_flag = flag;
        self
    }

    /// The command has `--dry-run`: refusals point at it.
    pub fn reviewable(mut self) -> Self {
        self.reviewable = true;
        self
    }

    /// Confirms with the command line's `--yes` and this process's terminals.
    pub fn check(&self, yes: bool, env: &dyn EnvLookup) -> Result<()> {
        self.confirm(&mut Consent::from_env(yes, env))
    }

    pub fn confirm(&self, consent: &mut Consent) -> Result<()> {
        if let Some(t) = &self.typed
            && let Some(given) = &t.given
        {
            return if given.trim() == t.name {
                self.show(consent);
                Ok(())
            } else {
                Err(Error::usage(format!(
                    "{} {given:?} does not match {:?}; nothing was changed",
                    t.flag.unwrap_or("the name"),
                    t.name
                ))
                .hint(self.how_to_grant()))
            };
        }
        if consent.yes {
            if let Some(TypedName {
                flag: Some(flag),
                name,
                ..
            }) = &self.typed
            {
                return Err(self.refusal(format!("{} needs {flag} {name}", self.yes_flag)));
            }
            self.show(consent);
            return Ok(());
        }
        self.show(consent);
        let Some(person) = consent.person.as_mut() else {
            let without = if self.typed.is_some() {
                "typed confirmation"
            } else {
                "confirmation"
            };
            return Err(self.refusal(format!("refusing to {} without {without}", self.action)));
        };
        match &self.typed {
            Some(t) => {
                let answer = person(&format!("Type {} to {}: ", t.name, self.action))?;
                if answer.trim() == t.name {
                    Ok(())
                } else {
                    Err(declined(format!(
                        "did not {}: the typed name does not match {:?}",
                        self.action, t.name
                    )))
                }
            }
            None => {
                let answer = person(&format!("About to {}. Proceed? [y/N]: ", self.action))?;
                match answer.trim().to_ascii_lowercase().as_str() {
                    "y" | "yes" => Ok(()),
                    _ => Err(declined(format!("did not {}: not confirmed", self.action))),
                }
            }
        }
    }

    fn show(&self, consent: &mut Consent) {
        for line in &self.shown {
            (consent.shown)(line);
        }
    }

    fn refusal(&self, why: String) -> Error {
        Error::usage(format!("{why}; nothing was changed")).hint(self.how_to_grant())
    }

    fn how_to_grant(&self) -> String {
        let review = if self.reviewable {
            "review with --dry-run, then "
        } else {
            ""
        };
        match &self.typed {
            Some(TypedName {
                flag: Some(flag),
                name,
                ..
            }) => format!("{review}type the name when asked, or pass {flag} {name}"),
            Some(_) => format!(
                "{review}type the name when asked, or pass {}",
                self.yes_flag
            ),
            None => format!("{review}pass {} to confirm", self.yes_flag),
        }
    }
}

/// The yes/no question most commands ask: `--yes`, or a person at a terminal.
pub fn confirm(action: &str, yes: bool, env: &dyn EnvLookup) -> Result<()> {
    Gate::proceed(action).check(yes, env)
}

fn declined(message: String) -> Error {
    Error::new(Category::Cancelled, message).exit_code_override(ExitCode::Failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<()>) -> i32 {
        r.map(|_| 0).unwrap_or_else(|e| e.exit_code() as i32)
    }

    #[test]
    fn without_a_person_yes_is_required() {
        let gate = Gate::proceed("delete task t");
        assert!(gate.confirm(&mut Consent::unattended(true)).is_ok());
        let e = gate.confirm(&mut Consent::unattended(false)).unwrap_err();
        assert_eq!(e.category(), Category::Usage);
        assert!(e.remediation()[0].contains("--yes"));
        assert!(e.message().contains("delete task t"));
    }

    #[test]
    fn a_person_says_yes_or_declines() {
        let gate = Gate::proceed("revoke key k");
        assert_eq!(
            code(gate.confirm(&mut Consent::scripted(false, &["y\n"]))),
            0
        );
        assert_eq!(
            code(gate.confirm(&mut Consent::scripted(false, &["YES"]))),
            0
        );
        assert_eq!(
            code(gate.confirm(&mut Consent::scripted(false, &["\n"]))),
            1
        );
        assert_eq!(code(gate.confirm(&mut Consent::scripted(false, &["n"]))), 1);
    }

    #[test]
    fn a_typed_name_must_match_whether_typed_or_given() {
        let gate = || Gate::type_name("kill every function on gpu-a", "gpu-a");
        assert_eq!(
            code(gate().confirm(&mut Consent::scripted(false, &["gpu-a\n"]))),
            0
        );
        assert_eq!(
            code(gate().confirm(&mut Consent::scripted(false, &["y"]))),
            1
        );
        let flagged = |given: Option<&str>| gate().name_flag("--confirm", given.map(str::to_owned));
        assert_eq!(
            code(flagged(Some("gpu-a")).confirm(&mut Consent::unattended(false))),
            0
        );
        let wrong = flagged(Some("gpu-b"))
            .confirm(&mut Consent::unattended(true))
            .unwrap_err();
        assert_eq!(wrong.exit_code() as i32, 64);
        assert!(wrong.message().contains("does not match"));
        // --yes alone never stands in for the name when a flag can give it.
        let bare = flagged(None)
            .confirm(&mut Consent::unattended(true))
            .unwrap_err();
        assert!(bare.message().contains("--yes needs --confirm gpu-a"));
        assert!(bare.remediation()[0].contains("--confirm gpu-a"));
        let nobody = flagged(None)
            .confirm(&mut Consent::unattended(false))
            .unwrap_err();
        assert!(nobody.message().contains("without typed confirmation"));
    }

    #[test]
    fn without_a_flag_yes_grants_a_typed_gate() {
        let gate = Gate::type_name("tear down the stack", "ctx").reviewable();
        assert_eq!(code(gate.confirm(&mut Consent::unattended(true))), 0);
        let e = gate.confirm(&mut Consent::unattended(false)).unwrap_err();
        assert!(e.remediation()[0].starts_with("review with --dry-run"));
    }

    #[test]
    fn ci_means_nobody_to_ask() {
        let env = crate::base::env::MapEnv::new([("CI", "true")]);
        assert!(!can_prompt(&env));
    }
}
