//! A registry login as a pull does it (the OCI distribution auth flow): `GET /v2/`, then
//! the challenge in `WWW-Authenticate` — Basic, or Bearer via the token endpoint it names —
//! with the pull secret's credentials. Nothing is pulled and nothing is printed of the key.

use crate::base::secret::Secret;
use std::collections::BTreeMap;
use std::time::Duration;

/// How a registry answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The credentials were accepted (`basic` or `token`).
    Authenticated { scheme: &'static str },
    /// `/v2/` answers without credentials: nothing to check them against.
    Anonymous,
    /// The registry refused: its status and what it said.
    Refused { status: u16, message: String },
    /// No answer at all (DNS, connection, TLS, timeout).
    Unreachable(String),
}

/// The scheme and parameters of a `WWW-Authenticate` challenge.
pub fn parse_challenge(header: &str) -> (String, BTreeMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = BTreeMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let after = after.trim_start();
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((v, r)) => (v, r),
                None => (quoted, ""),
            },
            None => after.split_once(',').map_or((after, ""), |(v, r)| (v, r)),
        };
        params.insert(key.trim().to_ascii_lowercase(), value.to_owned());
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_ascii_lowercase(), params)
}

fn loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(name, "localhost" | "127.0.0.1" | "[::1]") || name.starts_with("127.")
}

fn http() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// Logs in to `host` (`nvcr.io`, `registry.example.com:5000`) with `creds`.
pub async fn login(host: &str, creds: Option<(&str, &Secret)>) -> Outcome {
    let client = match http() {
        Ok(c) => c,
        Err(e) => return Outcome::Unreachable(e),
    };
    // A loopback registry may speak plain HTTP, as container runtimes allow for it.
    let mut bases = vec![format!("https://{host}")];
    if loopback(host) {
        bases.push(format!("http://{host}"));
    }
    let mut last = String::new();
    for base in bases {
        match client.get(format!("{base}/v2/")).send().await {
            Ok(resp) => return answer(&client, &base, resp, creds).await,
            Err(e) => last = format!("{base}/v2/: {}", without_url(&e)),
        }
    }
    Outcome::Unreachable(last)
}

async fn answer(
    client: &reqwest::Client,
    base: &str,
    resp: reqwest::Response,
    creds: Option<(&str, &Secret)>,
) -> Outcome {
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        return Outcome::Anonymous;
    }
    if status != 401 {
        return refused(resp).await;
    }
    let challenge = resp
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Some((user, password)) = creds else {
        return Outcome::Refused {
            status,
            message: "the registry wants credentials and the pull secret has none for it".into(),
        };
    };
    let (scheme, params) = parse_challenge(&challenge);
    let v2 = format!("{base}/v2/");
    match scheme.as_str() {
        "basic" => match client
            .get(&v2)
            .basic_auth(user, Some(password.expose()))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => Outcome::Authenticated { scheme: "basic" },
            Ok(r) => refused(r).await,
            Err(e) => Outcome::Unreachable(without_url(&e)),
        },
        "bearer" => {
            let Some(realm) = params.get("realm") else {
                return Outcome::Refused {
                    status,
                    message: format!("the registry's challenge names no token realm: {challenge}"),
                };
            };
            let Ok(mut url) = url::Url::parse(realm) else {
                return Outcome::Refused {
                    status,
                    message: format!("the registry's token realm is not a URL: {realm}"),
                };
            };
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("account", user);
                for key in ["service", "scope"] {
                    if let Some(v) = params.get(key) {
                        q.append_pair(key, v);
                    }
                }
            }
            let token = match client
                .get(url)
                .basic_auth(user, Some(password.expose()))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
                Ok(r) => return refused(r).await,
                Err(e) => return Outcome::Unreachable(without_url(&e)),
            };
            let Some(token) = token.as_ref().and_then(|t| {
                t.get("token")
                    .or_else(|| t.get("access_token"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            }) else {
                return Outcome::Refused {
                    status: 200,
                    message: "the token endpoint answered without a token".into(),
                };
            };
            match client.get(&v2).bearer_auth(&token).send().await {
                Ok(r) if r.status().is_success() => Outcome::Authenticated { scheme: "token" },
                Ok(r) => refused(r).await,
                Err(e) => Outcome::Unreachable(without_url(&e)),
            }
        }
        _ => Outcome::Refused {
            status,
            message: format!("unsupported challenge {challenge:?}"),
        },
    }
}

async fn refused(resp: reqwest::Response) -> Outcome {
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect::<String>().trim().to_owned());
    Outcome::Refused { status, message }
}

/// reqwest's error text without the URL it carries (a query may hold the account).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_as_registries_send_them() {
        let (scheme, p) = parse_challenge(
            r#"Bearer realm="https://nvcr.io/proxy_auth",service="ngc",scope="repository:a/b:pull""#,
        );
        assert_eq!(scheme, "bearer");
        assert_eq!(p["realm"], "https://nvcr.io/proxy_auth");
        assert_eq!(p["service"], "ngc");
        assert_eq!(p["scope"], "repository:a/b:pull");
        let (scheme, p) = parse_challenge(r#"Basic realm="nvcf-e2e""#);
        assert_eq!(scheme, "basic");
        assert_eq!(p["realm"], "nvcf-e2e");
        let (_, p) = parse_challenge("Bearer realm=https://a.example/token, service=reg");
        assert_eq!(p["realm"], "https://a.example/token");
        assert_eq!(p["service"], "reg");
    }

    #[test]
    fn only_loopback_hosts_may_fall_back_to_plain_http() {
        assert!(loopback("127.0.0.1:5000"));
        assert!(loopback("localhost:5000"));
        assert!(!loopback("nvcr.io"));
        assert!(!loopback("registry.example.com:5000"));
    }
}
