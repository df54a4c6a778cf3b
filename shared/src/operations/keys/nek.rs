//! NEK rotation and re-encryption (runbooks.md §5). There is no API for it: ESS re-wraps
//! NEKs in scheduled jobs inside its pods, only when its configuration turns them on, only
//! after the MEK grace period, and only for NEKs wrapped longer ago than a period. So this
//! module reads that configuration, says what will happen and when, and can turn the jobs
//! on; it never claims a re-encryption it cannot see.

use super::stored::Kid;
use crate::base::error::{Category, Error, Result};
use crate::base::output::{Report, key_value_table};
use crate::base::plan::{Plan, StepState};
use crate::clients::kube::Objects;
use crate::model::stack::catalog::Catalog;
use crate::operations::ops::restart;
use crate::operations::ops::services::Service;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// ESS's defaults when a setting is absent (runbooks.md §5.1).
const DEFAULT_PERIOD: &str = "77d";
const DEFAULT_GRACE: &str = "48h";
const ESS_LABEL: (&str, &str) = ("app.kubernetes.io/name", "helm-nvcf-ess-api");

const REENCRYPT_SCHEDULED: &str = "ENCRYPTION_REENCRYPTION_SCHEDULED_ENABLED";
const REENCRYPT: &str = "ENCRYPTION_REENCRYPTION_ENABLED";
const REENCRYPT_PERIOD: &str = "ENCRYPTION_REENCRYPTION_SCHEDULED_PERIOD";
const REENCRYPT_CRON: &str = "ENCRYPTION_REENCRYPTION_SCHEDULED_CRON";
const PROMOTE_SCHEDULED: &str = "ENCRYPTION_PROMOTION_SCHEDULED_ENABLED";
const PROMOTE: &str = "ENCRYPTION_PROMOTION_ENABLED";
const PROMOTE_CRON: &str = "ENCRYPTION_PROMOTION_SCHEDULED_CRON";
const ROTATE_SCHEDULED: &str = "ENCRYPTION_ROTATION_SCHEDULED_ENABLED";
const ROTATE: &str = "ENCRYPTION_ROTATION_ENABLED";
const GRACE: &str = "ENCRYPTION_MEKROTATIONGRACEPERIOD";

/// What ESS is configured to do with NEKs, and what that means for the current MEK.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NekPlan {
    /// The ESS Deployment the settings were read from.
    pub ess: String,
    /// The ConfigMap ESS loads its environment from, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_config_map: Option<String>,
    /// Every `ENCRYPTION_*` setting found.
    pub settings: BTreeMap<String, String>,
    pub reencryption: bool,
    pub promotion: bool,
    pub rotation: bool,
    pub period: String,
    pub grace: String,
    /// When the current MEK's grace period ends (from its kid's UUID v1 timestamp).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_ends: Option<String>,
    pub explanation: Vec<String>,
}

