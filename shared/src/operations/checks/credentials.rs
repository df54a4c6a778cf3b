//! `registry-credentials`: the pull secret the stack will use, decoded and tried with a real
//! login at each registry it names (the secret never leaves this process).

use crate::base::checks::{Runner, Spec, Verdict};
use crate::base::events::Severity;
use crate::clients::registry::docker_config::{self, host_of};
use crate::clients::registry::judge::{judge, judge_decoded};
use crate::clients::registry::login::{Outcome, login};

const CREDENTIALS: Spec = Spec {
    id: "registry-credentials",
    title: "the pull secret's credentials log in to each registry",
    severity: Severity::Error,
    hint: "recreate the secret with the registry's user and key: kubectl create secret docker-registry NAME -n NAMESPACE --docker-server=REGISTRY --docker-username='$oauthtoken' --docker-password=KEY (for nvcr.io the user is literally $oauthtoken)",
    hint_url: None,
};

/// Decodes Secret `namespace/name` and logs in to each of `registries` (default: every
/// registry the secret names) with its credentials.
pub async fn registry_credentials(
    runner: &mut Runner,
    client: Option<&kube::Client>,
    namespace: &str,
    name: &str,
    registries: &[String],
) {
    runner
        .check(CREDENTIALS, async {
            let Some(client) = client else {
                return Verdict::skip("the cluster could not be reached");
            };
            let data = match crate::clients::kube::objects::secret_data(client, namespace, name)
                .await
            {
                Ok(Some(d)) => d,
                Ok(None) => return Verdict::skip(format!("Secret {namespace}/{name} not found")),
                Err(e) => return Verdict::fail(e.message()),
            };
            let Some(bytes) = data.get(".dockerconfigjson") else {
                return Verdict::fail(format!(
                    "Secret {namespace}/{name} has no .dockerconfigjson key"
                ));
            };
            judge(&bytes.0, registries).await
        })
        .await;
}

const CHART_CREDENTIALS: Spec = Spec {
    id: "chart-registry-credentials",
    title: "helm's credentials log in to the chart registry",
    severity: Severity::Error,
    hint: "log helm in to the chart registry: helm registry login HOST --username USER (for nvcr.io the user is literally $oauthtoken and the password your API key)",
    hint_url: None,
};

/// helm's registry credentials file: `$HELM_REGISTRY_CONFIG`, else
/// `$HELM_CONFIG_HOME/registry/config.json`, else helm's default under the config home.
fn helm_registry_config(env: &dyn crate::model::settings::EnvLookup) -> Option<std::path::PathBuf> {
    let set = |k: &str| env.get(k).filter(|v| !v.is_empty());
    if let Some(p) = set("HELM_REGISTRY_CONFIG") {
        return Some(p.into());
    }
    let config_home = set("HELM_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| set("XDG_CONFIG_HOME").map(|x| std::path::Path::new(&x).join("helm")))
        .or_else(|| crate::model::target::home_dir(env).map(|h| h.join(".config").join("helm")))?;
    Some(config_home.join("registry").join("config.json"))
}

/// For an `oci://HOST/…` chart source: helm's saved credentials for HOST log in (or the
/// registry serves charts without any).
pub async fn chart_registry_credentials(
    runner: &mut Runner,
    env: &dyn crate::model::settings::EnvLookup,
    chart_source: &str,
) {
    let host = chart_source
        .trim_start_matches("oci+http://")
        .trim_start_matches("oci://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let file = helm_registry_config(env);
    runner
        .check(CHART_CREDENTIALS, async {
            let saved = file
                .as_ref()
                .and_then(|f| std::fs::read(f).ok())
                .map(|bytes| docker_config::decode(&bytes));
            match saved {
                Some(Ok(d))
                    if d.entries.iter().any(|e| host_of(&e.server) == host)
                        || d.problems.iter().any(|p| host_of(&p.server) == host) =>
                {
                    // Only this registry's entry is judged: helm keeps others there too.
                    let only = docker_config::Decoded {
                        entries: d
                            .entries
                            .into_iter()
                            .filter(|e| host_of(&e.server) == host)
                            .collect(),
                        problems: d
                            .problems
                            .into_iter()
                            .filter(|p| host_of(&p.server) == host)
                            .collect(),
                    };
                    judge_decoded(&only, std::slice::from_ref(&host)).await
                }
                Some(Err(e)) => Verdict::fail(format!(
                    "{}: {e}",
                    file.as_ref()
                        .map(|f| f.display().to_string())
                        .unwrap_or_default()
                )),
                _ => match login(&host, None).await {
                    Outcome::Anonymous => {
                        Verdict::pass(format!("{host}: answers without credentials"))
                    }
                    Outcome::Refused { status, .. } => Verdict::fail(format!(
                        "{host}: wants credentials ({status}) and helm has none saved for it"
                    ))
                    .because(crate::base::error::Category::Auth),
                    Outcome::Unreachable(why) => {
                        Verdict::fail(format!("{host}: unreachable ({why})"))
                            .because(crate::base::error::Category::Network)
                    }
                    Outcome::Authenticated { .. } => Verdict::pass(host.clone()),
                },
            }
        })
        .await;
}
