//! `dump`: a support bundle of both planes (logic in `nvcf_shared::stack::dump`).

use crate::api::Api;
use nvcf_shared::Result;
use nvcf_shared::output::write_out;
use nvcf_shared::stack::catalog::Catalog;
use nvcf_shared::stack::dump;
use nvcf_shared::stack::status::Clusters;
use nvcf_shared::target::PlaneArgs;
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
}

pub async fn run(api: &Api<'_>, planes: &PlaneArgs, args: DumpArgs) -> Result<()> {
    let clusters =
        Clusters::resolve(api.sel, planes, &api.ctx.env, &api.ctx.plugin.user_agent()).await?;
    let out = args.output.unwrap_or_else(dump::default_path);
    let s = dump::dump(Catalog::embedded(), &clusters, &out, !args.no_redact).await?;
    let mut text = format!(
        "support bundle written to {} ({} files, secrets {})",
        s.path,
        s.files,
        if s.redacted {
            "redacted"
        } else {
            "NOT redacted"
        }
    );
    for n in &s.stuck_namespaces {
        text.push_str(&format!("\nstuck namespace: {n}"));
    }
    for w in &s.warnings {
        text.push_str(&format!("\nwarning: {w}"));
    }
    write_out(&mut api.ctx.stdout(), &text)
}
