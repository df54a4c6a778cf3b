//! `function deploy create|update|get|remove`.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::Result;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::clients::nvcf::function_ids::Ids;
use nvcf_shared::clients::nvcf::function_spec::DeploySpecArgs;
use nvcf_shared::operations::api::deploy::{self, SpecUpdate, Wait};
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum DeployCommand {
    /// Deploy a version and wait until it is ACTIVE (shows the plan first)
    Create {
        #[command(flatten)]
        ids: Ids,
        #[command(flatten)]
        spec: Box<DeploySpecArgs>,
        /// Seconds to wait for ACTIVE
        #[arg(long, default_value_t = 900)]
        timeout: u64,
        /// Seconds between status checks while waiting
        #[arg(long, default_value_t = 5, hide = true)]
        poll_interval: u64,
        /// Return once the deployment is accepted
        #[arg(long)]
        no_wait: bool,
        /// Print the planned request and stop
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Change the instance counts of one GPU specification
    Update {
        #[command(flatten)]
        ids: Ids,
        /// GPU of the specification to change
        #[arg(long)]
        gpu: String,
        /// Instance type of the specification to change
        #[arg(long)]
        instance_type: String,
        #[arg(long)]
        min_instances: Option<u32>,
        #[arg(long)]
        max_instances: Option<u32>,
        /// CUSTOM_CONFIGURATION or PLATFORM_CONFIGURATION
        #[arg(long)]
        autoscaling_policy: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a version's deployment
    Get {
        #[command(flatten)]
        ids: Ids,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Remove a version's deployment (asks unless --yes)
    Remove {
        #[command(flatten)]
        ids: Ids,
        /// Let queued requests drain first
        #[arg(long)]
        graceful: bool,
        /// Confirm without asking
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
}

pub async fn run(api: &Api<'_>, cmd: DeployCommand) -> Result<()> {
    let session = api.session()?;
    let (view, output) = match cmd {
        DeployCommand::Create {
            ids,
            spec,
            timeout,
            poll_interval,
            no_wait,
            dry_run,
            output,
        } => {
            if spec.gpu_name.is_some() {
                api.note("warning: --gpu-name is deprecated; use --gpu");
            }
            let (specs, ffid, fvid) = spec.specs()?;
            let (fid, vid) = ids.resolve(&session, (ffid, fvid)).await?;
            let wait = Wait {
                timeout: Duration::from_secs(timeout),
                poll_interval: Duration::from_secs(poll_interval.max(1)),
                no_wait,
            };
            let events = || api.ctx.events();
            let ids = (fid.as_str(), vid.as_str());
            (
                deploy::create(&session, ids, &specs, dry_run, wait, events).await?,
                output,
            )
        }
        DeployCommand::Update {
            ids,
            gpu,
            instance_type,
            min_instances,
            max_instances,
            autoscaling_policy,
            output,
        } => {
            let (fid, vid) = ids.resolve(&session, (None, None)).await?;
            let update = SpecUpdate {
                gpu,
                instance_type,
                min_instances,
                max_instances,
                autoscaling_policy,
            };
            (
                deploy::update(&session, (&fid, &vid), update).await?,
                output,
            )
        }
        DeployCommand::Get { ids, output } => {
            let (fid, vid) = ids.resolve(&session, (None, None)).await?;
            (deploy::get(&session, (&fid, &vid)).await?, output)
        }
        DeployCommand::Remove {
            ids,
            graceful,
            yes,
            output,
        } => {
            let (fid, vid) = ids.resolve(&session, (None, None)).await?;
            let env = &api.ctx.env;
            (
                deploy::remove(&session, (&fid, &vid), graceful, yes, env).await?,
                output,
            )
        }
    };
    api.print(&view, output.output)
}
