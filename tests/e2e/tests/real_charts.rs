//! `helm nvcf render` against the real upstream NVCF charts (`NVCF_UPSTREAM_CHARTS`, default
//! `../shared/upstream/charts`) on real helm 3 and helm 4, and the real API server's verdict
//! on what it renders. Stand-ins answer only for third-party charts.

mod helm_nvcf_support;

use helm_nvcf_support::{data, install_gateway_prerequisites};
use nvcf_e2e::{Home, Run, bin, upstream};
use nvcf_testenv::{Env, tools};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;

fn render(home: &Home, helm: &Path, charts: &Path, config: &Path) -> Run {
    Run::of(
        home.command(bin("helm-nvcf"))
            .env("HELM_BIN", helm)
            .current_dir(home.path())
            .args(["render", "--chart-source"])
            .arg(format!("dir:{}", charts.display()))
            .arg("--stack-config")
            .arg(config)
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests"),
    )
}

/// Every `image:` of the stream, unquoted (a folded `>-` value is on the next line).
fn images(stream: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = stream.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let value = l
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("image: ")?;
            let value = if value.starts_with(['>', '|']) {
                lines.get(i + 1)?.trim()
            } else {
                value
            };
            Some(value.trim_matches(['"', '\'']).to_owned())
        })
        .collect()
}

/// The origin comments (`# RELEASE (CHART VERSION): phase`): which releases reached the
/// stream.
fn releases(stream: &str) -> BTreeSet<String> {
    stream
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter_map(|l| l.split_whitespace().next())
        .map(|r| r.trim_end_matches(':').to_owned())
        .collect()
}

/// The stream with the data of the Secrets the NATS charts mint on every offline render
/// (catalog `randomSecrets`) blanked: the one part of a render that may change.
fn without_minted(stream: &str) -> String {
    let text = format!("\n{stream}");
    text.split("\n---\n")
        .skip(1)
        .map(|doc| {
            let minted = doc.contains("\nkind: Secret\n")
                && (doc.contains("\n  name: nats-nkeys\n")
                    || doc.contains("\n  name: nats-auth-callout-nkeys\n"));
            if minted {
                let head: Vec<&str> = doc.lines().take_while(|l| *l != "data:").collect();
                format!("---\n{}\ndata: MINTED\n", head.join("\n"))
            } else {
                format!("---\n{doc}\n")
            }
        })
        .collect()
}

