//! The plan of `upgrade --to` in the shared shape ([`Plan`]): one phase per phase of the
//! run as the event stream names it (`pre-checks`, `rotate-RELEASE` for a rotation an
//! earlier run left unfinished, `upgrade-RELEASE-VERSION` for each release upgrade), each
//! with its steps and the command a person would type; the run settles them as it goes.

use super::path;
use super::plan::{self, Current, Rotation, UpgradePlan};
use crate::base::plan::{Phase, Plan, Step, StepState};

/// What the pre-checks look at, in the order they run: (what, detail).
pub const PRECHECKS: [(&str, &str); 3] = [
    ("releases", "no release failed or pending (helm's records)"),
    ("openbao-server", "OpenBao pods Ready and unsealed"),
    (
        "statefulsets",
        "StatefulSets (Cassandra, NATS, OpenBao) have every replica Ready",
    ),
];

/// Rough durations (seconds) for the phases' ETAs: the pre-checks, one release upgrade
/// with its checks, and one pod deleted until Ready again.
const PRECHECK_ETA: u64 = 15;
const UPGRADE_ETA: u64 = 120;
const POD_ETA: u64 = 60;

impl UpgradePlan {
    /// The plan from what the cluster has and the way to the target.
    pub fn new(
        target: String,
        known_versions: Vec<String>,
        current: Vec<Current>,
        not_installed: Vec<String>,
        path: Vec<path::Stop>,
        rotations: Vec<Rotation>,
    ) -> UpgradePlan {
        let nothing_to_do = plan::nothing_to_do(&current, &path, &rotations);
        let plan = build(
            &target,
            &current,
            &not_installed,
            &path,
            &rotations,
            nothing_to_do,
        );
        UpgradePlan {
            target,
            known_versions,
            current,
            not_installed,
            path,
            rotations,
            nothing_to_do,
            plan,
        }
    }
}

/// The run as phases and steps; nothing at all when there is nothing to do.
pub fn build(
    target: &str,
    current: &[Current],
    not_installed: &[String],
    way: &[path::Stop],
    rotations: &[Rotation],
    nothing_to_do: bool,
) -> Plan {
    let mut plan = Plan::new(format!("upgrade the stack to {target}"), true);
    if nothing_to_do {
        plan.note("nothing to do: every installed release is at the target");
        return plan;
    }
    for c in current.iter().filter(|c| c.status != "deployed") {
        plan.note(format!(
            "{} is {} at {}: the pre-checks stop here until it is repaired",
            c.release, c.status, c.version
        ));
    }
    prechecks(&mut plan);
    unfinished_rotations(&mut plan, rotations);
    for s in way {
        for m in &s.releases {
            upgrade(&mut plan, s, m, rotations);
        }
    }
    if !not_installed.is_empty() {
        plan.note(format!(
            "not installed, left alone: {}",
            not_installed.join(", ")
        ));
    }
    plan
}

fn add_phase(plan: &mut Plan, name: String, label: String, eta_sec: u64) -> (u32, String) {
    let num = u32::try_from(plan.phases.len() + 1).unwrap_or(u32::MAX);
    plan.phases
        .push(Phase::new(num, name.clone(), eta_sec).label(label));
    (num, name)
}

fn prechecks(plan: &mut Plan) {
    let (num, name) = add_phase(plan, "pre-checks".into(), "pre-checks".into(), PRECHECK_ETA);
    for (what, detail) in PRECHECKS {
        plan.steps.push(
            Step::new(what, StepState::Planned)
                .phase(num, name.clone())
                .detail(detail),
        );
    }
}

