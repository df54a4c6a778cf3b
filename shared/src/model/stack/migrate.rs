//! From upstream's helmfile install to our stack config: an operator's environment files
//! (`stacks/self-managed/environments/X.yaml`, `secrets/X-secrets.yaml`, and the compute
//! plane's and observability stack's environments) become one `nvcf-stack.yaml`.
//!
//! Passwords never travel: each secret found becomes `{env: VARIABLE}`, and the report names
//! the variables to export. Every key that has no place in our config and differs from
//! upstream's default is listed; one that changes what gets installed makes the migration
//! incomplete.

use crate::base::error::{Error, Result};
use crate::model::stack::environment::PDB_KEYS;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

const CONTROL_DEFAULTS: &str = include_str!("../../../stack/environments/self-managed.yaml");
const COMPUTE_DEFAULTS: &str = include_str!("../../../stack/environments/nvcf-compute-plane.yaml");
const OBSERVABILITY_DEFAULTS: &str = include_str!("../../../stack/environments/observability.yaml");

/// The operator's upstream files, parsed.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub control: Option<Value>,
    pub secrets: Option<Value>,
    pub compute: Option<Value>,
    pub observability: Option<Value>,
}

/// A key of the upstream files with no place in our stack config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// `control:global.observability.tracing.enabled`: which file, then the key.
    pub key: String,
    /// Whether leaving it out changes what gets installed.
    pub matters: bool,
    pub why: String,
}

/// A password to export before running with the new config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvPassword {
    pub variable: String,
    /// Where upstream held it.
    pub from: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    /// The stack config, as a JSON value in our schema.
    pub config: Value,
    pub passwords: Vec<EnvPassword>,
    pub unmapped: Vec<Unmapped>,
}

impl Migration {
    /// Whether some key that changes the install could not be carried over.
    pub fn incomplete(&self) -> bool {
        self.unmapped.iter().any(|u| u.matters)
    }
}

/// Reads the value at a dotted path.
fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, k| cur.get(k))
}

fn str_at(v: &Value, path: &str) -> Option<String> {
    at(v, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn bool_at(v: &Value, path: &str) -> Option<bool> {
    at(v, path).and_then(Value::as_bool)
}

/// Every leaf of `v` with its key path (label keys may hold dots, so segments stay apart).
fn leaves(v: &Value, prefix: &[String], out: &mut Vec<(Vec<String>, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let mut path = prefix.to_vec();
                path.push(k.clone());
                leaves(child, &path, out);
            }
        }
        other => out.push((prefix.to_vec(), other.clone())),
    }
}

fn at_segments<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k))
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Number(_) | Value::Bool(_) => false,
    }
}

/// Keys of `file` not in `consumed` (a key or any of its parents) and not at upstream's
/// default, as unmapped.
fn unmapped_keys(
    label: &str,
    file: &Value,
    defaults: &Value,
    consumed: &BTreeSet<String>,
    out: &mut Vec<Unmapped>,
) {
    let mut all = Vec::new();
    leaves(file, &[], &mut all);
    for (segments, value) in all {
        let path = segments.join(".");
        let taken = consumed.iter().map(String::as_str).any(|c| {
            path == *c || path.starts_with(&format!("{c}.")) || c.starts_with(&format!("{path}."))
        });
        if taken || segments.is_empty() || at_segments(defaults, &segments) == Some(&value) {
            continue;
        }
        let matters = !empty(&value);
        out.push(Unmapped {
            key: format!("{label}:{path}"),
            matters,
            why: if matters {
                "our stack config has no key for it: the install would differ".into()
            } else {
                "empty, so leaving it out changes nothing".into()
            },
        });
    }
}

