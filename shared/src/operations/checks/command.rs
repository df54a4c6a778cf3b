//! `check`: the checks a command line selects, re-run with `--wait` until they pass.

use super::{
    Plane, chart_registry_credentials, cluster_checks, local_checks, registry_credentials,
    stack_health,
};
use crate::base::checks::{CheckOutputFormat, CheckReport, Runner, until_passing};
use crate::base::error::{Category, Error, Result};
use crate::model::stack::catalog::Plane as StackPlane;
use crate::model::target::{Target, parse_duration};
use crate::operations::reach::Reach;
use crate::operations::stack::status::Clusters;
use std::io::Write;

pub struct CheckRequest {
    /// The pre-flight checks.
    pub pre: bool,
    pub control_plane: bool,
    pub compute_plane: bool,
    /// The pre-flight checks and both planes' health.
    pub all: bool,
    /// Only this machine's tools.
    pub local_only: bool,
    /// NAMESPACE/NAME of an image pull secret on the compute plane.
    pub pull_secret: Option<String>,
    pub registries: Vec<String>,
    /// oci://HOST/PATH: helm's saved credentials must log in to it.
    pub chart_source: Option<String>,
    /// Re-run until no error-severity check fails, for at most this long.
    pub wait: Option<String>,
    /// Stream events as the checks run (a mode was asked for).
    pub streaming: bool,
}

/// The last round's report, and the error a `--wait` that ran out ends in.
pub struct Checked {
    report: CheckReport,
    what: &'static str,
    timed_out: Option<Error>,
}

impl Checked {
    /// Prints the report; the outcome is the report's, or the timeout once it is printed.
    pub fn print(self, format: CheckOutputFormat, out: &mut dyn Write) -> Result<()> {
        let printed = self.report.print_as(self.what, format, out);
        match self.timed_out {
            None => printed,
            Some(e) => Err(e),
        }
    }
}

fn pull_secret(req: &CheckRequest) -> Result<Option<(String, String)>> {
    req.pull_secret
        .as_deref()
        .map(|s| {
            s.split_once('/')
                .filter(|(ns, name)| !ns.is_empty() && !name.is_empty())
                .map(|(ns, name)| (ns.to_owned(), name.to_owned()))
                .ok_or_else(|| {
                    Error::usage(format!("invalid --pull-secret {s:?}"))
                        .hint("write it as NAMESPACE/NAME, e.g. nvca-operator/nvcr-pull-secret")
                })
        })
        .transpose()
}

pub async fn run_checks(reach: &Reach<'_>, req: CheckRequest) -> Result<Checked> {
    if !(req.pre || req.control_plane || req.compute_plane || req.all) {
        return Err(
            Error::usage("check needs --pre, --control-plane, --compute-plane or --all").hint(
                format!(
                    "run `{}` before installing, `{}` after",
                    crate::base::plugin::nvcf("check --pre"),
                    crate::base::plugin::nvcf("check --all")
                ),
            ),
        );
    }
    let pull_secret = pull_secret(&req)?;
    let wait = req
        .wait
        .as_deref()
        .map(|w| parse_duration("--wait", w))
        .transpose()?;
    let (report, timed_out) =
        until_passing(wait, || run_once(reach, &req, pull_secret.as_ref())).await;
    let what = if req.control_plane || req.compute_plane || req.all {
        "checks"
    } else {
        "pre-flight checks"
    };
    let timed_out = timed_out.then(|| {
        Error::new(
            Category::Timeout,
            format!(
                "wait timeout: checks still failing after {}",
                req.wait.as_deref().unwrap_or_default()
            ),
        )
        .hint("fix the failures listed above, or give --wait longer")
    });
    Ok(Checked {
        report,
        what,
        timed_out,
    })
}

async fn run_once(
    reach: &Reach<'_>,
    req: &CheckRequest,
    pull_secret: Option<&(String, String)>,
) -> CheckReport {
    // Events stream only when a mode was asked for; otherwise the report says it all.
    let mut runner = Runner::new(req.streaming.then(|| reach.run.events()));
    let pre = req.pre || req.all;
    if pre {
        local_checks(&mut runner, reach.env, None).await;
        if let Some(source) = req.chart_source.as_deref().filter(|s| s.starts_with("oci")) {
            chart_registry_credentials(&mut runner, reach.env, source).await;
        }
    }
    let mut health_planes = Vec::new();
    if req.control_plane || req.all {
        health_planes.push(StackPlane::Control);
    }
    if req.compute_plane || req.all {
        health_planes.push(StackPlane::Compute);
    }
    if !health_planes.is_empty() && !req.local_only {
        let clusters = Clusters::of(reach).await;
        stack_health(&mut runner, clusters, &health_planes).await;
    }
    if pre && !req.local_only {
        cluster_prerequisites(&mut runner, reach, req, pull_secret).await;
    }
    runner.finish()
}

/// Each cluster's prerequisites: one cluster for both planes, or each plane's context.
async fn cluster_prerequisites(
    runner: &mut Runner,
    reach: &Reach<'_>,
    req: &CheckRequest,
    pull_secret: Option<&(String, String)>,
) {
    let planes = reach.planes;
    let split = planes.control_plane_context.is_some() || planes.compute_plane_context.is_some();
    let targets: Vec<(Option<&String>, Plane)> = if split {
        [
            (planes.control_plane_context.as_ref(), Plane::Control),
            (planes.compute_plane_context.as_ref(), Plane::Compute),
        ]
        .into_iter()
        .filter(|(c, _)| c.is_some())
        .collect()
    } else {
        vec![(None, Plane::Both)]
    };
    for (context, plane) in targets {
        let selection = reach.sel.with_context(context.map(String::as_str));
        let (label, client) = match Target::resolve(&selection, reach.env) {
            Ok(t) => (
                t.context.clone().unwrap_or_else(|| t.cluster.clone()),
                t.client(&reach.user_agent()).await,
            ),
            Err(e) => (context.cloned().unwrap_or_else(|| "current".into()), Err(e)),
        };
        let secret = if plane == Plane::Control {
            None
        } else {
            pull_secret.cloned()
        };
        let reachable = client.as_ref().ok().cloned();
        cluster_checks(runner, client, &label, plane, secret.clone()).await;
        if let Some((ns, name)) = &secret {
            registry_credentials(runner, reachable.as_ref(), ns, name, &req.registries).await;
        }
    }
}
