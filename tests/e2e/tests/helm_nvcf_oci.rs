//! `helm nvcf render --chart-source oci+http://…` against a real OCI registry (the CNCF
//! distribution registry, built from its Go module by tests/testenv/build-registry.sh) on
//! loopback: the real charts pushed with real helm render byte for byte like `dir:`.

mod helm_nvcf_support;

use helm_nvcf_support::{charts_dir, data};
use nvcf_e2e::registry::{Registry, start_registry};
use nvcf_e2e::{Home, Run, bin, upstream};
use nvcf_testenv::tools;
use std::path::{Path, PathBuf};
use std::process::Command;

fn helm(home: &Home, helm: &Path) -> Command {
    let mut cmd = home.command(helm);
    cmd.env("HELM_CONFIG_HOME", home.path().join("helm/config"))
        .env("HELM_CACHE_HOME", home.path().join("helm/cache"));
    cmd
}

/// The stack's charts at their published versions, each packaged and pushed with real
/// helm, as a site mirroring the stack would. Returns the copy pushed (a `dir:` twin).
fn push_charts(home: &Home, charts: &Path, registry: &Registry) -> PathBuf {
    let published = upstream::at_versions(charts, &home.path().join("published"), &[]);
    upstream::push_stack(home.path(), &published, registry, &[]);
    published
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
    let Some(charts) =
        charts_dir("charts_from_a_plain_http_oci_registry_render_like_the_directory")
    else {
        return;
    };
    let registry = start_registry();
    let home = Home::new();
    let published = push_charts(&home, &charts, &registry);
    let dir_source = format!("dir:{}", published.display());
    let oci = format!("oci+http://{}/nvcf", registry.addr);
    for helm_bin in [tools::helm3(), tools::helm4()] {
        let from_dir = render(&home, &helm_bin, &dir_source);
        from_dir.expect_success();
        let from_oci = render(&home, &helm_bin, &oci);
        from_oci.expect_success();
        // Only the chart references in the release headers may differ.
        let normalise = |stream: &str, source: &str| {
            stream
                .replace(&format!("{}/", oci.replace("oci+http", "oci")), "CHARTS/")
                .replace(&format!("{source}/"), "CHARTS/")
                .replace(&format!("{}/", published.display()), "CHARTS/")
        };
        let (a, b) = (
            normalise(&from_dir.stdout, &dir_source),
            normalise(&from_oci.stdout, &oci),
        );
        assert!(a.contains("# api (helm-nvcf-api"), "{a}");
        // NATS's charts mint their NKeys per render (the catalog's randomSecrets); every
        // other object is identical.
        let unseeded = |s: &str| {
            s.split("\n---\n")
                .map(|doc| {
                    let minted = doc.contains("kind: Secret")
                        && ["name: nats-nkeys\n", "name: nats-auth-callout-nkeys\n"]
                            .iter()
                            .any(|n| doc.contains(n));
                    if minted { "minted NKeys" } else { doc }
                })
                .collect::<Vec<_>>()
                .join("\n---\n")
        };
        let (a, b) = (unseeded(&a), unseeded(&b));
        let first_difference = a
            .lines()
            .zip(b.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y);
        assert!(
            a == b,
            "{} render differs between dir: and oci+http:// at {first_difference:?}",
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
    let Some(charts) = charts_dir("third_party_charts_come_from_the_configured_mirror") else {
        return;
    };
    let registry = start_registry();
    let home = Home::new();
    push_charts(&home, &charts, &registry);
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
            .arg(charts.join("kai-scheduler"))
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

/// helm's registry config (`$HELM_CONFIG_HOME/registry/config.json`) holding `user:password`
/// for `registry`, as `helm registry login` leaves it.
fn registry_login(config_home: &Path, registry: &Registry, user: &str, password: &str) {
    use base64::Engine as _;
    let dir = config_home.join("registry");
    std::fs::create_dir_all(&dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        dir.join("config.json"),
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            registry.addr
        ),
    )
    .unwrap();
}

/// A site's private chart registry (htpasswd auth): without credentials or with the wrong
/// ones, render stops before anything runs, names the release and the fix, and exits 3
/// (authentication), not 4 (a missing chart) or 7 (unreachable); with them it renders.
#[test]
fn a_registry_refusing_the_credentials_exits_3_naming_the_release() {
    let Some(charts) = charts_dir("a_registry_refusing_the_credentials_exits_3_naming_the_release")
    else {
        return;
    };
    let registry = nvcf_e2e::registry::start_registry_with_auth("nvcf-ci", "right-password-5521");
    let home = Home::new();
    registry_login(
        &home.path().join("helm/config"),
        &registry,
        "nvcf-ci",
        "right-password-5521",
    );
    push_charts(&home, &charts, &registry);
    let oci = format!("oci+http://{}/nvcf", registry.addr);
    let render_with = |config_home: &Path| {
        Run::of(
            home.command(bin("helm-nvcf"))
                .env("HELM_BIN", tools::helm4())
                .env("HELM_CONFIG_HOME", config_home)
                .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
                .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests")
                .args(["render", "--control-plane", "--chart-source", &oci])
                .arg("--stack-config")
                .arg(data("local.yaml")),
        )
    };
    let anonymous = render_with(&home.path().join("anonymous"));
    let wrong_home = home.path().join("wrong");
    registry_login(&wrong_home, &registry, "nvcf-ci", "wrong-password-0007");
    let wrong = render_with(&wrong_home);
    for refused in [&anonymous, &wrong] {
        assert_eq!(refused.code, Some(3), "{refused:#?}");
        assert_eq!(refused.stdout, "", "nothing rendered");
        assert!(
            refused.stderr.contains("nats") && refused.stderr.contains("helm registry login"),
            "names the release and the fix: {}",
            refused.stderr
        );
        assert!(!refused.all().contains("password-"), "{refused:#?}");
    }
    let fine = render_with(&home.path().join("helm/config"));
    fine.expect_success();
    assert!(
        fine.stdout.contains("# api (helm-nvcf-api"),
        "{}",
        fine.stdout
    );
}
