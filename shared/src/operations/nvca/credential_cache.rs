//! A registry credential added or changed in NVCF reaches the agents only when NVCA next
//! refreshes its credential cache, about five minutes later. A deployment in that window
//! still pulls with the old credentials and ends in ImagePullBackOff, which looks like a
//! wrong password. Doctor names the credentials still inside the window, and until when.

use crate::base::checks::Verdict;
use crate::clients::nvcf::Client;
use crate::clients::nvcf::registry::{Registries, RegistryCredential};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How long NVCA may take to pick a credential change up.
pub const REFRESH: time::Duration = time::Duration::minutes(5);

/// A credential changed within [`REFRESH`] of `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsettled {
    pub name: String,
    pub hostname: String,
    pub changed: OffsetDateTime,
}

impl Unsettled {
    /// When the cache has certainly been refreshed.
    pub fn settled_at(&self) -> OffsetDateTime {
        self.changed + REFRESH
    }
}

fn text(c: &RegistryCredential, key: &str) -> Option<String> {
    c.extra.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

/// The credentials changed less than [`REFRESH`] before `now`, oldest first.
pub fn unsettled(credentials: &[RegistryCredential], now: OffsetDateTime) -> Vec<Unsettled> {
    let mut out: Vec<Unsettled> = credentials
        .iter()
        .filter_map(|c| {
            let changed = text(c, "lastUpdatedAt").or_else(|| text(c, "createdAt"))?;
            let changed = OffsetDateTime::parse(&changed, &Rfc3339).ok()?;
            (now - changed < REFRESH).then(|| Unsettled {
                name: text(c, "registryCredentialName")
                    .unwrap_or_else(|| c.registry_credential_id.clone()),
                hostname: c.registry_hostname.clone(),
                changed,
            })
        })
        .collect();
    out.sort_by_key(|u| u.changed);
    out
}

fn clock(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:02}:{:02}:{:02} UTC", t.hour(), t.minute(), t.second())
}

/// The doctor's judgement: a warning while any credential is inside the refresh window.
pub async fn verdict(client: &Client) -> Verdict {
    let listed = Registries { client }.list(&[], &[]).await;
    let credentials = match listed {
        Ok(c) => c,
        Err(e) => {
            return Verdict::skip(format!(
                "registry credentials could not be listed: {}",
                e.message()
            ));
        }
    };
    let now = OffsetDateTime::now_utc();
    let fresh = unsettled(&credentials, now);
    let Some(last) = fresh.last() else {
        return Verdict::pass(format!(
            "{} registry credential(s), none changed in the last {} minutes",
            credentials.len(),
            REFRESH.whole_minutes()
        ));
    };
    let names: Vec<String> = fresh
        .iter()
        .map(|u| {
            format!(
                "{} ({}, changed {} s ago)",
                u.name,
                u.hostname,
                (now - u.changed).whole_seconds()
            )
        })
        .collect();
    Verdict::fail(format!(
        "NVCA may still pull with the previous credentials until {}: {}",
        clock(last.settled_at()),
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn credential(name: &str, updated: &str) -> RegistryCredential {
        serde_json::from_value(json!({
            "registryCredentialId": format!("id-{name}"),
            "registryHostname": "registry.example.com",
            "registryCredentialName": name,
            "lastUpdatedAt": updated,
        }))
        .unwrap()
    }

    #[test]
    fn only_credentials_changed_inside_the_refresh_window_are_unsettled() {
        let now = OffsetDateTime::parse("2026-12-07T12:10:00Z", &Rfc3339).unwrap();
        let all = [
            credential("old", "2026-12-07T12:04:59Z"),
            credential("newer", "2026-12-07T12:09:30Z"),
            credential("new", "2026-12-07T12:06:00Z"),
            credential("unreadable", "yesterday"),
        ];
        let fresh = unsettled(&all, now);
        let names: Vec<&str> = fresh.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["new", "newer"]);
        assert_eq!(clock(fresh[1].settled_at()), "12:14:30 UTC");
    }
}
