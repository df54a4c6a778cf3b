//! `kubectl nvca register | rotate | list | deregister`.

use clap::Subcommand;
use nvcf_shared::cli::{CommonArgs, Ctx};
use nvcf_shared::nvca::registration::{
    self, ClusterList, RegisterRequest, confirm_deregister, remembered,
};
use nvcf_shared::nvcf::sis::Sis;
use nvcf_shared::nvcf::{ConnectArgs, Session};
use nvcf_shared::output::{OutputArgs, render, write_out};
use nvcf_shared::settings::EnvLookup;
use nvcf_shared::target::{KubeSelection, Target};
use nvcf_shared::{Error, Result};
use std::io::{BufRead, IsTerminal, Write};

#[derive(Subcommand, Debug)]
pub enum RegistrationCommand {
    /// Register this cluster with SIS, using its own OIDC issuer and signing keys
    Register {
        /// Cluster name in SIS (RFC 1123)
        #[arg(long)]
        cluster_name: String,
        /// Account (NCA id) to register under (default: the profile's client_id)
        #[arg(long)]
        nca_id: Option<String>,
        /// Region SIS files the cluster under
        #[arg(long, default_value = "us-west-1")]
        region: String,
        /// Adopt an existing registration of the same name and refresh its keys
        #[arg(long)]
        ignore_existing: bool,
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Upload the cluster's current signing keys to SIS (after a service-account key change)
    Rotate {
        /// Only compare: exit 2 when the keys SIS holds are not the cluster's current ones
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the clusters registered for the account
    List {
        /// Account (NCA id) (default: the profile's client_id)
        #[arg(long)]
        nca_id: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Remove this cluster's SIS registration (its NVCA stops authenticating)
    Deregister {
        /// Skip the prompt; needs --confirm with the cluster's name
        #[arg(short = 'y', long)]
        yes: bool,
        /// The cluster's name, typed out, with --yes
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
pub struct IdentityArgs {
    /// Read the keys from this SPIRE OIDC discovery provider instead of the cluster
    #[arg(long, value_name = "URL")]
    pub spire_oidc_url: Option<String>,
}

pub async fn run(
    cmd: RegistrationCommand,
    common: &CommonArgs,
    connect: &ConnectArgs,
    sel: &KubeSelection,
    ctx: &Ctx,
) -> Result<()> {
    let session = Session::open(connect, &common.profile, sel, &ctx.env, ctx.plugin)?;
    let sis = Sis {
        client: &session.client,
    };
    let nca =
        |flag: Option<String>| flag.unwrap_or_else(|| session.settings.get("client_id").to_owned());
    let kube = || async {
        let target = Target::resolve(sel, &ctx.env)?;
        let client = target.client(&ctx.plugin.user_agent()).await?;
        Ok::<_, Error>((client, target.server))
    };
    let mut out = ctx.stdout();
    match cmd {
        RegistrationCommand::Register {
            cluster_name,
            nca_id,
            region,
            ignore_existing,
            identity,
            output,
        } => {
            let (client, server) = kube().await?;
            let req = RegisterRequest {
                cluster_name,
                nca_id: nca(nca_id),
                region,
                ignore_existing,
                nvca_version: None,
                capabilities: None,
            };
            let report = registration::register(
                &sis,
                &session.profile,
                &client,
                &server,
                identity.spire_oidc_url.as_deref(),
                &req,
            )
            .await?;
            render(&report, output.output, &mut out)
        }
        RegistrationCommand::Rotate {
            check,
            identity,
            output,
        } => {
            let (client, server) = kube().await?;
            let report = registration::rotate(
                &sis,
                &session.profile,
                &client,
                &server,
                identity.spire_oidc_url.as_deref(),
                check,
            )
            .await?;
            render(&report, output.output, &mut out)
        }
        RegistrationCommand::List { nca_id, output } => {
            let clusters = sis.list(&nca(nca_id)).await?;
            render(&ClusterList { clusters }, output.output, &mut out)
        }
        RegistrationCommand::Deregister { yes, confirm } => {
            let reg = remembered(&session.profile)?;
            let typed = if yes || !interactive(&ctx.env) {
                None
            } else {
                prompt(&format!(
                    "Type the cluster name ({}) to deregister it: ",
                    reg.cluster_name
                ))
            };
            confirm_deregister(&reg.cluster_name, yes, confirm.as_deref(), typed)?;
            match sis.delete(&reg.nca_id, &reg.cluster_id).await {
                Ok(()) => {}
                // Already gone is what was asked for.
                Err(e) if e.exit_code() == nvcf_shared::ExitCode::NotFound => {}
                Err(e) => return Err(e),
            }
            session.profile.update_state(|s| {
                s.registration = None;
                s.cluster_id = None;
                Ok(())
            })?;
            write_out(
                &mut out,
                &format!(
                    "cluster {} ({}) deregistered",
                    reg.cluster_name, reg.cluster_id
                ),
            )
        }
    }
}

/// Prompts only a person at a terminal; never in CI.
pub(crate) fn interactive(env: &dyn EnvLookup) -> bool {
    std::io::stdin().is_terminal()
        && env
            .get("CI")
            .is_none_or(|v| v.is_empty() || v == "false" || v == "0")
}

pub(crate) fn prompt(question: &str) -> Option<String> {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    Some(line)
}
