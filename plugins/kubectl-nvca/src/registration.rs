//! `kubectl nvca register | rotate | list | deregister`.

use clap::Subcommand;
use nvcf_shared::base::output::{OutputArgs, render, write_out};
use nvcf_shared::cli::runtime::{CommonArgs, Ctx};
use nvcf_shared::clients::kube::identity::ManualIssuer;
use nvcf_shared::clients::nvcf::sis::Sis;
use nvcf_shared::clients::nvcf::{ConnectArgs, Session};
use nvcf_shared::model::handoff::register_values::RegisterValues;
use nvcf_shared::model::target::{KubeSelection, Target};
use nvcf_shared::operations::handoff::{ProfileRegister, identity_word, register_from_profile};
use nvcf_shared::operations::nvca::deregister::{Deregister, deregister};
use nvcf_shared::operations::nvca::registration::{
    self, ClusterList, RegisterRequest, RegistrationReport,
};
use nvcf_shared::operations::planes::public_routes;
use nvcf_shared::{Error, Result};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum RegistrationCommand {
    /// Register this cluster with SIS, using its own OIDC issuer and signing keys
    Register {
        /// Cluster name in SIS (RFC 1123)
        #[arg(long)]
        cluster_name: String,
        /// Account (NCA id) to register under (default: the profile's client_id)
        #[arg(long, conflicts_with = "control_plane_profile")]
        nca_id: Option<String>,
        /// Region SIS files the cluster under
        #[arg(long, default_value = "us-west-1")]
        region: String,
        /// Adopt an existing registration of the same name and refresh its keys
        #[arg(long)]
        ignore_existing: bool,
        /// The NATS URL the printed NVCA values name (default: nats://nats.DOMAIN:4222 of
        /// the SIS host)
        #[arg(long, value_name = "URL", conflicts_with = "control_plane_profile")]
        nats_url: Option<String>,
        /// A split install: register with the control plane this profile describes (its
        /// SIS, account and trust), and write the NVCA values its installer needs
        #[arg(long, value_name = "FILE")]
        control_plane_profile: Option<PathBuf>,
        /// Where to write the NVCA values (default: out/CLUSTER-register-values.yaml)
        #[arg(long, value_name = "FILE", requires = "control_plane_profile")]
        values_out: Option<PathBuf>,
        /// Check the profile, reach SIS and read the cluster's identity; register nothing
        #[arg(long, requires = "control_plane_profile")]
        dry_run: bool,
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Upload the cluster's current signing keys to SIS (after a service-account key change)
    Rotate {
        /// Only compare: exit 2 when the keys SIS holds are not the cluster's current ones
        #[arg(long, conflicts_with = "cluster_id")]
        check: bool,
        /// The registration to update, when it is not this profile's (upstream's flag)
        #[arg(long, value_name = "ID")]
        cluster_id: Option<String>,
        /// Account of --cluster-id (default: the profile's client_id)
        #[arg(long, requires = "cluster_id")]
        nca_id: Option<String>,
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
    #[command(visible_alias = "delete")]
    Deregister {
        /// Skip the prompt; needs --confirm with the cluster's name
        #[arg(short = 'y', long)]
        yes: bool,
        /// The cluster's name, typed out, with --yes
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
        /// The registration to remove, when it is not this profile's (upstream's flag)
        #[arg(long, value_name = "ID")]
        cluster_id: Option<String>,
        /// Account of --cluster-id (default: the profile's client_id)
        #[arg(long, requires = "cluster_id")]
        nca_id: Option<String>,
        /// A --cluster-id SIS does not know is success, not an error (exit 0)
        #[arg(long, requires = "cluster_id")]
        ignore_missing: bool,
    },
}

#[derive(clap::Args, Debug)]
pub struct IdentityArgs {
    /// Read the keys from this SPIRE OIDC discovery provider instead of the cluster
    #[arg(long, value_name = "URL")]
    pub spire_oidc_url: Option<String>,
    /// Read the issuer and keys from this OIDC issuer's discovery document instead of the
    /// cluster's (upstream's flag; a SPIRE/SPIFFE URL counts as SPIRE)
    #[arg(long, value_name = "URL", conflicts_with = "spire_oidc_url")]
    pub oidc_issuer_url: Option<String>,
}

impl IdentityArgs {
    fn manual(&self) -> Option<ManualIssuer<'_>> {
        match (&self.spire_oidc_url, &self.oidc_issuer_url) {
            (Some(url), _) => Some(ManualIssuer::spire(url)),
            (None, Some(url)) => Some(ManualIssuer::named(url)),
            (None, None) => None,
        }
    }
}

pub async fn run(
    cmd: RegistrationCommand,
    common: &CommonArgs,
    connect: &ConnectArgs,
    sel: &KubeSelection,
    ctx: &Ctx,
) -> Result<()> {
    if let RegistrationCommand::Register {
        control_plane_profile: Some(_),
        ..
    } = &cmd
    {
        return register_with_profile(cmd, common, connect, sel, ctx).await;
    }
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
            nats_url,
            ..
        } => {
            let req = RegisterRequest {
                cluster_name,
                nca_id: nca(nca_id),
                region,
                ignore_existing,
                nvca_version: None,
                capabilities: None,
            };
            let (client, server) = kube().await?;
            let report =
                register(&sis, &session, (&client, &server), &identity, req, nats_url).await?;
            render(&report, output.output, &mut out)
        }
        RegistrationCommand::Rotate {
            check,
            cluster_id,
            nca_id,
            identity,
            output,
        } => {
            let (client, server) = kube().await?;
            let named = cluster_id.map(|id| (nca(nca_id), id));
            let report =
                rotate(&sis, &session, (&client, &server), &identity, named, check).await?;
            render(&report, output.output, &mut out)
        }
        RegistrationCommand::List { nca_id, output } => {
            let clusters = sis.list(&nca(nca_id)).await?;
            render(&ClusterList { clusters }, output.output, &mut out)
        }
        RegistrationCommand::Deregister {
            yes,
            confirm,
            cluster_id,
            nca_id,
            ignore_missing,
        } => {
            let req = Deregister {
                cluster_id,
                nca_id: nca(nca_id),
                ignore_missing,
                yes,
                confirm,
            };
            let said = deregister(&sis, &session.profile, req, &ctx.env).await?;
            write_out(&mut out, &said)
        }
    }
}

