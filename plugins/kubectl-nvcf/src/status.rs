//! `status`: the stack's health on both planes plus the profile's endpoints and
//! credentials; `--watch` keeps it current from Kubernetes watches.

use crate::api::Api;
use crate::dashboard::Dashboard;
use nvcf_shared::base::output::{OutputArgs, OutputFormat, render_revealing};
use nvcf_shared::base::secret::Secret;
use nvcf_shared::model::target::PlaneArgs;
use nvcf_shared::operations::stack::status::{self, ConfigSection, Request, StatusReport};
use nvcf_shared::{Error, Result};
use serde_json::json;
use std::io::IsTerminal;

/// Stack health (every release, NVCFBackends, Warning events), cluster identity, and the profile's endpoints and credentials (masked)
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// The cluster to report on (default: the one this profile registered)
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Keep the view current from Kubernetes watches: a dashboard on a terminal, otherwise a line per change (JSONL with -o json or --json)
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// Print the admin token and API keys in full instead of masked (never the default;
    /// not with --watch)
    #[arg(long, conflicts_with = "watch")]
    pub show_tokens: bool,
    /// `--json` (global) means `-o json`.
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn run(api: &Api<'_>, planes: &PlaneArgs, args: StatusArgs) -> Result<()> {
    let format = if api.common.json {
        OutputFormat::Json
    } else {
        args.output.output
    };
    let reach = api.reach(planes);
    let registration = status::saved_registration(&reach);
    let mut revealed = Vec::new();
    let (config, config_error) = config_section(api, args.show_tokens.then_some(&mut revealed));
    let revealed: Vec<&Secret> = revealed.iter().collect();
    let request = Request {
        cluster_name: args.cluster_name.clone(),
        registration,
        config,
    };
    if !args.watch {
        let mut print =
            |r: &StatusReport| render_revealing(r, format, &mut api.ctx.stdout(), &revealed);
        return status::once(&reach, request, config_error, &mut print).await;
    }
    let watcher = status::Watcher::open(&reach, request).await?;
    let tty = std::io::stdout().is_terminal() && format == OutputFormat::Table && !api.common.plain;
    if tty {
        let mut dash = Dashboard::open()?;
        let result = watcher.run(|r| dash.draw(r)).await;
        dash.close();
        return result;
    }
    let mut stdout = std::io::stdout();
    watcher.run(status::change_lines(format, &mut stdout)).await
}

/// The configured endpoints and credentials (masked), as `status` always showed them; a
/// profile that cannot be read says why instead, and its error is the command's outcome.
fn config_section(
    api: &Api<'_>,
    revealed: Option<&mut Vec<Secret>>,
) -> (ConfigSection, Option<Error>) {
    match crate::auth::config_view(api, revealed) {
        Ok((data, rows)) => (ConfigSection { data, rows }, None),
        Err(e) => (
            ConfigSection {
                data: json!({"error": e.message()}),
                rows: vec![("CONFIG".into(), format!("unavailable: {}", e.message()))],
            },
            Some(e),
        ),
    }
}
