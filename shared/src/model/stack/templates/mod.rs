//! Everything `helm nvcf` generates itself goes through these minijinja templates: the
//! values of each release, namespaces, pull secrets, and the bundle's scripts.
//!
//! Undefined variables are errors, so a template typo fails the render instead of writing
//! an empty value into a cluster.

use crate::base::error::{Error, Result};
use crate::model::stack::catalog::Catalog;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::sync::OnceLock;

const FILES: &[(&str, &str)] = &[
    ("namespace.yaml.j2", include_str!("namespace.yaml.j2")),
    ("pull-secret.yaml.j2", include_str!("pull-secret.yaml.j2")),
    (
        "global-values.yaml.j2",
        include_str!("global-values.yaml.j2"),
    ),
    ("install.sh.j2", include_str!("install.sh.j2")),
    ("deploy.sh.j2", include_str!("deploy.sh.j2")),
    ("undeploy.sh.j2", include_str!("undeploy.sh.j2")),
    ("bundle-readme.md.j2", include_str!("bundle-readme.md.j2")),
];

/// Values templates ported from upstream's `global.yaml.gotmpl` and helmfile.d, one file
/// per release (`shared/stack/values/`). Each renders the release's whole values document
/// from upstream's environment shape (`env`), as upstream's templates do.
const RELEASE_FILES: &[(&str, &str)] = &[
    (
        "nats",
        include_str!("../../../../stack/values/nats.yaml.j2"),
    ),
    (
        "cert-manager",
        include_str!("../../../../stack/values/cert-manager.yaml.j2"),
    ),
    (
        "openbao-server",
        include_str!("../../../../stack/values/openbao-server.yaml.j2"),
    ),
    (
        "nvcf-pki",
        include_str!("../../../../stack/values/nvcf-pki.yaml.j2"),
    ),
    (
        "cassandra",
        include_str!("../../../../stack/values/cassandra.yaml.j2"),
    ),
    (
        "api-keys",
        include_str!("../../../../stack/values/api-keys.yaml.j2"),
    ),
    (
        "nats-auth-callout-service",
        include_str!("../../../../stack/values/nats-auth-callout-service.yaml.j2"),
    ),
    ("api", include_str!("../../../../stack/values/api.yaml.j2")),
    (
        "invocation-service",
        include_str!("../../../../stack/values/invocation-service.yaml.j2"),
    ),
    (
        "nvct-api",
        include_str!("../../../../stack/values/nvct-api.yaml.j2"),
    ),
    (
        "grpc-proxy",
        include_str!("../../../../stack/values/grpc-proxy.yaml.j2"),
    ),
    (
        "ratelimiter",
        include_str!("../../../../stack/values/ratelimiter.yaml.j2"),
    ),
    (
        "ess-api",
        include_str!("../../../../stack/values/ess-api.yaml.j2"),
    ),
    (
        "notary-service",
        include_str!("../../../../stack/values/notary-service.yaml.j2"),
    ),
    ("sis", include_str!("../../../../stack/values/sis.yaml.j2")),
    (
        "admin-issuer-proxy",
        include_str!("../../../../stack/values/admin-issuer-proxy.yaml.j2"),
    ),
    (
        "state-metrics",
        include_str!("../../../../stack/values/state-metrics.yaml.j2"),
    ),
    (
        "function-autoscaler",
        include_str!("../../../../stack/values/function-autoscaler.yaml.j2"),
    ),
    (
        "reval",
        include_str!("../../../../stack/values/reval.yaml.j2"),
    ),
    (
        "llm-api-gateway",
        include_str!("../../../../stack/values/llm-api-gateway.yaml.j2"),
    ),
    (
        "llm-request-router",
        include_str!("../../../../stack/values/llm-request-router.yaml.j2"),
    ),
    (
        "vanity-gateway",
        include_str!("../../../../stack/values/vanity-gateway.yaml.j2"),
    ),
    (
        "nvcf-ui",
        include_str!("../../../../stack/values/nvcf-ui.yaml.j2"),
    ),
    (
        "ingress",
        include_str!("../../../../stack/values/ingress.yaml.j2"),
    ),
    (
        "kai-scheduler",
        include_str!("../../../../stack/values/kai-scheduler.yaml.j2"),
    ),
    (
        "nvcf-kai-topology",
        include_str!("../../../../stack/values/nvcf-kai-topology.yaml.j2"),
    ),
    (
        "grove-operator",
        include_str!("../../../../stack/values/grove-operator.yaml.j2"),
    ),
    (
        "nvcf-grove-topology",
        include_str!("../../../../stack/values/nvcf-grove-topology.yaml.j2"),
    ),
    (
        "dynamo-operator",
        include_str!("../../../../stack/values/dynamo-operator.yaml.j2"),
    ),
    (
        "nvca-operator",
        include_str!("../../../../stack/values/nvca-operator.yaml.j2"),
    ),
];

