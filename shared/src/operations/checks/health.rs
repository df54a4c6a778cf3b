//! `check --control-plane|--compute-plane|--all`: the installed stack's health as checks, one
//! per release (and NVCFBackend), read the way `status` reads it. Upstream declares these
//! flags and runs no check for them; with `--wait` they answer "is the install done?".

use crate::base::checks::{Named, Runner, Verdict};
use crate::base::error::Error;
use crate::base::events::Severity;
use crate::model::stack::catalog::{Catalog, Plane};
use crate::operations::stack::status::{Clusters, ConfigSection, ReleaseHealth, Request, collect};

fn release_check(r: &ReleaseHealth) -> Named {
    Named {
        id: format!("release-{}", r.release),
        title: match &r.service {
            Some(s) => format!("{} ({s}) healthy", r.release),
            None => format!("{} healthy", r.release),
        },
        severity: Severity::Error,
        hint: format!(
            "see why: {nvcf_cmd0}; helm status {} -n {}; kubectl get pods -n {}",
            r.release,
            r.namespace,
            r.namespace,
            nvcf_cmd0 = crate::base::plugin::nvcf("status")
        ),
        hint_url: None,
    }
}

fn release_verdict(r: &ReleaseHealth) -> Verdict {
    let ready: Vec<String> = r
        .workloads
        .iter()
        .map(|w| match (w.ready, w.desired) {
            (Some(a), Some(b)) => format!("{} {a}/{b}", w.name),
            _ => w.name.clone(),
        })
        .collect();
    match r.state.as_str() {
        "healthy" => Verdict::pass(if ready.is_empty() {
            r.helm_status.clone().unwrap_or_else(|| "healthy".into())
        } else {
            ready.join(", ")
        }),
        "not-installed" => Verdict::skip("not installed (optional here)"),
        other => Verdict::fail(match &r.message {
            Some(m) => format!("{other}: {m}"),
            None => other.to_owned(),
        }),
    }
}

/// One check per release of `planes`, and per NVCFBackend with the compute plane.
pub async fn stack_health(
    runner: &mut Runner,
    clusters: Result<Clusters, Error>,
    planes: &[Plane],
) {
    runner.begin_category("stack-health");
    let reached = match clusters {
        Ok(c) => {
            let req = Request {
                cluster_name: None,
                registration: None,
                config: ConfigSection {
                    data: serde_json::json!({}),
                    rows: Vec::new(),
                },
            };
            collect(Catalog::embedded(), &c, req).await
        }
        Err(e) => Err(e),
    };
    let stack = match reached {
        Ok(report) => match (report.stack, report.cluster_error) {
            (Some(stack), None) => stack,
            (_, error) => {
                let why = error.unwrap_or_else(|| "the stack could not be read".into());
                runner
                    .check_named(unreadable(), async { Verdict::fail(why) })
                    .await;
                return;
            }
        },
        Err(e) => {
            let why = e.message();
            runner
                .check_named(unreadable(), async { Verdict::fail(why) })
                .await;
            return;
        }
    };
    for plane in planes {
        let of_plane: Vec<&ReleaseHealth> = stack
            .releases
            .iter()
            .filter(|r| r.plane == *plane)
            .collect();
        // Nothing of the plane installed is not "every check skipped": it is not installed.
        let installed = of_plane.iter().any(|r| r.state != "not-installed");
        let name = match plane {
            Plane::Control => "control-plane",
            Plane::Compute => "compute-plane",
        };
        let spec = Named {
            id: format!("{name}-installed"),
            title: format!("the {} is installed", name.replace('-', " ")),
            severity: Severity::Error,
            hint: format!(
                "install it: {nvcf_cmd0} --{name} (or {nvcf_cmd1})",
                nvcf_cmd0 = crate::base::plugin::nvcf("install"),
                nvcf_cmd1 = crate::base::plugin::nvcf("up")
            ),
            hint_url: None,
        };
        let verdict = if installed {
            Verdict::pass(format!("{} release(s)", of_plane.len()))
        } else {
            Verdict::fail(format!(
                "no release of the {} is installed",
                name.replace('-', " ")
            ))
        };
        runner.check_named(spec, async { verdict }).await;
        if !installed {
            continue;
        }
        for r in of_plane {
            let verdict = release_verdict(r);
            runner
                .check_named(release_check(r), async { verdict })
                .await;
        }
    }
    if planes.contains(&Plane::Compute) {
        for b in &stack.backends {
            let spec = Named {
                id: format!("nvcfbackend-{}", b.name),
                title: format!("NVCFBackend {} reports healthy", b.name),
                severity: Severity::Error,
                hint: format!(
                    "see the agent: {nvca_cmd0}; {nvca_cmd1}",
                    nvca_cmd0 = crate::base::plugin::nvca("status"),
                    nvca_cmd1 = crate::base::plugin::nvca("doctor")
                ),
                hint_url: None,
            };
            let verdict = if b.healthy {
                Verdict::pass(b.health.clone())
            } else {
                Verdict::fail(format!("agent reports {}", b.health))
            };
            runner.check_named(spec, async { verdict }).await;
        }
    }
}

fn unreadable() -> Named {
    Named {
        id: "stack-readable".into(),
        title: "the installed stack can be read".into(),
        severity: Severity::Error,
        hint: "check the kubeconfig and context: kubectl cluster-info".into(),
        hint_url: None,
    }
}
