//! Fault injection per route: latency, status codes, connection resets, 429 with
//! `Retry-After`, tokens treated as expired, and response bodies cut short. Set through `/_sim/faults` or the config.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultRule {
    /// Assigned by the simulator when absent.
    pub id: Option<String>,
    /// A service name (`nvcf`, `api-keys`, `admin-issuer`, `invocation`, `llm`, `sis`, `tasks`, `grpc`); any when absent.
    pub service: Option<String>,
    /// HTTP method; any when absent.
    pub method: Option<String>,
    /// Path prefix; any when absent.
    pub path: Option<String>,
    /// Delay before the request is handled (applies together with the other actions).
    pub latency_ms: Option<u64>,
    /// Answer with this status and the service's error body.
    pub status: Option<u16>,
    /// Close the connection with a TCP reset instead of answering.
    pub reset: bool,
    /// Answer 429 with `Retry-After: <n>` (in the service's error shape).
    pub retry_after: Option<u64>,
    /// Treat the caller's credential as expired.
    pub token_expired: bool,
    /// Send only this many bytes of the response body, then abort the connection (a
    /// stream reset mid-event).
    pub cut_body_after: Option<usize>,
    /// Send only this many bytes of the response body, then end it cleanly (a proxy that
    /// closes a long stream on its own timeout).
    pub end_body_after: Option<usize>,
    /// How many matching requests the rule affects; unlimited when absent.
    pub times: Option<u32>,
}

impl FaultRule {
    fn matches(&self, service: &str, method: &str, path: &str) -> bool {
        self.service.as_deref().is_none_or(|s| s == service)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|p| path.starts_with(p))
    }
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    next_id: Mutex<u64>,
    fired: std::sync::atomic::AtomicU64,
}

impl Faults {
    pub fn new(initial: Vec<FaultRule>) -> Self {
        let faults = Self::default();
        for rule in initial {
            faults.add(rule);
        }
        faults
    }

    pub fn add(&self, mut rule: FaultRule) -> String {
        let mut next = self.next_id.lock().expect("fault id lock");
        *next += 1;
        let id = rule.id.clone().unwrap_or_else(|| format!("fault-{next}"));
        rule.id = Some(id.clone());
        self.rules.lock().expect("fault lock").push(rule);
        id
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.lock().expect("fault lock").clone()
    }

    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.rules.lock().expect("fault lock");
        let before = rules.len();
        rules.retain(|r| r.id.as_deref() != Some(id));
        rules.len() != before
    }

    /// How many requests a rule has answered so far, counted as the fault is taken (a
    /// client that gives up on a slow answer still met the fault).
    pub fn fired(&self) -> u64 {
        self.fired.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn clear(&self) {
        self.rules.lock().expect("fault lock").clear();
    }

    /// The first rule matching this request, consuming one of its `times`.
    pub fn take(&self, service: &str, method: &str, path: &str) -> Option<FaultRule> {
        let mut rules = self.rules.lock().expect("fault lock");
        let idx = rules
            .iter()
            .position(|r| r.matches(service, method, path))?;
        let rule = rules[idx].clone();
        self.fired
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(times) = rules[idx].times.as_mut() {
            *times = times.saturating_sub(1);
            if *times == 0 {
                rules.remove(idx);
            }
        }
        Some(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_limit_how_often_a_rule_fires() {
        let faults = Faults::default();
        faults.add(FaultRule {
            service: Some("nvcf".into()),
            status: Some(503),
            times: Some(2),
            ..Default::default()
        });
        assert!(faults.take("sis", "GET", "/").is_none());
        assert_eq!(
            faults.take("nvcf", "GET", "/v2").and_then(|r| r.status),
            Some(503)
        );
        assert!(faults.take("nvcf", "GET", "/v2").is_some());
        assert!(faults.take("nvcf", "GET", "/v2").is_none());
    }

    #[test]
    fn path_and_method_narrow_the_match() {
        let faults = Faults::default();
        faults.add(FaultRule {
            method: Some("post".into()),
            path: Some("/v2/nvcf/functions".into()),
            reset: true,
            ..Default::default()
        });
        assert!(faults.take("nvcf", "GET", "/v2/nvcf/functions").is_none());
        assert!(
            faults
                .take("nvcf", "POST", "/v2/nvcf/deployments")
                .is_none()
        );
        assert!(
            faults
                .take("nvcf", "POST", "/v2/nvcf/functions/x/versions")
                .is_some()
        );
    }
}
