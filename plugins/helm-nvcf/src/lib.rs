//! `helm nvcf`: the argument model and the dispatch to the shared crate.
//!
//! helm consumes `--kube-context`, `-n` and `--kubeconfig` itself and passes them as
//! `HELM_KUBECONTEXT`, `HELM_NAMESPACE` and `KUBECONFIG`, so this plugin defines no
//! connection flags of its own.

use clap::{Args, CommandFactory, Parser, Subcommand};
use nvcf_shared::Result;
use nvcf_shared::base::output::{OutputArgs, OutputFormat, render, write_out};
use nvcf_shared::cli::base_commands::{self, BaseCommand, Scope};
use nvcf_shared::clients::helm::Helm;
use nvcf_shared::model::profile::ProfileArgs;
use nvcf_shared::model::settings::EnvLookup;
use nvcf_shared::model::stack::catalog::Catalog;
use nvcf_shared::model::stack::inputs::Inputs;
use nvcf_shared::model::stack::inputs::StackArgs;
use nvcf_shared::model::stack::values::{query, to_yaml};
use nvcf_shared::model::target::{KubeSelection, Target, parse_duration};
use nvcf_shared::operations::stack::bundle::{Dynamic, verify, write_bundle};
use nvcf_shared::operations::stack::render::{Planes, effective_values, render_stream};
use nvcf_shared::operations::stack::teardown_run::{self, Teardown, TeardownRequest};
use nvcf_shared::operations::stack::upgrade::{self, Change};
use nvcf_shared::{
    base::plugin::Plugin,
    cli::runtime::{CommonArgs, Ctx, HasCommon},
};
use std::io::Write;
use std::path::PathBuf;

pub const PLUGIN: Plugin = nvcf_shared::base::plugin::HELM_NVCF;

/// Render, bundle, upgrade and tear down the self-hosted NVIDIA Cloud Functions stack.
///
/// Cluster selection comes from helm's own flags: helm --kube-context NAME -n NS nvcf ...
#[derive(Parser, Debug)]
#[command(
    name = "helm-nvcf",
    bin_name = "helm nvcf",
    version,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl HasCommon for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the effective values of the stack's releases (aicr query semantics)
    Values(ValuesArgs),
    /// Render the stack as one stream for `kubectl apply -f -`
    Render(RenderArgs),
    /// Write a GitOps bundle: NNN-<release>/ folders, deploy.sh, undeploy.sh, checksums
    Bundle(BundleArgs),
    /// Check a bundle against its checksums.txt; any change fails
    Verify(VerifyArgs),
    /// Uninstall the stack: compute plane first, reverse dependency order; keeps
    /// persistent state unless --remove-persistent
    Teardown(TeardownArgs),
    /// Spot-upgrade one release: back up its values, upgrade with the stack's values,
    /// wait for the rollout, check its workloads and migrations; or, with --to, the whole
    /// stack to a stack version, planned step by step
    #[command(disable_version_flag = true)]
    Upgrade(UpgradeArgs),
    /// Roll one release back (to the previous revision by default) and check it
    Rollback(RollbackArgs),
    /// Show one release's revisions
    History(HistoryArgs),
    /// Write a stack config from an upstream helmfile install's environment files;
    /// passwords become environment variables, and every key that cannot be carried
    /// over is listed (exit 65 if one changes the install)
    ImportHelmfile(ImportArgs),
    #[command(flatten)]
    Base(BaseCommand),
}

