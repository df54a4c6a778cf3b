//! `nvcf-cli`: upstream's command lines, run unchanged by our plugins.
//!
//! Scripts and CI jobs call upstream's `nvcf-cli` (its tree: `cluster register`,
//! `cluster agent …`, `self-hosted up`, a root `--json`). Each line is translated into the
//! `kubectl nvcf` or `kubectl nvca` command that does the same work, with upstream's prompt
//! rules and exit codes, and upstream's files (`~/.nvcf-cli.yaml`, `~/.nvcf-cli.state`).
//! A flag we cannot honour is refused with the reason and the nearest equivalent, never
//! silently dropped.

use crate::base::error::{Error, ExitCode, Result};

/// Which plugin runs a translated command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    Nvcf,
    Nvca,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub runner: Runner,
    /// Our command line, without the program name.
    pub args: Vec<String>,
    /// Upstream's root `--json`: the result as JSON on stdout.
    pub json: bool,
    /// Upstream exits 5 only for `self-hosted check --wait`.
    pub timeout_exits_5: bool,
}

/// Upstream's flags with no counterpart here, with what to use instead.
const REFUSED: &[(&str, &str)] = &[(
    "--non-interactive",
    "upstream ignores it too; nvcf-cli never prompts where upstream does not",
)];

/// `nvcf-cli --help`: upstream's command tree, as scripts know it, with what runs each part.
pub const ROOT_HELP: &str = "\
nvcf-cli: upstream's command lines, run by kubectl nvcf and kubectl nvca

Usage:
  nvcf-cli [--json] COMMAND [flags]
  nvcf-cli COMMAND --help        the flags of one command

