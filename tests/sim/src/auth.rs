//! Credentials: the admin JWT (ES256, `scopes` claim) and `nvapi-` API keys, and how
//! each service answers when they are missing, bad or short of a scope (endpoints.md §0.2–0.3).

use axum::http::{HeaderMap, HeaderName, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::errors::ApiError;
use crate::routing::Service;
use crate::state::SimState;

pub const ISSUER: &str = "http://api.nvcf.svc.cluster.local";
pub const NVCF_SERVICE_ID: &str = "nvidia-cloud-functions-ncp-service-id-aketm";
pub const NVCT_SERVICE_ID: &str = "nvidia-cloud-tasks-ncp-service-id-nvcttasks";
pub const EVENTS_SERVICE_ID: &str = "nvidia-cloud-events-ncp-service-id-ckozoh6f";
pub const ADMIN_SCOPES: [&str; 10] = [
    "register_function",
    "list_functions",
    "list_functions_details",
    "deploy_function",
    "update_function",
    "update_secrets",
    "delete_function",
    "manage_telemetries",
    "manage_registry_credentials",
    "cluster-management",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub azp: String,
    pub aud: Vec<String>,
    pub scopes: Vec<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// The issuer's signing key; a fresh one per simulator, so tokens never outlive it.
pub struct JwtKeys {
    /// Tokens whose signature already verified; ES256 verification dominates a request's cost.
    verified: std::sync::Mutex<std::collections::HashMap<String, Claims>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    x: String,
    y: String,
}

impl JwtKeys {
    pub fn generate() -> Self {
        let signing = SigningKey::random(&mut rand::rngs::OsRng);
        let der = signing.to_pkcs8_der().expect("p256 key encodes as PKCS#8");
        let point = signing.verifying_key().to_encoded_point(false);
        let x = URL_SAFE_NO_PAD.encode(point.x().expect("uncompressed point has x"));
        let y = URL_SAFE_NO_PAD.encode(point.y().expect("uncompressed point has y"));
        Self {
            verified: Default::default(),
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            decoding: DecodingKey::from_ec_components(&x, &y).expect("valid EC components"),
            kid: Uuid::new_v4().to_string(),
            x,
            y,
        }
    }

    pub fn mint(&self, sub: &str, scopes: &[String], ttl_secs: i64) -> (String, Claims) {
        let now = crate::util::now().unix_timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: sub.into(),
            azp: sub.into(),
            aud: vec![sub.into(), "s:api".into()],
            scopes: scopes.to_vec(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
            jti: Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let token =
            jsonwebtoken::encode(&header, &claims, &self.encoding).expect("ES256 signing works");
        (token, claims)
    }

    /// Spring's resource-server defaults: signature, issuer, `exp`/`nbf` with 60 s skew.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        const LEEWAY: i64 = 60;
        let cached = self
            .verified
            .lock()
            .expect("jwt cache lock")
            .get(token)
            .cloned();
        if let Some(claims) = cached {
            let now = crate::util::now().unix_timestamp();
            if now > claims.exp + LEEWAY {
                return Err("Jwt expired".into());
            }
            if now + LEEWAY < claims.nbf {
                return Err("Jwt not yet valid".into());
            }
            return Ok(claims);
        }
        let claims = self.verify_signature(token)?;
        let mut cache = self.verified.lock().expect("jwt cache lock");
        if cache.len() >= 4096 {
            cache.clear();
        }
        cache.insert(token.to_string(), claims.clone());
        Ok(claims)
    }

    fn verify_signature(&self, token: &str) -> Result<Claims, String> {
        let mut v = Validation::new(Algorithm::ES256);
        v.leeway = 60;
        v.validate_nbf = true;
        v.validate_aud = false;
        v.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "Jwt expired".to_string(),
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                    "The iss claim is not valid".to_string()
                }
                _ => format!("An error occurred while attempting to decode the Jwt: {e}"),
            })
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": [{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid, "x": self.x, "y": self.y}]})
    }
}

/// Who is calling, with the authorities the resource servers derive from the credential.
#[derive(Debug, Clone)]
pub struct Caller {
    pub nca_id: String,
    pub subject: String,
    authorities: Vec<String>,
    /// The API-key policy (resources, scopes) when the bearer was an `nvapi-` key.
    pub policy: Option<Value>,
}

impl Caller {
    /// `hasAnyAuthority('<scope>', 'apikey:<scope>')`.
    pub fn has(&self, scope: &str) -> bool {
        self.authorities
            .iter()
            .any(|a| a == scope || a.strip_prefix("apikey:") == Some(scope))
    }

    /// Only the JWT form counts (`list_cluster_groups`, account POST/DELETE).
    pub fn has_jwt_scope(&self, scope: &str) -> bool {
        self.authorities.iter().any(|a| a == scope)
    }

