//! Secrets never reach output by accident.
//!
//! [`Secret`] holds a value that prints masked through `Display` and `Debug`; only
//! [`Secret::expose`] gives the value back, so every place that sends a secret somewhere is
//! greppable. [`redact`] is the filter on every output path (errors, logs, events, captured
//! subprocess stderr): it masks anything shaped like an admin JWT or an `nvapi-` key, and any
//! value registered with [`register`] (passwords read from config, tokens from state).

use regex_lite::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::sync::{OnceLock, RwLock};

/// How much of a secret a human may see: enough to tell two apart, not enough to use one.
pub const VISIBLE_PREFIX: usize = 8;

/// Masks a secret value to its first [`VISIBLE_PREFIX`] characters plus `...`.
pub fn mask(value: &str) -> String {
    let prefix: String = value.chars().take(VISIBLE_PREFIX).collect();
    format!("{prefix}...")
}

/// A value that must not be printed. Serialises as its real value (state files need it);
/// formats masked.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value and registers it with the redaction filter.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// Secrets shorter than this are not registered: masking every "abc" in output would
/// garble it without protecting anything worth protecting.
const MIN_REGISTERED_LEN: usize = 8;

fn registry() -> &'static RwLock<Vec<String>> {
    static REGISTRY: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(Vec::new()))
}

/// Makes [`redact`] mask `value` wherever it appears from now on.
pub fn register(value: &str) {
    if value.len() < MIN_REGISTERED_LEN {
        return;
    }
    let mut known = registry().write().unwrap_or_else(|p| p.into_inner());
    if !known.iter().any(|k| k == value) {
        known.push(value.to_owned());
        // Longest first, so a secret containing another is masked whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

fn patterns() -> &'static Regex {
    static PATTERNS: OnceLock<Regex> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        // A JWS compact token (header.payload.signature; every JWT header starts `eyJ`,
        // base64url of `{"`), an NVIDIA API key, or a bearer credential in a header dump.
        Regex::new(
            r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|nvapi-[A-Za-z0-9_-]{4,}|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{12,}",
        )
        .expect("static secret patterns compile")
    })
}

/// The password of a URL's userinfo (`nats://user:PASSWORD@host`, `https://u:p@registry`):
/// URLs from configs and flags reach messages whole.
fn url_credentials() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+):[^/\s@]+@")
            .expect("static URL credential pattern compiles")
    })
}

/// Whether `text` contains a literal every [`patterns`] match starts with.
fn may_hold_token(text: &str) -> bool {
    text.contains("eyJ")
        || text.contains("nvapi-")
        || text
            .as_bytes()
            .windows(6)
            .any(|w| w.eq_ignore_ascii_case(b"bearer"))
}

/// Masks secrets in `text`. Borrowed when there was nothing to mask (the common case).
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    {
        let known = registry().read().unwrap_or_else(|p| p.into_inner());
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), &mask(secret)));
            }
        }
    }
    // Cheap literal scans first: the patterns run only on text that could hold a match,
    // which keeps large outputs (listings of thousands of items) fast.
    if may_hold_token(&out) && patterns().is_match(&out) {
        let replaced = patterns().replace_all(&out, |caps: &regex_lite::Captures<'_>| {
            let found = &caps[0];
            if let Some(rest) = found
                .strip_prefix("Bearer ")
                .or_else(|| found.strip_prefix("bearer "))
            {
                format!("Bearer {}", mask(rest))
            } else {
                mask(found)
            }
        });
        out = Cow::Owned(replaced.into_owned());
    }
    if out.contains("://") && out.contains('@') && url_credentials().is_match(&out) {
        out = Cow::Owned(
            url_credentials()
                .replace_all(&out, "${1}:****@")
                .into_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str =
        "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzY29wZXMiOlsiYWRtaW4iXX0.sig-nature_part";

    #[test]
    fn masks_jwts_and_api_keys() {
        let text = format!("token={JWT} key=nvapi-abcdefghijklmnop end");
        let red = redact(&text);
        assert_eq!(red, "token=eyJhbGci... key=nvapi-ab... end");
    }

    #[test]
    fn the_literal_prefilter_misses_no_pattern() {
        for text in [
            "x eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln y",
            "key nvapi-abcdefgh",
            "Authorization: BeArEr 0123456789abcdefXYZ",
        ] {
            assert!(may_hold_token(text), "{text}");
            assert_ne!(redact(text), text, "{text}");
        }
        assert!(!may_hold_token(
            "{\"name\": \"job-1\", \"status\": \"QUEUED\"}"
        ));
        assert_eq!(
            redact("nats://user:pw-123@host:4222"),
            "nats://user:****@host:4222"
        );
    }

    #[test]
    fn masks_bearer_headers() {
        let red = redact("Authorization: Bearer 0123456789abcdefXYZ");
        assert_eq!(red, "Authorization: Bearer 01234567...");
    }

    #[test]
    fn masks_the_password_in_a_urls_userinfo() {
        assert_eq!(
            redact("nats://agent:s3cr3t-pw@nats.example.com:4222 and https://user@host/x"),
            "nats://agent:****@nats.example.com:4222 and https://user@host/x"
        );
    }

    #[test]
    fn masks_registered_values() {
        let s = Secret::new("hunter2-password-x");
        assert_eq!(format!("{s}"), "hunter2-...");
        assert_eq!(format!("{s:?}"), "Secret(hunter2-...)");
        assert_eq!(
            redact("login failed for hunter2-password-x"),
            "login failed for hunter2-..."
        );
    }

    #[test]
    fn leaves_ordinary_text_borrowed() {
        assert!(matches!(
            redact("nothing secret here: eyJ"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn secret_round_trips_through_serde() {
        let s = Secret::new("nvapi-serde-roundtrip-value");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"nvapi-serde-roundtrip-value\"");
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), s.expose());
    }
}
