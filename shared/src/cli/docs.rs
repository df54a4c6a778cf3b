//! Reference documents generated from the clap model, so they can never drift from the
//! binary: man pages (one per command), shell completions, and the agent skill file.

use crate::base::error::{Error, Result};
use crate::base::files::write_atomic;
use crate::cli::completion::{Shell, write_script};
use clap::Command;
use std::path::Path;

/// Every visible command path under `cmd`, depth first: `[["version"], ["profile", "list"], …]`.
pub fn command_paths(cmd: &Command) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    fn walk(cmd: &Command, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        {
            prefix.push(sub.get_name().to_owned());
            out.push(prefix.clone());
            walk(sub, prefix, out);
            prefix.pop();
        }
    }
    walk(cmd, &mut Vec::new(), &mut out);
    out
}

fn find<'a>(cmd: &'a Command, path: &[String]) -> Option<&'a Command> {
    path.iter().try_fold(cmd, |c, name| c.find_subcommand(name))
}

/// Writes `man/<bin>[-<sub>…].1` for the root and every visible command, and
/// `completions/<bin>.{bash,zsh,fish}`, under `dir`.
pub fn write_reference(mut cmd: Command, bin: &str, dir: &Path) -> Result<Vec<String>> {
    // clap_complete names subcommands while it builds: it needs the command unbuilt.
    let unbuilt = cmd.clone();
    cmd.build();
    let mut written = Vec::new();
    let mut pages = vec![(bin.to_owned(), cmd.clone())];
    for path in command_paths(&cmd) {
        if let Some(sub) = find(&cmd, &path) {
            let name = format!("{bin}-{}", path.join("-"));
            pages.push((
                name.clone(),
                sub.clone().name(name).display_name(format!(
                    "{} {}",
                    cmd.get_display_name().unwrap_or(bin),
                    path.join(" ")
                )),
            ));
        }
    }
    for (name, page) in pages {
        let mut buf = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut buf)
            .map_err(|e| Error::internal(format!("render man page {name}: {e}")))?;
        let file = format!("man/{name}.1");
        write_atomic(&dir.join(&file), &buf)?;
        written.push(file);
    }
    for (shell, ext) in [
        (Shell::Bash, "bash"),
        (Shell::Zsh, "zsh"),
        (Shell::Fish, "fish"),
    ] {
        let mut buf = Vec::new();
        write_script(shell, unbuilt.clone(), bin, &mut buf)?;
        let file = format!("completions/{bin}.{ext}");
        write_atomic(&dir.join(&file), &buf)?;
        written.push(file);
    }
    Ok(written)
}

/// The exit-code table, taken from the documentation the test suite keeps in step.
fn exit_code_table() -> String {
    include_str!("../../../docs/exit-codes.md")
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A skill file for coding agents, generated from the live command model: every command with
/// its one-line help, the output contract, exit codes and the safety rules.
pub fn agent_skill(mut cmd: Command, display: &str) -> String {
    cmd.build();
    let mut rows = String::new();
    for path in command_paths(&cmd) {
        let Some(sub) = find(&cmd, &path) else {
            continue;
        };
        let about = sub
            .get_about()
            .map(|a| a.to_string().replace('|', "\\|"))
            .unwrap_or_default();
        rows.push_str(&format!("| `{display} {}` | {about} |\n", path.join(" ")));
    }
    format!(
        r#"---
name: nvcf-plugins
description: |
  Operate self-hosted NVIDIA Cloud Functions (NVCF) with {display}: pre-flight checks,
  profiles, admin tokens and API keys, functions (container, helm, LLM), tasks, registry
  credentials, NVCA cluster registration and JWKS rotation, cleanup and uninstall.
  Generated from {display} {version}'s own command model; regenerate after upgrading.
allowed-tools: Bash, Read
---

# {display} {version}

Run `{display} <command> --help` for every flag. Connection flags come after the plugin
name (`{display} status --context prod`), never before it.

## Commands

| command | what it does |
|---|---|
{rows}
## Output for agents

- Reports: add `-o json` (also `yaml`, `wide`, `name`); data goes to stdout only.
- Progress: `--json` streams JSONL events on stderr (upstream schema version 1:
  `phase_started`, `phase_completed`, `phase_failed`, `check_completed`, `final`, …); skip
  non-JSON lines. `phase_failed` carries `errCategory`, `retryClass`, `retryAfterSec`,
  `remediation` and `raw`.
- `retryClass`: `immediate` retry now; `backoff` wait `retryAfterSec`; `after_remediation`,
  `none`, `unknown`: surface the message and remediation, stop.

## Exit codes

{exits}
## Safety rules

- Never run a destructive command without the user's explicit go-ahead: `uninstall`,
  `cleanup`, `deregister`, `function delete`, `task delete`, `api-key clear-all`, and
  anything with `--force`, `--purge` or `--remove-persistent`. Run its `--dry-run` or plan
  mode first and show the user what it would do.
- Confirm exact names (function, image, GPU, cluster) with the user before creating or
  deleting; never submit placeholder values such as `<YOUR_REGISTRY>`.
- In CI or other non-interactive contexts pass `--yes` (and `--confirm NAME` where asked)
  only after the user approved the plan.
- Never paste admin tokens, `nvapi-` keys, profile state files or kubeconfigs into chat or
  logs; this tool masks them to 8 characters plus `...` and so should you.
"#,
        version = env!("CARGO_PKG_VERSION"),
        exits = exit_code_table(),
    )
}

/// Where agents look for skills: `$CLAUDE_CONFIG_DIR/skills/nvcf/SKILL.md`, default
/// `~/.claude/skills/nvcf/SKILL.md`.
pub fn default_skill_path(
    env: &dyn crate::model::settings::EnvLookup,
) -> Result<std::path::PathBuf> {
    let base = match env.get("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => crate::model::target::home_dir(env)
            .map(|h| h.join(".claude"))
            .ok_or_else(|| Error::config("HOME is not set").hint("pass --path FILE"))?,
    };
    Ok(base.join("skills").join("nvcf").join("SKILL.md"))
}

/// `agent-skill version`: this build and the skill it embeds, so a script can tell whether
/// an installed skill came from the binary it runs (upstream prints the same two facts).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillVersion {
    pub plugin: String,
    pub version: String,
    pub git_revision: String,
    pub skills: usize,
    pub files: usize,
    pub bytes: usize,
    pub sha256: String,
}

impl SkillVersion {
    pub fn of(plugin: &str, skill: &str) -> SkillVersion {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(skill.as_bytes());
        SkillVersion {
            plugin: plugin.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            git_revision: env!("NVCF_GIT_REVISION").to_owned(),
            skills: 1,
            files: 1,
            bytes: skill.len(),
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

impl crate::base::output::Report for SkillVersion {
    fn table(&self, _wide: bool) -> String {
        format!(
            "{} build: {} ({})\nembedded skill: {} skill, {} file, {} bytes (sha256 {})",
            self.plugin,
            self.version,
            self.git_revision,
            self.skills,
            self.files,
            self.bytes,
            self.sha256
        )
    }

    fn names(&self) -> Vec<String> {
        vec![format!("skill/{}", self.sha256)]
    }
}