/// `register --control-plane-profile FILE`: upstream's split install, through the profile's
/// endpoints rather than this machine's settings.
async fn register_with_profile(
    cmd: RegistrationCommand,
    common: &CommonArgs,
    connect: &ConnectArgs,
    sel: &KubeSelection,
    ctx: &Ctx,
) -> Result<()> {
    let RegistrationCommand::Register {
        cluster_name,
        region,
        ignore_existing,
        control_plane_profile: Some(path),
        values_out,
        dry_run,
        identity,
        output,
        ..
    } = cmd
    else {
        return Err(Error::internal(
            "register_with_profile runs register --control-plane-profile only",
        ));
    };
    if identity.manual().is_some() {
        return Err(Error::usage(
            "--control-plane-profile reads the cluster's own issuer; --spire-oidc-url and --oidc-issuer-url do not apply",
        )
        .hint("drop the issuer flag, or register without a profile"));
    }
    let values_out = values_out
        .unwrap_or_else(|| PathBuf::from(format!("out/{cluster_name}-register-values.yaml")));
    let req = ProfileRegister {
        profile: &path,
        cluster_name,
        region,
        ignore_existing,
        values_out,
        dry_run,
    };
    let summary =
        register_from_profile(req, &common.profile, connect, sel, &ctx.env, ctx.plugin).await?;
    render(&summary, output.output, &mut ctx.stdout())
}

/// `rotate`: the registration named by `--cluster-id` (with its account), or the profile's
/// own, renewed with the keys of the cluster `kube` points at.
async fn rotate(
    sis: &Sis<'_>,
    session: &Session,
    (client, server): (&nvcf_shared::clients::kube::Client, &str),
    identity: &IdentityArgs,
    named: Option<(String, String)>,
    check: bool,
) -> Result<RegistrationReport> {
    let profile = &session.profile;
    match named {
        Some((nca_id, id)) => {
            registration::rotate_named(
                sis,
                profile,
                client,
                server,
                identity.manual(),
                &nca_id,
                &id,
            )
            .await
        }
        None => registration::rotate(sis, profile, client, server, identity.manual(), check).await,
    }
}

/// `register`: the registration, plus the NVCA operator's values for it.
async fn register(
    sis: &Sis<'_>,
    session: &Session,
    (client, server): (&nvcf_shared::clients::kube::Client, &str),
    identity: &IdentityArgs,
    req: RegisterRequest,
    nats_url: Option<String>,
) -> Result<RegistrationReport> {
    let mut report = registration::register(
        sis,
        &session.profile,
        client,
        server,
        identity.manual(),
        &req,
    )
    .await?;
    let (icms, reval, nats) = public_routes(session, None, nats_url);
    report.values = Some(RegisterValues::for_registration(
        &report.registration,
        &req.region,
        identity_word(report.identity.source),
        (&icms, &reval, &nats),
    ));
    Ok(report)
}
