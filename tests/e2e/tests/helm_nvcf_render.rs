//! `helm nvcf render` and `values` on real helm 3 and real helm 4, with the real charts:
//! golden snapshots, `kubectl apply --server-side` on the test cluster, and bad configs.

mod helm_nvcf_support;

use helm_nvcf_support::{charts, data};
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use std::path::Path;
use std::process::Command;

/// `helm-nvcf` as helm starts it: `$HELM_BIN` names the helm that ran us.
fn nvcf(home: &Home, helm: &Path) -> Command {
    let mut cmd = home.command(bin("helm-nvcf"));
    cmd.env("HELM_BIN", helm).current_dir(home.path());
    cmd
}

fn render(home: &Home, charts: &str, helm: &Path, config: &Path, extra: &[&str]) -> Run {
    Run::of(
        nvcf(home, helm)
            .args(["render", "--chart-source", charts, "--stack-config"])
            .arg(config)
            .args(extra)
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests"),
    )
}

#[test]
fn stream_order_puts_namespaces_crds_hooks_and_releases_where_kubectl_needs_them() {
    let Some(charts) =
        charts("stream_order_puts_namespaces_crds_hooks_and_releases_where_kubectl_needs_them")
    else {
        return;
    };
    let home = Home::new();
    let run = render(
        &home,
        &charts,
        &tools::helm4(),
        &data("full-stack.yaml"),
        &[],
    );
    run.expect_success();
    let origins: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .collect();
    let first = |p: &str| origins.iter().position(|o| o.starts_with(p)).unwrap();
    let last = |p: &str| origins.iter().rposition(|o| o.starts_with(p)).unwrap();
    assert!(last("helm-nvcf: namespace") < first("prometheus-operator-crds: crd"));
    assert!(last("nvca-operator: crd") < first("opentelemetry-operator ("));
    assert!(
        last("openbao-server (helm-nvcf-openbao-server 0.30.25): pre-install")
            < first("openbao-server (helm-nvcf-openbao-server 0.30.25): body")
    );
    assert!(
        last("openbao-server (helm-nvcf-openbao-server 0.30.25): body")
            < first("openbao-server (helm-nvcf-openbao-server 0.30.25): post-install")
    );
    assert!(
        last("nats (") < first("openbao-server ("),
        "openbao-server needs nats"
    );
    assert!(last("ess-api (") < first("api ("), "api needs ess-api");
    assert!(
        last("ingress (") < first("kai-scheduler ("),
        "compute plane after control plane"
    );
    assert!(last("grove-operator (") < first("dynamo-operator ("));
    // Delete hooks never reach an install stream.
    assert!(!run.stdout.contains("nvca-operator-pre-delete-cleanup"));
    assert!(!run.stdout.contains("post-delete-cleanup"));
    assert!(run.stdout.contains("name: kai-config-deployer"));
    // The stand-ins leave metadata.namespace out; the stream never does for namespaced kinds.
    let docs: Vec<&str> = run.stdout.split("\n---\n").collect();
    let nvca = docs
        .iter()
        .find(|d| d.contains("kind: Deployment") && d.contains("name: nvca-operator\n"))
        .unwrap();
    assert!(nvca.contains("namespace: nvca-operator"), "{nvca}");
}

#[test]
fn planes_select_their_releases() {
    let Some(charts) = charts("planes_select_their_releases") else {
        return;
    };
    let home = Home::new();
    let control = render(
        &home,
        &charts,
        &tools::helm3(),
        &data("full-stack.yaml"),
        &["--control-plane"],
    );
    control.expect_success();
    assert!(control.stdout.contains("# api (helm-nvcf-api"));
    assert!(!control.stdout.contains("# nvca-operator ("));
    let compute = render(
        &home,
        &charts,
        &tools::helm3(),
        &data("full-stack.yaml"),
        &["--compute-plane"],
    );
    compute.expect_success();
    assert!(compute.stdout.contains("# nvca-operator ("));
    assert!(!compute.stdout.contains("# api (helm-nvcf-api"));
    let both = Run::of(
        nvcf(&home, &tools::helm3())
            .args(["render", "--control-plane", "--compute-plane"])
            .arg("--stack-config")
            .arg(data("full-stack.yaml")),
    );
    assert_eq!(both.code, Some(64), "{both:#?}");
}

