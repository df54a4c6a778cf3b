//! `kubectl nvcf`: the argument model and the dispatch to the shared crate.

use clap::{CommandFactory, Parser, Subcommand};
use nvcf_shared::base::output::{OutputArgs, render, write_out};
use nvcf_shared::cli::base_commands::{self, BaseCommand, Scope};
use nvcf_shared::model::profile::view::{KeyList, ProfileList, ProfileShow, current};
use nvcf_shared::model::profile::{Profile, set_setting};
use nvcf_shared::model::settings::lookup_key;
use nvcf_shared::model::target::{KubeArgs, KubeSelection, PlaneArgs};
use nvcf_shared::{Error, Result};
use nvcf_shared::{
    base::plugin::Plugin,
    cli::runtime::{CommonArgs, Ctx, HasCommon},
};

mod admin;
mod api;
mod api_key;
mod auth;
mod cluster;
mod control_plane;
mod dashboard;
mod down;
mod dump;
mod function;
mod function_deploy;
mod function_invoke;
mod keys;
mod ops;
mod registry_credential;
mod status;
mod task;

mod agent_skill;
mod check;
mod planes;

pub const PLUGIN: Plugin = nvcf_shared::base::plugin::NVCF;

/// Install, check, operate and tear down self-hosted NVIDIA Cloud Functions.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-nvcf",
    bin_name = "kubectl nvcf",
    version,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub planes: PlaneArgs,
    #[command(flatten)]
    pub nvcf: nvcf_shared::clients::nvcf::ConnectArgs,
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
    /// Per-cluster profiles: settings and saved state
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Mint the admin token for this profile and start a clean session (clears saved API keys)
    Init(auth::InitArgs),
    /// Mint a new admin token, keeping API keys and the current function
    Refresh(OutputArgs),
    Status(status::StatusArgs),
    Down(down::DownArgs),
    Uninstall(down::UninstallArgs),
    Dump(dump::DumpArgs),
    /// Function and task API keys
    #[command(subcommand)]
    ApiKey(api_key::ApiKeyCommand),
    /// Functions: create, update, list, get, versions, delete, deploy, invoke, queue
    #[command(subcommand)]
    Function(Box<function::FunctionCommand>),
    /// NVCT tasks: create, list, bulk, get, events, results, cancel, delete, update-secrets
    #[command(subcommand)]
    Task(Box<task::TaskCommand>),
    /// Credentials NVCF uses to pull from private registries
    #[command(subcommand)]
    RegistryCredential(registry_credential::RegistryCommand),
    /// The account's GPU cluster groups, through the NVCF API
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Super-admin account management (needs NVCF_CLI_ENABLE_ADMIN, as upstream)
    #[command(subcommand, hide = true)]
    Admin(admin::AdminCommand),
    /// A skill file for coding agents, generated from this command model
    #[command(subcommand)]
    AgentSkill(agent_skill::AgentSkillCommand),
    Check(check::CheckArgs),
    Up(planes::UpArgs),
    Install(planes::InstallArgs),
    /// A split install's control-plane handoff: export and validate its profile
    #[command(subcommand)]
    ControlPlane(control_plane::ControlPlaneCommand),
    AddComputePlane(planes::AddComputePlaneArgs),
    Repair(planes::RepairArgs),
    /// Operate the control plane: service table, health, restart, scale
    #[command(subcommand)]
    Ops(ops::OpsCommand),
    /// MEK and NEK key rotation, plan first, with backups
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    #[command(flatten)]
    Base(BaseCommand),
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// List the profiles on this machine
    List(OutputArgs),
    /// Show the current profile's effective settings (secrets masked) and saved state
    Show(OutputArgs),
    /// Save a setting in the current profile
    Set {
        /// Setting name (see `profile keys`)
        key: String,
        value: String,
    },
    /// Remove a setting from the current profile
    Unset {
        /// Setting name (see `profile keys`)
        key: String,
    },
    /// List the settings a profile can hold and their environment variables
    Keys(OutputArgs),
    /// Delete the current profile's settings and saved state
    Delete {
        /// Confirm the deletion
        #[arg(long)]
        yes: bool,
    },
}