#[test]
fn every_release_renders_from_the_real_charts_byte_identical_on_helm3_and_helm4() {
    let Some(real) = upstream::charts("every_release_renders_from_the_real_charts") else {
        return;
    };
    let home = Home::new();
    let charts = upstream::prepared_stack(&real, home.path());
    let config = data("full-stack.yaml");
    let mut streams = Vec::new();
    for helm in [tools::helm3(), tools::helm4()] {
        let run = render(&home, &helm, &charts, &config);
        assert_eq!(run.code, Some(0), "{}: {}", helm.display(), run.stderr);
        let again = render(&home, &helm, &charts, &config);
        assert_ne!(
            run.stdout, again.stdout,
            "offline renders mint NATS keys anew"
        );
        assert_eq!(
            without_minted(&run.stdout),
            without_minted(&again.stdout),
            "otherwise byte-identical across runs"
        );
        streams.push(without_minted(&run.stdout));
    }
    // helm 4 keeps trailing blanks in a few templated config strings (the api-keys vault
    // agent template) that helm 3 trims; everything else is the same, byte for byte.
    let blanks_trimmed = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.trim_end().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    };
    assert_eq!(
        blanks_trimmed(&streams[0]),
        blanks_trimmed(&streams[1]),
        "helm 3 and helm 4 render the same stream"
    );
    // The contract, reviewable: every object with its release, kind, namespace, name and
    // images, in stream order.
    let index: Vec<String> = upstream::our_objects(&streams[0])
        .into_iter()
        .map(|(release, api, kind, ns, name, images)| {
            format!("{release}\t{api}\t{kind}\t{ns}\t{name}\t{images}")
        })
        .collect();
    insta::assert_snapshot!("real_stack_index", index.join("\n"));
    // Every workload the catalog names (status, check, down and ops read them) is one the
    // real charts render, under that name.
    let rows = upstream::our_objects(&streams[0]);
    let catalog: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/stack/catalog.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    for release in catalog["releases"].as_array().unwrap() {
        let name = release["name"].as_str().unwrap();
        if !rows.iter().any(|r| r.0 == name) {
            continue;
        }
        for w in release["workloads"].as_array().into_iter().flatten() {
            let kind = w["kind"].as_str().unwrap();
            if !matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet") {
                continue;
            }
            let wname = w["name"].as_str().unwrap();
            assert!(
                rows.iter()
                    .any(|r| r.0 == name && r.2 == kind && r.4 == wname),
                "the catalog's {kind}/{wname} of {name} is not rendered by the real chart"
            );
        }
    }
    let stream = &streams[0];
    let rendered = releases(stream);
    for release in [
        "nats",
        "cert-manager",
        "openbao-server",
        "nvcf-pki",
        "cassandra",
        "api-keys",
        "sis",
        "ess-api",
        "nvct-api",
        "notary-service",
        "admin-issuer-proxy",
        "reval",
        "nats-auth-callout-service",
        "api",
        "invocation-service",
        "grpc-proxy",
        "ratelimiter",
        "llm-request-router",
        "llm-api-gateway",
        "vanity-gateway",
        "nvcf-ui",
        "ingress",
        "otel-collector",
        "default-monitors",
        "function-autoscaler",
        "nvca-operator",
    ] {
        assert!(
            rendered.contains(release),
            "{release} is missing: {rendered:?}"
        );
    }
    // Every NVCF image comes from the operator's registry and repository, with a tag. The
    // third-party charts keep their own public images, as upstream leaves them.
    let third_party: BTreeSet<String> = upstream::our_objects(stream)
        .into_iter()
        .filter(|r| {
            [
                "kai-scheduler",
                "grove-operator",
                "dynamo-operator",
                "prometheus-operator-crds",
                "opentelemetry-operator",
                "victoria-metrics",
            ]
            .contains(&r.0.as_str())
        })
        .flat_map(|r| r.5.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let all = images(stream);
    // Upstream itself pulls the OpenTelemetry collector from its public registry (the
    // nvcf-otel-collector chart's default, which global.yaml.gotmpl leaves in place).
    let ours: Vec<&String> = all
        .iter()
        .filter(|i| {
            !third_party.contains(*i)
                && !i.starts_with("stand-in/")
                && !i.starts_with("ghcr.io/open-telemetry/")
        })
        .collect();
    assert!(ours.len() > 20, "{ours:?}");
    for image in &ours {
        assert!(
            image.starts_with("registry.example.com/acme/nvcf/"),
            "{image} is not from the configured registry"
        );
        let name = image.rsplit('/').next().unwrap();
        assert!(
            name.contains(':') || name.contains('@'),
            "{image} has no tag"
        );
    }
}

