//! `status`: the stack's health on both planes plus the profile's endpoints and
//! credentials; `--watch` keeps it current from Kubernetes watches.

use crate::api::Api;
use crate::dashboard::Dashboard;
use nvcf_shared::base::error::Category;
use nvcf_shared::base::output::{
    OutputArgs, OutputFormat, Report, render, render_revealing, write_out,
};
use nvcf_shared::base::secret::Secret;
use nvcf_shared::model::profile::view::current;
use nvcf_shared::model::stack::catalog::Catalog;
use nvcf_shared::model::target::PlaneArgs;
use nvcf_shared::operations::stack::status::{
    Clusters, ConfigSection, Request, StatusReport, collect, report, watch::watch,
};
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
    let registration = current(&api.common.profile, api.sel, &api.ctx.env)
        .ok()
        .and_then(|p| p.read_state().ok())
        .and_then(|s| s.registration);
    let mut revealed = Vec::new();
    let (config, config_error) = config_section(api, args.show_tokens.then_some(&mut revealed));
    let revealed: Vec<&Secret> = revealed.iter().collect();
    let print = |r: &StatusReport| render_revealing(r, format, &mut api.ctx.stdout(), &revealed);
    let request = Request {
        cluster_name: args.cluster_name.clone(),
        registration,
        config,
    };
    let catalog = Catalog::embedded();
    let clusters =
        Clusters::resolve(api.sel, planes, &api.ctx.env, &api.ctx.plugin.user_agent()).await;
    let clusters = match clusters {
        Ok(c) => c,
        Err(e) if !args.watch => {
            // The config section still shows when no cluster can be reached.
            let mut r = report_without_cluster(request, &e.message());
            r.identity.notes.extend(e.remediation());
            print(&r)?;
            // Without any kubeconfig this is an API-only setup, not a failure.
            let no_kubeconfig = e.message().starts_with("no kubeconfig found");
            return match config_error {
                Some(c) => Err(c),
                None if no_kubeconfig => Ok(()),
                None => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    if !args.watch {
        let r = collect(catalog, &clusters, request).await?;
        print(&r)?;
        if let Some(c) = config_error {
            return Err(c);
        }
        return match &r.cluster_error {
            Some(msg) => Err(Error::new(Category::Network, msg.clone())
                .hint("check that the cluster is reachable: kubectl cluster-info")),
            None => Ok(()),
        };
    }
    let tty = std::io::stdout().is_terminal() && format == OutputFormat::Table && !api.common.plain;
    if tty {
        let mut dash = Dashboard::open()?;
        let result = watch(catalog, &clusters, || request.clone(), |r| dash.draw(r)).await;
        dash.close();
        return result;
    }
    let mut previous: Option<StatusReport> = None;
    watch(
        catalog,
        &clusters,
        || request.clone(),
        |r| {
            let text = match format {
                OutputFormat::Json => serde_json::to_string(r)
                    .map_err(|e| Error::internal(format!("cannot render JSON: {e}")))?,
                OutputFormat::Table | OutputFormat::Wide => {
                    changes(previous.as_ref(), r, format == OutputFormat::Wide)
                }
                _ => {
                    let mut s = Vec::new();
                    render(r, format, &mut s)?;
                    String::from_utf8_lossy(&s).into_owned()
                }
            };
            previous = Some(r.clone());
            match write_out(&mut api.ctx.stdout(), &text) {
                Ok(()) => Ok(true),
                // The reader went away (`| head`): stop watching quietly.
                Err(e) if nvcf_shared::base::error::is_broken_pipe(&e) => Ok(false),
                Err(e) => Err(e),
            }
        },
    )
    .await
}

fn report_without_cluster(req: Request, why: &str) -> StatusReport {
    report(
        Catalog::embedded(),
        ("-", "-"),
        req,
        vec![Err(Error::new(Category::Config, why.to_owned()))],
    )
}

/// Plain watch output: the whole view first, then one line per release whose state
/// changed, and the verdict when it changes.
fn changes(before: Option<&StatusReport>, now: &StatusReport, wide: bool) -> String {
    let Some(before) = before else {
        return format!("{}\n{}", now.collected_at, now.table(wide));
    };
    let mut out = String::new();
    let (Some(a), Some(b)) = (&before.stack, &now.stack) else {
        return format!("{} {}\n", now.collected_at, now.headline());
    };
    for r in &b.releases {
        let old = a.releases.iter().find(|x| x.release == r.release);
        if old.is_none_or(|o| o.state != r.state || o.message != r.message) {
            out.push_str(&format!(
                "{} release {} {} -> {}{}\n",
                now.collected_at,
                r.release,
                old.map_or("-", |o| o.state.as_str()),
                r.state,
                r.message
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ));
        }
    }
    for bk in &b.backends {
        let old = a.backends.iter().find(|x| x.name == bk.name);
        if old.is_none_or(|o| o.health != bk.health) {
            out.push_str(&format!(
                "{} nvcfbackend {} {} -> {}\n",
                now.collected_at,
                bk.name,
                old.map_or("-", |o| o.health.as_str()),
                bk.health
            ));
        }
    }
    for e in &b.events {
        if !a
            .events
            .iter()
            .any(|x| x.object == e.object && x.reason == e.reason && x.count == e.count)
        {
            out.push_str(&format!(
                "{} warning {} {} {}: {}\n",
                now.collected_at, e.namespace, e.object, e.reason, e.message
            ));
        }
    }
    if a.verdict != b.verdict {
        out.push_str(&format!("{} status {}\n", now.collected_at, now.headline()));
    }
    out
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
