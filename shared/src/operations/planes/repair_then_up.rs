//! `repair`: diagnose both planes, show what would be repaired, and once confirmed clear
//! each finding on its own cluster, then run `up`.

use super::choice::{StackChoice, check_cluster_name};
use super::repair::{self, RepairPlan};
use super::run::PlaneTarget;
use super::{targets, up};
use crate::base::confirm::confirm;
use crate::base::error::{Category, Error, Result};
use crate::base::events::Emitter;
use crate::base::output::{OutputFormat, render, write_out};
use crate::model::stack::catalog::{Catalog, Plane};
use crate::operations::reach::Reach;
use std::io::Write;

pub struct RepairRequest {
    /// The GPU cluster's name in SIS, as `up` was given it.
    pub cluster_name: String,
    pub icms_url: Option<String>,
    /// Show what would be repaired; change nothing.
    pub dry_run: bool,
    /// Repair without asking.
    pub yes: bool,
    pub choice: StackChoice,
}

pub async fn repair_then_up(
    reach: &Reach<'_>,
    req: RepairRequest,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    check_cluster_name(&req.cluster_name)?;
    let inputs = req.choice.stack.load(reach.env, !req.dry_run)?;
    let releases = repair::stack_releases(Catalog::embedded(), &inputs.config)?;
    let then = crate::base::plugin::nvcf(&format!("up --cluster-name {}", req.cluster_name));
    let (control, compute, split) = targets::both(reach).await?;
    // On one cluster both planes are read there; split, each plane on its own cluster.
    let on = |plane: Plane| {
        releases
            .iter()
            .filter(|(r, _)| !split || r.plane == plane)
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut plan = repair::diagnose(&control.client, &on(Plane::Control), then.clone()).await?;
    if let Some(compute) = &compute {
        let more = repair::diagnose(&compute.client, &on(Plane::Compute), then).await?;
        plan.findings.extend(more.findings);
    }
    if plan.is_empty() || req.dry_run {
        return render(&plan, format, out);
    }
    refuse_what_needs_a_person(&plan, format, out)?;
    if format == OutputFormat::Table {
        render(&plan, format, out)?;
    }
    confirm(
        &format!("repair {} release(s), then re-run up", plan.findings.len()),
        req.yes,
        reach.env,
    )?;
    let events = reach.run.events();
    clear(
        &plan,
        &events,
        [
            (Some(&control), Plane::Control),
            (compute.as_ref(), Plane::Compute),
        ],
        split,
    )
    .await?;
    up::both_planes(
        reach,
        &req.cluster_name,
        req.icms_url.as_deref(),
        &req.choice,
        inputs,
    )
    .await?;
    plan.done = Some(true);
    match format {
        OutputFormat::Table => write_out(
            out,
            &format!(
                "repaired: {}",
                plan.findings
                    .iter()
                    .map(|f| f.release.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        _ => render(&plan, format, out),
    }
}

/// `up` would stop at them anyway; change nothing until a person has looked.
fn refuse_what_needs_a_person(
    plan: &RepairPlan,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let by_hand: Vec<String> = plan.by_hand().iter().map(|f| f.release.clone()).collect();
    if by_hand.is_empty() {
        return Ok(());
    }
    render(plan, format, out)?;
    Err(Error::new(
        Category::ClusterState,
        format!(
            "{} need a person first: {}",
            by_hand.len(),
            by_hand.join(", ")
        ),
    )
    .hint("do what FOUND says for each, then run repair again; nothing was changed"))
}

/// Each plane's findings cleared on its cluster; on one cluster, all of them there.
async fn clear(
    plan: &RepairPlan,
    events: &Emitter,
    sides: [(Option<&PlaneTarget>, Plane); 2],
    split: bool,
) -> Result<()> {
    for (target, plane) in sides {
        let Some(target) = target else { continue };
        let mine = RepairPlan {
            findings: plan
                .findings
                .iter()
                .filter(|f| !split || f.plane == plane)
                .cloned()
                .collect(),
            ..plan.clone()
        };
        repair::clear(&mine, &target.client, &target.helm, "5m", Some(events)).await?;
        if !split {
            break;
        }
    }
    Ok(())
}
