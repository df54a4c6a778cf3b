//! `helm nvcf render --chart-source oci+http://…` against a real OCI registry (the CNCF
//! distribution registry, built from its Go module by tests/testenv/build-registry.sh) on
//! loopback: the stand-in charts pushed with real helm render byte for byte like `dir:`.

mod helm_nvcf_support;

use helm_nvcf_support::{charts, charts_dir, data};
use nvcf_e2e::registry::{Registry, start_registry};
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::tools;
use std::path::{Path, PathBuf};
use std::process::Command;

fn helm(home: &Home, helm: &Path) -> Command {
    let mut cmd = home.command(helm);
    cmd.env("HELM_CONFIG_HOME", home.path().join("helm/config"))
        .env("HELM_CACHE_HOME", home.path().join("helm/cache"));
    cmd
}

/// Packages and pushes every stand-in chart, as a site mirroring the stack would.
fn push_stand_ins(home: &Home, registry: &Registry) {
    let packages = home.path().join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    let mut charts: Vec<PathBuf> = std::fs::read_dir(charts_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Chart.yaml").is_file())
        .collect();
    charts.sort();
    for chart in charts {
        Run::of(
            helm(home, &tools::helm3())
                .arg("package")
                .arg(&chart)
                .arg("--destination")
                .arg(&packages),
        )
        .expect_success();
    }
    for package in std::fs::read_dir(&packages).unwrap() {
        Run::of(
            helm(home, &tools::helm3())
                .arg("push")
                .arg(package.unwrap().path())
                .arg(format!("oci://{}/nvcf", registry.addr))
                .arg("--plain-http"),
        )
        .expect_success();
    }
}

fn render(home: &Home, helm_bin: &Path, source: &str) -> Run {
    Run::of(
        home.command(bin("helm-nvcf"))
            .env("HELM_BIN", helm_bin)
            .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
            .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests")
            .args(["render", "--control-plane", "--chart-source", source])
            .arg("--stack-config")
            .arg(data("full-stack.yaml")),
    )
}

#[test]
fn charts_from_a_plain_http_oci_registry_render_like_the_directory() {
    let registry = start_registry();
    let home = Home::new();
    push_stand_ins(&home, &registry);
    let oci = format!("oci+http://{}/nvcf", registry.addr);
    for helm_bin in [tools::helm3(), tools::helm4()] {
        let from_dir = render(&home, &helm_bin, &charts());
        from_dir.expect_success();
        let from_oci = render(&home, &helm_bin, &oci);
        from_oci.expect_success();
        // Only the chart references in the release headers may differ.
        let normalise = |stream: &str, source: &str| {
            stream
                .replace(&format!("{}/", oci.replace("oci+http", "oci")), "CHARTS/")
                .replace(&format!("{source}/"), "CHARTS/")
                .replace(&format!("{}/", charts_dir().display()), "CHARTS/")
        };
        let (a, b) = (
            normalise(&from_dir.stdout, &charts()),
            normalise(&from_oci.stdout, &oci),
        );
        assert!(a.contains("# api (helm-nvcf-api"), "{a}");
        // NATS mints its seeds per render (stack.md §7); everything else is identical.
        let unseeded = |s: &str| {
            s.lines()
                .filter(|l| !l.starts_with("  seed: "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            unseeded(&a),
            unseeded(&b),
            "{} render differs between dir: and oci+http://",
            helm_bin.display()
        );
    }

    // A registry without TLS named as oci:// fails in helm, and the error says so.
    let tls = render(
        &home,
        &tools::helm4(),
        &format!("oci://{}/nvcf", registry.addr),
    );
    assert_ne!(tls.code, Some(0), "{tls:#?}");
}