#[derive(Args, Debug)]
pub struct ValuesArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Only this release's values
    #[arg(long, value_name = "RELEASE")]
    pub release: Option<String>,
    /// A dot path into the values (leading dot optional); scalars print as plain text
    #[arg(long, value_name = "PATH")]
    pub query: Option<String>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The control plane's environment: stacks/self-managed/environments/X.yaml
    #[arg(long, value_name = "FILE")]
    pub env: Option<PathBuf>,
    /// Its secrets: stacks/self-managed/secrets/X-secrets.yaml (values become env variables)
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    /// The GPU cluster's environment: stacks/nvcf-compute-plane/environments/Y.yaml
    #[arg(long, value_name = "FILE")]
    pub compute_env: Option<PathBuf>,
    /// The observability stack's environment: stacks/observability/environments/Z.yaml
    #[arg(long, value_name = "FILE")]
    pub observability_env: Option<PathBuf>,
    /// Write the stack config to FILE instead of stdout (an existing file needs --force)
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Replace an existing --write file
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone, Copy)]
#[group(multiple = false)]
pub struct PlaneArgs {
    /// Only the control plane
    #[arg(long)]
    pub control_plane: bool,
    /// Only the compute plane
    #[arg(long)]
    pub compute_plane: bool,
    /// Both planes (the default)
    #[arg(long)]
    pub all: bool,
}

impl PlaneArgs {
    fn planes(self) -> Planes {
        if self.control_plane {
            Planes::Control
        } else if self.compute_plane {
            Planes::Compute
        } else {
            Planes::All
        }
    }
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub planes: PlaneArgs,
    /// Where charts come from: oci://REGISTRY/REPOSITORY or dir:PATH (default: the stack
    /// config's chartSource, else oci://<registry>/<repository>)
    #[arg(long, value_name = "SOURCE")]
    pub chart_source: Option<String>,
    /// Keep the live data of Secrets charts mint on every render (NATS nkeys), read from
    /// the cluster, so applying the stream does not rotate them
    #[arg(long)]
    pub reuse_live_secrets: bool,
}

#[derive(Args, Debug)]
pub struct BundleArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub planes: PlaneArgs,
    /// Where install.sh fetches charts: oci://REGISTRY/REPOSITORY or dir:PATH
    #[arg(long, value_name = "SOURCE")]
    pub chart_source: Option<String>,
    /// A value that differs per cluster, moved to cluster-values.yaml: RELEASE:PATH
    #[arg(long, value_name = "RELEASE:PATH")]
    pub dynamic: Vec<String>,
    /// The directory to write (new or empty)
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    pub output_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The bundle directory
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct TeardownArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub planes: PlaneArgs,
    /// Print the delete YAML (from `helm get manifest`) for `kubectl delete -f -` instead
    #[arg(long = "dry-run", visible_alias = "no-apply")]
    pub dry_run: bool,
    /// Also delete persistent state: PVCs, OpenBao's unseal/root-token/cluster-jwt
    /// Secrets, Cassandra data, and their namespaces (lists them first)
    #[arg(long)]
    pub remove_persistent: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// The release, as the catalog names it (e.g. api, cassandra); with --version
    pub release: Option<String>,
    /// The chart version to upgrade RELEASE to
    #[arg(long)]
    pub version: Option<String>,
    /// Upgrade every installed release to this stack version instead, step by step
    /// (required intermediate versions included), rotating OnDelete StatefulSets; the plan
    /// is shown first
    #[arg(long, value_name = "STACK_VERSION", conflicts_with_all = ["release", "version"])]
    pub to: Option<String>,
    /// With --to: print the plan and change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// With --to: do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// With --to: how long each rotated pod gets to come back Ready
    #[arg(long, value_name = "DURATION", default_value = "300s")]
    pub ready_timeout: String,
    /// Where the chart comes from: oci://REGISTRY/REPOSITORY or dir:PATH
    #[arg(long, value_name = "SOURCE")]
    pub chart_source: Option<String>,
    /// Where the backup of the current values is written
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub backup_dir: PathBuf,
    /// How long OpenBao pods get to unseal before the post-check fails (its auto-unseal
    /// sidecar can take about 70 s after a restart)
    #[arg(long, value_name = "DURATION", default_value = "90s")]
    pub unseal_timeout: String,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// The release, as the catalog names it
    pub release: String,
    /// The revision to return to (default: the previous one)
    pub revision: Option<u32>,
    /// How long OpenBao pods get to unseal before the post-check fails (its auto-unseal
    /// sidecar can take about 70 s after a restart)
    #[arg(long, value_name = "DURATION", default_value = "90s")]
    pub unseal_timeout: String,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The release, as the catalog names it
    pub release: String,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The cluster helm's own flags chose (`--kube-context`, `--kubeconfig`), read once.