/// A phase for each release whose pods an earlier run left outdated.
fn unfinished_rotations(plan: &mut Plan, rotations: &[Rotation]) {
    let mut seen: Vec<&str> = Vec::new();
    for r in rotations.iter().filter(|r| r.when == "now") {
        if seen.contains(&r.release.as_str()) {
            continue;
        }
        seen.push(&r.release);
        let mine: Vec<&Rotation> = rotations
            .iter()
            .filter(|o| o.when == "now" && o.release == r.release)
            .collect();
        let pods: usize = mine.iter().map(|o| o.outdated_pods.len()).sum();
        let (num, name) = add_phase(
            plan,
            format!("rotate-{}", r.release),
            format!("first: finish rotating {}", r.release),
            POD_ETA * u64::try_from(pods.max(1)).unwrap_or(1),
        );
        for o in mine {
            plan.steps.push(
                rotation_step(o)
                    .phase(num, name.clone())
                    .detail(format!("outdated: {}", o.outdated_pods.join(", "))),
            );
        }
        plan.steps.push(post_checks().phase(num, name));
    }
}

/// One release upgrade: helm (values backed up first), its rotations, its post-checks.
fn upgrade(plan: &mut Plan, s: &path::Stop, m: &path::Move, rotations: &[Rotation]) {
    let after = format!("after {}", s.name);
    let mine: Vec<&Rotation> = rotations
        .iter()
        .filter(|r| r.release == m.release && r.when == after)
        .collect();
    let eta = UPGRADE_ETA + POD_ETA * u64::try_from(mine.len() * 3).unwrap_or(0);
    let (num, name) = add_phase(
        plan,
        upgrade_phase(m),
        format!("{}: upgrade {}", s.name, m.release),
        eta,
    );
    plan.steps.push(
        Step::new(format!("release/{}", m.release), StepState::Planned)
            .phase(num, name.clone())
            .command(format!(
                "helm upgrade {} {} --version {} -n {}",
                m.release, m.chart, m.to, m.namespace
            ))
            .detail(format!(
                "{} {} -> {} (values backed up first)",
                m.chart, m.from, m.to
            )),
    );
    for r in mine {
        let detail = format!(
            "one pod at a time (OnDelete), each Ready{}",
            if r.release == "openbao-server" {
                " and unsealed"
            } else {
                ""
            }
        );
        plan.steps
            .push(rotation_step(r).phase(num, name.clone()).detail(detail));
    }
    plan.steps.push(post_checks().phase(num, name));
}

/// The event-stream name of a release upgrade's phase.
pub fn upgrade_phase(m: &path::Move) -> String {
    format!("upgrade-{}-{}", m.release, m.to)
}

fn rotation_step(r: &Rotation) -> Step {
    Step::new(format!("statefulset/{}", r.statefulset), StepState::Planned).command(format!(
        "kubectl delete pod -n {} <each outdated {} pod, highest ordinal first>",
        r.namespace, r.statefulset
    ))
}

fn post_checks() -> Step {
    Step::new("post-checks", StepState::Planned)
        .detail("workloads ready, OpenBao unsealed, migrations done")
}

/// Marks phase `phase`'s steps finished: checks `verified`, the rest `done`, with what
/// happened as the detail where `detail` says (by step).
pub fn settle(plan: &mut Plan, phase: &str, detail: &dyn Fn(&Step) -> Option<String>) {
    for s in plan
        .steps
        .iter_mut()
        .filter(|s| s.phase.as_deref() == Some(phase))
    {
        s.state = if s.command.is_empty() {
            StepState::Verified
        } else {
            StepState::Done
        };
        if let Some(d) = detail(s) {
            s.detail = d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settling_a_phase_verifies_its_checks_and_finishes_the_rest() {
        let mut p = build("0.8.0", &[], &[], &[], &[], false);
        assert_eq!(p.phases[0].phase, "pre-checks");
        p.steps.push(
            Step::new("release/x", StepState::Planned)
                .phase(2, "upgrade-x-1")
                .command("helm upgrade x"),
        );
        settle(&mut p, "upgrade-x-1", &|_| Some("revision 2".into()));
        let states: Vec<&str> = p.steps.iter().map(|s| s.state.as_str()).collect();
        assert_eq!(states, ["planned", "planned", "planned", "done"]);
        assert_eq!(p.steps[3].detail, "revision 2");
        settle(&mut p, "pre-checks", &|_| None);
        assert_eq!(p.steps[0].state, StepState::Verified);
    }
}
