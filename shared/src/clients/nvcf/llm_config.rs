//! LLM model options: `--llm-model` / `--llm-model-update` flags, routing methods and token
//! rate limits, checked before anything is sent so an error names the bad part.

use crate::base::error::{Error, Result};
use serde_json::{Map, Value, json};

/// Routing methods the server accepts after trimming, lowercasing and `_` → `-`
/// (contracts/endpoints.md §3.1, `LlmConfigValidator`).
const ROUTING_METHODS: &[&str] = &[
    "power-of-two",
    "wait-and-widen",
    "round-robin",
    "random",
    "pulsar",
    "pulsar-wait-and-widen",
    "groq-multiregion",
    "pulsar-multiregion",
];

/// Normalises a routing method to upstream's underscore form (`round_robin`).
pub fn routing_method(raw: &str) -> Result<String> {
    let canon = raw.trim().to_ascii_lowercase().replace('_', "-");
    if ROUTING_METHODS.contains(&canon.as_str()) {
        Ok(canon.replace('-', "_"))
    } else {
        Err(
            Error::invalid_input(format!("routingMethod {raw:?} is not a routing method")).hint(
                format!(
                    "use one of {}",
                    ROUTING_METHODS
                        .iter()
                        .map(|m| m.replace('-', "_"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        )
    }
}

/// Checks a token rate limit: comma-separated `<n>-<S|M|H|D|W>`, each unit at most once.
pub fn token_rate_limit(raw: &str) -> Result<String> {
    let bad = |part: &str, why: &str| {
        Error::invalid_input(format!("tokenRateLimit {raw:?}: {part:?} {why}")).hint(
            "write limits as <positive number>-<unit>, units S, M, H, D, W, e.g. 1000-S,5000-M",
        )
    };
    let mut seen = Vec::new();
    for part in raw.split(',').map(str::trim) {
        let Some((n, unit)) = part.split_once('-') else {
            return Err(bad(part, "is not <number>-<unit>"));
        };
        if n.is_empty() || n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(part, "needs a positive whole number before '-'"));
        }
        if !matches!(unit, "S" | "M" | "H" | "D" | "W") {
            return Err(bad(part, "has a unit other than S, M, H, D or W"));
        }
        if seen.contains(&unit) {
            return Err(bad(part, "repeats a unit"));
        }
        seen.push(unit);
    }
    Ok(raw.split(',').map(str::trim).collect::<Vec<_>>().join(","))
}

/// Splits `k=v,k=v` where a `tokenRateLimit` value may itself hold commas.
fn pairs(flag: &str, raw: &str) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in raw.split(',') {
        match piece.split_once('=') {
            Some((k, v)) => out.push((k.trim().to_owned(), v.trim().to_owned())),
            None => match out.last_mut() {
                Some((k, v)) if k == "tokenRateLimit" => {
                    v.push(',');
                    v.push_str(piece.trim());
                }
                _ => {
                    return Err(Error::usage(format!(
                        "{flag} {raw:?}: {piece:?} is not key=value"
                    ))
                    .hint(format!(
                        "write {flag} as name=…,uris=/v1/chat/completions|/v1/embeddings,routingMethod=…,tokenRateLimit=…"
                    )));
                }
            },
        }
    }
    Ok(out)
}

/// `--llm-model name=…,uris=a|b[,routingMethod=…][,tokenRateLimit=…]` → a `models[]` entry.
pub fn parse_llm_model(raw: &str) -> Result<Value> {
    let mut name = None;
    let mut config = Map::new();
    for (k, v) in pairs("--llm-model", raw)? {
        match k.as_str() {
            "name" if !v.is_empty() => name = Some(v),
            "uris" => {
                let uris: Vec<&str> = v.split('|').map(str::trim).collect();
                if uris.iter().any(|u| u.is_empty()) {
                    return Err(Error::usage(format!(
                        "--llm-model {raw:?}: uris {v:?} has an empty entry"
                    ))
                    .hint(
                        "separate URIs with '|', e.g. uris=/v1/chat/completions|/v1/embeddings",
                    ));
                }
                config.insert("uris".into(), json!(uris));
            }
            "routingMethod" => {
                config.insert("routingMethod".into(), json!(routing_method(&v)?));
            }
            "tokenRateLimit" => {
                config.insert("tokenRateLimit".into(), json!(token_rate_limit(&v)?));
            }
            other => {
                return Err(
                    Error::usage(format!("--llm-model {raw:?}: unknown key {other:?}"))
                        .hint("keys are name, uris, routingMethod, tokenRateLimit"),
                );
            }
        }
    }
    let name = name.ok_or_else(|| {
        Error::usage(format!("--llm-model {raw:?}: name is required"))
            .hint("start with name=<model-name>")
    })?;
    if !config.contains_key("uris") {
        return Err(
            Error::usage(format!("--llm-model {raw:?}: uris is required"))
                .hint("add uris=/v1/chat/completions (several separated by '|')"),
        );
    }
    Ok(json!({"name": name, "llmConfig": config}))
}

/// `--llm-model-update name=…,routingMethod=…,tokenRateLimit=…` → a `modelUpdates[]` entry.
pub fn parse_llm_model_update(raw: &str) -> Result<Value> {
    let mut name = None;
    let mut config = Map::new();
    for (k, v) in pairs("--llm-model-update", raw)? {
        match k.as_str() {
            "name" | "modelName" if !v.is_empty() => name = Some(v),
            "routingMethod" => {
                config.insert("routingMethod".into(), json!(routing_method(&v)?));
            }
            "tokenRateLimit" => {
                config.insert("tokenRateLimit".into(), json!(token_rate_limit(&v)?));
            }
            "uris" => {
                return Err(Error::usage(format!(
                    "--llm-model-update {raw:?}: uris cannot be changed by an update"
                ))
                .hint("create a new function version to change a model's URIs"));
            }
            other => {
                return Err(Error::usage(format!(
                    "--llm-model-update {raw:?}: unknown key {other:?}"
                ))
                .hint("keys are name, routingMethod, tokenRateLimit"));
            }
        }
    }
    let name = name.ok_or_else(|| {
        Error::usage(format!("--llm-model-update {raw:?}: name is required"))
            .hint("start with name=<model-name>")
    })?;
    if config.is_empty() {
        return Err(Error::usage(format!(
            "--llm-model-update {raw:?}: give routingMethod or tokenRateLimit"
        ))
        .hint("e.g. name=llama,routingMethod=round_robin"));
    }
    Ok(json!({"modelName": name, "llmConfig": config}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_methods_normalise_to_underscores() {
        assert_eq!(routing_method("Round-Robin").unwrap(), "round_robin");
        assert_eq!(routing_method(" power_of_two ").unwrap(), "power_of_two");
        assert!(
            routing_method("fastest")
                .unwrap_err()
                .message()
                .contains("fastest")
        );
    }

    #[test]
    fn token_limits_cover_every_unit_once() {
        assert_eq!(
            token_rate_limit("1000-S, 5000-M,100000-H,500000-D,1000000-W").unwrap(),
            "1000-S,5000-M,100000-H,500000-D,1000000-W"
        );
        for bad in ["10-S,20-S", "0-S", "10-Y", "10", "-S", "1.5-S"] {
            let e = token_rate_limit(bad).unwrap_err();
            assert!(e.message().contains(bad), "{bad}: {}", e.message());
        }
    }

    #[test]
    fn llm_model_flag_parses_and_names_the_bad_part() {
        let v = parse_llm_model(
            "name=llama,uris=/v1/chat/completions|/v1/embeddings,routingMethod=round-robin,tokenRateLimit=100-S,1000-M",
        )
        .unwrap();
        assert_eq!(v["name"], "llama");
        assert_eq!(v["llmConfig"]["uris"][1], "/v1/embeddings");
        assert_eq!(v["llmConfig"]["routingMethod"], "round_robin");
        assert_eq!(v["llmConfig"]["tokenRateLimit"], "100-S,1000-M");
        let e = parse_llm_model("name=x,uris=/a,colour=blue").unwrap_err();
        assert!(e.message().contains("colour"), "{}", e.message());
        let e = parse_llm_model("uris=/a").unwrap_err();
        assert!(e.message().contains("name is required"));
        let e = parse_llm_model("name=x,uris=/a||/b").unwrap_err();
        assert!(e.message().contains("empty entry"));
        let e = parse_llm_model("name=x,uris=/a,tokenRateLimit=5-Q").unwrap_err();
        assert!(e.message().contains("5-Q"));
    }

    #[test]
    fn llm_model_update_refuses_uris() {
        let v = parse_llm_model_update("name=llama,tokenRateLimit=10-W").unwrap();
        assert_eq!(v["modelName"], "llama");
        assert!(
            parse_llm_model_update("name=llama,uris=/x")
                .unwrap_err()
                .message()
                .contains("uris")
        );
        assert!(parse_llm_model_update("name=llama").is_err());
    }
}
