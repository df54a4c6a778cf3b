//! Shell completion: static scripts from the clap model, and kubectl's plugin-completion
//! protocol (cobra's `__complete`), which kubectl ≥ 1.26 speaks to `kubectl_complete-<name>`.

use crate::base::error::Result;
use crate::base::output::write_out;
use crate::model::profile::Profile;
use crate::model::settings::EnvLookup;
use clap::{Arg, Command, ValueHint};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CompletionArgs {
    /// The shell to print a completion script for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `bin` (the executable's name) to `out`.
pub fn write_script(shell: Shell, mut cmd: Command, bin: &str, out: &mut dyn Write) -> Result<()> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // clap_complete panics when its writer fails; render first so a closed pipe is an
    // ordinary write error (which the runtime treats as success).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, bin, &mut script);
    write_out(out, &String::from_utf8_lossy(&script))
}

/// cobra's ShellCompDirective bits.
const DIRECTIVE_DEFAULT: u8 = 0;
const DIRECTIVE_NO_FILE: u8 = 4;

/// Answers one completion request in cobra's format: candidates (`value<TAB>help`), then
/// `:<directive>`. `words` are the words after the plugin name, the last being the one
/// under the cursor (possibly empty).
pub fn cobra_complete(mut cmd: Command, words: &[String], env: &dyn EnvLookup) -> String {
    cmd.build();
    let (typed, partial) = match words.split_last() {
        Some((last, rest)) => (rest, last.as_str()),
        None => (&[][..], ""),
    };
    let mut current = &cmd;
    let mut awaiting_value: Option<&Arg> = None;
    let mut kubeconfig: Option<PathBuf> = None;
    for word in typed {
        if let Some(arg) = awaiting_value.take() {
            if arg.get_id() == "kubeconfig" {
                kubeconfig = Some(PathBuf::from(word));
            }
            continue;
        }
        if let Some(flag) = word.strip_prefix("--") {
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (flag, None),
            };
            if let Some(arg) = current.get_arguments().find(|a| a.get_long() == Some(name)) {
                if let Some(v) = inline.filter(|_| arg.get_id() == "kubeconfig") {
                    kubeconfig = Some(PathBuf::from(v));
                }
                if inline.is_none() && takes_value(arg) {
                    awaiting_value = Some(arg);
                }
            }
        } else if let Some(short) = word.strip_prefix('-').filter(|s| s.chars().count() == 1) {
            let c = short.chars().next();
            if let Some(arg) = current.get_arguments().find(|a| a.get_short() == c)
                && takes_value(arg)
            {
                awaiting_value = Some(arg);
            }
        } else if let Some(sub) = current.find_subcommand(word) {
            current = sub;
        }
    }
    let mut out = String::new();
    let directive = if let Some(arg) = awaiting_value {
        complete_value(arg, "", partial, kubeconfig, env, &mut out)
    } else if let Some((name, value)) = partial.strip_prefix("--").and_then(|f| f.split_once('=')) {
        match current.get_arguments().find(|a| a.get_long() == Some(name)) {
            Some(arg) => {
                complete_value(arg, &format!("--{name}="), value, kubeconfig, env, &mut out)
            }
            None => DIRECTIVE_NO_FILE,
        }
    } else if partial.starts_with('-') {
        for arg in current.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                let flag = format!("--{long}");
                if flag.starts_with(partial) {
                    push(&mut out, &flag, arg.get_help().map(|h| h.to_string()));
                }
            }
        }
        DIRECTIVE_NO_FILE
    } else {
        for sub in current.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name().starts_with(partial) {
                push(
                    &mut out,
                    sub.get_name(),
                    sub.get_about().map(|a| a.to_string()),
                );
            }
        }
        match current.get_positionals().next() {
            Some(positional) => complete_value(positional, "", partial, kubeconfig, env, &mut out),
            None => DIRECTIVE_NO_FILE,
        }
    };
    out.push_str(&format!(":{directive}\n"));
    out
}

fn push(out: &mut String, candidate: &str, help: Option<String>) {
    match help {
        Some(h) => out.push_str(&format!(
            "{candidate}\t{}\n",
            h.lines().next().unwrap_or("")
        )),
        None => out.push_str(&format!("{candidate}\n")),
    }
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.takes_values())
}

