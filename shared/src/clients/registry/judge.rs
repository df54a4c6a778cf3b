//! A pull secret judged as a check: its known mistakes, then a real login at each registry
//! it should serve. Shared by `kubectl nvcf check --pre` and `kubectl nvca validate|doctor`.

use super::docker_config::{self, host_of};
use super::login::{Outcome, login};
use crate::base::checks::Verdict;
use crate::base::error::Category;

/// The verdict for one `.dockerconfigjson` document.
pub async fn judge(bytes: &[u8], registries: &[String]) -> Verdict {
    match docker_config::decode(bytes) {
        Ok(d) => judge_decoded(&d, registries).await,
        Err(e) => Verdict::fail(e),
    }
}

/// Every problem of `decoded`, then a login at each of `registries` (default: all it names).
pub async fn judge_decoded(decoded: &docker_config::Decoded, registries: &[String]) -> Verdict {
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
    // Failures that are only "could not reach it" are a retry, not wrong credentials.
    let mut unreachable = 0;
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
            Outcome::Unreachable(why) => {
                unreachable += 1;
                failures.push(format!("{host}: unreachable ({why})"));
            }
        }
    }
    if failures.is_empty() {
        if passed.is_empty() {
            return Verdict::fail("the secret names no registry");
        }
        Verdict::pass(passed.join("; "))
    } else {
        let cause = if unreachable == failures.len() {
            Category::Network
        } else {
            Category::Auth
        };
        Verdict::fail(failures.join("; ")).because(cause)
    }
}
