//! `kubectl nvca validate`: upstream's `cluster agent validate` checks, judged through the
//! check Runner (exit 2 on any failure). All but the optional HTTP probe of the agent
//! (`--nvca-url`) and a NATS server outside the cluster need only the Kubernetes API.

use super::bootstrap::{AGENT_NAMESPACE, OPERATOR_DEPLOYMENT};
use super::maintenance::AGENT_DEPLOYMENT;
use super::uninstall::OPERATOR_NAMESPACE;
use crate::base::checks::spec;
use crate::base::events::Severity;
use crate::clients::kube::Objects;
use crate::clients::kube::probes::gpu_inventory;
use crate::clients::registry::docker_config::{self, Decoded, host_of, image_host};
use crate::{
    base::checks::{Runner, Spec, Status, Verdict},
    clients::registry::judge::judge_decoded,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Check {
    NvcaReachable,
    GpuCapacity,
    NatsHealth,
    PullSecret,
    TlsCert,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The checks to run (all when empty), in the catalogue's order.
    pub checks: Vec<Check>,
    pub fail_fast: bool,
    /// Where the operator keeps its NVCFBackend and cluster config.
    pub backend_namespace: String,
    /// The agent's own HTTP address: `/livez` and `/version` are probed when given.
    pub nvca_url: Option<String>,
}

const NVCA_HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

const REACHABLE: Spec = spec(
    "nvca-reachable",
    "NVCA agent deployment ready",
    "see why the agent is not ready: kubectl describe deployment nvca -n nvca-system; {nvca} doctor",
);
const GPU: Spec = spec(
    "gpu-capacity",
    "GPUs allocatable on this cluster",
    "check the GPU operator: kubectl get pods -n gpu-operator; nodes must advertise nvidia.com/gpu",
);
const NATS: Spec = spec(
    "nats-health",
    "NATS server of the agent reachable",
    "check NATS on the control plane (kubectl get pods -n nats-system) and the operator's selfManaged.natsURL; {nvca} values shows what it is given",
);
pub(super) const PULL: Spec = spec(
    "pull-secret",
    "image pull secrets of the operator and agent exist and log in to their registries",
    "create the secret named in the message: kubectl create secret docker-registry NAME -n NAMESPACE --docker-server=nvcr.io --docker-username='$oauthtoken' --docker-password=…",
);

const TLS: Spec = spec(
    "tls-cert",
    "TLS certificates of the operator and agent valid",
    "renew the certificate named in the message (cert-manager: kubectl cert-manager renew; else replace the kubernetes.io/tls Secret)",
);
const TLS_SOON: Spec = Spec {
    severity: Severity::Warning,
    ..TLS
};

/// A certificate closer than this to its end is a warning (upstream: 30 days).
const RENEW_WITHIN: time::Duration = time::Duration::days(30);

/// Runs the chosen checks; with `fail_fast` stops after the first failure.
pub async fn run(runner: &mut Runner, client: &kube::Client, opts: &Options) {
    let identity = super::backend::identity(client, &opts.backend_namespace, "")
        .await
        .ok()
        .filter(|i| i.has_backend);
    runner.begin_category(&match identity {
        Some(i) => format!("NVCA agent of cluster {}", i.cluster_name),
        None => "NVCA agent".to_owned(),
    });
    let all = [
        Check::NvcaReachable,
        Check::GpuCapacity,
        Check::NatsHealth,
        Check::PullSecret,
        Check::TlsCert,
    ];
    let chosen: Vec<Check> = if opts.checks.is_empty() {
        all.to_vec()
    } else {
        all.into_iter()
            .filter(|c| opts.checks.contains(c))
            .collect()
    };
    for check in chosen {
        let status = match check {
            Check::NvcaReachable => {
                runner
                    .check(REACHABLE, reachable(client, opts.nvca_url.as_deref()))
                    .await
            }
            Check::GpuCapacity => runner.check(GPU, gpus(client)).await,
            Check::NatsHealth => {
                runner
                    .check(NATS, super::nats::health(client, &opts.backend_namespace))
                    .await
            }
            Check::PullSecret => runner.check(PULL, pull_secrets(client)).await,
            Check::TlsCert => {
                // The severity depends on what is found: expired fails, expiring warns.
                let (verdict, expired) = tls(client).await;
                let spec = if expired { TLS } else { TLS_SOON };
                runner.check(spec, async { verdict }).await
            }
        };
        if opts.fail_fast && status == crate::base::checks::Status::Failed {
            return;
        }
    }
}

async fn deployment(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<Option<Deployment>, String> {
    Objects::<Deployment>::namespaced(client, ns)
        .get_opt(name)
        .await
        .map_err(|e| e.to_string())
}

async fn reachable(client: &kube::Client, nvca_url: Option<&str>) -> Verdict {
    let deployed = deployment_ready(client).await;
    match (deployed.status, nvca_url) {
        (crate::base::checks::Status::Passed, Some(url)) => match probe_http(url).await {
            Ok(seen) => Verdict::pass(format!("{}; {seen}", deployed.message.unwrap_or_default())),
            Err(e) => Verdict::fail(format!("{}; but {e}", deployed.message.unwrap_or_default())),
        },
        _ => deployed,
    }
}

/// `GET /livez` must answer 2xx; `GET /version` is reported as the agent gives it.
async fn probe_http(base: &str) -> Result<String, String> {
    let http = reqwest::Client::builder()
        .timeout(NVCA_HTTP_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let base = base.trim_end_matches('/');
    let get = |path: &'static str| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let resp =
                http.get(&url).send().await.map_err(|e| {
                    format!("{url}: {}", crate::clients::nvcf::problem::root_cause(&e))
                })?;
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            if status.is_success() {
                Ok(body)
            } else {
                Err(format!("{url} answered {status}"))
            }
        }
    };
    get("/livez").await?;
    let version = get("/version").await?;
    let version: String = version.trim().chars().take(120).collect();
    Ok(format!("{base}/livez ok, version {version}"))
}

async fn deployment_ready(client: &kube::Client) -> Verdict {
    match deployment(client, AGENT_NAMESPACE, AGENT_DEPLOYMENT).await {
        Err(e) => Verdict::fail(e),
        Ok(None) => Verdict::fail(format!(
            "deployment/{AGENT_DEPLOYMENT} not found in {AGENT_NAMESPACE}: the operator has not created the agent"
        )),
        Ok(Some(d)) => {
            let want = d.spec.replicas.unwrap_or(1);
            let ready = d
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            if ready >= want && want > 0 {
                Verdict::pass(format!("{ready}/{want} ready"))
            } else {
                Verdict::fail(format!(
                    "deployment/{AGENT_DEPLOYMENT}: {ready}/{want} ready"
                ))
            }
        }
    }
}

async fn gpus(client: &kube::Client) -> Verdict {
    match gpu_inventory(client).await {
        Err(e) => Verdict::fail(e.to_string()),
        Ok(inv) if inv.is_empty() => Verdict::fail("no node advertises nvidia.com/gpu"),
        Ok(inv) => Verdict::pass(
            inv.iter()
                .map(|(product, (nodes, gpus))| format!("{gpus} × {product} on {nodes} node(s)"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

/// The operator's and agent's pull secrets exist, and together hold credentials that log in
/// to every registry their images come from.
pub(super) async fn pull_secrets(client: &kube::Client) -> Verdict {
    let mut wanted: Vec<(&str, String)> = Vec::new();
    let mut hosts: Vec<String> = Vec::new();
    for (ns, name) in [
        (OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT),
        (AGENT_NAMESPACE, AGENT_DEPLOYMENT),
    ] {
        match deployment(client, ns, name).await {
            Err(e) => return Verdict::fail(e),
            Ok(None) => {}
            Ok(Some(d)) => {
                let pod = d.spec.template.spec.unwrap_or_default();
                let refs = pod.image_pull_secrets.clone().unwrap_or_default();
                if refs.is_empty() {
                    // It pulls without a secret of its own: not ours to judge.
                    continue;
                }
                for c in pod
                    .containers
                    .iter()
                    .chain(pod.init_containers.iter().flatten())
                {
                    let host = image_host(c.image.as_deref().unwrap_or_default());
                    if !hosts.contains(&host) {
                        hosts.push(host);
                    }
                }
                wanted.extend(refs.into_iter().map(|r| (ns, r.name)));
            }
        }
    }
    if wanted.is_empty() {
        return Verdict::skip("neither the operator nor the agent names an image pull secret");
    }
    let mut missing = Vec::new();
    let mut found = Decoded::default();
    for (ns, name) in &wanted {
        match Objects::<Secret>::namespaced(client, ns)
            .get_opt(name)
            .await
        {
            Ok(Some(secret)) => {
                let data = secret.data.unwrap_or_default();
                let Some(bytes) = data.get(".dockerconfigjson") else {
                    return Verdict::fail(format!("{ns}/{name} has no .dockerconfigjson key"));
                };
                match docker_config::decode(&bytes.0) {
                    Ok(d) => {
                        found.entries.extend(d.entries);
                        found.problems.extend(d.problems);
                    }
                    Err(e) => return Verdict::fail(format!("{ns}/{name}: {e}")),
                }
            }
            Ok(None) => missing.push(format!("{ns}/{name}")),
            Err(e) => return Verdict::fail(e.to_string()),
        }
    }
    if !missing.is_empty() {
        return Verdict::fail(format!("missing: {}", missing.join(", ")));
    }
    // Only the registries the images come from matter; a secret may name others too.
    found
        .entries
        .retain(|e| hosts.contains(&host_of(&e.server)));
    found
        .problems
        .retain(|p| hosts.contains(&host_of(&p.server)));
    let names: Vec<String> = wanted.iter().map(|(ns, n)| format!("{ns}/{n}")).collect();
    let verdict = judge_decoded(&found, &hosts).await;
    match verdict.status {
        Status::Passed => Verdict::pass(format!(
            "{}: {}",
            names.join(", "),
            verdict.detail.unwrap_or_default()
        )),
        _ => verdict,
    }
}

/// The verdict, and whether a failure is an expiry (an error) rather than a near one.
async fn tls(client: &kube::Client) -> (Verdict, bool) {
    let now = time::OffsetDateTime::now_utc();
    let mut seen = Vec::new();
    let (mut expired, mut soon) = (Vec::new(), Vec::new());
    for ns in [OPERATOR_NAMESPACE, AGENT_NAMESPACE] {
        let params = kube::api::ListParams::default().fields("type=kubernetes.io/tls");
        let list = match Objects::<Secret>::namespaced(client, ns)
            .list(&params)
            .await
        {
            Ok(l) => l,
            Err(e) => return (Verdict::fail(e.to_string()), true),
        };
        for secret in list {
            let name = format!("{ns}/{}", secret.metadata.name.unwrap_or_default());
            let pem = secret
                .data
                .as_ref()
                .and_then(|d| d.get("tls.crt"))
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                .unwrap_or_default();
            match super::cert_expiry::not_after(&pem) {
                None => expired.push(format!("{name} (tls.crt is not a readable certificate)")),
                Some(t) if t <= now => expired.push(format!("{name} expired {}", t.date())),
                Some(t) if t - now < RENEW_WITHIN => {
                    soon.push(format!("{name} expires {}", t.date()))
                }
                Some(t) => seen.push(format!("{name} until {}", t.date())),
            }
        }
    }
    if !expired.is_empty() {
        return (Verdict::fail(expired.join(", ")), true);
    }
    if !soon.is_empty() {
        return (
            Verdict::fail(format!("within 30 days: {}", soon.join(", "))),
            false,
        );
    }
    if seen.is_empty() {
        return (
            Verdict::skip("no kubernetes.io/tls secret in nvca-operator or nvca-system"),
            false,
        );
    }
    (Verdict::pass(seen.join(", ")), false)
}