fn on(settings: &BTreeMap<String, String>, key: &str) -> bool {
    settings
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Parses `48h`, `77d`, `30m`, `3600s`, or ISO `PT48H`-style (Spring's two duration forms).
pub fn parse_duration(text: &str) -> Option<time::Duration> {
    let t = text.trim().to_ascii_lowercase();
    let t = t
        .strip_prefix("pt")
        .or_else(|| t.strip_prefix('p'))
        .unwrap_or(&t);
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().ok()?;
    // Checked: a setting too large for a duration is unreadable, not a panic.
    Some(match unit {
        "d" => time::Duration::seconds(n.checked_mul(86_400)?),
        "h" => time::Duration::seconds(n.checked_mul(3_600)?),
        "m" => time::Duration::seconds(n.checked_mul(60)?),
        "s" => time::Duration::seconds(n),
        "ms" => time::Duration::milliseconds(n),
        _ => return None,
    })
}

/// Explains what ESS will do about NEKs wrapped under older MEKs, given its settings and the
/// current MEK kid.
pub fn explain(
    ess: String,
    env_config_map: Option<String>,
    settings: BTreeMap<String, String>,
    current: &Kid,
) -> NekPlan {
    let reencryption = on(&settings, REENCRYPT_SCHEDULED) && on(&settings, REENCRYPT);
    let promotion = on(&settings, PROMOTE_SCHEDULED) && on(&settings, PROMOTE);
    let rotation = settings
        .get(ROTATE_SCHEDULED)
        .is_none_or(|v| v.trim().eq_ignore_ascii_case("true"))
        && on(&settings, ROTATE);
    let period = settings
        .get(REENCRYPT_PERIOD)
        .cloned()
        .unwrap_or_else(|| DEFAULT_PERIOD.into());
    let grace = settings
        .get(GRACE)
        .cloned()
        .unwrap_or_else(|| DEFAULT_GRACE.into());
    let grace_ends = current
        .created
        .zip(parse_duration(&grace))
        .map(|(c, g)| c + g);
    let fmt = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let mut ex = Vec::new();
    if reencryption {
        let when = match grace_ends {
            Some(t) if t > OffsetDateTime::now_utc() => format!(
                "not before {} (the current MEK {} is inside its {grace} grace period; every run until then is skipped)",
                fmt(t),
                current.kid
            ),
            Some(_) => format!(
                "at its next scheduled run ({})",
                settings
                    .get(REENCRYPT_CRON)
                    .map(|c| format!("cron {c}"))
                    .unwrap_or_else(|| "ESS's default: once a day at a random time".into())
            ),
            None => format!(
                "never while the current kid {} is not a UUID v1: ESS cannot date it",
                current.kid
            ),
        };
        ex.push(format!(
            "ESS will re-wrap NEKs under MEK {} {when}.",
            current.kid
        ));
        ex.push(format!("Only NEKs wrapped with an older MEK more than {period} ago are picked (ENCRYPTION_REENCRYPTION_SCHEDULED_PERIOD); younger ones keep their wrapping until they age past it."));
        ex.push("Re-encryption writes new NEK rows beside the old ones; secret values themselves are never re-encrypted, and the old MEK must stay in the key set.".into());
    } else {
        ex.push("ESS will not re-wrap any NEK: its re-encryption job is off (ESS ships with it off). NEKs stay wrapped with the MEK that wrapped them, which is why the old MEK is kept.".into());
    }
    if reencryption && !promotion {
        ex.push("Promotion is off: re-wrapped NEKs stay PENDING_REENCRYPTION and are never used for reads.".into());
    } else if promotion {
        ex.push(format!(
            "Promotion validates PENDING rows and marks them VALIDATED{}.",
            settings
                .get(PROMOTE_CRON)
                .map(|c| format!(" (cron {c})"))
                .unwrap_or_default()
        ));
    }
    if rotation {
        ex.push("NEK rotation is on: NEKs older than ENCRYPTION_ROTATION_SCHEDULED_PERIOD (default 77d) get a new NEK, wrapped with the valid MEK.".into());
    }
    ex.push("This command cannot observe re-encryption (it happens inside the ESS pods): watch the ESS logs for \"Re-encrypted <n> NEKs\" and \"Promotion results\", keep nek_reencryption_errors_total and nek_promotion_errors_total at 0 on :9464/metrics, and check ess_api.encryption_keys_by_kid_and_encrypted_at for encrypted_by_kid = the new MEK kid with status VALIDATED.".into());
    NekPlan {
        ess,
        env_config_map,
        settings,
        reencryption,
        promotion,
        rotation,
        period,
        grace,
        grace_ends: grace_ends.map(fmt),
        explanation: ex,
    }
}

impl Report for NekPlan {
    fn table(&self, _wide: bool) -> String {
        let yes = |b: bool| if b { "on" } else { "off" }.to_owned();
        let mut out = key_value_table(&[
            ("ESS", self.ess.clone()),
            ("NEK RE-ENCRYPTION", yes(self.reencryption)),
            ("PROMOTION", yes(self.promotion)),
            ("NEK ROTATION", yes(self.rotation)),
            ("PERIOD", self.period.clone()),
            (
                "MEK GRACE",
                format!(
                    "{}{}",
                    self.grace,
                    self.grace_ends
                        .as_ref()
                        .map(|t| format!(" (ends {t})"))
                        .unwrap_or_default()
                ),
            ),
        ]);
        for line in &self.explanation {
            out.push_str(&format!("- {line}\n"));
        }
        out
    }

    fn names(&self) -> Vec<String> {
        vec![format!("deployment/{}", self.ess)]
    }
}

/// ESS as deployed: found by its pod label (the Deployment name differs between the docs
/// and the helmfile, runbooks.md §8), else by the catalog name.
pub async fn find_ess(client: &kube::Client) -> Result<(Service, Deployment)> {
    let catalog = crate::operations::ops::resolve(Catalog::embedded(), "ess-api", None)?;
    let list = Objects::<Deployment>::namespaced(client, &catalog.namespace)
        .list(&Default::default())
        .await?;
    let by_label = list.iter().find(|d| {
        d.spec
            .selector
            .match_labels
            .as_ref()
            .and_then(|m| m.get(ESS_LABEL.0))
            .map(String::as_str)
            == Some(ESS_LABEL.1)
    });
    let by_name = list
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some(&catalog.resource));
    let d = by_label.or(by_name).cloned().ok_or_else(|| {
        Error::not_found(format!(
            "no ESS Deployment in namespace {}",
            catalog.namespace
        ))
        .hint("is the stack installed here? kubectl get deployments -n ess")
    })?;
    let name = d.metadata.name.clone().unwrap_or_default();
    Ok((
        Service {
            resource: name.clone(),
            service: name,
            ..catalog
        },
        d,
    ))
}

/// ESS's effective `ENCRYPTION_*` environment: its env ConfigMaps, then its own env.
async fn ess_settings(
    client: &kube::Client,
    svc: &Service,
    d: &Deployment,
) -> Result<(Option<String>, BTreeMap<String, String>)> {
    let pod = d.spec.template.spec.clone().unwrap_or_default();
    let container = pod
        .containers
        .iter()
        .find(|c| c.name == ESS_LABEL.1)
        .or_else(|| pod.containers.first())
        .cloned()
        .unwrap_or_default();
    let mut settings = BTreeMap::new();
    let mut env_cm = None;
    for from in container.env_from.unwrap_or_default() {
        let Some(name) = from.config_map_ref.map(|r| r.name) else {
            continue;
        };
        let cm = Objects::<ConfigMap>::namespaced(client, &svc.namespace)
            .get_opt(&name)
            .await?;
        for (k, v) in cm.and_then(|c| c.data).unwrap_or_default() {
            if k.starts_with("ENCRYPTION_") {
                settings.insert(k, v);
            }
        }
        env_cm.get_or_insert(name);
    }
    for e in container.env.unwrap_or_default() {
        if let (true, Some(v)) = (e.name.starts_with("ENCRYPTION_"), e.value) {
            settings.insert(e.name, v);
        }
    }
    Ok((env_cm, settings))
}

pub async fn plan(client: &kube::Client, current: &Kid) -> Result<NekPlan> {
    let (svc, d) = find_ess(client).await?;
    let (cm, settings) = ess_settings(client, &svc, &d).await?;
    Ok(explain(svc.reference(), cm, settings, current))
}

/// The settings `rotate-nek` turns on.
#[derive(Debug, Clone, Default)]
pub struct Enable {
    pub period: Option<String>,
    pub cron: Option<String>,
    pub promotion_cron: Option<String>,
    /// Also rotate NEKs (new NEKs), not only re-wrap them.
    pub rotate: bool,
}

impl Enable {
    fn settings(&self) -> BTreeMap<String, String> {
        let mut s: BTreeMap<String, String> =
            [REENCRYPT_SCHEDULED, REENCRYPT, PROMOTE_SCHEDULED, PROMOTE]
                .into_iter()
                .map(|k| (k.to_owned(), "true".to_owned()))
                .collect();
        if self.rotate {
            s.insert(ROTATE_SCHEDULED.into(), "true".into());
            s.insert(ROTATE.into(), "true".into());
        }
        for (k, v) in [
            (REENCRYPT_PERIOD, &self.period),
            (REENCRYPT_CRON, &self.cron),
            (PROMOTE_CRON, &self.promotion_cron),
        ] {
            if let Some(v) = v {
                s.insert(k.into(), v.clone());
            }
        }
        s
    }
}

/// `keys rotate-nek`: turns ESS's re-encryption and promotion jobs on in its env ConfigMap,
/// restarts ESS so it reads them, verifies both, and explains what happens next.
pub async fn enable(
    client: &kube::Client,
    current: &Kid,
    want: &Enable,
    plan_only: bool,
) -> Result<Plan> {
    if let Some(p) = &want.period
        && parse_duration(p).is_none()
    {
        return Err(
            Error::invalid_input(format!("--period {p:?} is not a duration"))
                .hint("write it like 1h, 12h or 7d"),
        );
    }
    let (svc, d) = find_ess(client).await?;
    let (cm, before) = ess_settings(client, &svc, &d).await?;
    let settings = want.settings();
    let mut report = Plan::new(
        format!("turn on NEK re-encryption in {}", svc.reference()),
        plan_only,
    );
    let Some(cm) = cm else {
        return Err(Error::new(
            Category::ClusterState,
            format!(
                "{} loads no env ConfigMap to put the settings in",
                svc.reference()
            ),
        )
        .hint(format!(
            "set them as Helm values ess.env.<NAME> on the ess-api release instead: {}",
            settings.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    };
    let changes: Vec<String> = settings
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !plan_only && !changes.is_empty() {
        let patch = serde_json::json!({"data": settings});
        Objects::<ConfigMap>::namespaced(client, &svc.namespace)
            .merge_patch(&cm, &patch)
            .await?;
    }
    if changes.is_empty() {
        report.push(
            format!("set the ESS settings in ConfigMap {cm}"),
            StepState::Skipped,
            "already set",
        );
    } else {
        report.step(
            format!("set the ESS settings in ConfigMap {cm}"),
            changes.join(", "),
        );
    }
    let restarted = restart::restart(
        client,
        std::slice::from_ref(&svc),
        restart::Options {
            plan_only,
            timeout: None,
        },
    )
    .await?;
    report.steps.extend(restarted.steps);
    let (_, after) = ess_settings(client, &svc, &d).await?;
    let result = if plan_only { settings.clone() } else { after };
    if !plan_only {
        let missing: Vec<&String> = settings
            .iter()
            .filter(|(k, v)| result.get(*k) != Some(v))
            .map(|(k, _)| k)
            .collect();
        if !missing.is_empty() {
            return Err(Error::new(
                Category::ClusterState,
                format!("ESS does not read back the settings {missing:?}"),
            )
            .hint("another env source overrides them: check the ess-api Deployment's env"));
        }
        report.push(
            "verify the settings ESS now loads",
            StepState::Verified,
            format!("{} setting(s) in place, pods restarted", settings.len()),
        );
    }
    let explained = explain(svc.reference(), Some(cm), result, current);
    report.notes.extend(explained.explanation);
    report.note(format!("a later `helm upgrade`/`{nvcf_cmd0}` of ess-api rewrites this ConfigMap: to keep the jobs on, also set them as Helm values ess.env.<NAME>", nvcf_cmd0 = crate::base::plugin::nvcf("up")));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kid_made(ago: time::Duration) -> Kid {
        let mut k = Kid::parse("6fa459ea-ee8a-11ca-8a3c-0123456789ab");
        k.created = Some(OffsetDateTime::now_utc() - ago);
        k.version = 1;
        k
    }

    #[test]
    fn with_the_shipped_settings_nothing_is_re_wrapped_and_nothing_is_claimed() {
        let p = explain(
            "deployment/ess".into(),
            None,
            BTreeMap::new(),
            &kid_made(time::Duration::hours(1)),
        );
        assert!(!p.reencryption);
        assert!(p.explanation[0].contains("will not re-wrap"));
        assert!(p.explanation.last().unwrap().contains("cannot observe"));
    }

    #[test]
    fn inside_the_grace_period_the_first_run_waits_for_its_end() {
        let settings: BTreeMap<String, String> = Enable::default().settings();
        let p = explain(
            "d".into(),
            None,
            settings.clone(),
            &kid_made(time::Duration::hours(1)),
        );
        assert!(p.reencryption && p.promotion);
        assert!(
            p.explanation[0].contains("not before"),
            "{:?}",
            p.explanation
        );
        let later = explain(
            "d".into(),
            None,
            settings,
            &kid_made(time::Duration::hours(49)),
        );
        assert!(
            later.explanation[0].contains("next scheduled run"),
            "{:?}",
            later.explanation
        );
        assert!(later.explanation[1].contains("77d"));
    }

    #[test]
    fn durations_read_like_spring_reads_them() {
        assert_eq!(parse_duration("48h"), Some(time::Duration::hours(48)));
        assert_eq!(parse_duration("PT1H"), Some(time::Duration::hours(1)));
        assert_eq!(parse_duration("7d"), Some(time::Duration::days(7)));
        assert_eq!(parse_duration("soon"), None);
    }
}