/// The template name of a release's values template.
pub fn values_template(release: &str) -> String {
    format!("values/{release}")
}

/// Whether `release`'s values come from a ported file (its whole document) rather than
/// the catalog's inline template (the content under its values key).
pub fn has_release_file(release: &str) -> bool {
    RELEASE_FILES.iter().any(|(name, _)| *name == release)
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        // Quoting is explicit (`| tojson`) so shell scripts and YAML read the same way.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        for (name, source) in FILES {
            env.add_template(name, source)
                .expect("embedded templates compile");
        }
        env.add_function("dig", dig);
        env.add_filter("webhook_with_ui", webhook_with_ui);
        for (name, source) in RELEASE_FILES {
            env.add_template_owned(values_template(name), *source)
                .expect("release values files compile");
        }
        for r in Catalog::embedded()
            .releases
            .iter()
            .filter(|r| !has_release_file(&r.name))
        {
            env.add_template_owned(values_template(&r.name), r.values.clone())
                .expect("catalog values templates compile");
        }
        env
    })
}

/// sprig's `dig` as global.yaml.gotmpl uses it: the value at the dotted `path`, or
/// `default` when any step is missing. A present null stays null, as in Go.
fn dig(value: minijinja::Value, path: &str, default: Option<minijinja::Value>) -> minijinja::Value {
    let mut cur = value;
    for key in path.split('.').filter(|k| !k.is_empty()) {
        match cur.get_attr(key) {
            Ok(next) if !next.is_undefined() => cur = next,
            _ => return default.unwrap_or(minijinja::Value::from(())),
        }
    }
    cur
}

/// global.yaml.gotmpl's injector webhook rule: with the UI add-on on, `nvcf-ui` joins
/// every `kubernetes.io/metadata.name In [...]` namespace selector.
fn webhook_with_ui(webhook: minijinja::Value, ui_enabled: bool) -> minijinja::Value {
    let mut value: serde_json::Value = match serde_json::to_value(&webhook) {
        Ok(v) => v,
        Err(_) => return webhook,
    };
    if ui_enabled
        && let Some(exprs) = value
            .pointer_mut("/namespaceSelector/matchExpressions")
            .and_then(serde_json::Value::as_array_mut)
    {
        for expr in exprs {
            let matches = expr["key"] == "kubernetes.io/metadata.name" && expr["operator"] == "In";
            if let Some(values) = expr.get_mut("values").and_then(|v| v.as_array_mut())
                && matches
                && !values.iter().any(|v| v == "nvcf-ui")
            {
                values.push("nvcf-ui".into());
            }
        }
    }
    minijinja::Value::from_serialize(&value)
}

/// Renders template `name` with `ctx`.
pub fn render<S: Serialize>(name: &str, ctx: S) -> Result<String> {
    let tmpl = environment()
        .get_template(name)
        .map_err(|e| Error::internal(format!("template {name} is missing: {e}")))?;
    tmpl.render(ctx).map_err(|e| {
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(&format!(": {s}"));
            source = s.source();
        }
        Error::internal(format!("rendering {name} failed: {detail}"))
            .hint("this is a bug in the template: report it with the stack config used")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, _) in FILES {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
        for r in &Catalog::embedded().releases {
            assert!(
                environment()
                    .get_template(&values_template(&r.name))
                    .is_ok()
            );
        }
    }

    #[test]
    fn every_release_has_exactly_one_values_source() {
        for r in &Catalog::embedded().releases {
            assert_ne!(
                has_release_file(&r.name),
                !r.values.trim().is_empty(),
                "{}: a ported values file or inline catalog values, not both or neither",
                r.name
            );
        }
        for (name, _) in RELEASE_FILES {
            assert!(Catalog::embedded().release(name).is_some(), "{name}");
        }
    }

    #[test]
    fn undefined_variables_fail_loudly() {
        let err = render("namespace.yaml.j2", minijinja::context! {}).unwrap_err();
        assert!(err.message().contains("namespace.yaml.j2"), "{err}");
    }

    #[test]
    fn namespaces_carry_the_platform_label_when_asked() {
        let text = render(
            "namespace.yaml.j2",
            minijinja::context! {name => "nvcf", platform => true, platform_label => "nvcf/platform"},
        )
        .unwrap();
        assert!(text.contains("nvcf/platform: \"true\""), "{text}");
    }
}
