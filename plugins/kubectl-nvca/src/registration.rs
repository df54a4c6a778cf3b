//! `kubectl nvca register | rotate | list | deregister`.

use clap::Subcommand;
use nvcf_shared::base::confirm::Gate;
use nvcf_shared::base::output::{OutputArgs, render, write_out};
use nvcf_shared::cli::runtime::{CommonArgs, Ctx};
use nvcf_shared::clients::kube::identity::ManualIssuer;
use nvcf_shared::clients::nvcf::sis::Sis;
use nvcf_shared::clients::nvcf::{ConnectArgs, Session};
use nvcf_shared::model::handoff::register_values::RegisterValues;
use nvcf_shared::model::target::{KubeSelection, Target};
use nvcf_shared::operations::handoff::{ProfileRegister, identity_word, register_from_profile};
use nvcf_shared::operations::nvca::registration::{self, ClusterList, RegisterRequest, remembered};
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
    {
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
        return render(&summary, output.output, &mut ctx.stdout());
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
            let (client, server) = kube().await?;
            let req = RegisterRequest {
                cluster_name,
                nca_id: nca(nca_id),
                region,
                ignore_existing,
                nvca_version: None,
                capabilities: None,
            };
            let mut report = registration::register(
                &sis,
                &session.profile,
                &client,
                &server,
                identity.manual(),
                &req,
            )
            .await?;
            let (icms, reval, nats) = public_routes(&session, None, nats_url);
            report.values = Some(RegisterValues::for_registration(
                &report.registration,
                &req.region,
                identity_word(report.identity.source),
                (&icms, &reval, &nats),
            ));
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
            let report = match cluster_id {
                Some(id) => {
                    registration::rotate_named(
                        &sis,
                        &session.profile,
                        &client,
                        &server,
                        identity.manual(),
                        &nca(nca_id),
                        &id,
                    )
                    .await?
                }
                None => {
                    registration::rotate(
                        &sis,
                        &session.profile,
                        &client,
                        &server,
                        identity.manual(),
                        check,
                    )
                    .await?
                }
            };
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
            // The registration to remove: one named by id, or this profile's own. For the
            // profile's own, already gone is what was asked for.
            let (name, nca_id, id, gone_ok) = match cluster_id {
                Some(id) => {
                    let nca_id = nca(nca_id);
                    match registration::find_by_id(&sis, &nca_id, &id).await? {
                        Some(found) => (found.cluster_name, nca_id, id, ignore_missing),
                        None if ignore_missing => {
                            return write_out(
                                &mut out,
                                &format!("cluster {id} not found; nothing to do"),
                            );
                        }
                        None => {
                            return Err(Error::not_found(format!(
                                "no cluster {id} is registered for account {nca_id}"
                            ))
                            .hint("pass --ignore-missing to treat a missing cluster as done"));
                        }
                    }
                }
                None => {
                    let reg = remembered(&session.profile)?;
                    (reg.cluster_name, reg.nca_id, reg.cluster_id, true)
                }
            };
            Gate::type_name(
                format!("deregister {name} (its NVCA stops authenticating at once)"),
                &name,
            )
            .name_flag("--confirm", confirm)
            .check(yes, &ctx.env)?;
            match sis.delete(&nca_id, &id).await {
                Ok(()) => {}
                Err(e) if gone_ok && e.exit_code() == nvcf_shared::ExitCode::NotFound => {}
                Err(e) => return Err(e),
            }
            session.profile.update_state(|s| {
                if s.registration.as_ref().is_some_and(|r| r.cluster_id == id) {
                    s.registration = None;
                    s.cluster_id = None;
                }
                Ok(())
            })?;
            write_out(&mut out, &format!("cluster {name} ({id}) deregistered"))
        }
    }
}