struct HelmCluster<'a> {
    ctx: &'a Ctx,
    sel: KubeSelection,
}

impl<'a> HelmCluster<'a> {
    fn of(ctx: &'a Ctx) -> Self {
        HelmCluster {
            ctx,
            sel: KubeSelection::from_helm_env(&ctx.env),
        }
    }

    async fn helm(&self) -> Result<Helm> {
        Helm::from_env(&self.ctx.env, self.sel.context.clone()).await
    }

    fn target(&self) -> Result<Target> {
        Target::resolve(&self.sel, &self.ctx.env)
    }

    async fn client(&self) -> Result<nvcf_shared::clients::kube::Client> {
        self.target()?.client(&PLUGIN.user_agent()).await
    }

    /// The stack config, with what only the cluster knows (its registration) filled in.
    async fn inputs(&self, stack: &StackArgs, profile: &ProfileArgs) -> Result<Inputs> {
        nvcf_shared::operations::stack::cluster_inputs::load_for_cluster(
            stack,
            &self.ctx.env,
            profile,
            &self.sel,
            &PLUGIN.user_agent(),
        )
        .await
    }
}

fn import_helmfile(args: ImportArgs, ctx: &Ctx) -> Result<()> {
    use nvcf_shared::model::stack::migrate;
    let files = migrate::ImportFiles {
        env: args.env,
        secrets: args.secrets,
        compute_env: args.compute_env,
        observability_env: args.observability_env,
    };
    let migration = migrate::migrate(&files.read()?)?;
    let text = migrate::config_text(&migration, &files)?;
    let machine = matches!(args.output.output, OutputFormat::Json | OutputFormat::Yaml);
    match &args.write {
        Some(path) => {
            if path.exists() && !args.force {
                return Err(nvcf_shared::Error::new(
                    nvcf_shared::base::error::Category::Conflict,
                    format!("{} exists; nothing was written", path.display()),
                )
                .hint("pass --force to replace it, or another --write FILE"));
            }
            nvcf_shared::base::files::write_atomic(path, text.as_bytes())?;
        }
        None if !machine => write_out(&mut ctx.stdout(), &text)?,
        None => {}
    }
    if machine {
        render(&migration, args.output.output, &mut ctx.stdout())?;
    }
    let mut err = std::io::stderr().lock();
    for line in migrate::report_lines(&migration) {
        let _ = writeln!(err, "{line}");
    }
    if migration.incomplete() {
        return Err(migrate::incomplete_error(&migration));
    }
    Ok(())
}