    pub fn require(&self, scope: &str) -> Result<(), Denied> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(Denied::Scope)
        }
    }

    /// JWT callers, and API keys holding `account-functions:*`.
    pub fn has_account_functions(&self) -> bool {
        let Some(policy) = &self.policy else {
            return true;
        };
        policy
            .get("resources")
            .and_then(Value::as_array)
            .is_some_and(|r| {
                r.iter()
                    .any(|r| r["type"] == "account-functions" && r["id"] == "*")
            })
    }

    /// API-key resource entries; JWT callers see every function of their account.
    pub fn can_use_function(&self, function: Uuid, version: Uuid) -> bool {
        let Some(policy) = &self.policy else {
            return true;
        };
        let resources = policy
            .get("resources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        resources.iter().any(|r| {
            let kind = r.get("type").and_then(Value::as_str).unwrap_or_default();
            let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
            match kind {
                "account-functions" => id == "*",
                "function" => match id.split_once('/') {
                    Some((f, v)) => {
                        f.eq_ignore_ascii_case(&function.to_string())
                            && (v == "*" || v.eq_ignore_ascii_case(&version.to_string()))
                    }
                    None => id.eq_ignore_ascii_case(&function.to_string()),
                },
                _ => false,
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    Nvcf,
    Nvct,
}

impl Namespace {
    pub fn service_id(self) -> &'static str {
        match self {
            Namespace::Nvcf => NVCF_SERVICE_ID,
            Namespace::Nvct => NVCT_SERVICE_ID,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    MissingHeader,
    NotBearer,
    InvalidJwt(String),
    KeyRejected,
    UnknownClient(String),
    Scope,
}

/// Marker put on a request by the `token_expired` fault.
#[derive(Debug, Clone, Copy)]
pub struct TokenExpiredFault;

pub fn bearer(headers: &HeaderMap) -> Result<&str, Denied> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(Denied::MissingHeader)?;
    let value = value.to_str().map_err(|_| Denied::NotBearer)?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Denied::NotBearer),
    }
}

/// Resolves the bearer into a caller the way NVCF/NVCT/ICMS do: `nvapi-` keys go to
/// api-keys evaluation in `ns`, anything else must be an admin JWT from our issuer.
pub fn authenticate(
    state: &SimState,
    headers: &HeaderMap,
    ns: Namespace,
    expired: bool,
) -> Result<Caller, Denied> {
    let token = bearer(headers)?;
    if token.starts_with("nvapi-") {
        if expired {
            return Err(Denied::KeyRejected);
        }
        let inner = state.lock();
        let (policy, owner) = inner
            .keys
            .evaluate(token, ns.service_id())
            .ok_or(Denied::KeyRejected)?;
        let authorities = policy
            .get("scopes")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .map(|s| format!("apikey:{s}"))
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Caller {
            nca_id: state.config.account.clone(),
            subject: owner,
            authorities,
            policy: Some(policy),
        });
    }
    if expired {
        return Err(Denied::InvalidJwt("Jwt expired".into()));
    }
    let claims = state.jwt.verify(token).map_err(Denied::InvalidJwt)?;
    let nca_id = state
        .lock()
        .accounts
        .account_for_client(&claims.sub)
        .ok_or_else(|| Denied::UnknownClient(claims.sub.clone()))?;
    Ok(Caller {
        nca_id,
        subject: claims.sub,
        authorities: claims.scopes,
        policy: None,
    })
}

/// The error each service answers for a denial.
pub fn denial(service: Service, d: Denied) -> ApiError {
    let www = HeaderName::from_static("www-authenticate");
    match service {
        Service::Sis => match d {
            Denied::Scope => ApiError::sis(403, "Access Denied"),
            Denied::KeyRejected => ApiError::sis(403, "Authorization failed"),
            Denied::UnknownClient(sub) => ApiError::sis(404, format!("Unknown client_id '{sub}' when finding account id")),
            Denied::MissingHeader | Denied::NotBearer => ApiError::sis(401, "Authentication failure - Full authentication is required to access this resource"),
            Denied::InvalidJwt(r) => ApiError::sis(401, format!("Authentication failure - {r}")),
        },
        Service::Llm => match d {
            Denied::MissingHeader | Denied::NotBearer => ApiError::llm(401, "bearer authorization is required"),
            Denied::InvalidJwt(_) | Denied::UnknownClient(_) => ApiError::llm(401, "authentication failed"),
            Denied::KeyRejected | Denied::Scope => ApiError::llm(403, "permission denied"),
        },
        Service::Invocation { .. } => match d {
            Denied::MissingHeader => ApiError::plain(401, "Header of type `authorization` was missing"),
            Denied::NotBearer => ApiError::plain(401, "Unauthorized access"),
            Denied::InvalidJwt(r) => ApiError::invocation(401, r),
            Denied::UnknownClient(sub) => ApiError::invocation(404, format!("Unknown client_id '{sub}' when finding account id")),
            Denied::KeyRejected => ApiError::invocation(403, "Authorization failed"),
            Denied::Scope => ApiError::invocation(403, "Access Denied"),
        },
        _ => match d {
            Denied::MissingHeader | Denied::NotBearer => ApiError::empty(401).with_header(www, "Bearer"),
            Denied::InvalidJwt(r) => ApiError::empty(401).with_header(
                www,
                format!("Bearer error=\"invalid_token\", error_description=\"{r}\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\""),
            ),
            Denied::KeyRejected => ApiError::problem(403, "Authorization failed"),
            Denied::UnknownClient(sub) => ApiError::problem(404, format!("Unknown client_id '{sub}' when finding account id")),
            Denied::Scope => ApiError::problem(403, "Access Denied"),
        },
    }
}
