//! `up`: both planes, or with `--dry-run` their plan, which contacts nothing.

use super::choice::{StackChoice, check_cluster_name};
use super::plan::{self, PlanInput, UpPlan};
use super::run::{ComputeSource, Request, UpReport, run};
use super::{Scope, targets};
use crate::base::error::{Error, Result};
use crate::base::events::{Event, Final, Ts};
use crate::model::stack::inputs::Inputs;
use crate::model::target::{KubeSelection, Target};
use crate::operations::reach::Reach;

pub struct UpRequest {
    /// The GPU cluster's name in SIS.
    pub cluster_name: String,
    /// ICMS/SIS base URL for the registration (default: the profile's icms_url).
    pub icms_url: Option<String>,
    /// Mint a fresh admin token: only refuses a `--token` given with it.
    pub refresh_token: bool,
    pub choice: StackChoice,
}

fn check(reach: &Reach<'_>, req: &UpRequest) -> Result<()> {
    check_cluster_name(&req.cluster_name)?;
    if req.refresh_token && reach.token_given() {
        return Err(Error::usage(
            "--refresh-token mints a new admin token, --token gives one: use one of them",
        )
        .hint("drop --token to mint a fresh token, or drop --refresh-token to use the one given"));
    }
    Ok(())
}

/// The plan, announced on the event stream; it needs no passwords and no cluster: nothing
/// is read but the config.
pub fn plan_up(reach: &Reach<'_>, req: &UpRequest) -> Result<UpPlan> {
    check(reach, req)?;
    let (control_sel, compute_sel, _) = targets::selections(reach);
    let inputs = req.choice.stack.load(reach.env, false)?;
    let source = req.choice.source(&inputs)?;
    let name = |s: &KubeSelection| {
        Target::resolve(s, reach.env)
            .ok()
            .and_then(|t| t.context)
            .unwrap_or_else(|| "current".into())
    };
    let plan = plan::build(
        &inputs,
        Scope::All,
        &source,
        &PlanInput {
            cluster: &req.cluster_name,
            control_plane_context: &name(&control_sel),
            compute_plane_context: &name(&compute_sel),
            chart_source: &req.choice.source_text(&inputs),
        },
    )?;
    let events = reach.run.events();
    events.emit(Event::Planned(plan.planned_event()));
    let mut done = Final::new(Ts::now(), true, reach.run.elapsed());
    done.plan_only = true;
    events.emit(Event::Final(done));
    Ok(plan)
}

pub async fn up(reach: &Reach<'_>, req: &UpRequest) -> Result<UpReport> {
    check(reach, req)?;
    let inputs = req.choice.stack.load(reach.env, true)?;
    both_planes(
        reach,
        &req.cluster_name,
        req.icms_url.as_deref(),
        &req.choice,
        inputs,
    )
    .await
}

/// Both planes, as `up` installs them: what `up` and `repair` run.
pub(super) async fn both_planes(
    reach: &Reach<'_>,
    cluster_name: &str,
    icms_url: Option<&str>,
    choice: &StackChoice,
    inputs: Inputs,
) -> Result<UpReport> {
    let source = choice.source(&inputs)?;
    let session = targets::session_with_icms(reach, icms_url)?;
    let (control, compute, split) = targets::both(reach).await?;
    let req = Request {
        scope: Scope::All,
        cluster_name: cluster_name.to_owned(),
        nca_id: choice.nca_id.clone(),
        region: choice.region.clone(),
        inputs,
        source,
        control: Some(&control),
        compute: Some(compute.as_ref().unwrap_or(&control)),
        session: Some(&session),
        token_given: reach.token_given(),
        compute_source: ComputeSource::Config,
        split,
        env: reach.env,
    };
    run(req, reach.run.events()).await
}
