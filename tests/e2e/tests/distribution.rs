//! Release archives, krew manifests and the helm plugin tarball, installed by the real krew,
//! kubectl, helm 3 and helm 4.

use nvcf_e2e::http::FileServer;
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::tools;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A throwaway release-signing key in its own GNUPGHOME, plus the legacy binary keyring helm
/// verifies against (helm cannot read gpg 2's keybox).
struct SigningKey {
    gnupg_home: PathBuf,
    keyring: PathBuf,
}

const SIGNER: &str = "nvcf-plugins test release <release@example.invalid>";

fn signing_key(root: &Path) -> SigningKey {
    let gnupg_home = root.join("gnupg");
    std::fs::create_dir(&gnupg_home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gnupg_home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let gpg = || {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", &gnupg_home).arg("--batch");
        cmd
    };
    Run::of(
        gpg()
            .args(["--passphrase", "", "--quick-gen-key", SIGNER])
            .args(["rsa3072", "sign", "never"]),
    )
    .expect_success();
    let keyring = root.join("pubring.gpg");
    Run::of(
        gpg()
            .arg("--output")
            .arg(&keyring)
            .args(["--export", SIGNER]),
    )
    .expect_success();
    SigningKey {
        gnupg_home,
        keyring,
    }
}

/// Runs the release script on the binaries this test run built, into `out`.
fn dist_into(out: &Path, base_url: &str, key: &SigningKey) {
    let bin_dir = bin("kubectl-nvcf").parent().unwrap().to_path_buf();
    for b in [
        "kubectl-nvca",
        "helm-nvcf",
        "kubectl_complete-nvcf",
        "kubectl_complete-nvca",
        "nvcf-cli",
    ] {
        bin(b);
    }
    let run = Run::of(
        Command::new(workspace().join("tests/release/dist.sh"))
            .env("GNUPGHOME", &key.gnupg_home)
            .arg("--out")
            .arg(out)
            .arg("--manifests")
            .arg(out)
            .arg("--bin-dir")
            .arg(&bin_dir)
            .args(["--base-url", base_url])
            .args(["--sign-key", SIGNER]),
    );
    run.expect_success();
}

/// One release, built once per test binary and served on loopback the way the manifests'
/// URIs expect: `<server>/v<version>/<archive>`.
struct Release {
    out: PathBuf,
    server: FileServer,
    key: SigningKey,
    _root: tempfile::TempDir,
}

fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join(format!("v{VERSION}"));
        let server = FileServer::start(root.path());
        let key = signing_key(root.path());
        dist_into(&out, &server.url(), &key);
        Release {
            out,
            server,
            key,
            _root: root,
        }
    })
}

fn archive(out: &Path, plugin: &str) -> PathBuf {
    out.join(format!("kubectl-{plugin}_v{VERSION}_linux_amd64.tar.gz"))
}

fn krew(home: &Home) -> Command {
    let mut cmd = home.command(tools::krew());
    cmd.env("KREW_ROOT", home.path().join("krew"));
    cmd
}

fn kubectl(home: &Home) -> Command {
    let mut cmd = home.command(tools::kubectl());
    let path = format!(
        "{}:{}",
        home.path().join("krew/bin").display(),
        tools::kubectl().parent().unwrap().display()
    );
    cmd.env("PATH", path);
    cmd
}

fn assert_plugins_listed(home: &Home, present: bool) {
    let run = Run::of(kubectl(home).args(["plugin", "list"]));
    let all = run.all();
    for name in ["kubectl-nvcf", "kubectl-nvca"] {
        assert_eq!(all.contains(&format!("/{name}\n")), present, "{run:#?}");
    }
    if present {
        assert!(!all.to_lowercase().contains("warning"), "{run:#?}");
    }
}

