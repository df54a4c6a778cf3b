//! Everything `helm nvcf` generates itself goes through these minijinja templates: the
//! values of each release, namespaces, pull secrets, and the bundle's scripts.
//!
//! Undefined variables are errors, so a template typo fails the render instead of writing
//! an empty value into a cluster.

use crate::error::{Error, Result};
use crate::stack::catalog::Catalog;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::sync::OnceLock;

const FILES: &[(&str, &str)] = &[
    ("macros.j2", include_str!("macros.j2")),
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

/// The template name of a release's values template.
pub fn values_template(release: &str) -> String {
    format!("values/{release}")
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
        for r in &Catalog::embedded().releases {
            let source = format!("{{% import \"macros.j2\" as m %}}\n{}", r.values);
            env.add_template_owned(values_template(&r.name), source)
                .expect("catalog values templates compile");
        }
        env
    })
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
