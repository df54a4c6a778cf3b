//! `registry-credentials`: the pull secret the stack will use, decoded and tried with a real
//! login at each registry it names (the secret never leaves this process).

use super::{Runner, Spec, Verdict};
use crate::events::Severity;
use crate::registry::docker_config::{self, host_of};
use crate::registry::login::{Outcome, login};

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
            let data = match crate::kube::objects::secret_data(client, namespace, name).await {
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

/// The verdict for one `.dockerconfigjson` document.
pub async fn judge(bytes: &[u8], registries: &[String]) -> Verdict {
    let decoded = match docker_config::decode(bytes) {
        Ok(d) => d,
        Err(e) => return Verdict::fail(e),
    };
    let mut failures: Vec<String> = decoded
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.server, p.message))
        .collect();
    let wanted: Vec<String> = if registries.is_empty() {
        decoded.entries.iter().map(|e| host_of(&e.server)).collect()
    } else {
        registries.iter().map(|r| host_of(r)).collect()
    };
    let mut passed = Vec::new();
    for host in wanted {
        let Some(entry) = decoded.entries.iter().find(|e| host_of(&e.server) == host) else {
            if !decoded.problems.iter().any(|p| host_of(&p.server) == host) {
                let named: Vec<String> =
                    decoded.entries.iter().map(|e| host_of(&e.server)).collect();
                failures.push(format!(
                    "{host}: the secret has no entry for it (it has: {})",
                    if named.is_empty() {
                        "none".into()
                    } else {
                        named.join(", ")
                    }
                ));
            }
            continue;
        };
        match login(&host, Some((&entry.username, &entry.password))).await {
            Outcome::Authenticated { scheme } => {
                passed.push(format!(
                    "{host}: logged in as {} ({scheme})",
                    entry.username
                ));
            }
            Outcome::Anonymous => {
                passed.push(format!("{host}: answers without credentials"));
            }
            Outcome::Refused { status, message } => failures.push(format!(
                "{host}: refused {} ({status}{})",
                entry.username,
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            )),
            Outcome::Unreachable(why) => failures.push(format!("{host}: unreachable ({why})")),
        }
    }
    if failures.is_empty() {
        if passed.is_empty() {
            return Verdict::fail("the secret names no registry");
        }
        Verdict::pass(passed.join("; "))
    } else {
        Verdict::fail(failures.join("; "))
    }
}
