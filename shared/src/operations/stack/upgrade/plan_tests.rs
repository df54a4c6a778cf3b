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

#[test]
fn the_plan_lines_name_steps_rotations_and_what_is_left_alone() {
    let plan = UpgradePlan {
        target: "0.8.0".into(),
        known_versions: vec![],
        current: vec![current("openbao-server", "failed")],
        not_installed: vec!["cassandra".into()],
        steps: vec![Step {
            name: "stack 0.8.0".into(),
            releases: vec![path::Move {
                release: "openbao-server".into(),
                namespace: "vault-system".into(),
                chart: "helm-nvcf-openbao-server".into(),
                from: "0.30.24".into(),
                to: "0.30.25".into(),
            }],
        }],
        rotations: vec![Rotation {
            release: "openbao-server".into(),
            namespace: "vault-system".into(),
            statefulset: "openbao-server".into(),
            when: "after stack 0.8.0".into(),
            outdated_pods: vec![],
        }],
        prechecks: PRECHECKS.iter().map(|s| (*s).to_owned()).collect(),
        nothing_to_do: false,
    };
    let text = plan.lines().join("\n");
    for want in [
        "openbao-server is failed at 0.30.25",
        "step 1 (stack 0.8.0):",
        "helm upgrade openbao-server -n vault-system: helm-nvcf-openbao-server 0.30.24 -> 0.30.25",
        "rotate StatefulSet vault-system/openbao-server one pod at a time (OnDelete), each Ready and unsealed",
        "not installed, left alone: cassandra",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    assert_eq!(plan.names(), ["release/openbao-server"]);
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