Commands (upstream's tree):
  init | refresh | status [--show-tokens] | version
  api-key              generate | list | delete ID | revoke ID | show | clear | clear-all [OWNER]
  function             create | delete [FID] [VID] | get | invoke | list | list-ids
                       list-versions FID | update
                       deploy create | update | get | remove
                       queue status FID [VID] | position REQUEST-ID
  task                 create | list | bulk | get [ID] | delete [ID] | cancel [ID]
                       events [ID] | results [ID] | update-secrets [ID]
  registry-credential  list | add | get ID | update ID | delete ID | list-recognized
  cluster              list | register | rotate | delete       (kubectl nvca register|rotate|deregister)
  cluster agent        status | list-functions | get-function FID [VID] | cordon-and-drain (drain)
                       uncordon (undrain) | kill-function FID [VID] | kill-all
                       validate | validate-deployment FID [VID]   (kubectl nvca)
  cluster-dump         a diagnostic bundle                    (kubectl nvcf dump)
  admin                accounts list|update, secrets update-function|update-telemetry,
                       queues function|version                (needs NVCF_CLI_ENABLE_ADMIN)
  agent-skill          install | uninstall | show | version
  self-hosted          up | down | install | uninstall | check | status
                       compute-plane install --values FILE | register --control-plane-profile FILE
                       control-plane profile validate | export

Settings come from flags, NVCF_* variables, ./.nvcf-cli.yaml or ~/.nvcf-cli.yaml; state is kept
in ~/.nvcf-cli.state (~/.nvcf-cli.NAME.state with a profile). No kubeconfig is needed for the
API commands. Exit codes: 0 success, 2 failed checks, 5 `self-hosted check --wait` timed out,
130 interrupted, 1 anything else.
";

/// A bare `nvcf-cli`, `nvcf-cli --help` or `nvcf-cli help`: upstream's root help.
pub fn wants_root_help(upstream: &[String]) -> bool {
    let words: Vec<&str> = upstream
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--json")
        .collect();
    matches!(words.as_slice(), [] | ["--help"] | ["-h"] | ["help"])
}

/// Translates upstream's arguments (without the program name).
pub fn translate(upstream: &[String]) -> Result<Translated> {
    let mut json = false;
    let mut rest: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut self_hosted = false;
    for arg in upstream {
        let flag = arg.split('=').next().unwrap_or(arg);
        if let Some((_, instead)) = REFUSED.iter().find(|(f, _)| *f == flag) {
            return Err(
                Error::usage(format!("nvcf-cli: {flag} is not supported here"))
                    .hint(instead.to_string()),
            );
        }
        if arg == "self-hosted" && words.is_empty() {
            self_hosted = true;
            continue;
        }
        // The root `--json` prints the result on stdout; under `self-hosted` it is the
        // JSONL event stream on stderr, which ours is too.
        if arg == "--json" && !self_hosted {
            json = true;
            continue;
        }
        if !arg.starts_with('-') && rest.last().is_none_or(|p| !takes_value(p)) {
            words.push(arg.clone());
        }
        rest.push(arg.clone());
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let mut out = Translated {
        runner: Runner::Nvcf,
        args: rest.clone(),
        json,
        timeout_exits_5: self_hosted && words.first() == Some(&"check"),
    };
    match (self_hosted, words.as_slice()) {
        (true, ["compute-plane", "register", ..]) => {
            out.runner = Runner::Nvca;
            let args = replace_words(&rest, &["compute-plane", "register"], &["register"]);
            let args = rename_flag(&args, "--output", "--values-out");
            out.args = rename_flag(&args, "--kube-context", "--context");
        }
        (true, ["compute-plane", "install", ..]) => {
            let args = replace_words(
                &rest,
                &["compute-plane", "install"],
                &["install", "--compute-plane"],
            );
            out.args = rename_flag(&args, "--kube-context", "--context");
        }
        (true, _) => {}
        (false, ["cluster", "list", ..]) => {}
        (false, ["cluster", "register", ..]) => {
            out.runner = Runner::Nvca;
            out.args = rename_flag(&drop_word(&rest, "cluster"), "--name", "--cluster-name");
        }
        (false, ["cluster", "rotate", ..]) => {
            out.runner = Runner::Nvca;
            out.args = drop_word(&rest, "cluster");
        }
        (false, ["cluster", "delete", ..]) => {
            out.runner = Runner::Nvca;
            out.args = replace_words(&rest, &["cluster", "delete"], &["deregister"]);
        }
        (false, ["cluster", "agent", sub, ..]) => {
            out.runner = Runner::Nvca;
            let ours: &[&str] = match *sub {
                "list-functions" => &["functions", "list"],
                "get-function" => &["functions", "get"],
                other => &[other][..],
            };
            out.args = replace_words(&rest, &["cluster", "agent", sub], ours);
        }
        (false, ["cluster-dump", ..]) => {
            out.args = replace_words(&rest, &["cluster-dump"], &["dump"]);
        }
        _ => {}
    }
    // Upstream deletes and cancels without asking; our `kubectl nvcf` asks first.
    if !self_hosted
        && matches!(
            words.as_slice(),
            ["function", "delete", ..] | ["task", "delete", ..] | ["task", "cancel", ..]
        )
        && !out
            .args
            .iter()
            .any(|a| a == "--yes" || a == "-y" || a == "--force")
    {
        out.args.push("--yes".into());
    }
    // `--force` skips upstream's prompt on cluster rotate/delete: ours is `--yes`.
    if out.runner == Runner::Nvca
        && matches!(words.as_slice(), ["cluster", "rotate" | "delete", ..])
    {
        out.args = rename_flag(&out.args, "--force", "--yes");
    }
    Ok(out)
}

/// Upstream's root `--json`: `-o json` on the command the line reaches, when it has `-o`
/// (commands without one print what they print either way).
pub fn add_json_output(cli: &clap::Command, args: &mut Vec<String>) {
    let mut cmd = cli;
    let mut after_value = false;
    for arg in args.iter() {
        if after_value {
            after_value = false;
            continue;
        }
        if arg.starts_with('-') {
            after_value = takes_value(arg);
            continue;
        }
        match cmd.find_subcommand(arg) {
            Some(sub) => cmd = sub,
            None => break,
        }
    }
    if cmd.get_arguments().any(|a| a.get_long() == Some("output")) {
        args.extend(["-o".to_owned(), "json".to_owned()]);
    }
}

/// Upstream's exit codes: 2 for failed checks, 5 for `check --wait` timing out, 130 when
/// interrupted, 1 for every other failure.
pub fn exit_code(ours: ExitCode, translated: Option<&Translated>) -> u8 {
    match ours {
        ExitCode::Success => 0,
        ExitCode::ChecksFailed => 2,
        ExitCode::Timeout if translated.is_some_and(|t| t.timeout_exits_5) => 5,
        ExitCode::Cancelled => 130,
        _ => 1,
    }
}

/// Flags of upstream's tree that take a separate value, so the value is not a word.
fn takes_value(flag: &str) -> bool {
    flag.starts_with("--")
        && !flag.contains('=')
        && !matches!(
            flag,
            "--json"
                | "--debug"
                | "--force"
                | "--yes"
                | "--ignore-existing"
                | "--ignore-missing"
                | "--deployment-only"
                | "--graceful"
                | "--grpc"
                | "--grpc-plaintext"
                | "--show-tokens"
                | "--validate"
                | "--include-secrets"
                | "--dry-run"
                | "--plan-only"
                | "--plain"
                | "--accessible"
                | "--refresh-token"
                | "--no-apply"
                | "--all"
                | "--pre"
                | "--control-plane"
                | "--compute-plane"
                | "--compute-only"
                | "--remove-persistent"
                | "--fail-fast"
                | "--rate-limit-sync"
        )
}

fn drop_word(args: &[String], word: &str) -> Vec<String> {
    let mut done = false;
    args.iter()
        .filter(|a| {
            let drop = !done && a.as_str() == word;
            done |= drop;
            !drop
        })
        .cloned()
        .collect()
}

/// Replaces the first run of `from` words (in order, flags between them kept) with `to`.
fn replace_words(args: &[String], from: &[&str], to: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = 0;
    for a in args {
        if next < from.len() && a == from[next] {
            if next == 0 {
                out.extend(to.iter().map(|s| s.to_string()));
            }
            next += 1;
            continue;
        }
        out.push(a.clone());
    }
    out
}

fn rename_flag(args: &[String], from: &str, to: &str) -> Vec<String> {
    args.iter()
        .map(|a| {
            if a == from {
                to.to_owned()
            } else if let Some(v) = a.strip_prefix(&format!("{from}=")) {
                format!("{to}={v}")
            } else {
                a.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(line: &str) -> Translated {
        translate(
            &line
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn api_commands_keep_their_words_and_the_root_json_becomes_a_flag() {
        let out = t("--json function list");
        assert_eq!((out.runner, out.json), (Runner::Nvcf, true));
        assert_eq!(out.args, ["function", "list"]);
        assert_eq!(
            t("task list --limit 2 --cursor c").args,
            ["task", "list", "--limit", "2", "--cursor", "c"]
        );
    }

    #[test]
    fn deletes_and_cancels_do_not_ask_as_upstreams_do_not() {
        assert_eq!(
            t("task cancel abc").args,
            ["task", "cancel", "abc", "--yes"]
        );
        assert_eq!(
            t("function delete --function-id f --deployment-only").args,
            [
                "function",
                "delete",
                "--function-id",
                "f",
                "--deployment-only",
                "--yes"
            ]
        );
        assert_eq!(
            t("api-key delete k1").args,
            ["api-key", "delete", "k1"],
            "upstream asks here"
        );
    }

    #[test]
    fn cluster_commands_go_to_nvca_in_its_words() {
        let reg = t("cluster register --name gpu-a --nca-id acme --ignore-existing");
        assert_eq!(reg.runner, Runner::Nvca);
        assert_eq!(
            reg.args,
            [
                "register",
                "--cluster-name",
                "gpu-a",
                "--nca-id",
                "acme",
                "--ignore-existing"
            ]
        );
        assert_eq!(
            t("cluster delete --cluster-id c1 --nca-id n --force --ignore-missing").args,
            [
                "deregister",
                "--cluster-id",
                "c1",
                "--nca-id",
                "n",
                "--yes",
                "--ignore-missing"
            ]
        );
        assert_eq!(
            t("cluster agent list-functions --phase ACTIVE").args,
            ["functions", "list", "--phase", "ACTIVE"]
        );
        assert_eq!(t("cluster list").runner, Runner::Nvcf);
    }

    #[test]
    fn self_hosted_commands_are_ours_and_keep_their_jsonl() {
        let up = t("self-hosted up --json --cluster-name gpu");
        assert_eq!(up.args, ["up", "--json", "--cluster-name", "gpu"]);
        assert!(!up.json);
        assert!(t("self-hosted check --pre --wait 5m").timeout_exits_5);
        assert_eq!(
            exit_code(ExitCode::Timeout, Some(&t("self-hosted check --wait 1m"))),
            5
        );
        assert_eq!(
            exit_code(ExitCode::Timeout, Some(&t("function deploy create"))),
            1
        );
        assert_eq!(exit_code(ExitCode::InvalidInput, None), 1);
        assert_eq!(exit_code(ExitCode::ChecksFailed, None), 2);
    }

    #[test]
    fn the_split_install_handoff_lines_reach_our_commands() {
        let reg = t(
            "self-hosted compute-plane register --control-plane-profile p.yaml --cluster-name gpu-a --kube-context gpu --output out/a.yaml --dry-run",
        );
        assert_eq!(reg.runner, Runner::Nvca);
        assert_eq!(
            reg.args,
            [
                "register",
                "--control-plane-profile",
                "p.yaml",
                "--cluster-name",
                "gpu-a",
                "--context",
                "gpu",
                "--values-out",
                "out/a.yaml",
                "--dry-run"
            ]
        );
        let install = t("self-hosted compute-plane install --values out/a.yaml --kube-context=gpu");
        assert_eq!(
            install.args,
            [
                "install",
                "--compute-plane",
                "--values",
                "out/a.yaml",
                "--context=gpu"
            ]
        );
        let validate = t("self-hosted control-plane profile validate --file p.yaml --require both");
        assert_eq!(validate.runner, Runner::Nvcf);
        assert_eq!(
            validate.args,
            [
                "control-plane",
                "profile",
                "validate",
                "--file",
                "p.yaml",
                "--require",
                "both"
            ]
        );
    }

    #[test]
    fn the_root_help_is_upstreams_tree() {
        for line in [&[][..], &["--help"], &["help"], &["--json", "-h"]] {
            let args: Vec<String> = line.iter().map(|s| s.to_string()).collect();
            assert!(wants_root_help(&args), "{line:?}");
        }
        assert!(!wants_root_help(&["function".into(), "--help".into()]));
        assert!(ROOT_HELP.contains("cluster-dump") && ROOT_HELP.contains("control-plane profile"));
    }

    #[test]
    fn flags_we_cannot_honour_are_refused_with_the_way_instead() {
        let err = translate(&[
            "cluster".into(),
            "register".into(),
            "--non-interactive".into(),
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(err.to_string().contains("--non-interactive"), "{err}");
        assert!(
            translate(&[
                "cluster".into(),
                "register".into(),
                "--nats-url=nats://x".into()
            ])
            .is_ok()
        );
    }
}