#[test]
fn the_profiles_cluster_registration_reaches_the_compute_plane() {
    let Some(charts) = charts("the_profiles_cluster_registration_reaches_the_compute_plane") else {
        return;
    };
    let home = Home::new();
    // What `kubectl nvca register` leaves in a profile's state.
    let profile = home.path().join("gpu-east.yaml");
    std::fs::write(&profile, "{}\n").unwrap();
    std::fs::write(
        home.path().join("gpu-east.yaml.state.json"),
        r#"{"clusterId": "3f0c", "registration": {"clusterId": "3f0c", "clusterGroupId": "9a1b",
            "clusterName": "gpu-east", "ncaId": "nvcf-default", "oidcIssuer": "https://k8s",
            "jwksFingerprint": "sha256:00", "keyIds": ["k1"]}}"#,
    )
    .unwrap();
    let profile_arg = profile.to_str().unwrap();
    let run = render(
        &home,
        &charts,
        &tools::helm4(),
        &data("local.yaml"),
        &["--compute-plane", "--config", profile_arg],
    );
    run.expect_success();
    let config_map = run
        .stdout
        .split("\n---\n")
        .find(|d| d.contains("name: nvcfbackend-self-managed"))
        .unwrap();
    for line in [
        "clusterId: \"3f0c\"",
        "clusterGroupId: \"9a1b\"",
        "clusterName: \"gpu-east\"",
        "ncaID: \"nvcf-default\"",
    ] {
        assert!(config_map.contains(line), "{line}: {config_map}");
    }
    let values = Run::of(
        nvcf(&home, &tools::helm3())
            .args([
                "values",
                "--release",
                "nvca-operator",
                "--query",
                "clusterID",
            ])
            .args(["--config", profile_arg, "--stack-config"])
            .arg(data("local.yaml"))
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests"),
    );
    values.expect_success();
    assert_eq!(values.stdout, "3f0c\n");
    // A stack config naming another compute cluster is refused, naming both.
    let other = home.path().join("other.yaml");
    let text = std::fs::read_to_string(data("local.yaml")).unwrap();
    std::fs::write(
        &other,
        format!("{text}compute: {{clusterName: gpu-west}}\n"),
    )
    .unwrap();
    let refused = render(
        &home,
        &charts,
        &tools::helm4(),
        &other,
        &["--config", profile_arg],
    );
    assert_eq!(refused.code, Some(78), "{refused:#?}");
    assert!(
        refused.stderr.contains("\"gpu-west\"")
            && refused.stderr.contains("`compute.clusterName: gpu-east`"),
        "{}",
        refused.stderr
    );
    // Without a registration the operator registers itself (seed 001): no ids rendered.
    let plain = render(
        &home,
        &charts,
        &tools::helm4(),
        &data("local.yaml"),
        &["--compute-plane"],
    );
    plain.expect_success();
    assert!(
        plain.stdout.contains("clusterId: \"\"\n"),
        "{}",
        plain.stdout
    );
}

#[test]
fn set_and_values_files_reach_the_rendered_objects() {
    let Some(charts) = charts("set_and_values_files_reach_the_rendered_objects") else {
        return;
    };
    let home = Home::new();
    let overlay = home.path().join("overlay.yaml");
    std::fs::write(&overlay, "reval: {reval: {replicaCount: 4}}\n").unwrap();
    let run = render(
        &home,
        &charts,
        &tools::helm4(),
        &data("local.yaml"),
        &[
            "--set",
            "api:api.replicaCount=7",
            "-f",
            overlay.to_str().unwrap(),
        ],
    );
    run.expect_success();
    let doc = |name: &str| {
        run.stdout
            .split("\n---\n")
            .find(|d| d.contains("kind: Deployment") && d.contains(&format!("name: {name}\n")))
            .unwrap()
            .to_owned()
    };
    assert!(doc("nvcf-api").contains("replicas: 7"));
    assert!(doc("reval").contains("replicas: 4"));
    let bad = render(
        &home,
        &charts,
        &tools::helm4(),
        &data("local.yaml"),
        &["--set", "no-such:a=1"],
    );
    assert_eq!(bad.code, Some(4), "{bad:#?}");
    assert!(
        bad.stderr
            .contains("\"no-such\" is not in the stack catalog")
    );
}