/// The archives hold what the manifests name, and every checksum file matches its archive.
#[test]
fn archives_and_manifests_agree() {
    let out = &release().out;
    for plugin in ["nvcf", "nvca"] {
        let listing = Run::of(Command::new("tar").arg("tzf").arg(archive(out, plugin)));
        let mut files: Vec<&str> = listing.stdout.lines().collect();
        files.sort();
        let kubectl_plugin = format!("kubectl-{plugin}");
        let completer = format!("kubectl_complete-{plugin}");
        let mut expected = vec!["LICENSE", kubectl_plugin.as_str(), completer.as_str()];
        if plugin == "nvcf" {
            expected.push("nvcf-cli");
        }
        assert_eq!(files, expected);
        let manifest = std::fs::read_to_string(out.join(format!("kubectl-{plugin}.yaml"))).unwrap();
        let sum =
            std::fs::read_to_string(format!("{}.sha256", archive(out, plugin).display())).unwrap();
        let sum = sum.split_whitespace().next().unwrap();
        assert!(manifest.contains(&format!("sha256: {sum}\n")), "{manifest}");
        assert!(manifest.contains(&format!("  version: v{VERSION}\n")));
        assert!(manifest.contains(&format!("name: {plugin}\n")));
        let check = Run::of(
            Command::new("sha256sum")
                .arg("-c")
                .arg(format!("{}.sha256", archive(out, plugin).display()))
                .current_dir(out),
        );
        check.expect_success();
    }
    // Reproducible: a second run produces byte-identical archives.
    let again = tempfile::tempdir().unwrap();
    dist_into(again.path(), &release().server.url(), &release().key);
    let second = std::fs::read(again.path().join(format!("helm-nvcf-{VERSION}.tgz"))).unwrap();
    assert_eq!(
        std::fs::read(out.join(format!("helm-nvcf-{VERSION}.tgz"))).unwrap(),
        second
    );
}

#[test]
fn krew_installs_runs_and_uninstalls_both_plugins() {
    let home = Home::new();
    let out = &release().out;

    // 1. From the manifest and the local archive.
    for plugin in ["nvcf", "nvca"] {
        let run = Run::of(
            krew(&home)
                .arg("install")
                .arg(format!(
                    "--manifest={}",
                    out.join(format!("kubectl-{plugin}.yaml")).display()
                ))
                .arg(format!("--archive={}", archive(out, plugin).display())),
        );
        run.expect_success();
    }
    assert_plugins_listed(&home, true);
    for plugin in ["nvcf", "nvca"] {
        let run = Run::of(kubectl(&home).args([plugin, "version", "-o", "name"]));
        run.expect_success();
        assert_eq!(run.stdout, format!("kubectl-{plugin}/{VERSION}\n"));
    }

    // krew's uninstall needs an index: a local git repository with plugins/*.yaml, which
    // is also how an air-gapped site distributes the plugins.
    let index = home.path().join("index");
    std::fs::create_dir_all(index.join("plugins")).unwrap();
    for plugin in ["nvcf", "nvca"] {
        std::fs::copy(
            out.join(format!("kubectl-{plugin}.yaml")),
            index.join(format!("plugins/{plugin}.yaml")),
        )
        .unwrap();
    }
    let git = |args: &[&str], dir: &Path| {
        Run::of(
            home.command("git")
                .args(["-c", "user.email=e2e@localhost", "-c", "user.name=e2e"])
                .args(args)
                .current_dir(dir),
        )
        .expect_success();
    };
    git(&["init", "-q"], &index);
    git(&["add", "."], &index);
    git(&["commit", "-qm", "index"], &index);
    let default_index = home.path().join("krew/index/default");
    git(
        &[
            "clone",
            "-q",
            index.to_str().unwrap(),
            default_index.to_str().unwrap(),
        ],
        home.path(),
    );

    Run::of(krew(&home).args(["uninstall", "nvcf", "nvca"])).expect_success();
    assert_plugins_listed(&home, false);

    // 2. From the index: krew downloads each manifest's uri and checks its sha256.
    Run::of(krew(&home).args(["install", "nvcf", "nvca"])).expect_success();
    assert_plugins_listed(&home, true);
    Run::of(kubectl(&home).args(["nvca", "version", "-o", "name"])).expect_success();
    Run::of(krew(&home).args(["uninstall", "nvcf", "nvca"])).expect_success();
    assert_plugins_listed(&home, false);
}