pub async fn dispatch(cli: Cli, ctx: Ctx) -> Result<()> {
    let sel = KubeSelection::from_args(&cli.kube)?;
    let api = api::Api {
        ctx: &ctx,
        common: &cli.common,
        sel: &sel,
        connect: &cli.nvcf,
    };
    match cli.command {
        Command::Init(args) => auth::init(&api, args).await,
        Command::Refresh(o) => auth::refresh(&api, o).await,
        Command::Status(args) => status::run(&api, &cli.planes, args).await,
        Command::Down(args) => down::down(&api, &cli.planes, args).await,
        Command::Uninstall(args) => down::uninstall(&api, &cli.planes, args).await,
        Command::Dump(args) => dump::run(&api, &cli.planes, args).await,
        Command::ApiKey(cmd) => api_key::run(&api, cmd).await,
        Command::Function(cmd) => function::run(&api, *cmd).await,
        Command::Task(cmd) => task::run(&api, *cmd).await,
        Command::RegistryCredential(cmd) => registry_credential::run(&api, cmd).await,
        Command::Cluster(cmd) => cluster::run(&api, cmd).await,
        Command::Admin(cmd) => admin::run(&api, cmd).await,
        Command::Profile(cmd) => profile(cmd, &cli.common, &sel, &ctx, &mut ctx.stdout()),
        Command::AgentSkill(cmd) => agent_skill::run(cmd, &ctx),
        Command::Check(args) => check::run(&api, &cli.planes, args).await,
        Command::Up(args) => planes::up(&api, &cli.planes, args).await,
        Command::Install(args) => planes::install(&api, &cli.planes, args).await,
        Command::ControlPlane(cmd) => control_plane::run(&api, &cli.planes, cmd).await,
        Command::AddComputePlane(args) => planes::add_compute_plane(&api, &cli.planes, args).await,
        Command::Repair(args) => planes::repair(&api, &cli.planes, args).await,
        Command::Ops(cmd) => {
            ops::run(cmd, &cli.common, &sel, cli.kube.namespace.as_deref(), &ctx).await
        }
        Command::Keys(cmd) => keys::run(&api, &cli.planes, cmd).await,
        Command::Base(cmd) => {
            let scope = Scope {
                plugin: PLUGIN,
                command: Cli::command(),
                selection: &sel,
                planes: Some(&cli.planes),
                profile: &cli.common.profile,
                helm_bin: None,
            };
            base_commands::run(cmd, scope, &ctx).await
        }
    }
}

fn profile(
    cmd: ProfileCommand,
    common: &CommonArgs,
    sel: &KubeSelection,
    ctx: &Ctx,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    let env = &ctx.env;
    match cmd {
        ProfileCommand::List(o) => {
            let current = current(&common.profile, sel, env).ok().map(|p| p.name);
            render(
                &ProfileList::collect(current.as_deref(), env)?,
                o.output,
                out,
            )
        }
        ProfileCommand::Keys(o) => render(&KeyList::all(), o.output, out),
        ProfileCommand::Show(o) => {
            let profile = current(&common.profile, sel, env)?;
            render(&ProfileShow::collect(&profile, env)?, o.output, out)
        }
        ProfileCommand::Set { key, value } => {
            let profile = current(&common.profile, sel, env)?;
            profile.update_config(|c| set_setting(c, &key, &value))?;
            let shown = match lookup_key(&key) {
                Some(k) if k.secret => nvcf_shared::base::secret::mask(&value),
                _ => value,
            };
            write_out(out, &format!("profile {}: {key} = {shown}", profile.name))
        }
        ProfileCommand::Unset { key } => {
            let profile = current(&common.profile, sel, env)?;
            let removed = profile.update_config(|c| Ok(c.settings.remove(&key).is_some()))?;
            if !removed {
                return Err(Error::not_found(format!(
                    "profile {} has no setting {key:?}",
                    profile.name
                ))
                .hint(format!(
                    "run `{} profile show` to see what it holds",
                    PLUGIN.display
                )));
            }
            write_out(out, &format!("profile {}: {key} unset", profile.name))
        }
        ProfileCommand::Delete { yes } => {
            let profile: Profile = current(&common.profile, sel, env)?;
            if !profile.exists() {
                return Err(
                    Error::not_found(format!("profile {:?} does not exist", profile.name)).hint(
                        format!("run `{} profile list` to see the profiles", PLUGIN.display),
                    ),
                );
            }
            nvcf_shared::base::confirm::confirm(
                &format!(
                    "delete profile {:?} with its saved tokens and API keys",
                    profile.name
                ),
                yes,
                env,
            )?;
            profile.delete()?;
            write_out(out, &format!("profile {} deleted", profile.name))
        }
    }
}
