//! The stack config mapped onto upstream's helmfile environment (`environments/base.yaml`
//! and an operator's overrides): the `.Values` that upstream's `global.yaml.gotmpl` and
//! helmfile.d read. Our values templates (`shared/stack/values/`) read this same shape, so
//! each can be checked against upstream's template line by line, and an operator's upstream
//! environment maps onto our config key by key.

use crate::model::stack::config::{ProfileName, StackConfig};
use crate::model::stack::sizing::Profile;
use crate::model::stack::value_tree::{merge, set_path};
use serde_json::{Value, json};
use std::sync::OnceLock;

const CONTROL_DEFAULTS: &str = include_str!("../../../stack/environments/self-managed.yaml");
const COMPUTE_DEFAULTS: &str = include_str!("../../../stack/environments/nvcf-compute-plane.yaml");

fn defaults(text: &'static str, cell: &'static OnceLock<Value>) -> Value {
    cell.get_or_init(|| serde_saphyr::from_str(text).expect("embedded environment is YAML"))
        .clone()
}

/// The services whose PodDisruptionBudget `podDisruptionBudgets: true` turns on.
pub const PDB_KEYS: &[&str] = &[
    "nats",
    "cassandra",
    "rateLimiter",
    "apikeys",
    "ess",
    "invocation",
    "adminIssuerProxy",
    "functionautoscaler",
    "reval",
    "llmApiGateway",
    "llmRequestRouter",
    "grpcproxy",
];

/// Upstream's single-label selector (`{key, value}`) from one of ours.
fn selector(labels: &std::collections::BTreeMap<String, String>) -> Option<Value> {
    labels
        .iter()
        .next()
        .map(|(k, v)| json!({"key": k, "value": v}))
}

/// upstream's `addons.llm.pki` from the stack config's `llmPki`.
fn llm_pki(cfg: &StackConfig) -> Value {
    let pki = &cfg.llm_pki;
    let mut out = json!({
        "enabled": cfg.addons.llm_pki,
        "mode": pki.mode,
        "dnsNames": pki.dns_names,
        "allowedDomains": pki.allowed_domains,
        "issuerKind": pki.issuer_kind,
        "issuerName": pki.issuer_name,
        "image": {"tag": pki.image_tag},
    });
    if !pki.secret_name.is_empty() {
        out["secretName"] = Value::String(pki.secret_name.clone());
    }
    out
}

/// The control plane's environment (`stacks/self-managed`).
pub fn control(cfg: &StackConfig) -> Value {
    static CELL: OnceLock<Value> = OnceLock::new();
    let mut env = defaults(CONTROL_DEFAULTS, &CELL);
    let profile = Profile::of(cfg.profile);
    let pull_secrets: Vec<Value> = cfg
        .image_pull_secrets
        .iter()
        .map(|n| json!({"name": n}))
        .collect();
    let mut global = json!({
        "domain": cfg.domain,
        "helm": {"sources": {"registry": cfg.registry, "repository": cfg.repository}},
        "image": {"registry": cfg.registry, "repository": cfg.repository},
        "imagePullSecrets": pull_secrets,
        "storageClass": cfg.storage.class,
        "storageSize": cfg.storage.size.clone().unwrap_or_else(|| profile.storage_size.to_owned()),
        "observability": {"metrics": {"enabled": cfg.observability.enabled}},
    });
    let mut selectors = json!({"enabled": !cfg.node_selectors.is_empty()});
    for (pool, labels) in cfg.node_selectors.iter().filter(|(p, _)| *p != "compute") {
        if let Some(sel) = selector(labels) {
            selectors[pool] = sel;
        }
    }
    // An `all` pool replaces the per-pool defaults, as upstream's commented example does.
    if cfg.node_selectors.contains_key("all") {
        for pool in ["vault", "cassandra", "controlplane"] {
            if !cfg.node_selectors.contains_key(pool) {
                selectors[pool] = Value::Null;
            }
        }
    }
    global["nodeSelectors"] = selectors;
    let mut tolerations = json!({"enabled": !cfg.tolerations.is_empty()});
    for (pool, list) in cfg.tolerations.iter().filter(|(p, _)| *p != "compute") {
        tolerations[pool] = Value::Array(list.clone());
    }
    global["tolerations"] = tolerations;
    let observability_profile = if cfg.observability.enabled {
        "control"
    } else {
        "disabled"
    };
    let overrides = json!({
        "global": global,
        "observability": {"profile": observability_profile},
        "cassandra": {
            "replicaCount": profile.cassandra_replicas,
            "resourcesPreset": profile.cassandra_preset,
        },
        "openbao": {"injector": {"replicas": profile.injector_replicas}},
        "rateLimiter": {"enabled": cfg.rate_limiter},
        "stateMetrics": {"enabled": cfg.state_metrics},
        "addons": {
            "llm": {"enabled": cfg.addons.llm, "pki": llm_pki(cfg)},
            "vanityGateway": {"enabled": cfg.addons.vanity_gateway},
            "nvcfUi": {"enabled": cfg.addons.nvcf_ui},
        },
        "ingress": {"gatewayApi": {
            "enabled": cfg.gateway.enabled,
            "controllerNamespace": cfg.gateway.controller_namespace,
            "gateways": {
                "shared": {"name": cfg.gateway.shared.name, "namespace": cfg.gateway.shared.namespace},
                "grpc": {"name": cfg.gateway.grpc.name, "namespace": cfg.gateway.grpc.namespace},
            },
        }},
    });
    // Lists replace rather than merge, as helmfile's layering does.
    if let Some(g) = env.get_mut("global") {
        g["nodeSelectors"] = Value::Null;
        g["tolerations"] = Value::Null;
    }
    merge(&mut env, overrides);
    for (name, url) in &cfg.worker_endpoints {
        env["global"]["workerEndpoints"][name] = Value::String(url.clone());
    }
    for key in PDB_KEYS {
        set_path(
            &mut env,
            &format!("{key}.podDisruptionBudget.enabled"),
            Value::Bool(cfg.pod_disruption_budgets),
        );
    }
    set_path(
        &mut env,
        "openbao.server.ha.disruptionBudget.enabled",
        Value::Bool(cfg.pod_disruption_budgets),
    );
    if cfg.profile == ProfileName::Local {
        // One of everything on a laptop: the quorum-sized defaults would never schedule.
        set_path(&mut env, "rateLimiter.replicaCount", json!(1));
    }
    env
}