pub async fn dispatch(cli: Cli, ctx: Ctx) -> Result<()> {
    let cluster = HelmCluster::of(&ctx);
    let profile = &cli.common.profile;
    match cli.command {
        Command::ImportHelmfile(args) => import_helmfile(args, &ctx),
        Command::Values(args) => values(&cluster, profile, args).await,
        Command::Render(args) => render_cmd(&cluster, profile, args).await,
        Command::Bundle(args) => bundle(&cluster, profile, args),
        Command::Verify(args) => {
            let report = verify(&args.dir)?;
            render(&report, args.output.output, &mut ctx.stdout())?;
            report.failure().map_or(Ok(()), Err)
        }
        Command::Teardown(args) => teardown_cmd(&cluster, args).await,
        Command::Upgrade(args) if args.to.is_some() => upgrade_to(&cluster, profile, args).await,
        Command::Upgrade(args) => {
            let (release, version) = spot_upgrade_args(&args)?;
            let inputs = cluster.inputs(&args.stack, profile).await?;
            let change = Change::Upgrade {
                version,
                source: args.chart_source.as_deref(),
                backup_dir: &args.backup_dir,
            };
            let how = (release, args.unseal_timeout.as_str(), args.output.output);
            change_release(&cluster, &inputs, how, change).await
        }
        Command::Rollback(args) => {
            let inputs = args.stack.load(&ctx.env, false)?;
            let change = Change::Rollback {
                revision: args.revision,
            };
            let how = (
                &args.release,
                args.unseal_timeout.as_str(),
                args.output.output,
            );
            change_release(&cluster, &inputs, how, change).await
        }
        Command::History(args) => {
            let inputs = args.stack.load(&ctx.env, false)?;
            let (_, namespace) = upgrade::locate(Catalog::embedded(), &inputs, &args.release)?;
            let report =
                upgrade::history(&cluster.helm().await?, &args.release, &namespace).await?;
            render(&report, args.output.output, &mut ctx.stdout())
        }
        Command::Base(cmd) => {
            let helm_bin = ctx
                .env
                .get("HELM_BIN")
                .filter(|b| !b.is_empty())
                .map(PathBuf::from);
            let scope = Scope {
                plugin: PLUGIN,
                command: Cli::command(),
                selection: &cluster.sel,
                planes: None,
                profile,
                helm_bin,
            };
            base_commands::run(cmd, scope, &ctx).await
        }
    }
}

async fn values(cluster: &HelmCluster<'_>, profile: &ProfileArgs, args: ValuesArgs) -> Result<()> {
    let inputs = cluster.inputs(&args.stack, profile).await?;
    let values = effective_values(&inputs, args.release.as_deref())?;
    let text = match &args.query {
        Some(q) => query(&values, q)?,
        None => to_yaml(&values)?,
    };
    // Passwords are registered secrets: write_out masks them.
    write_out(&mut cluster.ctx.stdout(), &text)
}

async fn render_cmd(
    cluster: &HelmCluster<'_>,
    profile: &ProfileArgs,
    args: RenderArgs,
) -> Result<()> {
    let inputs = cluster.inputs(&args.stack, profile).await?;
    let helm = cluster.helm().await?;
    let client = match args.reuse_live_secrets {
        true => Some(cluster.client().await?),
        false => None,
    };
    let stream = render_stream(
        &inputs,
        args.planes.planes(),
        args.chart_source.as_deref(),
        &helm,
        client.as_ref(),
    )
    .await?;
    for note in &stream.notes {
        nvcf_shared::base::output::note(note);
    }
    // The stream is for kubectl: Secrets must carry their real values, so it is written as
    // is rather than through the redacting writer.
    let mut out = cluster.ctx.stdout();
    out.write_all(stream.yaml.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| nvcf_shared::Error::io(format!("cannot write output: {e}")).with_source(e))
}

fn bundle(cluster: &HelmCluster<'_>, profile: &ProfileArgs, args: BundleArgs) -> Result<()> {
    let inputs = args
        .stack
        .load_registered(&cluster.ctx.env, profile, &cluster.sel, false)?;
    let dynamic = args
        .dynamic
        .iter()
        .map(|d| Dynamic::parse(d))
        .collect::<Result<Vec<_>>>()?;
    let report = write_bundle(
        &inputs,
        args.planes.planes(),
        args.chart_source.as_deref(),
        &dynamic,
        &args.output_dir,
    )?;
    render(&report, OutputFormat::Table, &mut cluster.ctx.stdout())
}

async fn teardown_cmd(cluster: &HelmCluster<'_>, args: TeardownArgs) -> Result<()> {
    let ctx = cluster.ctx;
    let inputs = args.stack.load(&ctx.env, false)?;
    let helm = cluster.helm().await?;
    let target = cluster.target()?;
    let client = target.client(&PLUGIN.user_agent()).await?;
    let req = TeardownRequest {
        inputs: &inputs,
        planes: args.planes.planes(),
        dry_run: args.dry_run,
        remove_persistent: args.remove_persistent,
        yes: args.yes,
        name: target.context.as_deref().unwrap_or(&target.cluster),
    };
    match teardown_run::run(&helm, &client, req, &ctx.env, &ctx.events()).await? {
        Teardown::Yaml(yaml) => write_out(&mut ctx.stdout(), &yaml),
        Teardown::Done(report) => render(&report, OutputFormat::Table, &mut ctx.stdout()),
    }
}

