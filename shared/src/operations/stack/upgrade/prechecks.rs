//! What must hold before a stack upgrade starts: no release failed or pending, OpenBao
//! Ready and unsealed, every StatefulSet replica Ready. A failed pre-check changes nothing.

use super::Check;
use super::plan::UpgradePlan;
use super::rotate::Waits;
use crate::base::error::{Category, Error, Result};
use crate::clients::kube::objects;
use crate::model::stack::catalog::Catalog;
use crate::operations::stack::openbao;

/// Runs the pre-checks over the plan's installed releases. A StatefulSet whose rotation an
/// earlier run left unfinished gets `waits` to bring its last deleted pod back first.
pub async fn run(client: &kube::Client, plan: &UpgradePlan, waits: Waits) -> Result<Vec<Check>> {
    let mut checks = vec![releases_settled(plan)];
    let catalog = Catalog::embedded();
    for c in &plan.current {
        let Some(r) = catalog.release(&c.release) else {
            continue;
        };
        for w in r.workloads.iter().filter(|w| w.kind == "StatefulSet") {
            let resumed = plan
                .rotations
                .iter()
                .any(|o| o.statefulset == w.name && o.when == "now");
            let patience = if resumed { waits } else { Waits::NONE };
            let Some((ready, want)) = ready_within(client, &c.namespace, &w.name, patience).await?
            else {
                continue;
            };
            checks.push(Check {
                what: format!("StatefulSet {}/{} ready", c.namespace, w.name),
                ok: ready >= want,
                detail: format!("{ready}/{want} replicas ready"),
                fix: (ready < want).then(|| {
                    format!(
                        "kubectl get pods -n {} shows which pod is down",
                        c.namespace
                    )
                }),
            });
            if w.health == "openbaoUnsealed" {
                let seal =
                    openbao::wait_unsealed(client, &c.namespace, &w.name, patience.unseal).await?;
                checks.push(Check {
                    what: format!("OpenBao {} unsealed", w.name),
                    ok: seal.ok(),
                    detail: seal.detail(),
                    fix: (!seal.ok()).then(|| seal.fix(&c.namespace)),
                });
            }
        }
    }
    Ok(checks)
}

/// `(ready, wanted)` replicas, polled until all are ready or `waits.ready` passes.
async fn ready_within(
    client: &kube::Client,
    ns: &str,
    name: &str,
    waits: Waits,
) -> Result<Option<(i32, i32)>> {
    let deadline = std::time::Instant::now() + waits.ready;
    loop {
        let got = objects::ready_replicas(client, "StatefulSet", ns, name).await?;
        match got {
            Some((ready, want)) if ready < want && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            _ => return Ok(got),
        }
    }
}

fn releases_settled(plan: &UpgradePlan) -> Check {
    let bad: Vec<String> = plan
        .current
        .iter()
        .filter(|c| c.status != "deployed")
        .map(|c| format!("{} {}", c.release, c.status))
        .collect();
    Check {
        what: "no release failed or pending".into(),
        ok: bad.is_empty(),
        detail: if bad.is_empty() {
            format!("{} releases deployed", plan.current.len())
        } else {
            bad.join(", ")
        },
        fix: (!bad.is_empty()).then(|| {
            format!(
                "{} clears failed and pending releases (it shows its plan first)",
                crate::base::plugin::nvcf("repair")
            )
        }),
    }
}

/// The error for failed pre-checks: what failed and each fix; nothing was changed.
pub fn failure(checks: &[Check]) -> Option<Error> {
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    if failed.is_empty() {
        return None;
    }
    let what: Vec<String> = failed
        .iter()
        .map(|c| format!("{} ({})", c.what, c.detail))
        .collect();
    let mut err = Error::new(
        Category::ChecksFailed,
        format!(
            "pre-checks failed, nothing was changed: {}",
            what.join(", ")
        ),
    );
    for fix in failed.iter().filter_map(|c| c.fix.clone()) {
        err = err.hint(fix);
    }
    Some(err.hint("run the same upgrade again once the pre-checks pass"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::stack::upgrade::plan::Current;

    fn plan(statuses: &[(&str, &str)]) -> UpgradePlan {
        UpgradePlan::new(
            "0.8.0".into(),
            vec![],
            statuses
                .iter()
                .map(|(r, s)| Current {
                    release: (*r).into(),
                    namespace: "ns".into(),
                    version: "1.0.0".into(),
                    status: (*s).into(),
                })
                .collect(),
            vec![],
            vec![],
            vec![],
        )
    }

    #[test]
    fn a_failed_or_pending_release_stops_the_upgrade_with_repair_as_the_fix() {
        let ok = releases_settled(&plan(&[("api", "deployed")]));
        assert!(ok.ok, "{ok:?}");
        assert!(failure(&[ok]).is_none());
        let bad = releases_settled(&plan(&[
            ("api", "failed"),
            ("sis", "pending-upgrade"),
            ("nats", "deployed"),
        ]));
        assert!(!bad.ok);
        assert_eq!(bad.detail, "api failed, sis pending-upgrade");
        let err = failure(&[bad]).unwrap();
        assert_eq!(err.category(), Category::ChecksFailed);
        assert!(err.to_string().contains("nothing was changed"), "{err}");
        assert!(err.remediation().join(" ").contains("repair"), "{err:?}");
    }
}
