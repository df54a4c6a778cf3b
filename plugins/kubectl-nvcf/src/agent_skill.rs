//! `kubectl nvcf agent-skill`: a skill file for coding agents, generated from this binary's
//! own command model so it never drifts from what the binary does.

use clap::{CommandFactory, Subcommand};
use nvcf_shared::base::files::write_atomic;
use nvcf_shared::base::output::{OutputArgs, render, write_out};
use nvcf_shared::cli::docs::{SkillVersion, agent_skill, default_skill_path};
use nvcf_shared::cli::runtime::Ctx;
use nvcf_shared::{Error, Result};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum AgentSkillCommand {
    /// Print the skill file
    Show,
    /// Write the skill file where agents look for it
    Install {
        /// Where to write it (default: $CLAUDE_CONFIG_DIR or ~/.claude, then skills/nvcf/SKILL.md)
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
    },
    /// Remove an installed skill file
    Uninstall {
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
    },
    /// This build and the skill it embeds (size and sha256)
    Version {
        #[command(flatten)]
        output: OutputArgs,
    },
}

pub fn run(cmd: AgentSkillCommand, ctx: &Ctx) -> Result<()> {
    let skill = || agent_skill(crate::Cli::command(), crate::PLUGIN.display);
    let mut out = ctx.stdout();
    match cmd {
        AgentSkillCommand::Show => write_out(&mut out, &skill()),
        AgentSkillCommand::Version { output } => render(
            &SkillVersion::of(crate::PLUGIN.display, &skill()),
            output.output,
            &mut out,
        ),
        AgentSkillCommand::Install { path } => {
            let path = path
                .map(Ok)
                .unwrap_or_else(|| default_skill_path(&ctx.env))?;
            write_atomic(&path, skill().as_bytes())?;
            write_out(
                &mut out,
                &format!("agent skill written to {}", path.display()),
            )
        }
        AgentSkillCommand::Uninstall { path } => {
            let path = path
                .map(Ok)
                .unwrap_or_else(|| default_skill_path(&ctx.env))?;
            match std::fs::remove_file(&path) {
                Ok(()) => write_out(
                    &mut out,
                    &format!("agent skill removed from {}", path.display()),
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::not_found(
                    format!("no agent skill at {}", path.display()),
                )
                .hint("pass --path with the file `agent-skill install` wrote")),
                Err(e) => Err(nvcf_shared::base::files::io_error("remove", &path, e)),
            }
        }
    }
}