/// `upgrade RELEASE --version V`'s two arguments; the flags only `--to` takes refused.
fn spot_upgrade_args(args: &UpgradeArgs) -> Result<(&String, &String)> {
    let usage = |what: &str| {
        nvcf_shared::Error::usage(what.to_owned()).hint(
            "upgrade one release with `helm nvcf upgrade RELEASE --version V`, or the stack with `helm nvcf upgrade --to STACK_VERSION`",
        )
    };
    if args.dry_run || args.yes {
        return Err(usage("--dry-run and --yes go with --to STACK_VERSION"));
    }
    match (&args.release, &args.version) {
        (Some(r), Some(v)) => Ok((r, v)),
        (Some(_), None) => Err(usage("RELEASE needs --version V")),
        (None, Some(_)) => Err(usage("--version needs the RELEASE it upgrades")),
        (None, None) => Err(usage(
            "upgrade needs RELEASE --version V, or --to STACK_VERSION",
        )),
    }
}

/// `upgrade --to STACK_VERSION`: plan, confirm, pre-checks, steps, rotations, post-checks.
async fn upgrade_to(
    cluster: &HelmCluster<'_>,
    profile: &ProfileArgs,
    args: UpgradeArgs,
) -> Result<()> {
    use nvcf_shared::operations::stack::upgrade::{rotate::Waits, run};
    let ctx = cluster.ctx;
    // An unknown version is bad input: said before anything is read from the cluster.
    let catalog = Catalog::embedded();
    nvcf_shared::operations::stack::upgrade::path::require_version(
        catalog,
        args.to.as_deref().unwrap_or_default(),
    )?;
    let waits = Waits {
        ready: parse_duration("--ready-timeout", &args.ready_timeout)?,
        unseal: parse_duration("--unseal-timeout", &args.unseal_timeout)?,
    };
    let inputs = cluster.inputs(&args.stack, profile).await?;
    let helm = cluster.helm().await?;
    let client = cluster.client().await?;
    let events = ctx.events();
    let req = run::ToRequest {
        inputs: &inputs,
        target: args.to.as_deref().unwrap_or_default(),
        source: args.chart_source.as_deref(),
        backup_dir: &args.backup_dir,
        dry_run: args.dry_run,
        yes: args.yes,
        waits,
        events: Some(&events),
    };
    let report = run::run(&helm, &client, &req, &ctx.env).await?;
    render(&report, args.output.output, &mut ctx.stdout())
}

/// `upgrade` and `rollback`: the release, `--unseal-timeout` and the output format.
type ChangeHow<'a> = (&'a String, &'a str, OutputFormat);

async fn change_release(
    cluster: &HelmCluster<'_>,
    inputs: &Inputs,
    (release, unseal_timeout, format): ChangeHow<'_>,
    change: Change<'_>,
) -> Result<()> {
    let ctx = cluster.ctx;
    let helm = cluster.helm().await?;
    let client = cluster.client().await?;
    let unseal_timeout = parse_duration("--unseal-timeout", unseal_timeout)?;
    // Naming an unknown release is bad input, not a failed run: no event stream.
    upgrade::locate(Catalog::embedded(), inputs, release)?;
    let events = ctx.events();
    let follow = upgrade::FollowUp {
        events: Some(&events),
        unseal_timeout,
        detach_helm: false,
    };
    let report = upgrade::change(&helm, &client, inputs, release, change, &follow).await?;
    render(&report, format, &mut ctx.stdout())?;
    report.failure().map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_model_is_consistent() {
        Cli::command().debug_assert();
    }
}
