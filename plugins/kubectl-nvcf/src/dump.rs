//! `dump`: a support bundle of both planes (logic in `nvcf_shared::operations::stack::dump`).

use crate::api::Api;
use nvcf_shared::Result;
use nvcf_shared::base::output::write_out;
use nvcf_shared::model::target::PlaneArgs;
use nvcf_shared::operations::stack::dump;
use std::path::PathBuf;

/// A support bundle of both planes: resources, log tails, helm releases, events, stuck namespaces; secrets redacted
#[derive(clap::Args, Debug)]
pub struct DumpArgs {
    /// Where to write: a directory, or FILE.tar.gz (default: nvcf-dump-<time>.tar.gz)
    #[arg(short = 'o', long = "output", value_name = "DIR|FILE.tar.gz")]
    pub output: Option<PathBuf>,
    /// Keep Secret values and log lines as they are (the bundle then holds credentials)
    #[arg(long)]
    pub no_redact: bool,
    /// What to collect, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    pub include: Vec<Include>,
    /// Lines from the end of each container's log
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(i64).range(1..))]
    pub log_tail: i64,
    /// Bytes at most of each container's log
    #[arg(long, default_value_t = 1_048_576, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_log_bytes: i64,
    /// Only the compute plane: its namespaces, or its cluster with split planes
    #[arg(long)]
    pub compute_only: bool,
}

/// A part of the bundle (upstream's `cluster-dump --include`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Include {
    /// The objects of the stack's namespaces
    Resources,
    /// Each container's log
    Logs,
    /// The helm releases
    Helm,
    /// Everything
    All,
}

pub async fn run(api: &Api<'_>, planes: &PlaneArgs, args: DumpArgs) -> Result<()> {
    let has = |part: Include| {
        args.include
            .iter()
            .any(|i| *i == part || *i == Include::All)
    };
    let opts = dump::DumpOptions {
        redact: !args.no_redact,
        resources: has(Include::Resources),
        logs: has(Include::Logs),
        helm: has(Include::Helm),
        compute_only: args.compute_only,
        log_tail: args.log_tail,
        max_log_bytes: args.max_log_bytes,
    };
    let summary = dump::dump_planes(&api.reach(planes), args.output, &opts).await?;
    write_out(&mut api.ctx.stdout(), &summary.text())
}
