//! The stack config file a user edits (`nvcf-stack.yaml`): registry, storage, domain,
//! password sources, node selectors, observability and add-ons.
//!
//! The file is checked against [`SCHEMA`] before it is typed, so every problem (unknown
//! key, wrong type, placeholder, missing requirement) is reported at once, each naming the
//! key and the fix, and nothing is rendered from a half-valid file.

mod rules;

use crate::base::error::{Category, Error, Result};
use crate::base::secret::Secret;
use crate::model::settings::EnvLookup;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The shape of one config value.
#[derive(Debug, Clone, Copy)]
enum Ty {
    Str,
    Bool,
    /// A Kubernetes quantity such as `10Gi`.
    Quantity,
    Enum(&'static [&'static str]),
    StrList,
    /// `key: value` pairs (node selectors).
    StrMap,
    /// A list of Kubernetes tolerations (maps with key, operator, value, effect).
    Tolerations,
    /// `{env: VAR}`, `{secretRef: {namespace, name, key}}`, or `{value: ...}` when
    /// `allowInlinePasswords` is true.
    Password,
    Map(&'static [(&'static str, Ty)]),
}

const GATEWAY_REF: Ty = Ty::Map(&[("name", Ty::Str), ("namespace", Ty::Str)]);

/// Every key the file may hold. Unknown keys are errors: a typo must not silently fall back
/// to a default.
const SCHEMA: &[(&str, Ty)] = &[
    ("profile", Ty::Enum(&["local", "production"])),
    ("registry", Ty::Str),
    ("repository", Ty::Str),
    ("chartSource", Ty::Str),
    ("chartMirrors", Ty::StrMap),
    ("domain", Ty::Str),
    (
        "storage",
        Ty::Map(&[("class", Ty::Str), ("size", Ty::Quantity)]),
    ),
    ("imagePullSecrets", Ty::StrList),
    ("allowInlinePasswords", Ty::Bool),
    (
        "passwords",
        Ty::Map(&[
            ("cassandraServiceRole", Ty::Password),
            ("cassandraSuperuser", Ty::Password),
            ("sidecarPullSecret", Ty::Password),
            ("registry", Ty::Password),
        ]),
    ),
    (
        "nodeSelectors",
        Ty::Map(&[
            ("all", Ty::StrMap),
            ("vault", Ty::StrMap),
            ("cassandra", Ty::StrMap),
            ("controlplane", Ty::StrMap),
            ("compute", Ty::StrMap),
        ]),
    ),
    (
        "tolerations",
        Ty::Map(&[
            ("all", Ty::Tolerations),
            ("vault", Ty::Tolerations),
            ("cassandra", Ty::Tolerations),
            ("controlplane", Ty::Tolerations),
            ("compute", Ty::Tolerations),
        ]),
    ),
    ("podDisruptionBudgets", Ty::Bool),
    (
        "llmPki",
        Ty::Map(&[
            ("mode", Ty::Enum(&["certManager", "existingSecret"])),
            ("dnsNames", Ty::StrList),
            ("allowedDomains", Ty::Str),
            ("issuerKind", Ty::Enum(&["ClusterIssuer", "Issuer"])),
            ("issuerName", Ty::Str),
            ("secretName", Ty::Str),
            ("imageTag", Ty::Str),
        ]),
    ),
    (
        "workerEndpoints",
        Ty::Map(&[
            ("nvcfServiceURL", Ty::Str),
            ("nvcfGrpcServiceURL", Ty::Str),
            ("nvcfNatsServiceURL", Ty::Str),
            ("essServiceURL", Ty::Str),
            ("nvctServiceURL", Ty::Str),
            ("nvctGrpcServiceURL", Ty::Str),
            ("invocationServiceURL", Ty::Str),
            ("grpcProxyWorkerConnectURL", Ty::Str),
            ("llmRequestRouterAddress", Ty::Str),
        ]),
    ),
    ("observability", Ty::Map(&[("enabled", Ty::Bool)])),
    ("rateLimiter", Ty::Bool),
    ("stateMetrics", Ty::Bool),
    (
        "addons",
        Ty::Map(&[
            ("llm", Ty::Bool),
            ("llmPki", Ty::Bool),
            ("vanityGateway", Ty::Bool),
            ("nvcfUi", Ty::Bool),
            ("kaiScheduler", Ty::Bool),
            ("groveOperator", Ty::Bool),
            ("dynamoOperator", Ty::Bool),
            ("topologyAwareScheduling", Ty::Bool),
        ]),
    ),
    (
        "gateway",
        Ty::Map(&[
            ("enabled", Ty::Bool),
            ("controllerNamespace", Ty::Str),
            ("shared", GATEWAY_REF),
            ("grpc", GATEWAY_REF),
        ]),
    ),
    (
        "compute",
        Ty::Map(&[
            ("clusterName", Ty::Str),
            ("icmsServiceURL", Ty::Str),
            ("revalServiceURL", Ty::Str),
            ("natsURL", Ty::Str),
            ("icmsServiceHostHeaderOverride", Ty::Str),
            ("revalServiceHostHeaderOverride", Ty::Str),
            ("natsHostOverride", Ty::Str),
            ("nvcaVersion", Ty::Str),
            ("featureGates", Ty::StrList),
        ]),
    ),
];

