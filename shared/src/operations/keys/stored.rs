//! The MEK key set ESS and its neighbours read from OpenBao (runbooks.md §4.1):
//! KV v2 `services/all/kv`, path `encryption/keys/stored_data`, four fields.

use crate::base::error::{Category, Error, Result};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

pub const MOUNT: &str = "services/all/kv";
pub const PATH: &str = "encryption/keys/stored_data";

/// The four fields, plus anything else stored beside them (kept on every write).
#[derive(Debug, Clone)]
pub struct StoredData {
    pub fields: Map<String, Value>,
    /// `keys` decoded: index 0 is the current MEK.
    pub keys: Vec<Map<String, Value>>,
}

fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields.get(name).and_then(Value::as_str)
}

fn bad(message: String) -> Error {
    Error::new(Category::ClusterState, message).hint(format!(
        "inspect it: bao kv get {MOUNT}/{PATH} (or restore a backup with `{nvcf_cmd0} --from FILE`)", nvcf_cmd0 = crate::base::plugin::nvcf("keys restore")))
}

/// Decodes `keys`: standard base64 of `{"keys":[JWK, ...]}`.
pub fn decode_keys(b64: &str) -> Result<Vec<Map<String, Value>>> {
    let raw = STANDARD.decode(b64.trim()).map_err(|e| {
        bad(format!(
            "the stored `keys` field is not standard base64: {e}"
        ))
    })?;
    let set: Value = serde_json::from_slice(&raw).map_err(|e| {
        bad(format!(
            "the stored `keys` field is not a JSON key set: {e}"
        ))
    })?;
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("the stored `keys` JSON has no `keys` array".into()))?;
    keys.iter()
        .map(|k| {
            k.as_object()
                .filter(|o| o.get("kid").and_then(Value::as_str).is_some())
                .cloned()
                .ok_or_else(|| bad("a stored JWK is not an object with a `kid`".into()))
        })
        .collect()
}

pub fn encode_keys(keys: &[Map<String, Value>]) -> String {
    STANDARD.encode(serde_json::json!({"keys": keys}).to_string())
}

pub fn kid_of(jwk: &Map<String, Value>) -> &str {
    jwk.get("kid").and_then(Value::as_str).unwrap_or_default()
}

impl StoredData {
    pub fn parse(data: &Value) -> Result<StoredData> {
        let fields = data
            .as_object()
            .cloned()
            .ok_or_else(|| bad(format!("{MOUNT}/{PATH} holds no fields")))?;
        let keys = decode_keys(
            field(&fields, "keys")
                .ok_or_else(|| bad(format!("{MOUNT}/{PATH} has no `keys` field")))?,
        )?;
        if keys.is_empty() {
            return Err(bad(format!("{MOUNT}/{PATH} holds an empty key set")));
        }
        Ok(StoredData { fields, keys })
    }

    pub fn current_kid(&self) -> &str {
        field(&self.fields, "current_kid").unwrap_or_default()
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(kid_of).collect()
    }

    /// `jwe_mapping.payload_jwe_kid`, when the field is the JSON ESS documents.
    pub fn jwe_kid(&self) -> Option<String> {
        let text = field(&self.fields, "jwe_mapping")?;
        let v: Value = serde_json::from_str(text).ok()?;
        v.get("payload_jwe_kid")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// What does not hold that ESS, nvcf-api and api-keys rely on (runbooks.md §4.1).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let first = kid_of(&self.keys[0]);
        if self.current_kid() != first {
            out.push(format!(
                "current_kid {:?} is not keys[0].kid {first:?} (ESS takes keys[0] as the current MEK)",
                self.current_kid()
            ));
        }
        match self.jwe_kid() {
            Some(k) if k == self.current_kid() => {}
            Some(k) => out.push(format!(
                "jwe_mapping.payload_jwe_kid {k:?} is not current_kid"
            )),
            None => out.push("jwe_mapping is not {\"payload_jwe_kid\": ...} JSON".into()),
        }
        if Kid::parse(first).version != 1 {
            out.push(format!(
                "the current kid {first} is not a time-based UUID v1: ESS rejects it"
            ));
        }
        out
    }

    /// The next key set: `new` first, every existing key kept after it in order, and the
    /// other three fields pointing at it (runbooks.md §4.4 step 3-4).
    pub fn rotated(&self, new: Map<String, Value>) -> StoredData {
        let kid = kid_of(&new).to_owned();
        let mut keys = Vec::with_capacity(self.keys.len() + 1);
        keys.push(new);
        keys.extend(self.keys.iter().cloned());
        let encoded = encode_keys(&keys);
        let mut fields = self.fields.clone();
        fields.insert("keys".into(), Value::String(encoded.clone()));
        fields.insert("current_kid".into(), Value::String(kid.clone()));
        fields.insert(
            "jwe_mapping".into(),
            Value::String(serde_json::json!({"payload_jwe_kid": kid}).to_string()),
        );
        fields.insert("private_jwks".into(), Value::String(encoded));
        StoredData { fields, keys }
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.fields.clone())
    }
}