fn complete_value(
    arg: &Arg,
    prefix: &str,
    partial: &str,
    kubeconfig: Option<PathBuf>,
    env: &dyn EnvLookup,
    out: &mut String,
) -> u8 {
    let values = arg.get_possible_values();
    if !values.is_empty() {
        for v in values
            .iter()
            .filter(|v| !v.is_hide_set() && v.get_name().starts_with(partial))
        {
            push(
                out,
                &format!("{prefix}{}", v.get_name()),
                v.get_help().map(|h| h.to_string()),
            );
        }
        return DIRECTIVE_NO_FILE;
    }
    let names: Vec<String> = match arg.get_id().as_str() {
        "context" | "control_plane_context" | "compute_plane_context" => {
            kube_contexts(kubeconfig, env)
        }
        "profile" => Profile::list(env).unwrap_or_default(),
        _ => match arg.get_value_hint() {
            ValueHint::FilePath | ValueHint::AnyPath | ValueHint::DirPath => {
                return DIRECTIVE_DEFAULT;
            }
            _ if arg.get_id() == "kubeconfig" || arg.get_id() == "config" => {
                return DIRECTIVE_DEFAULT;
            }
            _ => Vec::new(),
        },
    };
    for name in names.iter().filter(|n| n.starts_with(partial)) {
        push(out, &format!("{prefix}{name}"), None);
    }
    DIRECTIVE_NO_FILE
}

/// Context names from the kubeconfig the command line (or KUBECONFIG) points at.
fn kube_contexts(kubeconfig: Option<PathBuf>, env: &dyn EnvLookup) -> Vec<String> {
    let sel = crate::model::target::KubeSelection {
        kubeconfig,
        ..Default::default()
    };
    crate::model::target::context_names(&sel, env).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;

    #[derive(clap::Parser)]
    #[command(name = "demo")]
    struct Demo {
        #[command(flatten)]
        kube: crate::model::target::KubeArgs,
        #[command(subcommand)]
        cmd: Sub,
    }

    #[derive(clap::Subcommand)]
    enum Sub {
        /// Print the version
        Version {
            #[command(flatten)]
            out: crate::base::output::OutputArgs,
        },
        /// Show the target
        Context,
        Completion(CompletionArgs),
    }

    fn complete(words: &[&str], env: &MapEnv) -> String {
        use clap::CommandFactory;
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        cobra_complete(Demo::command(), &words, env)
    }

    #[test]
    fn subcommands_with_descriptions() {
        let out = complete(&["v"], &MapEnv::default());
        assert_eq!(out, "version\tPrint the version\n:4\n");
        let out = complete(&[""], &MapEnv::default());
        assert!(
            out.contains("context\tShow the target\n") && out.ends_with(":4\n"),
            "{out}"
        );
    }

    #[test]
    fn flags_and_value_enums() {
        let out = complete(&["version", "--out"], &MapEnv::default());
        assert!(out.starts_with("--output\t"), "{out}");
        let out = complete(&["version", "-o", "y"], &MapEnv::default());
        assert_eq!(out, "yaml\n:4\n");
        let out = complete(&["version", "--output=j"], &MapEnv::default());
        assert_eq!(out, "--output=json\n:4\n");
        let out = complete(&["completion", "f"], &MapEnv::default());
        assert_eq!(out, "fish\n:4\n");
    }

    #[test]
    fn contexts_come_from_the_kubeconfig_on_the_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let kc = dir.path().join("kc");
        std::fs::write(
            &kc,
            "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts:\n- name: prod-east\n  context: {cluster: c}\n- name: dev\n  context: {cluster: c}\n",
        )
        .unwrap();
        let out = complete(
            &[
                "--kubeconfig",
                kc.to_str().unwrap(),
                "context",
                "--context",
                "p",
            ],
            &MapEnv::default(),
        );
        assert_eq!(out, "prod-east\n:4\n");
        let out = complete(&["--kubeconfig", ""], &MapEnv::default());
        assert_eq!(out, ":0\n", "paths fall back to file completion");
    }
}
