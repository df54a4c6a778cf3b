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

/// An air-gapped site: the third-party charts (here KAI Scheduler) come from the site's
/// mirror named in `chartMirrors`, not from their public repositories, which this machine
/// cannot reach.
#[test]
fn third_party_charts_come_from_the_configured_mirror() {
    let registry = start_registry();
    let home = Home::new();
    push_stand_ins(&home, &registry);
    let config = home.path().join("stack.yaml");
    let base = std::fs::read_to_string(data("local.yaml")).unwrap();
    let compute = |mirrors: &str| {
        std::fs::write(
            &config,
            format!("{base}addons: {{kaiScheduler: true}}\n{mirrors}"),
        )
        .unwrap();
        Run::of(
            home.command(bin("helm-nvcf"))
                .env("HELM_BIN", tools::helm3())
                .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
                .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
                .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests")
                .args(["render", "--compute-plane", "--chart-source"])
                .arg(format!("oci+http://{}/nvcf", registry.addr))
                .arg("--stack-config")
                .arg(&config),
        )
    };
    let mirror = format!(
        "chartMirrors: {{all: \"oci+http://{}/mirror\"}}\n",
        registry.addr
    );
    // Not mirrored yet: the version is missing from the registry, said as such (exit 4).
    let missing = compute(&mirror);
    assert_eq!(missing.code, Some(4), "{missing:#?}");
    assert!(
        missing.stderr.contains("kai-scheduler"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("not in the registry"),
        "{}",
        missing.stderr
    );
    // Mirrored as the project publishes it: tag v0.16.7.
    let packages = home.path().join("mirror-packages");
    Run::of(
        helm(&home, &tools::helm3())
            .arg("package")
            .arg(charts_dir().join("kai-scheduler"))
            .args(["--version", "v0.16.7", "--destination"])
            .arg(&packages),
    )
    .expect_success();
    Run::of(
        helm(&home, &tools::helm3())
            .arg("push")
            .arg(packages.join("kai-scheduler-v0.16.7.tgz"))
            .arg(format!("oci://{}/mirror", registry.addr))
            .arg("--plain-http"),
    )
    .expect_success();
    let mirrored = compute(&mirror);
    mirrored.expect_success();
    assert!(
        mirrored
            .stdout
            .contains("# kai-scheduler (kai-scheduler v0.16.7)"),
        "{}",
        mirrored.stdout
    );
    // A registry nobody listens on is unreachable (exit 7), not a missing chart.
    let nobody = Run::of(
        home.command(bin("helm-nvcf"))
            .env("HELM_BIN", tools::helm3())
            .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
            .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests")
            .args([
                "render",
                "--control-plane",
                "--chart-source",
                "oci+http://127.0.0.1:1/nvcf",
            ])
            .arg("--stack-config")
            .arg(&config),
    );
    assert_eq!(nobody.code, Some(7), "{nobody:#?}");
    assert!(nobody.stderr.contains("unreachable"), "{}", nobody.stderr);
    // A mirror for a release that has no public repository is refused up front.
    let wrong = compute("chartMirrors: {api: \"oci://m.example/x\"}\n");
    assert_eq!(wrong.code, Some(65), "{wrong:#?}");
    assert!(
        wrong.stderr.contains("chartMirrors.api"),
        "{}",
        wrong.stderr
    );
}
