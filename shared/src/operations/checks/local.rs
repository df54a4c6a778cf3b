//! Checks of the machine the plugin runs on.

use crate::base::checks::{Runner, Spec, Verdict};
use crate::base::events::Severity;
use crate::clients::tools::{Tool, detect, which};
use crate::model::settings::EnvLookup;
use std::path::PathBuf;

/// `v1.36.3` or `v4.2.3+g43e8b7f` → (1, 36, 3).
pub(super) fn semver(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.trim().trim_start_matches('v');
    let core = core.split(['+', '-']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next()?.unwrap_or(0),
        parts.next().flatten().unwrap_or(0),
    ))
}

const KUBECTL: Spec = Spec {
    id: "kubectl-on-path",
    title: "kubectl on PATH",
    severity: Severity::Warning,
    hint: "install kubectl 1.30 or newer and put it on PATH (GitOps flows pipe our YAML into kubectl apply)",
    hint_url: Some("https://kubernetes.io/docs/tasks/tools/"),
};

const HELM: Spec = Spec {
    id: "helm-on-path",
    title: "helm on PATH",
    severity: Severity::Error,
    hint: "install helm 3.17 or newer (helm 4 works too) and put it on PATH: installs render and apply charts with it",
    hint_url: Some("https://helm.sh/docs/intro/install/"),
};

async fn tool_verdict(
    tool: Tool,
    path: Option<PathBuf>,
    minimum: (u64, u64, u64),
    env: &dyn EnvLookup,
) -> Verdict {
    let Some(path) = path else {
        return Verdict::fail("not found on PATH");
    };
    let found = detect(&[(tool, path.clone())], env).await;
    match found.first().and_then(|t| t.version.clone()) {
        Some(v) if semver(&v).is_some_and(|s| s >= minimum) => Verdict::pass(v),
        Some(v) => Verdict::fail(format!(
            "{} is {v}, older than the oldest supported v{}.{}.{}",
            path.display(),
            minimum.0,
            minimum.1,
            minimum.2
        )),
        None => Verdict::fail(format!("{} did not report its version", path.display())),
    }
}

/// `helm_bin` is the helm that started us when running as a helm plugin.
pub async fn local_checks(runner: &mut Runner, env: &dyn EnvLookup, helm_bin: Option<PathBuf>) {
    runner.begin_category("local-host-tools");
    let kubectl = which("kubectl", env);
    runner
        .check(
            KUBECTL,
            tool_verdict(Tool::Kubectl, kubectl, (1, 30, 0), env),
        )
        .await;
    let helm = helm_bin.or_else(|| which("helm", env));
    runner
        .check(HELM, tool_verdict(Tool::Helm, helm, (3, 17, 0), env))
        .await;
}

#[cfg(test)]
mod tests {
    use super::semver;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(semver("v1.36.3"), Some((1, 36, 3)));
        assert_eq!(semver("v4.2.3+g43e8b7f"), Some((4, 2, 3)));
        assert_eq!(semver("v1.32.4-dispatcher"), Some((1, 32, 4)));
        assert!(semver("v3.9.0") < semver("v3.17.0"));
        assert_eq!(semver("garbage"), None);
    }
}
