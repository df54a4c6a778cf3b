//! `.dockerconfigjson`, as kubelet reads it: `{"auths": {HOST: {auth | username+password}}}`.
//! Decoding names the mistakes operators make, without ever showing the secret: the usual
//! one is base64 of the key alone instead of `$oauthtoken:KEY`, which surfaces twenty
//! minutes later as a migration Job "timeout" and then ImagePullBackOff.

use crate::base::secret::Secret;
use base64::Engine as _;
use serde_json::Value;

/// The user NGC (nvcr.io) takes with an API key as the password.
pub const NGC_USER: &str = "$oauthtoken";

/// One registry's credentials, decoded.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key as written (`nvcr.io`, `https://index.docker.io/v1/`, `host:port`).
    pub server: String,
    pub username: String,
    pub password: Secret,
}

/// What the decoding found wrong, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub server: String,
    pub message: String,
}

/// The entries, and the problems of the ones that could not be used.
#[derive(Debug, Default)]
pub struct Decoded {
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
}

/// The registry host of an `auths` key: scheme and path dropped, as kubelet matches them.
pub fn host_of(server: &str) -> String {
    let s = server
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    s.split('/').next().unwrap_or(s).to_ascii_lowercase()
}

/// The registry host an image is pulled from, as container runtimes read a reference:
/// the first path segment when it names a host, else Docker Hub.
pub fn image_host(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => {
            first.to_ascii_lowercase()
        }
        _ => "docker.io".to_owned(),
    }
}

/// Decodes a `.dockerconfigjson` document.
pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!(".dockerconfigjson is not JSON ({e})"))?;
    let Some(auths) = doc.get("auths").and_then(Value::as_object) else {
        return Err(".dockerconfigjson has no \"auths\" object".to_owned());
    };
    let mut out = Decoded::default();
    for (server, v) in auths {
        let problem = |message: String| Problem {
            server: server.clone(),
            message,
        };
        let user = v.get("username").and_then(Value::as_str);
        let pass = v.get("password").and_then(Value::as_str);
        let (username, password) = match (v.get("auth").and_then(Value::as_str), user, pass) {
            (Some(auth), _, _) => {
                let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(auth.trim()) else {
                    out.problems
                        .push(problem("`auth` is not base64".to_owned()));
                    continue;
                };
                let text = String::from_utf8_lossy(&raw).into_owned();
                match text.split_once(':') {
                    Some((u, p)) => (u.to_owned(), p.to_owned()),
                    None => {
                        out.problems.push(problem(format!(
                            "`auth` holds only a key, not USER:KEY: it must be base64 of \
                             \"{}:KEY\" (e.g. kubectl create secret docker-registry … \
                             --docker-username='{}' --docker-password=KEY)",
                            expected_user(server).unwrap_or("USER"),
                            expected_user(server).unwrap_or("USER"),
                        )));
                        continue;
                    }
                }
            }
            (None, Some(u), Some(p)) => (u.to_owned(), p.to_owned()),
            _ => {
                out.problems.push(problem(
                    "neither `auth` nor `username` and `password`".to_owned(),
                ));
                continue;
            }
        };
        if let Some(want) = expected_user(server)
            && username != want
        {
            out.problems.push(problem(format!(
                "the user is {username:?}, but {} takes an API key only with the user \"{want}\"",
                host_of(server)
            )));
            continue;
        }
        if password.is_empty() {
            out.problems
                .push(problem("the password is empty".to_owned()));
            continue;
        }
        out.entries.push(Entry {
            server: server.clone(),
            username,
            password: Secret::new(password),
        });
    }
    Ok(out)
}

/// The user a registry demands with an API key, where it demands one.
fn expected_user(server: &str) -> Option<&'static str> {
    let host = host_of(server);
    (host == "nvcr.io" || host.ends_with(".nvcr.io")).then_some(NGC_USER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn user_and_key_decode_from_auth_or_fields() {
        let doc = format!(
            r#"{{"auths": {{"nvcr.io": {{"auth": "{}"}}, "https://r.example:5000/v2/": {{"username": "bot", "password": "pw"}}}}}}"#,
            b64("$oauthtoken:nvapi-xyz")
        );
        let d = decode(doc.as_bytes()).unwrap();
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(d.entries[0].username, "$oauthtoken");
        assert_eq!(d.entries[0].password.expose(), "nvapi-xyz");
        assert_eq!(host_of(&d.entries[1].server), "r.example:5000");
    }

    #[test]
    fn the_known_mistakes_are_named_without_the_key() {
        let doc = format!(
            r#"{{"auths": {{"nvcr.io": {{"auth": "{}"}}, "nvcr.io/acme": {{"username": "me@example.com", "password": "nvapi-k"}}, "x.example": {{}}}}}}"#,
            b64("nvapi-only-the-key")
        );
        let d = decode(doc.as_bytes()).unwrap();
        assert!(d.entries.is_empty());
        let all: Vec<&str> = d.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(all[0].contains("holds only a key") && all[0].contains("$oauthtoken:KEY"));
        assert!(all[1].contains("\"me@example.com\"") && all[1].contains("\"$oauthtoken\""));
        assert!(all[2].contains("neither"));
        assert!(!format!("{all:?}").contains("nvapi-only-the-key"));
        assert!(!format!("{all:?}").contains("nvapi-k"));
    }

    #[test]
    fn images_name_their_registry_host() {
        assert_eq!(image_host("nvcr.io/nvidia/nvca:3.2.7"), "nvcr.io");
        assert_eq!(image_host("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000");
        assert_eq!(image_host("localhost/a:1"), "localhost");
        assert_eq!(image_host("nginx:1.27"), "docker.io");
        assert_eq!(image_host("library/nginx"), "docker.io");
    }

    #[test]
    fn garbage_is_refused_with_the_reason() {
        assert!(decode(b"not json").unwrap_err().contains("not JSON"));
        assert!(decode(b"{}").unwrap_err().contains("auths"));
        let d = decode(br#"{"auths": {"r": {"auth": "%%%"}}}"#).unwrap();
        assert!(d.problems[0].message.contains("not base64"));
    }
}