/// A kid's UUID version and, for time-based ones, when it was made.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kid {
    pub kid: String,
    /// 0 when the kid is not a UUID at all.
    pub version: usize,
    #[serde(skip)]
    pub created: Option<OffsetDateTime>,
}

impl Kid {
    pub fn parse(kid: &str) -> Kid {
        let uuid = Uuid::parse_str(kid).ok();
        let created = uuid.as_ref().and_then(Uuid::get_timestamp).and_then(|ts| {
            let (secs, nanos) = ts.to_unix();
            OffsetDateTime::from_unix_timestamp(secs as i64)
                .ok()
                .map(|t| t + time::Duration::nanoseconds(nanos as i64))
        });
        Kid {
            kid: kid.to_owned(),
            version: uuid.map(|u| u.get_version_num()).unwrap_or(0),
            created,
        }
    }
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::internal(format!("the system random source failed: {e}")))?;
    Ok(buf)
}

/// A new MEK JWK, as the bootstrap and the runbook make it: a lowercase UUID v1 kid (ESS
/// rejects a current kid of any other version) and 32 random bytes, base64url unpadded.
pub fn new_jwk() -> Result<Map<String, Value>> {
    let mut node: [u8; 6] = random()?;
    // RFC 9562 §6.10: a random node id has the multicast bit set, so it never collides
    // with a real MAC address.
    node[0] |= 0x01;
    let kid = Uuid::now_v1(&node).hyphenated().to_string();
    let k = URL_SAFE_NO_PAD.encode(random::<32>()?);
    crate::base::secret::register(&k);
    let jwk = serde_json::json!({"kty": "oct", "use": "enc", "kid": kid, "k": k, "alg": "A256GCM"});
    Ok(jwk.as_object().cloned().unwrap_or_default())
}

/// Makes every key value known to the redaction filter, so none can reach output.
pub fn register_secrets(data: &StoredData) {
    for k in &data.keys {
        if let Some(v) = k.get("k").and_then(Value::as_str) {
            crate::base::secret::register(v);
        }
    }
    for name in ["keys", "private_jwks"] {
        if let Some(v) = field(&data.fields, name) {
            crate::base::secret::register(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bootstrap() -> StoredData {
        let jwk = new_jwk().unwrap();
        let kid = kid_of(&jwk).to_owned();
        let keys = encode_keys(&[jwk]);
        StoredData::parse(&serde_json::json!({
            "keys": keys, "current_kid": kid, "private_jwks": keys,
            "jwe_mapping": format!("{{\"payload_jwe_kid\":\"{kid}\"}}"),
        }))
        .unwrap()
    }

    #[test]
    fn new_kids_are_time_based_v1_uuids_of_now() {
        let jwk = new_jwk().unwrap();
        let kid = Kid::parse(kid_of(&jwk));
        assert_eq!(kid.version, 1);
        let age = OffsetDateTime::now_utc() - kid.created.unwrap();
        assert!(age.whole_seconds().abs() < 5, "{age}");
        assert_eq!(kid.kid, kid.kid.to_lowercase());
        let k = URL_SAFE_NO_PAD.decode(jwk["k"].as_str().unwrap()).unwrap();
        assert_eq!(k.len(), 32);
        assert_eq!(Kid::parse(&Uuid::from_u128(7).to_string()).created, None);
    }

    #[test]
    fn rotation_puts_the_new_key_first_and_keeps_every_old_one() {
        let before = bootstrap();
        assert!(before.problems().is_empty(), "{:?}", before.problems());
        let after = before.rotated(new_jwk().unwrap());
        let reparsed = StoredData::parse(&after.to_value()).unwrap();
        let kids = reparsed.kids();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[1], before.current_kid());
        assert_eq!(reparsed.current_kid(), kids[0]);
        assert_eq!(reparsed.jwe_kid().as_deref(), Some(kids[0]));
        assert_eq!(reparsed.fields["private_jwks"], reparsed.fields["keys"]);
        assert_eq!(
            reparsed.keys[1], before.keys[0],
            "old key material unchanged"
        );
        assert!(reparsed.problems().is_empty());
    }

    #[test]
    fn a_v4_current_kid_or_a_stale_current_kid_is_a_problem() {
        let mut d = bootstrap();
        d.fields
            .insert("current_kid".into(), Value::String("x".into()));
        assert!(d.problems()[0].contains("keys[0]"));
        let v4 = "0b7e8a4c-6a2f-4d3e-9c1b-2f5e6a7b8c9d";
        let mut jwk = new_jwk().unwrap();
        jwk.insert("kid".into(), Value::String(v4.into()));
        let d = bootstrap().rotated(jwk);
        assert!(
            d.problems().iter().any(|p| p.contains("UUID v1")),
            "{:?}",
            d.problems()
        );
    }
}
