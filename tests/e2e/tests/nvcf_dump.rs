//! `kubectl nvcf dump` on a real test cluster with a real chart installed: the bundle holds
//! resources, helm releases and log files; Secret values are redacted unless --no-redact.

mod status_support;

use nvcf_e2e::{Home, Run};
use nvcf_testenv::{Env, tools};
use status_support::{apply, helm_install, nvcf};

fn grep_all(dir: &std::path::Path, needle: &str) -> bool {
    let out = std::process::Command::new("grep")
        .args(["-r", "-l", needle])
        .arg(dir)
        .output()
        .unwrap();
    !out.stdout.is_empty()
}

#[test]
fn dump_redacts_secrets_by_default_and_writes_a_tarball() {
    let Some(charts) =
        status_support::charts("dump_redacts_secrets_by_default_and_writes_a_tarball")
    else {
        return;
    };
    let env = Env::start_named("nvcf-dump").unwrap();
    let home = Home::new();
    helm_install(
        &env,
        &home,
        &tools::helm4(),
        &charts,
        "api",
        "helm-nvcf-api",
        "nvcf",
    );
    // "c3VwZXItc2VjcmV0LXZhbHVlLTQyCg==" is base64 of the value.
    apply(
        &env,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: nvcf}\n\
         stringData: {password: super-secret-value-42}\n",
    );
    let encoded = env
        .kubectl_run(&[
            "get",
            "secret",
            "db",
            "-n",
            "nvcf",
            "-o",
            "jsonpath={.data.password}",
        ])
        .unwrap();

    let dir = home.path().join("bundle");
    let run = Run::of(nvcf(&home, &env).args(["dump", "-o"]).arg(&dir));
    run.expect_success();
    assert!(run.stdout.contains("redacted"), "{run:#?}");
    assert!(dir.join("cluster/nvcf/deployment.yaml").exists());
    assert!(dir.join("cluster/nvcf/secret.yaml").exists());
    assert!(dir.join("cluster/helm-releases.yaml").exists());
    assert!(dir.join("cluster/nvcf/logs").is_dir());
    assert!(grep_all(&dir, "nvcf-api"));
    assert!(!grep_all(&dir, &encoded), "the Secret's value leaked");
    assert!(!grep_all(&dir, "super-secret-value-42"));
    assert!(grep_all(&dir, "<redacted>"));

    // Upstream's cluster-dump flags: only some parts, shorter logs, the compute plane only.
    let parts = home.path().join("parts");
    let run = Run::of(
        nvcf(&home, &env)
            .args(["dump", "--include", "helm,logs", "--log-tail", "5"])
            .args(["--max-log-bytes", "100", "-o"])
            .arg(&parts),
    );
    run.expect_success();
    assert!(parts.join("cluster/helm-releases.yaml").exists());
    assert!(parts.join("cluster/nvcf/logs").is_dir());
    assert!(
        !parts.join("cluster/nvcf/deployment.yaml").exists(),
        "no resources"
    );
    let compute = home.path().join("compute");
    Run::of(
        nvcf(&home, &env)
            .args(["dump", "--compute-only", "-o"])
            .arg(&compute),
    )
    .expect_success();
    assert!(
        !compute.join("cluster/nvcf").exists(),
        "control plane left out"
    );
    let bad = Run::of(nvcf(&home, &env).args(["dump", "--include", "everything"]));
    assert_eq!(bad.code, Some(64), "{bad:#?}");
    let zero = Run::of(nvcf(&home, &env).args(["dump", "--log-tail", "0"]));
    assert_eq!(zero.code, Some(64), "{zero:#?}");

    let raw = home.path().join("raw");
    Run::of(
        nvcf(&home, &env)
            .args(["dump", "--no-redact", "-o"])
            .arg(&raw),
    )
    .expect_success();
    assert!(grep_all(&raw, &encoded), "--no-redact keeps the value");

    let tarball = home.path().join("b.tar.gz");
    Run::of(nvcf(&home, &env).args(["dump", "-o"]).arg(&tarball)).expect_success();
    let list = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&tarball)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("./cluster/nvcf/deployment.yaml"), "{list}");
    assert!(list.contains("./summary.yaml"), "{list}");
}