/// The control plane's environment onto `cfg`; returns the keys it consumed.
fn control(env: &Value, cfg: &mut Map<String, Value>, out: &mut Vec<Unmapped>) {
    let mut consumed: BTreeSet<String> = BTreeSet::new();
    let mut take = |k: &str| {
        consumed.insert(k.to_owned());
    };
    for (ours, theirs) in [
        ("registry", "global.image.registry"),
        ("repository", "global.image.repository"),
        ("domain", "global.domain"),
    ] {
        take(theirs);
        if let Some(v) = str_at(env, theirs) {
            cfg.insert(ours.into(), v.into());
        }
    }
    take("global.helm.sources.registry");
    take("global.helm.sources.repository");
    let image = (
        str_at(env, "global.image.registry"),
        str_at(env, "global.image.repository"),
    );
    let charts = (
        str_at(env, "global.helm.sources.registry"),
        str_at(env, "global.helm.sources.repository"),
    );
    if let (Some(r), Some(p)) = &charts
        && charts != image
    {
        cfg.insert("chartSource".into(), format!("oci://{r}/{p}").into());
    }
    take("global.imagePullSecrets");
    if let Some(list) = at(env, "global.imagePullSecrets").and_then(Value::as_array) {
        let names: Vec<Value> = list.iter().filter_map(|s| s.get("name").cloned()).collect();
        cfg.insert("imagePullSecrets".into(), Value::Array(names));
    }
    take("global.storageClass");
    take("global.storageSize");
    let mut storage = Map::new();
    if let Some(c) = str_at(env, "global.storageClass") {
        storage.insert("class".into(), c.into());
    }
    if let Some(s) = str_at(env, "global.storageSize") {
        storage.insert("size".into(), s.into());
    }
    if !storage.is_empty() {
        cfg.insert("storage".into(), Value::Object(storage));
    }
    take("global.nodeSelectors");
    if bool_at(env, "global.nodeSelectors.enabled") == Some(true) {
        let mut pools = Map::new();
        for pool in ["all", "vault", "cassandra", "controlplane"] {
            let sel = at(env, &format!("global.nodeSelectors.{pool}"));
            if let (Some(k), Some(v)) = (
                sel.and_then(|s| s.get("key")).and_then(Value::as_str),
                sel.and_then(|s| s.get("value")),
            ) {
                pools.insert(
                    pool.into(),
                    json!({ k: v.as_str().map_or(v.to_string(), str::to_owned) }),
                );
            }
        }
        cfg.insert("nodeSelectors".into(), Value::Object(pools));
    }
    take("global.tolerations");
    if bool_at(env, "global.tolerations.enabled") == Some(true) {
        let mut pools = Map::new();
        for pool in ["all", "vault", "cassandra", "controlplane"] {
            if let Some(list) = at(env, &format!("global.tolerations.{pool}"))
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
            {
                pools.insert(pool.into(), Value::Array(list.clone()));
            }
        }
        cfg.insert("tolerations".into(), Value::Object(pools));
    }
    take("global.workerEndpoints");
    if let Some(Value::Object(eps)) = at(env, "global.workerEndpoints") {
        let set: Map<String, Value> = eps
            .iter()
            .filter(|(_, v)| !empty(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !set.is_empty() {
            cfg.insert("workerEndpoints".into(), Value::Object(set));
        }
    }
    take("observability.profile");
    take("global.observability.metrics.enabled");
    let profile = str_at(env, "observability.profile").unwrap_or_else(|| "control".into());
    cfg.insert(
        "observability".into(),
        json!({"enabled": matches!(profile.as_str(), "control" | "all")}),
    );
    take("cassandra.replicaCount");
    take("cassandra.resourcesPreset");
    take("openbao.injector.replicas");
    // Upstream's defaults are our production profile; local is a laptop's.
    let small = at(env, "cassandra.replicaCount").and_then(Value::as_u64) == Some(1);
    cfg.insert(
        "profile".into(),
        (if small { "local" } else { "production" }).into(),
    );
    take("rateLimiter.enabled");
    take("stateMetrics.enabled");
    cfg.insert(
        "rateLimiter".into(),
        bool_at(env, "rateLimiter.enabled").unwrap_or(true).into(),
    );
    cfg.insert(
        "stateMetrics".into(),
        bool_at(env, "stateMetrics.enabled").unwrap_or(true).into(),
    );
    let mut pdb = false;
    for key in PDB_KEYS {
        pdb |= bool_at(env, &format!("{key}.podDisruptionBudget.enabled")) == Some(true);
    }
    // Budgets are one switch here: any one on turns them all on.
    for key in PDB_KEYS {
        take(&format!("{key}.podDisruptionBudget"));
    }
    take("openbao.server.ha.disruptionBudget.enabled");
    pdb |= bool_at(env, "openbao.server.ha.disruptionBudget.enabled") == Some(true);
    if pdb {
        cfg.insert("podDisruptionBudgets".into(), true.into());
    }
    let mut addons = Map::new();
    for (ours, theirs) in [
        ("llm", "addons.llm.enabled"),
        ("llmPki", "addons.llm.pki.enabled"),
        ("vanityGateway", "addons.vanityGateway.enabled"),
        ("nvcfUi", "addons.nvcfUi.enabled"),
    ] {
        take(theirs);
        if let Some(b) = bool_at(env, theirs) {
            addons.insert(ours.into(), b.into());
        }
    }
    cfg.insert("addons".into(), Value::Object(addons));
    let mut pki = Map::new();
    for (ours, theirs) in [
        ("mode", "addons.llm.pki.mode"),
        ("dnsNames", "addons.llm.pki.dnsNames"),
        ("allowedDomains", "addons.llm.pki.allowedDomains"),
        ("issuerKind", "addons.llm.pki.issuerKind"),
        ("issuerName", "addons.llm.pki.issuerName"),
        ("secretName", "addons.llm.pki.secretName"),
        ("imageTag", "addons.llm.pki.image.tag"),
    ] {
        take(theirs);
        if let Some(v) = at(env, theirs).filter(|v| !empty(v)) {
            pki.insert(ours.into(), v.clone());
        }
    }
    if !pki.is_empty() {
        cfg.insert("llmPki".into(), Value::Object(pki));
    }
    let mut gateway = Map::new();
    take("ingress.gatewayApi.enabled");
    take("ingress.gatewayApi.controllerNamespace");
    if let Some(b) = bool_at(env, "ingress.gatewayApi.enabled") {
        gateway.insert("enabled".into(), b.into());
    }
    if let Some(ns) = str_at(env, "ingress.gatewayApi.controllerNamespace") {
        gateway.insert("controllerNamespace".into(), ns.into());
    }
    for which in ["shared", "grpc"] {
        take(match which {
            "shared" => "ingress.gatewayApi.gateways.shared",
            _ => "ingress.gatewayApi.gateways.grpc",
        });
        let name = str_at(env, &format!("ingress.gatewayApi.gateways.{which}.name"));
        let ns = str_at(
            env,
            &format!("ingress.gatewayApi.gateways.{which}.namespace"),
        );
        if let (Some(name), Some(ns)) = (name, ns) {
            gateway.insert(which.into(), json!({"name": name, "namespace": ns}));
        }
    }
    cfg.insert("gateway".into(), Value::Object(gateway));
    let defaults: Value = serde_saphyr::from_str(CONTROL_DEFAULTS).unwrap_or(Value::Null);
    unmapped_keys("control", env, &defaults, &consumed, out);
}

/// The compute plane's environment onto `cfg`.
fn compute(env: &Value, cfg: &mut Map<String, Value>, out: &mut Vec<Unmapped>) {
    let consumed: BTreeSet<String> = [
        "global.image",
        "global.helm.sources",
        "global.imagePullSecrets",
        "global.nodeSelector",
        "global.tolerations",
        "global.nvcaOperator.selfManaged.nvcaVersion",
        "global.nvcaOperator.selfManaged.icmsServiceURL",
        "global.nvcaOperator.selfManaged.revalServiceURL",
        "global.nvcaOperator.selfManaged.natsURL",
        "global.nvcaOperator.selfManaged.icmsServiceHostHeaderOverride",
        "global.nvcaOperator.selfManaged.revalServiceHostHeaderOverride",
        "global.nvcaOperator.selfManaged.natsHostOverride",
        "global.nvcaOperator.selfManaged.featureGateValues",
        "observability.profile",
        "addons.kaiScheduler.enabled",
        "addons.groveOperator.enabled",
        "addons.dynamoOperator.enabled",
        "addons.topologyAwareScheduling.enabled",
    ]
    .map(String::from)
    .into();
    for (ours, theirs) in [
        ("registry", "global.image.registry"),
        ("repository", "global.image.repository"),
    ] {
        if let Some(v) = str_at(env, theirs) {
            cfg.entry(ours).or_insert(v.into());
        }
    }
    if bool_at(env, "global.nodeSelector.enabled") == Some(true)
        && let (Some(k), Some(v)) = (
            str_at(env, "global.nodeSelector.key"),
            str_at(env, "global.nodeSelector.value"),
        )
    {
        let pools = cfg
            .entry("nodeSelectors")
            .or_insert(Value::Object(Map::new()));
        pools["compute"] = json!({ k: v });
    }
    if let Some(list) = at(env, "global.tolerations")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    {
        let pools = cfg
            .entry("tolerations")
            .or_insert(Value::Object(Map::new()));
        pools["compute"] = Value::Array(list.clone());
    }
    let mut c = Map::new();
    for (ours, theirs) in [
        ("nvcaVersion", "global.nvcaOperator.selfManaged.nvcaVersion"),
        (
            "icmsServiceURL",
            "global.nvcaOperator.selfManaged.icmsServiceURL",
        ),
        (
            "revalServiceURL",
            "global.nvcaOperator.selfManaged.revalServiceURL",
        ),
        ("natsURL", "global.nvcaOperator.selfManaged.natsURL"),
        (
            "icmsServiceHostHeaderOverride",
            "global.nvcaOperator.selfManaged.icmsServiceHostHeaderOverride",
        ),
        (
            "revalServiceHostHeaderOverride",
            "global.nvcaOperator.selfManaged.revalServiceHostHeaderOverride",
        ),
        (
            "natsHostOverride",
            "global.nvcaOperator.selfManaged.natsHostOverride",
        ),
    ] {
        if let Some(v) = str_at(env, theirs) {
            c.insert(ours.into(), v.into());
        }
    }
    if let Some(gates) = at(env, "global.nvcaOperator.selfManaged.featureGateValues")
        .and_then(Value::as_array)
        .filter(|g| !g.is_empty())
    {
        c.insert("featureGates".into(), Value::Array(gates.clone()));
    }
    if !c.is_empty() {
        cfg.insert("compute".into(), Value::Object(c));
    }
    let addons = cfg.entry("addons").or_insert(Value::Object(Map::new()));
    for (ours, theirs) in [
        ("kaiScheduler", "addons.kaiScheduler.enabled"),
        ("groveOperator", "addons.groveOperator.enabled"),
        ("dynamoOperator", "addons.dynamoOperator.enabled"),
        (
            "topologyAwareScheduling",
            "addons.topologyAwareScheduling.enabled",
        ),
    ] {
        if let Some(b) = bool_at(env, theirs) {
            addons[ours] = b.into();
        }
    }
    let defaults: Value = serde_saphyr::from_str(COMPUTE_DEFAULTS).unwrap_or(Value::Null);
    unmapped_keys("compute", env, &defaults, &consumed, out);
}

/// The secrets file: passwords become environment variables, never values.
fn secrets(
    file: &Value,
    cfg: &mut Map<String, Value>,
    vars: &mut Vec<EnvPassword>,
    out: &mut Vec<Unmapped>,
) {
    let mut passwords = Map::new();
    let env_list = at(file, "openbao.migrations.env")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for entry in &env_list {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (key, var) = match name {
            "DEFAULT_CASSANDRA_PASSWORD" => ("cassandraServiceRole", "NVCF_CASSANDRA_PASSWORD"),
            "NVCF_API_SIDECARS_IMAGE_PULL_SECRET" => {
                ("sidecarPullSecret", "NVCF_SIDECAR_PULL_SECRET")
            }
            // Upstream's template says "keep this value"; ours sets it.
            "ADMIN_CLIENT_ID" => continue,
            other => {
                out.push(Unmapped {
                    key: format!("secrets:openbao.migrations.env[{other}]"),
                    matters: true,
                    why: "an OpenBao migrations variable our stack config does not set".into(),
                });
                continue;
            }
        };
        passwords.insert(key.into(), json!({"env": var}));
        vars.push(EnvPassword {
            variable: var.into(),
            from: format!("secrets file openbao.migrations.env {name}"),
        });
    }
    if let Some(creds) =
        at(file, "api.accountBootstrap.registryCredentials").and_then(Value::as_array)
    {
        let hosts: BTreeSet<&str> = creds
            .iter()
            .filter_map(|c| c.get("registryHostname").and_then(Value::as_str))
            .collect();
        if hosts.len() > 1 {
            out.push(Unmapped {
                key: "secrets:api.accountBootstrap.registryCredentials".into(),
                matters: true,
                why: format!(
                    "credentials for {} registries; the stack config bootstraps the account with one, for the image registry (passwords.sidecarPullSecret)",
                    hosts.len()
                ),
            });
        }
    }
    for key in ["openbao", "api"] {
        let mut rest = file.get(key).cloned().unwrap_or(Value::Null);
        if let Some(m) = rest.as_object_mut() {
            m.remove("migrations");
            m.remove("accountBootstrap");
            if !m.is_empty() {
                out.push(Unmapped {
                    key: format!("secrets:{key}"),
                    matters: true,
                    why: "secret values beyond upstream's template: not carried over".into(),
                });
            }
        }
    }
    if !passwords.is_empty() {
        cfg.insert("passwords".into(), Value::Object(passwords));
    }
}

/// The observability stack's environment: at upstream's defaults it installs what our
/// `observability.enabled` does; anything else is listed.
fn observability(
    env: &Value,
    use_profile: bool,
    cfg: &mut Map<String, Value>,
    out: &mut Vec<Unmapped>,
) {
    if let Some(profile) = str_at(env, "observability.profile").filter(|_| use_profile) {
        cfg.insert(
            "observability".into(),
            json!({"enabled": matches!(profile.as_str(), "control" | "all")}),
        );
    }
    let defaults: Value = serde_saphyr::from_str(OBSERVABILITY_DEFAULTS).unwrap_or(Value::Null);
    unmapped_keys(
        "observability",
        env,
        &defaults,
        &["global", "observability.profile"].map(String::from).into(),
        out,
    );
}

/// Builds our stack config from the operator's upstream files.
pub fn migrate(sources: &Sources) -> Result<Migration> {
    if sources.control.is_none() && sources.compute.is_none() {
        return Err(Error::usage(
            "nothing to migrate: neither a control-plane nor a compute-plane environment was given",
        )
        .hint("pass --env stacks/self-managed/environments/X.yaml and/or --compute-env stacks/nvcf-compute-plane/environments/Y.yaml"));
    }
    let mut cfg = Map::new();
    let mut unmapped = Vec::new();
    let mut passwords = Vec::new();
    if let Some(env) = &sources.control {
        control(env, &mut cfg, &mut unmapped);
    }
    if let Some(file) = &sources.secrets {
        secrets(file, &mut cfg, &mut passwords, &mut unmapped);
    }
    if let Some(env) = &sources.compute {
        compute(env, &mut cfg, &mut unmapped);
    }
    if let Some(env) = &sources.observability {
        // Installed with the control plane, the observability stack takes the control
        // environment's profile (00-observability-infrastructure passes it down).
        let profile_given = sources
            .control
            .as_ref()
            .is_some_and(|c| at(c, "observability.profile").is_some());
        observability(env, !profile_given, &mut cfg, &mut unmapped);
    }
    Ok(Migration {
        config: Value::Object(cfg),
        passwords,
        unmapped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn an_environment_becomes_a_valid_stack_config_with_passwords_as_variables() {
        let m = migrate(&Sources {
            control: Some(yaml(
                "global: {domain: d.example, image: {registry: r.example, repository: o/t}, imagePullSecrets: [{name: pull}], storageClass: fast}\n\
                 addons: {llm: {enabled: true}}\n\
                 ingress: {gatewayApi: {controllerNamespace: gw, gateways: {shared: {name: s, namespace: gw}, grpc: {name: g, namespace: gw}}}}\n",
            )),
            secrets: Some(yaml(
                "openbao: {migrations: {env: [{name: DEFAULT_CASSANDRA_PASSWORD, value: hunter2}, {name: ADMIN_CLIENT_ID, value: ncp}]}}\n",
            )),
            ..Sources::default()
        })
        .unwrap();
        assert!(!m.incomplete(), "{:?}", m.unmapped);
        let text = serde_saphyr::to_string(&m.config).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        let cfg = crate::model::stack::config::StackConfig::parse(&text, "migrated").unwrap();
        assert_eq!(cfg.registry, "r.example");
        assert_eq!(cfg.image_pull_secrets, ["pull"]);
        assert!(cfg.addons.llm);
        assert_eq!(cfg.gateway.grpc.name, "g");
        assert_eq!(m.passwords[0].variable, "NVCF_CASSANDRA_PASSWORD");
    }

    #[test]
    fn keys_without_a_place_are_listed_and_make_it_incomplete() {
        let m = migrate(&Sources {
            control: Some(yaml(
                "global: {image: {registry: r, repository: o/t}, observability: {tracing: {enabled: true, collectorEndpoint: otel}}}\ncertManager: {enabled: false}\nnats: {enabled: true}\n",
            )),
            ..Sources::default()
        })
        .unwrap();
        let keys: Vec<&str> = m.unmapped.iter().map(|u| u.key.as_str()).collect();
        assert!(
            keys.contains(&"control:global.observability.tracing.enabled"),
            "{keys:?}"
        );
        assert!(keys.contains(&"control:certManager.enabled"), "{keys:?}");
        // At upstream's default: nothing to say.
        assert!(!keys.contains(&"control:nats.enabled"), "{keys:?}");
        assert!(m.incomplete());
    }
}

/// The files `helm nvcf import-helmfile` reads.
#[derive(Debug, Default, Clone)]
pub struct ImportFiles {
    pub env: Option<std::path::PathBuf>,
    pub secrets: Option<std::path::PathBuf>,
    pub compute_env: Option<std::path::PathBuf>,
    pub observability_env: Option<std::path::PathBuf>,
}

fn read_yaml(path: &std::path::Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).map_err(|e| crate::base::files::io_error("read", path, e))?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_saphyr::from_str(&text).map_err(|e| {
        Error::invalid_input(format!("{} is not valid YAML: {e}", path.display()))
            .hint("fix the YAML syntax at the position named")
    })
}

impl ImportFiles {
    pub fn read(&self) -> Result<Sources> {
        let load = |p: &Option<std::path::PathBuf>| p.as_deref().map(read_yaml).transpose();
        Ok(Sources {
            control: load(&self.env)?,
            secrets: load(&self.secrets)?,
            compute: load(&self.compute_env)?,
            observability: load(&self.observability_env)?,
        })
    }
}

/// The stack config as the file a user keeps: a header naming where it came from, then YAML.
pub fn config_text(m: &Migration, files: &ImportFiles) -> Result<String> {
    let from: Vec<String> = [
        &files.env,
        &files.secrets,
        &files.compute_env,
        &files.observability_env,
    ]
    .into_iter()
    .flatten()
    .map(|p| p.display().to_string())
    .collect();
    let yaml = serde_saphyr::to_string(&m.config)
        .map_err(|e| Error::internal(format!("cannot write the stack config: {e}")))?;
    let mut text = format!(
        "# Imported from upstream's helmfile environment: {}\n",
        from.join(", ")
    );
    if !m.passwords.is_empty() {
        let vars: Vec<&str> = m.passwords.iter().map(|p| p.variable.as_str()).collect();
        text.push_str(&format!("# Export before use: {}\n", vars.join(", ")));
    }
    text.push_str(&yaml);
    Ok(text)
}

/// What the operator must hear about a migration, one line each, for stderr.
pub fn report_lines(m: &Migration) -> Vec<String> {
    let mut lines = Vec::new();
    for p in &m.passwords {
        lines.push(format!("password: export {} (was {})", p.variable, p.from));
    }
    for u in &m.unmapped {
        let tag = if u.matters {
            "NOT CARRIED OVER"
        } else {
            "ignored"
        };
        lines.push(format!("{tag}: {}: {}", u.key, u.why));
    }
    lines
}

/// The error a migration that left out keys that matter ends with.
pub fn incomplete_error(m: &Migration) -> Error {
    let n = m.unmapped.iter().filter(|u| u.matters).count();
    Error::invalid_input(format!(
        "{n} key{} of the upstream environment could not be carried over (listed above); the stack config was still written",
        if n == 1 { "" } else { "s" }
    ))
    .hint("set each listed value with `-f` values overlays or `--set RELEASE:PATH=VALUE`, or confirm you do not need it")
}

impl crate::base::output::Report for Migration {
    fn table(&self, _wide: bool) -> String {
        report_lines(self).join("\n")
    }

    fn names(&self) -> Vec<String> {
        self.unmapped.iter().map(|u| u.key.clone()).collect()
    }
}