/// The compute plane's environment (`stacks/nvcf-compute-plane`).
pub fn compute(cfg: &StackConfig) -> Value {
    static CELL: OnceLock<Value> = OnceLock::new();
    let mut env = defaults(COMPUTE_DEFAULTS, &CELL);
    let pull_secrets: Vec<Value> = cfg
        .image_pull_secrets
        .iter()
        .map(|n| json!({"name": n}))
        .collect();
    let node_selector = match cfg.node_selectors.get("compute").and_then(selector) {
        Some(sel) => json!({"enabled": true, "key": sel["key"], "value": sel["value"]}),
        None => json!({"enabled": false}),
    };
    let observability_profile = if cfg.observability.enabled {
        "all"
    } else {
        "disabled"
    };
    let c = &cfg.compute;
    let overrides = json!({
        "global": {
            "helm": {"sources": {"registry": cfg.registry, "repository": cfg.repository}},
            "image": {"registry": cfg.registry, "repository": cfg.repository},
            "imagePullSecrets": pull_secrets,
            "nodeSelector": node_selector,
            "nvcaOperator": {"selfManaged": {
                "nvcaVersion": c.nvca_version,
                "icmsServiceURL": c.icms_service_url,
                "revalServiceURL": c.reval_service_url,
                "natsURL": c.nats_url,
                "icmsServiceHostHeaderOverride": c.icms_service_host_header_override,
                "revalServiceHostHeaderOverride": c.reval_service_host_header_override,
                "natsHostOverride": c.nats_host_override,
                "featureGateValues": c.feature_gates,
            }},
        },
        "observability": {"profile": observability_profile},
        "addons": {
            "topologyAwareScheduling": {"enabled": cfg.addons.topology_aware_scheduling},
            "kaiScheduler": {"enabled": cfg.addons.kai_scheduler},
            "groveOperator": {"enabled": cfg.addons.grove_operator},
            "dynamoOperator": {"enabled": cfg.addons.dynamo_operator},
        },
    });
    merge(&mut env, overrides);
    env["global"]["tolerations"] =
        Value::Array(cfg.tolerations.get("compute").cloned().unwrap_or_default());
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> StackConfig {
        StackConfig::parse(
            &format!("registry: reg.example\nrepository: acme/nvcf\n{text}"),
            "f",
        )
        .unwrap()
    }

    #[test]
    fn the_registry_and_pools_land_where_global_yaml_reads_them() {
        let env = control(&cfg(
            "nodeSelectors: {vault: {pool: vault}}\ntolerations: {all: [{key: a, operator: Exists}]}\n",
        ));
        assert_eq!(env["global"]["image"]["repository"], "acme/nvcf");
        assert_eq!(env["global"]["nodeSelectors"]["enabled"], true);
        assert_eq!(env["global"]["nodeSelectors"]["vault"]["value"], "vault");
        assert_eq!(env["global"]["tolerations"]["all"][0]["key"], "a");
        assert_eq!(env["openbao"]["injector"]["replicas"], 1);
        assert_eq!(env["apikeys"]["podDisruptionBudget"]["maxUnavailable"], 1);
        assert_eq!(env["apikeys"]["podDisruptionBudget"]["enabled"], false);
    }

    #[test]
    fn production_keeps_upstreams_defaults() {
        let env = control(&cfg("profile: production\npodDisruptionBudgets: true\n"));
        assert_eq!(env["cassandra"]["replicaCount"], 3);
        assert_eq!(env["openbao"]["injector"]["replicas"], 2);
        assert_eq!(env["global"]["storageSize"], "10Gi");
        assert_eq!(env["nats"]["podDisruptionBudget"]["enabled"], true);
    }

    #[test]
    fn the_compute_plane_reads_its_own_selector() {
        let env = compute(&cfg("nodeSelectors: {compute: {gpu: \"true\"}}\n"));
        assert_eq!(env["global"]["nodeSelector"]["key"], "gpu");
        assert_eq!(env["global"]["nvcaOperator"]["imageTag"], "3.2.7");
    }
}
