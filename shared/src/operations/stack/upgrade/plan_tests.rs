use super::*;

fn current(release: &str, status: &str) -> Current {
    Current {
        release: release.into(),
        namespace: "ns".into(),
        version: "0.30.25".into(),
        status: status.into(),
    }
}

#[test]
fn a_failed_release_at_the_target_version_is_not_done() {
    assert!(nothing_to_do(&[current("api", "deployed")], &[], &[]));
    assert!(!nothing_to_do(&[current("api", "failed")], &[], &[]));
    assert!(!nothing_to_do(
        &[current("api", "pending-upgrade")],
        &[],
        &[]
    ));
}

fn openbao_plan() -> UpgradePlan {
    UpgradePlan::new(
        "0.8.0".into(),
        vec![],
        vec![current("openbao-server", "failed")],
        vec!["cassandra".into()],
        vec![Stop {
            name: "stack 0.8.0".into(),
            releases: vec![path::Move {
                release: "openbao-server".into(),
                namespace: "vault-system".into(),
                chart: "helm-nvcf-openbao-server".into(),
                from: "0.30.24".into(),
                to: "0.30.25".into(),
            }],
        }],
        vec![Rotation {
            release: "openbao-server".into(),
            namespace: "vault-system".into(),
            statefulset: "openbao-server".into(),
            when: "after stack 0.8.0".into(),
            outdated_pods: vec![],
        }],
    )
}

#[test]
fn the_plan_lines_name_steps_rotations_and_what_is_left_alone() {
    let plan = openbao_plan();
    assert!(!plan.nothing_to_do);
    let text = plan.lines().join("\n");
    for want in [
        "Plan (nothing written): upgrade the stack to 0.8.0",
        "openbao-server is failed at 0.30.25",
        "stack 0.8.0: upgrade openbao-server",
        "helm upgrade openbao-server helm-nvcf-openbao-server --version 0.30.25 -n vault-system",
        "helm-nvcf-openbao-server 0.30.24 -> 0.30.25 (values backed up first)",
        "statefulset/openbao-server",
        "one pod at a time (OnDelete), each Ready and unsealed",
        "not installed, left alone: cassandra",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    assert_eq!(plan.names(), ["release/openbao-server"]);
}

#[test]
fn the_plan_is_the_shared_shape_with_the_event_streams_phases() {
    let plan = openbao_plan();
    let phases: Vec<&str> = plan.plan.phases.iter().map(|p| p.phase.as_str()).collect();
    assert_eq!(phases, ["pre-checks", "upgrade-openbao-server-0.30.25"]);
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["path"][0]["name"], "stack 0.8.0");
    assert_eq!(json["dryRun"], true);
    assert_eq!(json["steps"][3]["step"], "release/openbao-server");
    assert_eq!(json["steps"][3]["phase"], "upgrade-openbao-server-0.30.25");
    assert_eq!(json["steps"][3]["state"], "planned");
    assert!(json.get("prechecks").is_none(), "{json}");
    let steps: Vec<&str> = plan.plan.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "releases",
            "openbao-server",
            "statefulsets",
            "release/openbao-server",
            "statefulset/openbao-server",
            "post-checks"
        ]
    );
}

#[test]
fn nothing_to_do_is_a_plan_without_steps() {
    let plan = UpgradePlan::new(
        "0.8.0".into(),
        vec![],
        vec![current("api", "deployed")],
        vec![],
        vec![],
        vec![],
    );
    assert!(plan.nothing_to_do && plan.plan.steps.is_empty());
    assert!(plan.lines().join("\n").contains("nothing to do"));
}

#[test]
fn the_chart_version_is_what_follows_the_chart_name() {
    assert_eq!(
        chart_version("helm-nvcf-api-1.25.1", "helm-nvcf-api"),
        "1.25.1"
    );
    assert_eq!(
        chart_version("grove-charts-v0.1.0-alpha.11", "grove-charts"),
        "v0.1.0-alpha.11"
    );
    assert_eq!(chart_version("other-2.0.0", "helm-nvcf-api"), "2.0.0");
}
