use super::*;
use crate::base::error::ExitCode;
use crate::model::stack::catalog::install_order;

/// A small catalog: the issue's NVCA path as data (2.50.5 -> 2.51.0 -> 3.0.0).
const CATALOG: &str = r#"
schemaVersion: 1
stackVersion: "3"
stackVersions:
  - version: "3"
  - version: "2"
    charts: {nvca-operator: 2.51.0}
  - version: "1"
    charts: {nvca-operator: 2.50.5, openbao-server: 0.30.24}
computeStackVersion: 0.2.0
helm: {timeout: 900s}
namespaces: {persistent: [], platformLabel: l, platform: [], topology: [], computeRuntime: []}
computeTeardown:
  drain: {apiVersion: v1, kind: K, plural: ks, namespace: n}
  crds: []
releases:
  - {name: nats, plane: control, chart: helm-nvcf-nats, version: 0.7.1, namespace: nats-system}
  - {name: openbao-server, plane: control, chart: helm-nvcf-openbao-server, version: 0.30.25, namespace: vault-system, needs: [nats]}
  - {name: nvca-operator, plane: compute, chart: helm-nvca-operator, version: 3.0.0, namespace: nvca-operator, upgradePath: [2.51.0]}
"#;

fn catalog() -> Catalog {
    serde_saphyr::from_str(CATALOG).unwrap()
}

fn plan(c: &Catalog, target: &str, installed: &[(&str, &str)]) -> Result<Vec<Stop>> {
    let all: Vec<&Release> = c.releases.iter().collect();
    let releases: Vec<(&Release, String)> = install_order(&all)
        .unwrap()
        .into_iter()
        .map(|r| (r, r.namespace.clone()))
        .collect();
    let installed = installed
        .iter()
        .map(|(r, v)| ((*r).to_owned(), (*v).to_owned()))
        .collect();
    steps(c, target, &releases, &installed)
}

fn moves(steps: &[Stop]) -> Vec<(String, Vec<String>)> {
    steps
        .iter()
        .map(|s| {
            let m = s
                .releases
                .iter()
                .map(|m| format!("{} {}->{}", m.release, m.from, m.to))
                .collect();
            (s.name.clone(), m)
        })
        .collect()
}

#[test]
fn versions_compare_numerically() {
    assert_eq!(compare("0.30.9", "0.30.25"), Ordering::Less);
    assert_eq!(compare("v1.2.0", "1.2"), Ordering::Equal);
    assert_eq!(compare("3.0", "2.51.0"), Ordering::Greater);
    assert_eq!(compare("1.0.0-rc1", "1.0.0"), Ordering::Less);
    assert_eq!(compare("1.0.0", "1.0.0-rc1"), Ordering::Greater);
}

#[test]
fn a_jump_past_a_required_version_stops_there_first() {
    let c = catalog();
    let steps = plan(
        &c,
        "3",
        &[
            ("nats", "0.7.1"),
            ("openbao-server", "0.30.24"),
            ("nvca-operator", "2.50.5"),
        ],
    )
    .unwrap();
    assert_eq!(
        moves(&steps),
        [
            (
                "required stop 1".to_owned(),
                vec!["nvca-operator 2.50.5->2.51.0".to_owned()]
            ),
            (
                "stack 3".to_owned(),
                vec![
                    "openbao-server 0.30.24->0.30.25".to_owned(),
                    "nvca-operator 2.51.0->3.0.0".to_owned()
                ]
            ),
        ]
    );
}

#[test]
fn a_resumed_upgrade_continues_from_what_is_installed() {
    let c = catalog();
    // Interrupted after the stop: only the last step is left.
    let steps = plan(&c, "3", &[("nvca-operator", "2.51.0")]).unwrap();
    assert_eq!(
        moves(&steps),
        [(
            "stack 3".to_owned(),
            vec!["nvca-operator 2.51.0->3.0.0".to_owned()]
        )]
    );
    // Everything at the target: nothing to do.
    let done = plan(
        &c,
        "3",
        &[("openbao-server", "0.30.25"), ("nvca-operator", "3.0.0")],
    )
    .unwrap();
    assert!(done.is_empty());
}

#[test]
fn an_intermediate_stack_version_is_a_target_of_its_own() {
    let c = catalog();
    let steps = plan(&c, "2", &[("nvca-operator", "2.50.5")]).unwrap();
    assert_eq!(
        moves(&steps),
        [(
            "stack 2".to_owned(),
            vec!["nvca-operator 2.50.5->2.51.0".to_owned()]
        )]
    );
}

#[test]
fn releases_not_installed_are_left_out() {
    let c = catalog();
    let steps = plan(&c, "3", &[("openbao-server", "0.30.24")]).unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].releases.len(), 1);
    assert_eq!(steps[0].releases[0].namespace, "vault-system");
    assert_eq!(steps[0].releases[0].chart, "helm-nvcf-openbao-server");
}

#[test]
fn an_unknown_version_is_a_usage_error_naming_the_known_ones() {
    let c = catalog();
    let err = plan(&c, "9.9", &[]).unwrap_err();
    assert_eq!(err.category().exit_code(), ExitCode::Usage);
    assert!(err.to_string().contains("9.9"), "{err}");
    assert!(
        err.remediation().join(" ").contains("use one of: 3, 2, 1"),
        "{:?}",
        err.remediation()
    );
}

#[test]
fn a_newer_install_is_not_downgraded() {
    let c = catalog();
    let err = plan(&c, "1", &[("nvca-operator", "3.0.0")]).unwrap_err();
    assert_eq!(err.category(), Category::Conflict);
    assert!(err.to_string().contains("does not downgrade"), "{err}");
}

#[test]
fn the_embedded_catalog_knows_two_stack_versions() {
    let c = Catalog::embedded();
    assert_eq!(known_versions(c), ["0.8.0", "0.7.0"]);
    let bao = c.release("openbao-server").unwrap();
    assert_eq!(c.chart_version_in("0.7.0", bao), Some("0.30.24"));
    assert_eq!(c.chart_version_in("0.8.0", bao), Some("0.30.25"));
    assert!(bao.workloads[0].rotated_on_upgrade());
    assert_eq!(c.release("nvca-operator").unwrap().upgrade_path, ["2.51.0"]);
}

#[test]
fn the_embedded_catalog_plans_0_7_0_to_0_8_0_in_install_order() {
    let c = Catalog::embedded();
    let installed: Vec<(&str, String)> = c
        .releases
        .iter()
        .map(|r| {
            let v = c.chart_version_in("0.7.0", r).unwrap().to_owned();
            (r.name.as_str(), v)
        })
        .collect();
    let installed: Vec<(&str, &str)> = installed.iter().map(|(r, v)| (*r, v.as_str())).collect();
    let steps = plan(c, "0.8.0", &installed).unwrap();
    assert_eq!(
        moves(&steps),
        [(
            "stack 0.8.0".to_owned(),
            vec![
                "openbao-server 0.30.24->0.30.25".to_owned(),
                "api-keys 1.5.0->1.6.0".to_owned()
            ]
        )]
    );
    assert!(plan(c, "0.7.0", &installed).unwrap().is_empty());
}