/// Keys without which nothing can be rendered.
const REQUIRED: &[(&str, &str)] = &[
    (
        "registry",
        "set `registry:` to the container registry holding the NVCF images, e.g. nvcr.io",
    ),
    (
        "repository",
        "set `repository:` to the registry path holding the NVCF images, e.g. my-org/my-team",
    ),
];

/// Values copied from upstream samples that mean "fill me in".
fn placeholder(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    ["YOUR_", "CHANGEME", "CHANGE_ME", "REPLACE_ME", "<", "TODO"]
        .iter()
        .any(|p| upper.contains(p))
}

/// One thing wrong with the file: which key, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl Problem {
    pub fn new(key: &str, message: impl Into<String>, fix: impl Into<String>) -> Problem {
        Problem {
            key: key.to_owned(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn into_error(self, file: &str) -> Error {
        Error::new(
            Category::InvalidInput,
            format!("{file}: `{}` {}", self.key, self.message),
        )
        .hint(self.fix)
    }
}

/// A config file that failed validation: every problem, in file order.
#[derive(Debug)]
pub struct Problems {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl Problems {
    /// One error per problem, then a summary error for the exit code.
    pub fn errors(&self) -> Vec<Error> {
        self.problems
            .iter()
            .cloned()
            .map(|p| p.into_error(&self.file))
            .collect()
    }

    pub fn summary(&self) -> Error {
        let n = self.problems.len();
        Error::new(
            Category::InvalidInput,
            format!(
                "{}: {n} problem{} in the stack config; nothing was rendered",
                self.file,
                if n == 1 { "" } else { "s" }
            ),
        )
        .hint("fix each key named above and run the command again")
    }
}

fn check(value: &Value, ty: Ty, key: &str, inline_ok: bool, out: &mut Vec<Problem>) {
    let type_problem = |want: &str| {
        Problem::new(
            key,
            format!("must be {want}, got {}", describe(value)),
            format!("write `{key}` as {want}"),
        )
    };
    match ty {
        Ty::Str => match value {
            Value::String(s) if placeholder(s) => out.push(Problem::new(
                key,
                format!("still holds the placeholder {s:?}"),
                format!("replace the placeholder in `{key}` with your real value"),
            )),
            Value::String(_) => {}
            _ => out.push(type_problem("a string")),
        },
        Ty::Bool => {
            if !value.is_boolean() {
                out.push(type_problem("true or false"));
            }
        }
        Ty::Quantity => match value {
            Value::String(s) if is_quantity(s) => {}
            _ => out.push(type_problem("a Kubernetes quantity such as 10Gi")),
        },
        Ty::Enum(allowed) => match value.as_str() {
            Some(s) if allowed.contains(&s) => {}
            _ => out.push(Problem::new(
                key,
                format!(
                    "must be one of {}, got {}",
                    allowed.join(", "),
                    describe(value)
                ),
                format!("set `{key}` to one of {}", allowed.join(", ")),
            )),
        },
        Ty::StrList => match value {
            Value::Array(items) if items.iter().all(Value::is_string) => {}
            _ => out.push(type_problem("a list of names")),
        },
        Ty::StrMap => match value {
            Value::Object(m) if m.values().all(Value::is_string) => {}
            _ => out.push(type_problem("a map of label key to value")),
        },
        Ty::Tolerations => check_tolerations(value, key, out),
        Ty::Password => check_password(value, key, inline_ok, out),
        Ty::Map(fields) => {
            let Value::Object(map) = value else {
                out.push(type_problem("a map"));
                return;
            };
            for (k, v) in map {
                let path = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                match fields.iter().find(|(name, _)| name == k) {
                    Some((_, ty)) => check(v, *ty, &path, inline_ok, out),
                    None => {
                        let known: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                        let fix = match closest(k, &known) {
                            Some(s) => {
                                format!("did you mean `{s}`? (known here: {})", known.join(", "))
                            }
                            None => format!("remove it; known keys here: {}", known.join(", ")),
                        };
                        out.push(Problem::new(&path, "is not a known key", fix));
                    }
                }
            }
        }
    }
}

fn check_tolerations(value: &Value, key: &str, out: &mut Vec<Problem>) {
    const FIELDS: [&str; 5] = ["key", "operator", "value", "effect", "tolerationSeconds"];
    let fix = format!(
        "write `{key}` as a list of tolerations, e.g. [{{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}}]"
    );
    let Value::Array(items) = value else {
        out.push(Problem::new(
            key,
            format!("must be a list of tolerations, got {}", describe(value)),
            fix,
        ));
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let path = format!("{key}[{i}]");
        let Value::Object(map) = item else {
            out.push(Problem::new(
                &path,
                format!("must be a toleration map, got {}", describe(item)),
                fix.clone(),
            ));
            continue;
        };
        for (field, v) in map {
            let typed = match field.as_str() {
                "tolerationSeconds" => v.is_i64(),
                "operator" => matches!(v.as_str(), Some("Equal" | "Exists")),
                "effect" => matches!(
                    v.as_str(),
                    Some("NoSchedule" | "PreferNoSchedule" | "NoExecute" | "")
                ),
                _ => v.is_string(),
            };
            if !FIELDS.contains(&field.as_str()) {
                out.push(Problem::new(
                    &format!("{path}.{field}"),
                    "is not a toleration field",
                    format!("remove it; a toleration has {}", FIELDS.join(", ")),
                ));
            } else if !typed {
                out.push(Problem::new(
                    &format!("{path}.{field}"),
                    format!("is not a valid toleration {field}: {}", describe(v)),
                    "operator is Equal or Exists; effect is NoSchedule, PreferNoSchedule or NoExecute; tolerationSeconds is a whole number",
                ));
            }
        }
    }
}

fn check_password(value: &Value, key: &str, inline_ok: bool, out: &mut Vec<Problem>) {
    let fix = format!(
        "write `{key}: {{env: VARIABLE}}` and export the password in VARIABLE, or \
         `{key}: {{secretRef: {{namespace: NS, name: SECRET, key: KEY}}}}` to read it from a Kubernetes Secret"
    );
    let Value::Object(map) = value else {
        out.push(Problem::new(
            key,
            "must name where the password comes from, not hold it",
            fix,
        ));
        return;
    };
    match (
        map.get("env"),
        map.get("secretRef"),
        map.get("value"),
        map.len(),
    ) {
        (Some(Value::String(var)), None, None, 1) if !var.is_empty() => {}
        (None, Some(r), None, 1) => check_secret_ref(r, &format!("{key}.secretRef"), out),
        (None, None, Some(Value::String(_)), 1) if inline_ok => {}
        (None, None, Some(_), 1) => out.push(Problem::new(
            key,
            "holds an inline password, which would end up in files and shell history",
            format!("{fix}; or set `allowInlinePasswords: true` to accept the risk"),
        )),
        _ => out.push(Problem::new(
            key,
            "must be {env: VARIABLE} or {secretRef: {namespace, name, key}}",
            fix,
        )),
    }
}

fn check_secret_ref(value: &Value, key: &str, out: &mut Vec<Problem>) {
    const FIELDS: [&str; 3] = ["namespace", "name", "key"];
    let fix = format!("write `{key}: {{namespace: NS, name: SECRET, key: KEY}}`");
    let Value::Object(map) = value else {
        out.push(Problem::new(
            key,
            format!("must be a map, got {}", describe(value)),
            fix,
        ));
        return;
    };
    for field in FIELDS {
        match map.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() && !placeholder(s) => {}
            Some(v) => out.push(Problem::new(
                &format!("{key}.{field}"),
                format!("must name the Secret's {field}, got {}", describe(v)),
                fix.clone(),
            )),
            None => out.push(Problem::new(
                &format!("{key}.{field}"),
                "is missing",
                fix.clone(),
            )),
        }
    }
    for extra in map.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        out.push(Problem::new(
            &format!("{key}.{extra}"),
            "is not a known key",
            format!("remove it; known keys here: {}", FIELDS.join(", ")),
        ));
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

fn is_quantity(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &s[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && ["", "Ki", "Mi", "Gi", "Ti", "Pi", "k", "M", "G", "T", "P"].contains(&suffix)
}

/// The known key nearest to a typo, if it is near enough to be what was meant.
fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (distance(&word.to_lowercase(), &k.to_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// A password source. Resolved values are [`Secret`]s: masked on every output path.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PasswordRef {
    Env(String),
    SecretRef(SecretKeyRef),
    Value(String),
}

/// A key of a Kubernetes Secret holding a password.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretKeyRef {
    pub namespace: String,
    pub name: String,
    pub key: String,
}

impl SecretKeyRef {
    pub fn display(&self) -> String {
        format!("Secret {}/{} key {}", self.namespace, self.name, self.key)
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Passwords {
    pub cassandra_service_role: Option<PasswordRef>,
    pub cassandra_superuser: Option<PasswordRef>,
    pub sidecar_pull_secret: Option<PasswordRef>,
    /// The registry key behind the image pull secrets we create (`$oauthtoken` user).
    pub registry: Option<PasswordRef>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Storage {
    pub class: String,
    pub size: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Observability {
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Addons {
    pub llm: bool,
    pub llm_pki: bool,
    pub vanity_gateway: bool,
    pub nvcf_ui: bool,
    pub kai_scheduler: bool,
    pub grove_operator: bool,
    pub dynamo_operator: bool,
    pub topology_aware_scheduling: bool,
}

/// The LLM request router's certificate (upstream's `addons.llm.pki`), read when
/// `addons.llm` and `addons.llmPki` are on.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LlmPki {
    pub mode: String,
    pub dns_names: Vec<String>,
    pub allowed_domains: String,
    pub issuer_kind: String,
    pub issuer_name: String,
    pub secret_name: String,
    pub image_tag: String,
}

impl Default for LlmPki {
    /// The router's own names, issued by the stack's OpenBao: what upstream's docs tell
    /// operators to write, so `llmPki: true` works without more.
    fn default() -> Self {
        LlmPki {
            mode: "certManager".into(),
            dns_names: vec![
                "*.llm-request-router-headless.nvcf.svc.cluster.local".into(),
                "llm-request-router.nvcf.svc.cluster.local".into(),
            ],
            allowed_domains: "cluster.local".into(),
            issuer_kind: "ClusterIssuer".into(),
            issuer_name: "nvcf-openbao-pki".into(),
            secret_name: String::new(),
            image_tag: "0.18.0".into(),
        }
    }
}

impl LlmPki {
    /// Whether the stack creates the issuer (upstream's `$managedIssuer`): the nvcf-pki
    /// release is installed only then.
    pub fn managed_issuer(&self) -> bool {
        self.mode == "certManager"
            && self.issuer_kind == "ClusterIssuer"
            && self.issuer_name == "nvcf-openbao-pki"
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GatewayRef {
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Gateway {
    pub enabled: bool,
    pub controller_namespace: String,
    pub shared: GatewayRef,
    pub grpc: GatewayRef,
}

impl Default for Gateway {
    /// The local (ncp-local) topology: stack.md §4.
    fn default() -> Self {
        let ns = "envoy-gateway-system".to_owned();
        Gateway {
            enabled: true,
            controller_namespace: ns.clone(),
            shared: GatewayRef {
                name: "shared-gw".into(),
                namespace: ns.clone(),
            },
            grpc: GatewayRef {
                name: "grpc-gw".into(),
                namespace: ns,
            },
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Compute {
    pub cluster_name: String,
    #[serde(rename = "icmsServiceURL")]
    pub icms_service_url: String,
    #[serde(rename = "revalServiceURL")]
    pub reval_service_url: String,
    #[serde(rename = "natsURL")]
    pub nats_url: String,
    /// Host headers NVCA sends where the URLs above are addresses a gateway routes by
    /// name (a split install's compute-reachable routes).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icms_service_host_header_override: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reval_service_host_header_override: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nats_host_override: String,
    /// The NVCA agent version the operator deploys.
    pub nvca_version: String,
    /// `selfManaged.featureGateValues`: also the capabilities SIS records.
    pub feature_gates: Vec<String>,
}

impl Default for Compute {
    /// In-cluster URLs: the single-cluster layout.
    fn default() -> Self {
        Compute {
            cluster_name: "nvcf-cluster".into(),
            icms_service_url: "http://api.sis.svc.cluster.local:8080".into(),
            reval_service_url: "http://reval.nvcf.svc.cluster.local:8080".into(),
            nats_url: "nats://nats.nats-system.svc.cluster.local:4222".into(),
            icms_service_host_header_override: String::new(),
            reval_service_host_header_override: String::new(),
            nats_host_override: String::new(),
            nvca_version: "3.2.7".into(),
            feature_gates: ["DynamicGPUDiscovery", "SelfHosted", "KAIScheduler"]
                .map(String::from)
                .to_vec(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProfileName {
    #[default]
    Local,
    Production,
}

/// The validated, typed stack config.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StackConfig {
    pub profile: ProfileName,
    pub registry: String,
    pub repository: String,
    pub chart_source: Option<String>,
    /// Where third-party charts come from instead of their public repositories: by release
    /// name, or `all`.
    pub chart_mirrors: BTreeMap<String, String>,
    pub domain: String,
    pub storage: Storage,
    pub image_pull_secrets: Vec<String>,
    pub allow_inline_passwords: bool,
    pub passwords: Passwords,
    pub node_selectors: BTreeMap<String, BTreeMap<String, String>>,
    pub tolerations: BTreeMap<String, Vec<Value>>,
    pub pod_disruption_budgets: bool,
    pub llm_pki: LlmPki,
    /// Endpoints advertised to workers, by upstream's `global.workerEndpoints` names.
    pub worker_endpoints: BTreeMap<String, String>,
    pub observability: Observability,
    pub rate_limiter: bool,
    pub state_metrics: bool,
    pub addons: Addons,
    pub gateway: Gateway,
    pub compute: Compute,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            profile: ProfileName::Local,
            registry: String::new(),
            repository: String::new(),
            chart_source: None,
            chart_mirrors: BTreeMap::new(),
            domain: "localhost".into(),
            storage: Storage::default(),
            image_pull_secrets: Vec::new(),
            allow_inline_passwords: false,
            passwords: Passwords::default(),
            node_selectors: BTreeMap::new(),
            tolerations: BTreeMap::new(),
            pod_disruption_budgets: false,
            llm_pki: LlmPki::default(),
            worker_endpoints: BTreeMap::new(),
            observability: Observability::default(),
            rate_limiter: true,
            state_metrics: true,
            addons: Addons::default(),
            gateway: Gateway::default(),
            compute: Compute::default(),
        }
    }
}

/// Why loading failed: the file could not be read, or its content has problems.
#[derive(Debug)]
pub enum LoadError {
    Read(Error),
    Invalid(Problems),
}

impl StackConfig {
    /// Parses and validates `text` (named `file` in messages).
    pub fn parse(text: &str, file: &str) -> std::result::Result<StackConfig, LoadError> {
        let value: Value = if text.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_saphyr::from_str(text).map_err(|e| {
                LoadError::Read(
                    Error::invalid_input(format!("{file} is not valid YAML: {e}"))
                        .hint("fix the YAML syntax at the position named"),
                )
            })?
        };
        let inline_ok = value
            .get("allowInlinePasswords")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut problems = Vec::new();
        check(&value, Ty::Map(SCHEMA), "", inline_ok, &mut problems);
        // Upstream's charts and global.yaml.gotmpl take one `key: value` per pool.
        if let Some(pools) = value.get("nodeSelectors").and_then(Value::as_object) {
            for (pool, sel) in pools {
                if let Some(sel) = sel.as_object()
                    && sel.len() != 1
                {
                    problems.push(Problem::new(
                        &format!("nodeSelectors.{pool}"),
                        format!("must hold exactly one label, got {}", sel.len()),
                        "the NVCF charts take a single key/value node selector per pool: keep one label",
                    ));
                }
            }
        }
        if problems.is_empty() {
            rules::check(&value, &mut problems);
        }
        for (key, fix) in REQUIRED {
            let present = value
                .get(*key)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.trim().is_empty());
            if !present && !problems.iter().any(|p| p.key == *key) {
                problems.push(Problem::new(key, "is missing", *fix));
            }
        }
        if !problems.is_empty() {
            return Err(LoadError::Invalid(Problems {
                file: file.to_owned(),
                problems,
            }));
        }
        // The shape checks above name most problems; what they do not model (a field a
        // nested map requires) still names its key instead of failing as a bug.
        serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            let fix = match e.inner().to_string() {
                m if m.starts_with("missing field") => format!("add the missing field (see the stack config reference in `{helm_nvcf_cmd0} --help`)", helm_nvcf_cmd0 = crate::base::plugin::helm_nvcf("values")),
                _ => "give the value the type this key takes".to_owned(),
            };
            LoadError::Invalid(Problems {
                file: file.to_owned(),
                problems: vec![Problem::new(&key, e.inner().to_string(), fix)],
            })
        })
    }

    pub fn load(path: &Path) -> std::result::Result<StackConfig, LoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::Read(crate::base::files::io_error("read", path, e)))?;
        StackConfig::parse(&text, &path.display().to_string())
    }

    /// The config as a JSON value, for `enabledWhen` lookups and templates, with the
    /// derived `llmPki.managedIssuer`.
    pub fn as_value(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(pki) = value.get_mut("llmPki").and_then(Value::as_object_mut) {
            pki.insert(
                "managedIssuer".into(),
                Value::Bool(self.llm_pki.managed_issuer()),
            );
        }
        value
    }
}

/// Passwords read from their sources; absent ones leave the chart defaults in place.
#[derive(Debug, Clone, Default)]
pub struct ResolvedPasswords {
    pub cassandra_service_role: Option<Secret>,
    pub cassandra_superuser: Option<Secret>,
    pub sidecar_pull_secret: Option<Secret>,
    pub registry: Option<Secret>,
    /// Keys whose password lives in a Secret not read yet ([`Passwords::read_secrets`]).
    pub pending: Vec<String>,
}

/// The password keys of the stack config, with their fields.
macro_rules! each_password {
    ($p:expr) => {
        [
            ("cassandraServiceRole", &$p.cassandra_service_role),
            ("cassandraSuperuser", &$p.cassandra_superuser),
            ("sidecarPullSecret", &$p.sidecar_pull_secret),
            ("registry", &$p.registry),
        ]
    };
}

impl Passwords {
    /// Reads every env-sourced password, reporting every unset variable at once. Passwords
    /// in Secrets stay pending until [`Passwords::read_secrets`].
    pub fn resolve(&self, env: &dyn EnvLookup) -> Result<ResolvedPasswords> {
        self.resolve_with(env, None)
    }

    /// As [`Passwords::resolve`], with the Secrets' data read from the cluster: `(namespace,
    /// name) -> data` (absent when the Secret does not exist).
    pub fn read_secrets(
        &self,
        env: &dyn EnvLookup,
        secrets: &SecretData,
    ) -> Result<ResolvedPasswords> {
        self.resolve_with(env, Some(secrets))
    }

    fn resolve_with(
        &self,
        env: &dyn EnvLookup,
        secrets: Option<&SecretData>,
    ) -> Result<ResolvedPasswords> {
        let mut missing = Vec::new();
        let mut unreadable = Vec::new();
        let mut pending = Vec::new();
        let mut one = |key: &str, r: &Option<PasswordRef>| -> Option<Secret> {
            match r {
                None => None,
                Some(PasswordRef::Value(v)) => Some(Secret::new(v.clone())),
                Some(PasswordRef::Env(var)) => match env.get(var).filter(|v| !v.is_empty()) {
                    Some(v) => Some(Secret::new(v)),
                    None => {
                        missing.push(format!("passwords.{key} (${var})"));
                        None
                    }
                },
                Some(PasswordRef::SecretRef(r)) => {
                    let Some(secrets) = secrets else {
                        pending.push(key.to_owned());
                        return None;
                    };
                    let found = match secrets.get(&(r.namespace.clone(), r.name.clone())) {
                        None => Err(format!("Secret {}/{} does not exist", r.namespace, r.name)),
                        Some(data) => match data.get(&r.key) {
                            None => Err(format!(
                                "Secret {}/{} has no key {:?}",
                                r.namespace, r.name, r.key
                            )),
                            Some(bytes) => String::from_utf8(bytes.clone())
                                .ok()
                                .filter(|v| !v.is_empty())
                                .ok_or_else(|| format!("{} is empty or not UTF-8", r.display())),
                        },
                    };
                    match found {
                        Ok(v) => Some(Secret::new(v)),
                        Err(why) => {
                            unreadable.push(format!("passwords.{key}: {why}"));
                            None
                        }
                    }
                }
            }
        };
        let resolved = ResolvedPasswords {
            cassandra_service_role: one("cassandraServiceRole", &self.cassandra_service_role),
            cassandra_superuser: one("cassandraSuperuser", &self.cassandra_superuser),
            sidecar_pull_secret: one("sidecarPullSecret", &self.sidecar_pull_secret),
            registry: one("registry", &self.registry),
            pending,
        };
        if !missing.is_empty() {
            return Err(Error::config(format!(
                "password variables are not set: {}",
                missing.join(", ")
            ))
            .hint(
                "export each variable named, or remove the password entry to use the chart default",
            ));
        }
        if !unreadable.is_empty() {
            return Err(Error::config(format!(
                "passwords cannot be read: {}",
                unreadable.join("; ")
            ))
            .hint(
                "create the Secret with the key named (kubectl create secret generic NAME -n NS \
                 --from-literal=KEY=...), or point the secretRef at the Secret that holds it",
            ));
        }
        Ok(resolved)
    }

    /// `(values path, env var)` of each env-sourced password, for bundles that must not
    /// carry the password itself.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (key, r) in each_password!(self) {
            if let Some(PasswordRef::Env(var)) = r {
                out.push((key, var.clone()));
            }
        }
        out
    }

    /// `(key, Secret key)` of each password read from a Secret.
    pub fn secret_refs(&self) -> Vec<(&'static str, SecretKeyRef)> {
        let mut out = Vec::new();
        for (key, r) in each_password!(self) {
            if let Some(PasswordRef::SecretRef(s)) = r {
                out.push((key, s.clone()));
            }
        }
        out
    }

    /// Keys holding an inline password (accepted only with `allowInlinePasswords`).
    pub fn inline(&self) -> Vec<&'static str> {
        each_password!(self)
            .into_iter()
            .filter(|(_, r)| matches!(r, Some(PasswordRef::Value(_))))
            .map(|(k, _)| k)
            .collect()
    }
}

/// The `data` of Secrets by `(namespace, name)`, decoded to bytes.
pub type SecretData = BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;

    fn problems(text: &str) -> Vec<Problem> {
        match StackConfig::parse(text, "stack.yaml") {
            Err(LoadError::Invalid(p)) => p.problems,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_file_is_valid() {
        let cfg = StackConfig::parse("registry: nvcr.io\nrepository: acme/nvcf\n", "f").unwrap();
        assert_eq!(cfg.registry, "nvcr.io");
        assert_eq!(cfg.profile, ProfileName::Local);
        assert!(cfg.gateway.enabled);
    }

    #[test]
    fn every_problem_is_reported_once_with_its_key() {
        let found = problems(
            "repository: YOUR_ORG/YOUR_TEAM\nstorage: {size: lots}\naddons: {llmm: true}\nobservabilty: {}\n",
        );
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "repository",
                "storage.size",
                "addons.llmm",
                "observabilty",
                "registry"
            ]
        );
        assert!(found[0].message.contains("placeholder"));
        assert!(
            found[2].fix.contains("did you mean `llm`"),
            "{:?}",
            found[2]
        );
        assert!(found[3].fix.contains("did you mean `observability`"));
        assert!(found[4].message.contains("missing"));
    }

    #[test]
    fn a_gateway_without_its_namespace_names_the_key_not_a_bug() {
        // Found by fuzzing (fuzz/regressions/stack_config): typing failed after the shape
        // checks passed, and the user saw an internal error.
        let found =
            problems("registry: r\nrepository: o/t\ngateway: {shared: {name: nvcf-gateway}}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "gateway.shared");
        assert!(found[0].message.contains("namespace"), "{:?}", found[0]);
        assert!(found[0].fix.contains("add the missing field"));
    }

    #[test]
    fn inline_passwords_need_an_explicit_opt_in() {
        let base = "registry: r\nrepository: o/t\npasswords: {cassandraSuperuser: {value: pw}}\n";
        let found = problems(base);
        assert_eq!(found.len(), 1);
        assert!(found[0].fix.contains("allowInlinePasswords"));
        let ok = format!("{base}allowInlinePasswords: true\n");
        assert!(StackConfig::parse(&ok, "f").is_ok());
        let bare = problems("registry: r\nrepository: o/t\npasswords: {cassandraSuperuser: pw}\n");
        assert!(bare[0].message.contains("not hold it"));
    }

    #[test]
    fn env_passwords_resolve_to_masked_secrets() {
        let cfg = StackConfig::parse(
            "registry: r\nrepository: o/t\npasswords: {cassandraSuperuser: {env: PW_A}, cassandraServiceRole: {env: PW_B}}\n",
            "f",
        )
        .unwrap();
        let err = cfg.passwords.resolve(&MapEnv::new([])).unwrap_err();
        assert!(err.message().contains("$PW_A"));
        assert!(err.message().contains("$PW_B"));
        let got = cfg
            .passwords
            .resolve(&MapEnv::new([
                ("PW_A", "s3cret-value-a"),
                ("PW_B", "s3cret-value-b"),
            ]))
            .unwrap();
        assert_eq!(got.cassandra_superuser.unwrap().expose(), "s3cret-value-a");
        assert_eq!(
            crate::base::secret::redact("x s3cret-value-b"),
            "x s3cret-v..."
        );
    }

    #[test]
    fn secret_refs_are_validated_field_by_field() {
        let found = problems(
            "registry: r\nrepository: o/t\npasswords:\n  cassandraSuperuser: {secretRef: {namespace: db, name: creds}}\n  \
             cassandraServiceRole: {secretRef: {namespace: db, name: creds, key: k, keyy: x}}\n  \
             registry: {secretRef: {namespace: db, name: <SECRET>, key: k}}\n",
        );
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "passwords.cassandraSuperuser.secretRef.key",
                "passwords.cassandraServiceRole.secretRef.keyy",
                "passwords.registry.secretRef.name",
            ]
        );
        assert!(found[0].message.contains("missing"));
        assert!(
            found[0]
                .fix
                .contains("{namespace: NS, name: SECRET, key: KEY}")
        );
    }

    #[test]
    fn secret_passwords_stay_pending_until_their_secrets_are_read() {
        let cfg = StackConfig::parse(
            "registry: r\nrepository: o/t\npasswords:\n  cassandraSuperuser: {secretRef: {namespace: db, name: creds, key: su}}\n  \
             cassandraServiceRole: {secretRef: {namespace: db, name: creds, key: sr}}\n  \
             sidecarPullSecret: {secretRef: {namespace: db, name: gone, key: x}}\n",
            "f",
        )
        .unwrap();
        let env = MapEnv::new([]);
        let pending = cfg.passwords.resolve(&env).unwrap();
        assert_eq!(
            pending.pending,
            [
                "cassandraServiceRole",
                "cassandraSuperuser",
                "sidecarPullSecret"
            ]
        );
        let mut data = SecretData::new();
        data.insert(
            ("db".into(), "creds".into()),
            BTreeMap::from([("su".to_owned(), b"superuser-pw-1".to_vec())]),
        );
        let err = cfg.passwords.read_secrets(&env, &data).unwrap_err();
        assert!(
            err.message().contains(
                "passwords.cassandraServiceRole: Secret db/creds has no key \"sr\"; \
                 passwords.sidecarPullSecret: Secret db/gone does not exist"
            ),
            "{err:?}"
        );
        assert!(!err.message().contains("superuser-pw-1"));
        data.get_mut(&("db".into(), "creds".into()))
            .unwrap()
            .insert("sr".into(), b"service-pw-2".to_vec());
        data.insert(
            ("db".into(), "gone".into()),
            BTreeMap::from([("x".to_owned(), b"sidecar-pw-3".to_vec())]),
        );
        let got = cfg.passwords.read_secrets(&env, &data).unwrap();
        assert!(got.pending.is_empty());
        assert_eq!(got.cassandra_service_role.unwrap().expose(), "service-pw-2");
        assert_eq!(
            crate::base::secret::redact("x superuser-pw-1"),
            "x superuse..."
        );
    }

    #[test]
    fn quantities() {
        for ok in ["10Gi", "1", "0.5Ti", "500M"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "Gi", "ten", "10GB"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }
}