#[test]
fn values_prints_effective_values_with_query_semantics_and_masks_passwords() {
    let home = Home::new();
    let cfg = home.path().join("stack.yaml");
    std::fs::write(
        &cfg,
        "registry: r.example\nrepository: o/t\nprofile: production\n\
         passwords: {cassandraSuperuser: {env: CASS_PW}}\n",
    )
    .unwrap();
    let values = |args: &[&str]| {
        Run::of(
            nvcf(&home, &tools::helm3())
                .arg("values")
                .arg("--stack-config")
                .arg(&cfg)
                .args(args)
                .env("CASS_PW", "cassandra-secret-pw"),
        )
    };
    let scalar = values(&[
        "--release",
        "cassandra",
        "--query",
        ".cassandra.replicaCount",
    ]);
    scalar.expect_success();
    assert_eq!(scalar.stdout, "3\n");
    let map = values(&["--release", "cassandra", "--query", "cassandra.dbUser"]);
    map.expect_success();
    assert_eq!(map.stdout, "user: cassandra\npassword: cassandr...\n");
    let all = values(&["--query", "api.api.image"]);
    all.expect_success();
    assert_eq!(
        all.stdout,
        "registry: r.example\nrepository: o/t/nvcf-service-oss\n"
    );
    let repository = values(&["--query", "api.api.image.repository"]);
    assert_eq!(repository.stdout, "o/t/nvcf-service-oss\n");
    assert!(!values(&[]).stdout.contains("cassandra-secret-pw"));
    let missing = values(&["--query", "api.nope"]);
    assert_eq!(missing.code, Some(4), "{missing:#?}");
}

#[test]
fn bad_config_gives_one_error_per_problem_and_renders_nothing() {
    let home = Home::new();
    let cfg = home.path().join("bad.yaml");
    std::fs::write(
        &cfg,
        "repository: YOUR_ORG/YOUR_TEAM\naddons: {llmm: true}\nstorage: {size: big}\n",
    )
    .unwrap();
    // A helm that cannot run: nothing may reach helm before the config is valid.
    let run = Run::of(
        nvcf(&home, Path::new("/nonexistent/helm"))
            .args(["render", "--stack-config"])
            .arg(&cfg),
    );
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert_eq!(run.stdout, "", "nothing rendered");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stderr);
    assert!(lines[0].contains("`repository` still holds the placeholder \"YOUR_ORG/YOUR_TEAM\""));
    assert!(
        lines[1].contains("`addons.llmm` is not a known key")
            && lines[1].contains("did you mean `llm`")
    );
    assert!(lines[2].contains("`storage.size` must be a Kubernetes quantity"));
    assert!(
        lines[3].contains("`registry` is missing") && lines[3].contains("fix: set `registry:`")
    );
    assert!(lines[4].contains("4 problems in the stack config; nothing was rendered"));
}

const SERVICE_PW: &str = "sr-pw-from-secret-7781";
const SUPERUSER_PW: &str = "su-pw-from-secret-4410";

/// Passwords in Kubernetes Secrets: one beside OpenBao (referenced, never copied), the
/// superuser's in another namespace and beside Cassandra.
fn password_secrets(env: &Env, home: &Home) {
    let file = home.path().join("password-secrets.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: vault-system}}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {{name: nvcf-creds}}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {{name: cassandra-system}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: cassandra-su, namespace: cassandra-system}}\n\
             stringData: {{superuser: {SUPERUSER_PW}}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: cassandra-service, namespace: vault-system}}\n\
             stringData: {{password: {SERVICE_PW}}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: cassandra-su, namespace: nvcf-creds}}\n\
             stringData: {{superuser: {SUPERUSER_PW}}}\n"
        ),
    )
    .unwrap();
    env.kubectl_run(&["apply", "-f", file.to_str().unwrap()])
        .unwrap();
}

