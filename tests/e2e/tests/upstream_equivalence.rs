//! For the same operator inputs, `helm nvcf render` gives the objects (apiVersion, kind,
//! namespace, name) and container images that upstream's own installer gives: the real
//! helmfile (built from its Go module) on upstream's stacks and the real charts.
//!
//! Each case is an operator's upstream environment file, turned into our stack config by
//! `helm nvcf import-helmfile`. Releases upstream cannot render offline (third-party charts, and
//! state-metrics, whose chart upstream does not publish) are compared on neither side.

mod helm_nvcf_support;

use helm_nvcf_support::data;
use nvcf_e2e::upstream::{self, ObjectRow, our_objects};
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::tools;
use std::collections::BTreeSet;

/// Where we differ from upstream on purpose (README: "Differences from upstream").
fn deliberate(row: &ObjectRow) -> bool {
    // helm renders Prometheus monitors only when their CRD is known: an install on a live
    // cluster with the CRDs knows it, `helmfile template` does not; we pass the CRDs of the
    // stream's own releases, as an install would see them.
    matches!(row.2.as_str(), "PodMonitor" | "ServiceMonitor")
        // The nats-auth-callout-service chart reads its image from the top-level `image`,
        // which upstream's values leave empty (`:1.0.0`); we set it.
        || (row.0 == "nats-auth-callout-service" && row.2 == "Deployment")
}

fn compare(case: &str) {
    let test = format!("render_matches_upstreams_helmfile ({case})");
    let Some(real) = upstream::charts(&test) else {
        return;
    };
    if upstream::stacks(&test, &real).is_none() {
        return;
    }
    let theirs: BTreeSet<ObjectRow> =
        upstream::helmfile_objects(&real, &data(&format!("upstream/{case}.env.yaml")), None)
            .into_iter()
            .collect();
    let home = Home::new();
    let charts = upstream::prepared_stack(&real, home.path());
    // The stack config comes from the operator's environment, through the import command.
    let config = home.path().join("nvcf-stack.yaml");
    let import = Run::of(
        home.command(bin("helm-nvcf"))
            .args(["import-helmfile", "--env"])
            .arg(data(&format!("upstream/{case}.env.yaml")))
            .arg("--write")
            .arg(&config),
    );
    assert_eq!(import.code, Some(0), "{import:#?}");
    let run = Run::of(
        home.command(bin("helm-nvcf"))
            .env("HELM_BIN", tools::helm3())
            .current_dir(home.path())
            .args(["render", "--control-plane", "--chart-source"])
            .arg(format!("dir:{}", charts.display()))
            .arg("--stack-config")
            .arg(&config),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let releases: BTreeSet<&str> = theirs.iter().map(|r| r.0.as_str()).collect();
    let ours: BTreeSet<ObjectRow> = our_objects(&run.stdout)
        .into_iter()
        .filter(|r| releases.contains(r.0.as_str()))
        .collect();
    let ours_rendered: BTreeSet<&str> = ours.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ours_rendered, releases, "the same releases render");
    let only_theirs: Vec<&ObjectRow> = theirs
        .difference(&ours)
        .filter(|r| !deliberate(r))
        .collect();
    let only_ours: Vec<&ObjectRow> = ours
        .difference(&theirs)
        .filter(|r| !deliberate(r))
        .collect();
    assert!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "{case}: upstream only: {only_theirs:#?}\nours only: {only_ours:#?}"
    );
    assert!(theirs.len() > 150, "{case}: {} objects", theirs.len());
}

#[test]
fn render_matches_upstreams_helmfile_for_a_minimal_environment() {
    compare("minimal");
}

#[test]
fn render_matches_upstreams_helmfile_with_every_addon_pool_and_budget() {
    compare("addons");
}