#[test]
fn a_chart_missing_its_subcharts_fails_before_anything_runs() {
    let Some(real) = upstream::charts("a_chart_missing_its_subcharts_fails") else {
        return;
    };
    let home = Home::new();
    let run = render(&home, &tools::helm3(), &real, &data("full-stack.yaml"));
    assert_eq!(run.code, Some(66), "{run:#?}");
    assert!(run.stdout.is_empty(), "nothing is rendered: {}", run.stdout);
    for needle in [
        "release nats",
        "nats 1.3.15",
        "openbao-server",
        "openbao 0.28.3",
        "helm dependency build",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
}

fn kubectl_apply(env: &Env, stream: &str, extra: &[&str]) -> Run {
    let mut cmd = env.kubectl();
    cmd.args([
        "apply",
        "--server-side",
        "--field-manager",
        "real-charts-e2e",
        "-f",
        "-",
    ])
    .args(extra)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Splits the stream into (CRDs and Namespaces, everything else).
fn split_prerequisites(stream: &str) -> (String, String) {
    let mut first = String::new();
    let mut rest = String::new();
    for doc in stream.split("\n---\n") {
        let target = if doc.contains("\nkind: CustomResourceDefinition\n")
            || doc.contains("\nkind: Namespace\n")
        {
            &mut first
        } else {
            &mut rest
        };
        target.push_str(doc);
        target.push_str("\n---\n");
    }
    (first, rest)
}

#[test]
fn the_real_stack_render_is_accepted_by_the_api_server() {
    let Some(real) = upstream::charts("the_real_stack_render_is_accepted_by_the_api_server") else {
        return;
    };
    let env = Env::shared();
    install_gateway_prerequisites(env);
    let home = Home::new();
    let charts = upstream::prepared_stack(&real, home.path());
    let run = render(&home, &tools::helm3(), &charts, &data("full-stack.yaml"));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (prerequisites, rest) = split_prerequisites(&run.stdout);
    let applied = kubectl_apply(env, &prerequisites, &["--force-conflicts"]);
    assert_eq!(applied.code, Some(0), "{applied:#?}");
    env.kubectl_run(&[
        "wait",
        "--for=condition=Established",
        "crd",
        "--all",
        "--timeout=120s",
    ])
    .unwrap();
    let dry = kubectl_apply(env, &rest, &["--dry-run=server"]);
    assert_eq!(dry.code, Some(0), "{}", dry.stderr);
    let accepted = dry.stdout.lines().count();
    let documents = rest.matches("\nkind: ").count();
    assert_eq!(accepted, documents, "every object accepted: {}", dry.stdout);
}

#[test]
fn a_value_the_charts_schema_refuses_names_the_release_and_renders_nothing() {
    let Some(real) = upstream::charts("a_value_the_charts_schema_refuses") else {
        return;
    };
    let home = Home::new();
    let charts = upstream::prepared_stack(&real, home.path());
    let run = Run::of(
        home.command(bin("helm-nvcf"))
            .env("HELM_BIN", tools::helm3())
            .current_dir(home.path())
            .args(["render", "--chart-source"])
            .arg(format!("dir:{}", charts.display()))
            .arg("--stack-config")
            .arg(data("full-stack.yaml"))
            .args(["--set", "vanity-gateway:vanityGateway.image=one-string"]),
    );
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert!(run.stdout.is_empty(), "nothing is rendered");
    assert!(run.stderr.contains("vanity-gateway"), "{}", run.stderr);
    assert!(
        // helm 3 names the path `vanityGateway.image`, helm 4 `/vanityGateway/image`.
        run.stderr.contains("vanityGateway.image") || run.stderr.contains("/vanityGateway/image"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("values.schema.json"), "{}", run.stderr);
}

/// The real stack applied as a stream, as `helm nvcf render | kubectl apply -f -` does:
/// every object is created, Deployments become Available and hook Jobs complete (KWOK runs
/// the pods), and a render against the live stack keeps the NATS keys the cluster holds.
#[test]
fn the_real_stream_applies_and_its_jobs_and_deployments_complete() {
    let Some(real) = upstream::charts("the_real_stream_applies") else {
        return;
    };
    let env = Env::start_named("real-apply").expect("a test cluster of its own");
    install_gateway_prerequisites(&env);
    let home = Home::new();
    let charts = upstream::prepared_stack(&real, home.path());
    let run = render(&home, &tools::helm3(), &charts, &data("local.yaml"));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let applied = kubectl_apply(&env, &run.stdout, &[]);
    assert_eq!(applied.code, Some(0), "{applied:#?}");
    let stream = home.path().join("stream.yaml");
    std::fs::write(&stream, &run.stdout).unwrap();
    let got = env
        .kubectl_run(&["get", "-f", stream.to_str().unwrap(), "-o", "name"])
        .unwrap();
    let objects = run.stdout.matches("\n---\n").count() + 1;
    assert_eq!(got.lines().count(), objects, "every object exists: {got}");
    for ns in [
        "nvcf",
        "api-keys",
        "sis",
        "ess",
        "nats-system",
        "cert-manager",
        "nvca-operator",
    ] {
        env.kubectl_run(&[
            "wait",
            "--for=condition=Available",
            "deployment",
            "--all",
            "-n",
            ns,
            "--timeout=180s",
        ])
        .unwrap_or_else(|e| panic!("deployments in {ns}: {e:#}"));
    }
    for ns in ["vault-system", "cassandra-system", "nvcf"] {
        env.kubectl_run(&[
            "wait",
            "--for=condition=Complete",
            "job",
            "--all",
            "-n",
            ns,
            "--timeout=180s",
        ])
        .unwrap_or_else(|e| panic!("jobs in {ns}: {e:#}"));
    }
    // Against the live stack, the minted NATS keys are the cluster's: helm 3 and helm 4
    // render the same stream, carrying them.
    let live = env
        .kubectl_run(&[
            "get",
            "secret",
            "nats-nkeys",
            "-n",
            "nats-system",
            "-o",
            "jsonpath={.data.user\\.key}",
        ])
        .unwrap();
    assert!(!live.trim().is_empty());
    let reuse = |helm: &std::path::Path| {
        let run = Run::of(
            home.command(bin("helm-nvcf"))
                .env("HELM_BIN", helm)
                .current_dir(home.path())
                .args(["render", "--reuse-live-secrets", "--chart-source"])
                .arg(format!("dir:{}", charts.display()))
                .arg("--stack-config")
                .arg(data("local.yaml"))
                .env("KUBECONFIG", env.kubeconfig())
                .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests"),
        );
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        run.stdout
    };
    let (three, four) = (reuse(&tools::helm3()), reuse(&tools::helm4()));
    assert!(
        three.contains(&format!("  user.key: {}", live.trim())),
        "live key kept"
    );
    let trimmed = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.trim_end().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    };
    assert_eq!(
        trimmed(&three),
        trimmed(&four),
        "the same stream with live secrets"
    );
    assert_eq!(kubectl_apply(&env, &three, &[]).code, Some(0));
}