#[test]
fn a_tampered_archive_is_refused_by_krew() {
    let home = Home::new();
    let out = &release().out;
    let tampered = home.path().join("tampered.tar.gz");
    let mut bytes = std::fs::read(archive(out, "nvcf")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&tampered, bytes).unwrap();
    let run = Run::of(
        krew(&home)
            .arg("install")
            .arg(format!(
                "--manifest={}",
                out.join("kubectl-nvcf.yaml").display()
            ))
            .arg(format!("--archive={}", tampered.display())),
    );
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(run.all().contains("checksum does not match"), "{run:#?}");
}

fn helm(home: &Home, helm: &Path) -> Command {
    let mut cmd = home.command(helm);
    cmd.env("HELM_DATA_HOME", home.path().join("helm/data"))
        .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
        .env("HELM_CACHE_HOME", home.path().join("helm/cache"));
    cmd
}

#[test]
fn the_helm_tarball_installs_on_helm3_and_helm4() {
    let release = release();
    let tarball = format!("helm-nvcf-{VERSION}.tgz");
    let url = format!("{}/v{VERSION}/{tarball}", release.server.url());
    let keyring = release.key.keyring.display().to_string();
    // helm 3 installs tarballs from URLs; helm 4 also from a local file, and verifies the
    // .prov next to the tarball by default (no --verify=false anywhere here).
    let cases: [(PathBuf, Vec<String>); 3] = [
        (tools::helm3(), vec![url.clone()]),
        (
            tools::helm4(),
            vec![
                release.out.join(&tarball).display().to_string(),
                "--keyring".into(),
                keyring.clone(),
            ],
        ),
        (tools::helm4(), vec![url, "--keyring".into(), keyring]),
    ];
    for (helm_bin, source) in cases {
        let h = Home::new();
        let install = Run::of(
            helm(&h, &helm_bin)
                .args(["plugin", "install"])
                .args(&source),
        );
        install.expect_success();
        if helm_bin == tools::helm4() {
            assert!(
                install.all().contains("Plugin Hash Verified: sha256:"),
                "helm 4 did not verify the provenance: {install:#?}"
            );
        }
        let run = Run::of(helm(&h, &helm_bin).args(["nvcf", "version", "-o", "name"]));
        run.expect_success();
        assert_eq!(run.stdout, format!("helm-nvcf/{VERSION}\n"));
        Run::of(helm(&h, &helm_bin).args(["plugin", "uninstall", "nvcf"])).expect_success();
        let run = Run::of(helm(&h, &helm_bin).args(["nvcf", "version"]));
        assert_ne!(run.code, Some(0), "uninstalled plugin still runs: {run:#?}");
    }
}

#[test]
fn helm4_refuses_a_tampered_or_foreign_signed_tarball() {
    let release = release();
    let tarball = format!("helm-nvcf-{VERSION}.tgz");
    let prov = format!("{tarball}.prov");
    let tmp = tempfile::tempdir().unwrap();

    let verify = |dir: &Path, keyring: &Path| {
        let h = Home::new();
        Run::of(
            helm(&h, &tools::helm4())
                .args(["plugin", "install"])
                .arg(dir.join(&tarball))
                .arg("--keyring")
                .arg(keyring),
        )
    };

    let tampered = tmp.path().join("tampered");
    std::fs::create_dir(&tampered).unwrap();
    let mut bytes = std::fs::read(release.out.join(&tarball)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(tampered.join(&tarball), bytes).unwrap();
    std::fs::copy(release.out.join(&prov), tampered.join(&prov)).unwrap();
    let run = verify(&tampered, &release.key.keyring);
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(run.all().contains("sha256 sum does not match"), "{run:#?}");

    let stranger_home = tmp.path().join("stranger");
    std::fs::create_dir(&stranger_home).unwrap();
    let stranger = signing_key(&stranger_home);
    let run = verify(&release.out, &stranger.keyring);
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(run.all().to_lowercase().contains("signature"), "{run:#?}");
}
