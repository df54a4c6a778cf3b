//! The `keys` commands: each mutating runbook shows its plan and asks before it acts,
//! unless only the plan was asked for. OpenBao's root token comes from its Secret.

use super::mek::{self, KeyStatus, ORDER_NOTE};
use super::nek;
use super::stored::Kid;
use crate::base::confirm::confirm;
use crate::base::error::Result;
use crate::base::output::{OutputFormat, render};
use crate::base::plan::Plan;
use crate::clients::kube::Client;
use crate::clients::openbao::OpenBao;
use crate::model::target::Target;
use crate::operations::reach::Reach;
use std::path::PathBuf;

/// Plan mode and confirmation, as every mutating `keys` command takes them.
pub struct Act {
    /// Show the plan; write nothing.
    pub dry_run: bool,
    /// Confirm without being asked.
    pub yes: bool,
}

pub enum KeysRequest {
    Status,
    /// Rotate the MEK; the backup goes to `backup`, by default ./mek-backup-<UTC time>.json.
    RotateMek {
        backup: Option<PathBuf>,
        act: Act,
    },
    /// Put the MEK backup `from` back, after backing up the current state.
    Restore {
        from: PathBuf,
        backup: Option<PathBuf>,
        act: Act,
    },
    /// Turn on ESS's NEK re-encryption and promotion jobs.
    RotateNek {
        want: nek::Enable,
        act: Act,
    },
}

pub enum KeysOutcome {
    Status(Box<KeyStatus>),
    /// The plan (`--dry-run`) or what was done.
    Steps(Plan),
}

async fn connect(reach: &Reach<'_>) -> Result<(Client, OpenBao)> {
    let client = Target::resolve(reach.sel, reach.env)?
        .client(&reach.user_agent())
        .await?;
    let bao = OpenBao::new(client.clone()).login_root().await?;
    Ok((client, bao))
}

/// Shows the plan on stderr and asks before acting.
fn show_and_confirm(plan: &Plan, yes: bool, reach: &Reach<'_>) -> Result<()> {
    render(plan, OutputFormat::Table, &mut std::io::stderr().lock())?;
    confirm(&plan.action, yes, reach.env)
}

pub async fn run_keys(reach: &Reach<'_>, req: KeysRequest) -> Result<KeysOutcome> {
    let steps = match req {
        KeysRequest::Status => {
            let (client, bao) = connect(reach).await?;
            let mut status = mek::status(&bao).await?;
            let current = Kid::parse(&status.current_kid);
            // ESS may not be installed where only OpenBao is checked; the key set still shows.
            status.nek = nek::plan(&client, &current).await.ok();
            return Ok(KeysOutcome::Status(Box::new(status)));
        }
        KeysRequest::RotateMek { backup, act } => {
            let (_, bao) = connect(reach).await?;
            let backup = backup.unwrap_or_else(|| mek::default_backup_path("mek"));
            let plan = mek::rotate(&bao, &backup, true).await?;
            if act.dry_run {
                return Ok(KeysOutcome::Steps(plan));
            }
            show_and_confirm(&plan, act.yes, reach)?;
            let done = mek::rotate(&bao, &backup, false).await?;
            debug_assert!(done.notes.iter().any(|n| n == ORDER_NOTE));
            done
        }
        KeysRequest::Restore { from, backup, act } => {
            let (_, bao) = connect(reach).await?;
            let backup = backup.unwrap_or_else(|| mek::default_backup_path("mek"));
            let plan = mek::restore(&bao, &from, &backup, true).await?;
            if act.dry_run {
                return Ok(KeysOutcome::Steps(plan));
            }
            show_and_confirm(&plan, act.yes, reach)?;
            mek::restore(&bao, &from, &backup, false).await?
        }
        KeysRequest::RotateNek { want, act } => {
            let (client, bao) = connect(reach).await?;
            let status = mek::status(&bao).await?;
            let current = Kid::parse(&status.current_kid);
            let plan = nek::enable(&client, &current, &want, true).await?;
            if act.dry_run {
                return Ok(KeysOutcome::Steps(plan));
            }
            show_and_confirm(&plan, act.yes, reach)?;
            nek::enable(&client, &current, &want, false).await?
        }
    };
    Ok(KeysOutcome::Steps(steps))
}
