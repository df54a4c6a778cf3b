//! `keys`: the MEK and NEK runbooks, plan first (run by
//! `nvcf_shared::operations::keys::runbook`). OpenBao is reached through the Kubernetes API
//! server's service proxy; its root token comes from its Secret and is never printed.

use crate::api::Api;
use nvcf_shared::Result;
use nvcf_shared::base::output::{OutputArgs, render};
use nvcf_shared::model::target::PlaneArgs;
use nvcf_shared::operations::keys::nek;
use nvcf_shared::operations::keys::runbook::{Act, KeysOutcome, KeysRequest, run_keys};
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// The MEK key set: current kid, key count, each key's age; and what ESS will do with NEKs
    Status(OutputArgs),
    /// Rotate the master encryption key: back up, add a new key first, keep every old key, verify
    #[command(after_help = const_format_help())]
    RotateMek(RotateMekArgs),
    /// Put a MEK backup back (runbook rollback), after backing up the current state
    Restore(RestoreArgs),
    /// Turn on ESS's NEK re-encryption and promotion jobs, restart ESS, and say when they will act
    #[command(
        after_help = "There is no API for NEK re-encryption: ESS re-wraps NEKs in scheduled \
jobs inside its pods, which ship turned off. This command sets them in ESS's env ConfigMap and \
restarts ESS. Runs are skipped until the current MEK is 48h old (counted from its kid), and only \
NEKs wrapped more than --period ago (ESS default 77d) are picked. The command reports what ESS is \
configured to do and when; it does not and cannot observe the re-encryption itself."
    )]
    RotateNek(RotateNekArgs),
}

const fn const_format_help() -> &'static str {
    "Follows the code where the docs disagree: the new kid is a time-based UUID v1 (ESS rejects \
a current MEK whose kid is not v1; the docs' `uuidgen` makes v4), made at write time because the \
48h grace period counts from its timestamp. The new key goes first in `keys` because ESS's \
vault-agent template makes keys[0] the current masterKey; current_kid and \
jwe_mapping.payload_jwe_kid name it and private_jwks equals keys. Every old key is kept. ESS's \
getValidMek prefers the key listed before the current one, so the grace period may not hold for \
encryption: restart every ESS pod promptly after the rotation (kubectl nvcf ops restart ess-api)."
}

/// What every mutating `keys` command takes: plan mode, confirmation and output.
#[derive(clap::Args, Debug)]
pub struct ActArgs {
    /// Show the plan; write nothing
    #[arg(long = "dry-run", visible_alias = "plan-only")]
    pub dry_run: bool,
    /// Confirm without being asked
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(clap::Args, Debug)]
pub struct RotateMekArgs {
    /// Where to write the backup of the current key data (0600; default ./mek-backup-<UTC time>.json)
    #[arg(long, value_name = "FILE")]
    pub backup: Option<PathBuf>,
    #[command(flatten)]
    pub act: ActArgs,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backup to restore (written by rotate-mek, or `bao kv get -format=json` output)
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Where to back up the current state first (0600; default ./mek-backup-<UTC time>.json)
    #[arg(long, value_name = "FILE")]
    pub backup: Option<PathBuf>,
    #[command(flatten)]
    pub act: ActArgs,
}

#[derive(clap::Args, Debug)]
pub struct RotateNekArgs {
    /// Re-wrap NEKs wrapped longer ago than this (ENCRYPTION_REENCRYPTION_SCHEDULED_PERIOD; ESS default 77d)
    #[arg(long, value_name = "DURATION")]
    pub period: Option<String>,
    /// 6-field Spring cron for the re-encryption job (ESS default: once a day at a random time)
    #[arg(long, value_name = "CRON")]
    pub cron: Option<String>,
    /// 6-field Spring cron for the promotion job (make it run after the re-encryption cron)
    #[arg(long, value_name = "CRON")]
    pub promotion_cron: Option<String>,
    /// Also rotate NEKs (new NEKs for namespaces past the rotation period), not only re-wrap them
    #[arg(long)]
    pub rotate: bool,
    #[command(flatten)]
    pub act: ActArgs,
}

impl ActArgs {
    fn act(&self) -> Act {
        Act {
            dry_run: self.dry_run,
            yes: self.yes,
        }
    }
}

pub async fn run(api: &Api<'_>, planes: &PlaneArgs, cmd: KeysCommand) -> Result<()> {
    let (format, req) = match cmd {
        KeysCommand::Status(o) => (o.output, KeysRequest::Status),
        KeysCommand::RotateMek(args) => (
            args.act.output.output,
            KeysRequest::RotateMek {
                backup: args.backup,
                act: args.act.act(),
            },
        ),
        KeysCommand::Restore(args) => (
            args.act.output.output,
            KeysRequest::Restore {
                from: args.from,
                backup: args.backup,
                act: args.act.act(),
            },
        ),
        KeysCommand::RotateNek(args) => (
            args.act.output.output,
            KeysRequest::RotateNek {
                want: nek::Enable {
                    period: args.period,
                    cron: args.cron,
                    promotion_cron: args.promotion_cron,
                    rotate: args.rotate,
                },
                act: args.act.act(),
            },
        ),
    };
    let outcome = run_keys(&api.reach(planes), req).await?;
    let out = &mut api.ctx.stdout();
    match outcome {
        KeysOutcome::Status(status) => render(status.as_ref(), format, out),
        KeysOutcome::Steps(steps) => render(&steps, format, out),
    }
}