/// Every environment file upstream ships: the import reads it, carries over what it can,
/// lists the rest, and writes a config whose only problems are upstream's placeholders.
#[test]
fn every_upstream_environment_file_imports() {
    let Some(real) = upstream::charts("every_upstream_environment_file_imports") else {
        return;
    };
    let Some(stacks) = upstream::stacks("every_upstream_environment_file_imports", &real) else {
        return;
    };
    let home = Home::new();
    let mut seen = 0;
    for (stack, flag) in [
        ("self-managed", "--env"),
        ("nvcf-compute-plane", "--compute-env"),
        ("observability", "--observability-env"),
    ] {
        for entry in std::fs::read_dir(stacks.join(stack).join("environments")).unwrap() {
            let file = entry.unwrap().path();
            let mut cmd = home.command(bin("helm-nvcf"));
            cmd.arg("import-helmfile").arg(flag).arg(&file);
            if stack == "observability" {
                // Alone it has nothing to build a stack config from.
                cmd.arg("--env").arg(data("upstream/minimal.env.yaml"));
            }
            if stack == "self-managed" {
                cmd.arg("--secrets")
                    .arg(stacks.join("self-managed/secrets/secrets.yaml.template"));
            }
            let run = Run::of(&mut cmd);
            seen += 1;
            assert!(
                matches!(run.code, Some(0 | 65)),
                "{}: {run:#?}",
                file.display()
            );
            assert!(
                !run.stdout.is_empty(),
                "{}: a config is written",
                file.display()
            );
            // The secrets template's placeholder credential never reaches the config.
            assert!(!run.stdout.contains("REPLACE_WITH"), "{}", run.stdout);
            assert!(!run.stdout.contains("ch@ng3m3"), "{}", run.stdout);
            if run.code == Some(65) {
                assert!(run.stderr.contains("NOT CARRIED OVER"), "{}", run.stderr);
            }
            // What our validation says of the result: at most upstream's placeholders.
            let config = home.path().join("imported.yaml");
            std::fs::write(&config, &run.stdout).unwrap();
            let values = Run::of(
                home.command(bin("helm-nvcf"))
                    .args(["values", "--stack-config"])
                    .arg(&config),
            );
            if values.code != Some(0) {
                assert_eq!(values.code, Some(65), "{}: {values:#?}", file.display());
                for line in values.stderr.lines().filter(|l| l.contains("`")) {
                    assert!(
                        line.contains("placeholder") || line.contains("problem"),
                        "{}: {line}",
                        file.display()
                    );
                }
            }
        }
    }
    assert!(seen >= 4, "{seen} environment files");
}

/// The compute plane, against upstream's golden output of its compute-plane helmfile for
/// its test environment (`testdata/environments/local.yaml`, every add-on on): the same
/// releases, objects and images. NVCA's operator and the topology releases are the real
/// charts; KAI Scheduler, Grove and Dynamo are stand-ins built from that same golden output
/// (tests/tools/golden-stand-ins.py), so for them this checks which releases we install and
/// that our values pass their schema of upstream's keys, not the charts' contents.
#[test]
fn compute_plane_render_matches_upstreams_golden_output() {
    let test = "compute_plane_render_matches_upstreams_golden_output";
    let Some(real) = upstream::charts(test) else {
        return;
    };
    let Some(stacks) = upstream::stacks(test, &real) else {
        return;
    };
    let compute = stacks.join("nvcf-compute-plane");
    let golden = compute.join("testdata/golden/local");
    let theirs: BTreeSet<ObjectRow> = upstream::golden_objects(
        &golden,
        &[
            ("kai-scheduler", "kai-scheduler"),
            ("nvcf-kai-topology", "nvca-operator"),
            ("grove-operator", "grove-system"),
            ("nvcf-grove-topology", "nvca-operator"),
            ("dynamo-operator", "dynamo-system"),
            ("nvca-operator", "nvca-operator"),
        ],
    )
    .into_iter()
    .collect();
    let home = Home::new();
    let charts = upstream::prepared_stack(&real, home.path());
    // One operator: the control plane's environment names the compute environment's registry.
    let control = home.path().join("control.env.yaml");
    std::fs::write(
        &control,
        std::fs::read_to_string(data("upstream/minimal.env.yaml"))
            .unwrap()
            .replace("acme/nvcf", "0651155215864979/ncp-dev"),
    )
    .unwrap();
    let config = home.path().join("nvcf-stack.yaml");
    let import = Run::of(
        home.command(bin("helm-nvcf"))
            .args(["import-helmfile", "--env"])
            .arg(&control)
            .arg("--compute-env")
            .arg(compute.join("testdata/environments/local.yaml"))
            .arg("--write")
            .arg(&config),
    );
    assert!(matches!(import.code, Some(0 | 65)), "{import:#?}");
    let run = Run::of(
        home.command(bin("helm-nvcf"))
            .env("HELM_BIN", tools::helm4())
            .current_dir(home.path())
            .args(["render", "--compute-plane", "--chart-source"])
            .arg(format!("dir:{}", charts.display()))
            .arg("--stack-config")
            .arg(&config),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let ours: BTreeSet<ObjectRow> = our_objects(&run.stdout).into_iter().collect();
    let releases = |rows: &BTreeSet<ObjectRow>| -> BTreeSet<String> {
        rows.iter().map(|r| r.0.clone()).collect()
    };
    assert_eq!(releases(&ours), releases(&theirs), "the same releases");
    let only_theirs: Vec<&ObjectRow> = theirs.difference(&ours).collect();
    let only_ours: Vec<&ObjectRow> = ours
        .difference(&theirs)
        // The real CRDs ship in the charts' crds/, which a golden of templates/ lacks.
        .filter(|r| {
            r.2 != "CustomResourceDefinition" || r.0 != "kai-scheduler" && r.0 != "grove-operator"
        })
        .collect();
    assert!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "upstream only: {only_theirs:#?}\nours only: {only_ours:#?}"
    );
    assert!(theirs.len() > 100, "{} objects", theirs.len());
}