fn secret_ref_config(home: &Home, superuser_ns: &str, superuser_key: &str) -> std::path::PathBuf {
    let cfg = home
        .path()
        .join(format!("stack-{superuser_ns}-{superuser_key}.yaml"));
    std::fs::write(
        &cfg,
        format!(
            "registry: registry.example.com\nrepository: acme/nvcf\npasswords:\n  \
             cassandraServiceRole: {{secretRef: {{namespace: vault-system, name: cassandra-service, key: password}}}}\n  \
             cassandraSuperuser: {{secretRef: {{namespace: {superuser_ns}, name: cassandra-su, key: {superuser_key}}}}}\n"
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn passwords_come_from_kubernetes_secrets_and_stay_out_of_output() {
    let Some(charts) = charts("passwords_come_from_kubernetes_secrets_and_stay_out_of_output")
    else {
        return;
    };
    let env = Env::shared();
    let home = Home::new();
    password_secrets(env, &home);
    let cfg = secret_ref_config(&home, "nvcf-creds", "superuser");
    let run = |cfg: &Path, args: &[&str], kubeconfig: bool| {
        let mut cmd = nvcf(&home, &tools::helm4());
        cmd.args(args).arg("--stack-config").arg(cfg);
        if kubeconfig {
            cmd.env("KUBECONFIG", env.kubeconfig());
        }
        Run::of(&mut cmd)
    };

    let stream = run(
        &cfg,
        &["render", "--control-plane", "--chart-source", &charts],
        true,
    );
    stream.expect_success();
    let migrations = stream
        .stdout
        .split("\n---\n")
        .find(|d| d.contains("kind: Job") && d.contains("name: openbao-server-migrations\n"))
        .unwrap();
    let env_var: Vec<&str> = migrations
        .lines()
        .skip_while(|l| !l.ends_with("- name: DEFAULT_CASSANDRA_PASSWORD"))
        .take(5)
        .map(str::trim)
        .collect();
    assert_eq!(
        env_var,
        [
            "- name: DEFAULT_CASSANDRA_PASSWORD",
            "valueFrom:",
            "secretKeyRef:",
            "key: password",
            "name: cassandra-service"
        ],
        "{migrations}"
    );
    // The real Cassandra chart takes both passwords only as literal EnvVars of its hook
    // Jobs. Their Secrets are in other namespaces, so only those Jobs carry them, and the
    // user is told which object and how to have it referenced instead.
    let docs: Vec<&str> = stream.stdout.split("\n---\n").collect();
    for pw in [SERVICE_PW, SUPERUSER_PW] {
        assert!(!stream.stderr.contains(pw), "{pw} on stderr");
        for doc in docs.iter().filter(|d| d.contains(pw)) {
            assert!(
                doc.contains("kind: Job") && doc.contains("namespace: cassandra-system"),
                "{pw} outside Cassandra's hook Jobs: {doc}"
            );
        }
    }
    for warning in [
        "passwords.cassandraServiceRole is written as a literal into Job cassandra-system/",
        "passwords.cassandraSuperuser is written as a literal into Job cassandra-system/",
    ] {
        assert!(
            stream.stderr.contains(warning),
            "{warning}: {}",
            stream.stderr
        );
    }
    // With the superuser's Secret beside Cassandra, the Jobs reference it instead.
    let beside = run(
        &secret_ref_config(&home, "cassandra-system", "superuser"),
        &["render", "--control-plane", "--chart-source", &charts],
        true,
    );
    beside.expect_success();
    assert!(
        !beside.stdout.contains(SUPERUSER_PW),
        "superuser password in the stream"
    );
    assert!(
        !beside
            .stderr
            .contains("passwords.cassandraSuperuser is written"),
        "{}",
        beside.stderr
    );
    let init = beside
        .stdout
        .split("\n---\n")
        .find(|d| d.contains("kind: Job") && d.contains("- name: CASSANDRA_PASSWORD"))
        .unwrap();
    let env_var: Vec<&str> = init
        .lines()
        .skip_while(|l| !l.ends_with("- name: CASSANDRA_PASSWORD"))
        .take(5)
        .map(str::trim)
        .collect();
    assert_eq!(
        env_var,
        [
            "- name: CASSANDRA_PASSWORD",
            "valueFrom:",
            "secretKeyRef:",
            "name: cassandra-su",
            "key: superuser"
        ],
        "{init}"
    );

    // The chart takes the superuser password only as a string: values carry it, masked.
    let su = run(
        &cfg,
        &[
            "values",
            "--release",
            "cassandra",
            "--query",
            "cassandra.dbUser.password",
        ],
        true,
    );
    su.expect_success();
    assert_eq!(su.stdout, "su-pw-fr...\n");
    let sr = run(
        &cfg,
        &[
            "values",
            "--release",
            "openbao-server",
            "--query",
            "openbao.migrations.env",
        ],
        true,
    );
    sr.expect_success();
    assert!(sr.stdout.contains("secretKeyRef:"), "{}", sr.stdout);

    // A missing key names the password, the Secret and the fix, and renders nothing.
    let wrong = run(
        &secret_ref_config(&home, "nvcf-creds", "nope"),
        &["render", "--chart-source", &charts],
        true,
    );
    assert_eq!(wrong.code, Some(78), "{wrong:#?}");
    assert_eq!(wrong.stdout, "");
    assert!(
        wrong.stderr.contains(
            "passwords.cassandraSuperuser: Secret nvcf-creds/cassandra-su has no key \"nope\""
        ) && wrong.stderr.contains("kubectl create secret generic"),
        "{}",
        wrong.stderr
    );
    // Without a cluster, the Secrets cannot be read: said so, nothing rendered.
    let offline = run(&cfg, &["render", "--chart-source", &charts], false);
    assert_ne!(offline.code, Some(0), "{offline:#?}");
    assert_eq!(offline.stdout, "");
    assert!(
        offline
            .stderr
            .contains("reads passwords from Kubernetes Secrets (secretRef)"),
        "{}",
        offline.stderr
    );

    // Inline passwords need the opt-in, and are then warned about.
    let inline = home.path().join("inline.yaml");
    std::fs::write(
        &inline,
        "registry: r.example\nrepository: o/t\nallowInlinePasswords: true\n\
         passwords: {cassandraSuperuser: {value: inline-pw-9931}}\n",
    )
    .unwrap();
    let warned = run(&inline, &["values", "--release", "cassandra"], false);
    warned.expect_success();
    assert!(
        warned
            .stderr
            .contains("warning: passwords.cassandraSuperuser is inline"),
        "{}",
        warned.stderr
    );
    assert!(!warned.stdout.contains("inline-pw-9931") && !warned.stderr.contains("inline-pw-9931"));
}

#[test]
fn a_second_render_runs_helm_only_for_the_releases_whose_inputs_changed() {
    let Some(charts) =
        charts("a_second_render_runs_helm_only_for_the_releases_whose_inputs_changed")
    else {
        return;
    };
    let home = Home::new();
    // The real helm 4, behind a script that records which release each `template` renders.
    let log = home.path().join("templates.log");
    let helm = home.path().join("helm");
    std::fs::write(
        &helm,
        format!(
            "#!/bin/sh\n[ \"$1\" = template ] && echo \"$2\" >>'{}'\nexec '{}' \"$@\"\n",
            log.display(),
            tools::helm4().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helm, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let rendered = || {
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        let mut names: Vec<String> = calls.lines().map(str::to_owned).collect();
        names.sort();
        names
    };
    let config = data("local.yaml");
    let first = render(&home, &charts, &helm, &config, &[]);
    first.expect_success();
    let all = rendered();
    assert!(all.len() > 10, "{all:?}");

    // Releases whose charts mint values per render (NATS's nkeys, OpenBao's, certificates)
    // or hold Secrets run helm every time; every other release comes from the cache.
    let again = render(&home, &charts, &helm, &config, &[]);
    again.expect_success();
    let minted = rendered();
    assert!(minted.len() < all.len() / 2, "{minted:?} of {all:?}");
    assert!(minted.contains(&"nats".to_owned()), "{minted:?}");
    let by_release = |stream: &str| -> std::collections::BTreeMap<String, String> {
        let mut docs = std::collections::BTreeMap::<String, String>::new();
        for doc in stream.split("\n---\n") {
            let release = doc
                .lines()
                .find_map(|l| l.strip_prefix("# "))
                .and_then(|o| o.split([' ', ':']).next())
                .unwrap_or_default()
                .to_owned();
            docs.entry(release).or_default().push_str(doc);
        }
        docs
    };
    let (before, after) = (by_release(&first.stdout), by_release(&again.stdout));
    for (release, docs) in &before {
        if !minted.contains(release) {
            assert_eq!(
                &after[release], docs,
                "{release} from the cache is what helm rendered"
            );
        }
    }

    assert!(!minted.contains(&"ess-api".to_owned()), "{minted:?}");
    let edited = render(
        &home,
        &charts,
        &helm,
        &config,
        &["--set", "ess-api:ess.replicaCount=3"],
    );
    edited.expect_success();
    let mut expected = minted.clone();
    expected.push("ess-api".to_owned());
    expected.sort();
    assert_eq!(
        rendered(),
        expected,
        "of the cached releases, only the edited one runs helm"
    );
    assert!(by_release(&edited.stdout)["ess-api"].contains("replicas: 3"));

    let uncached = Run::of(
        nvcf(&home, &helm)
            .args(["render", "--chart-source", &charts, "--stack-config"])
            .arg(&config)
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests")
            .env("NVCF_RENDER_CACHE", "off"),
    );
    uncached.expect_success();
    assert_eq!(
        rendered(),
        all,
        "NVCF_RENDER_CACHE=off renders every release"
    );
    // Nothing secret was written to the cache.
    for entry in std::fs::read_dir(home.path().join(".cache/nvcf-plugins/helm-template")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.lines().any(|l| l.trim() == "kind: Secret"), "{text}");
    }
}
