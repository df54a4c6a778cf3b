//! gRPC invocation through grpc-proxy: `/<service>/<method>` with the request and response as
//! `google.protobuf.Struct`, the function picked by `function-id` metadata (as upstream's
//! `function invoke --grpc`). The proxy forwards any method, so the codec passes bytes and
//! only this module knows the message is a Struct.

use crate::base::error::{Category, Error, Result, RetryClass};
use crate::base::plugin;
use crate::base::secret::Secret;
use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use prost_types::value::Kind;
use serde_json::{Map, Number, Value};
use std::path::PathBuf;
use std::time::Duration;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status};

/// Upstream's defaults for `--grpc-service` / `--grpc-method`.
pub const DEFAULT_SERVICE: &str = "nvidia.nvcf.v1.InferenceService";
pub const DEFAULT_METHOD: &str = "Predict";

#[derive(Debug, Clone)]
pub struct GrpcInvoke {
    /// `grpc_url`: `host:port` (TLS), or `http://host:port` / `https://host:port`.
    pub target: String,
    pub plaintext: bool,
    pub ca_bundle: Option<PathBuf>,
    pub service: String,
    pub method: String,
    pub function_id: String,
    pub version_id: Option<String>,
    pub poll_seconds: u32,
    pub timeout: Duration,
    /// A JSON object, sent as a Struct.
    pub body: Value,
}

/// The reply Struct as JSON.
pub async fn invoke(inv: &GrpcInvoke, api_key: &Secret) -> Result<Value> {
    let message = json_to_struct(&inv.body)?.encode_to_vec();
    let channel = connect(inv).await?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| unreachable_target(inv, &e))?;
    let mut request = tonic::Request::new(Bytes::from(message));
    request.set_timeout(inv.timeout);
    let md = request.metadata_mut();
    md.insert(
        "authorization",
        ascii(&format!("Bearer {}", api_key.expose()))?,
    );
    md.insert("function-id", ascii(&inv.function_id)?);
    if let Some(v) = &inv.version_id {
        md.insert("function-version-id", ascii(v)?);
    }
    md.insert("nvcf-poll-seconds", ascii(&inv.poll_seconds.to_string())?);
    let path = format!("/{}/{}", inv.service, inv.method);
    let path = http::uri::PathAndQuery::try_from(path.as_str()).map_err(|_| {
        Error::usage(format!("{path:?} is not a gRPC method path"))
            .hint("pass --grpc-service PACKAGE.SERVICE and --grpc-method METHOD")
    })?;
    let reply = grpc
        .unary(request, path, RawCodec)
        .await
        .map_err(|s| from_status(s, inv))?;
    let reply = prost_types::Struct::decode(reply.into_inner()).map_err(|e| {
        Error::new(
            Category::Unknown,
            format!("the function's gRPC reply is not a google.protobuf.Struct: {e}"),
        )
    })?;
    Ok(struct_to_json(&reply))
}

fn ascii(value: &str) -> Result<MetadataValue<tonic::metadata::Ascii>> {
    value
        .parse()
        .map_err(|_| Error::invalid_input("a gRPC metadata value is not printable ASCII"))
}

/// `host:port`, with the scheme deciding TLS when it is given.
fn endpoint_uri(inv: &GrpcInvoke) -> Result<(String, bool)> {
    let t = inv.target.trim();
    let (rest, tls) = match t.split_once("://") {
        Some(("http", rest)) => (rest, false),
        Some(("https", rest)) => (rest, !inv.plaintext),
        Some((scheme, _)) => {
            return Err(Error::config(format!(
                "grpc_url {t:?} has scheme {scheme:?}; expected host:port, http:// or https://"
            ))
            .hint(format!(
                "fix it with `{nvcf_cmd0} grpc_url HOST:PORT`",
                nvcf_cmd0 = crate::base::plugin::nvcf("profile set")
            )));
        }
        None => (t, !inv.plaintext),
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || !authority.contains(':') {
        return Err(Error::config(format!(
            "grpc_url {t:?} needs a port (grpc-proxy listens on :10081 behind the gateway)"
        ))
        .hint(format!(
            "set it with `{nvcf_cmd0} grpc_url HOST:PORT` or NVCF_GRPC_URL",
            nvcf_cmd0 = crate::base::plugin::nvcf("profile set")
        )));
    }
    let scheme = if tls { "https" } else { "http" };
    Ok((format!("{scheme}://{authority}"), tls))
}

async fn connect(inv: &GrpcInvoke) -> Result<Channel> {
    let (uri, tls) = endpoint_uri(inv)?;
    let mut endpoint = Endpoint::from_shared(uri.clone())
        .map_err(|e| Error::config(format!("grpc_url {uri:?} is not usable: {e}")))?
        .connect_timeout(inv.timeout.min(Duration::from_secs(30)));
    if tls {
        let mut config = ClientTlsConfig::new().with_native_roots();
        if let Some(path) = &inv.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| {
                Error::input_missing(format!("cannot read CA bundle {}: {e}", path.display()))
                    .hint("pass --ca-bundle with a readable PEM file")
            })?;
            config = config.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| Error::config(format!("cannot set up TLS for {uri}: {e}")))?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| unreachable_target(inv, &e))
}

fn unreachable_target(inv: &GrpcInvoke, e: &dyn std::error::Error) -> Error {
    let mut chain = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    let tls_problem = super::problem::is_untrusted_certificate(&chain);
    let err = Error::new(
        Category::Network,
        format!("cannot reach grpc-proxy at {}: {chain}", inv.target),
    )
    .retry(RetryClass::Immediate);
    if tls_problem {
        err.hint("trust the gateway's CA with --ca-bundle FILE")
    } else {
        err.hint(format!("check grpc_url (`{nvcf_cmd0} grpc_url`); behind the gateway grpc-proxy listens on :10081, and --grpc-plaintext is for a proxy without TLS", nvcf_cmd0 = crate::base::plugin::nvcf("profile get")))
    }
}

/// The cause chain of a call that broke on the wire rather than being answered: tonic
/// reports those with a transport error as the source, whatever code it picks, or (a reply
/// that ended mid-message) as its own "Unexpected EOF" with no status from the server.
fn broken_on_the_wire(s: &Status) -> Option<String> {
    if s.code() == Code::Internal && s.message().starts_with("Unexpected EOF") {
        return Some(format!("the reply ended mid-message: {}", s.message()));
    }
    let mut source = std::error::Error::source(s)?;
    let mut chain = vec![s.message().to_owned()];
    loop {
        let text = source.to_string();
        // tonic and hyper repeat their wrapper's words one level down.
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        match source.source() {
            Some(next) => source = next,
            None => return Some(chain.join(": ")),
        }
    }
}

fn from_status(s: Status, inv: &GrpcInvoke) -> Error {
    if let Some(chain) = broken_on_the_wire(&s) {
        return Error::new(
            Category::Network,
            format!(
                "the call to grpc-proxy at {} broke before its reply arrived ({chain})",
                inv.target
            ),
        )
        .retry(RetryClass::Immediate)
        .hint("the function may already have run: re-run the invocation if it is safe to repeat");
    }
    let message = format!("gRPC {:?}: {}", s.code(), s.message());
    match s.code() {
        Code::Unauthenticated => Error::new(Category::Auth, message).hint(format!(
            "gRPC invocation uses the function API key: `{}`",
            plugin::nvcf("api-key generate --for function")
        )),
        Code::PermissionDenied => Error::new(Category::Forbidden, message).hint(format!(
            "generate a key whose scope covers this function: `{}`",
            plugin::nvcf("api-key generate --for function")
        )),
        Code::NotFound => Error::not_found(message).hint(format!(
            "check the function is deployed: `{}`",
            plugin::nvcf(&format!("function get {}", inv.function_id))
        )),
        Code::InvalidArgument => Error::invalid_input(message),
        Code::ResourceExhausted => Error::new(Category::RateLimited, message),
        Code::DeadlineExceeded => Error::new(Category::Timeout, message)
            .hint("raise --timeout, or --poll-duration for slow functions"),
        Code::Unavailable => Error::new(Category::Network, message).retry(RetryClass::Immediate),
        Code::Unimplemented => Error::not_found(message).hint(format!(
            "the function does not serve /{}/{}: pass --grpc-service and --grpc-method",
            inv.service, inv.method
        )),
        _ => Error::new(Category::Unknown, message),
    }
}

pub fn json_to_struct(v: &Value) -> Result<prost_types::Struct> {
    match v {
        Value::Object(map) => Ok(prost_types::Struct {
            fields: map
                .iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        }),
        _ => Err(Error::invalid_input(
            "a gRPC request body must be a JSON object (it travels as google.protobuf.Struct)",
        )),
    }
}

fn json_to_value(v: &Value) -> prost_types::Value {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(prost_types::ListValue {
            values: a.iter().map(json_to_value).collect(),
        }),
        Value::Object(_) => Kind::StructValue(json_to_struct(v).unwrap_or_default()),
    };
    prost_types::Value { kind: Some(kind) }
}

pub fn struct_to_json(s: &prost_types::Struct) -> Value {
    Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect::<Map<_, _>>(),
    )
}

fn value_to_json(v: &prost_types::Value) -> Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        // Struct numbers are doubles; whole ones print as integers, as protojson does.
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 => {
            Value::Number(Number::from(*n as i64))
        }
        Some(Kind::NumberValue(n)) => Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => struct_to_json(s),
    }
}

/// grpc-proxy forwards any method: messages travel as bytes and are decoded here.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invoke_at(target: &str) -> GrpcInvoke {
        GrpcInvoke {
            target: target.into(),
            plaintext: true,
            ca_bundle: None,
            service: DEFAULT_SERVICE.into(),
            method: DEFAULT_METHOD.into(),
            function_id: "f".into(),
            version_id: None,
            poll_seconds: 1,
            timeout: Duration::from_secs(1),
            body: json!({}),
        }
    }

    #[test]
    fn a_call_broken_on_the_wire_is_a_retryable_network_failure() {
        let inv = invoke_at("http://127.0.0.1:1");
        let reset = Status::from_error(Box::new(std::io::Error::other("connection reset")));
        let truncated = Status::internal("Unexpected EOF decoding stream.");
        for status in [reset, truncated] {
            let err = from_status(status, &inv);
            assert_eq!(err.category(), Category::Network, "{err}");
            assert_eq!(err.retry_class(), RetryClass::Immediate);
            assert!(
                err.to_string().contains("broke before its reply arrived"),
                "{err}"
            );
        }
        // An answer from the server keeps its own meaning.
        let answered = from_status(Status::not_found("no such function"), &inv);
        assert_eq!(answered.category(), Category::NotFound);
    }

    #[test]
    fn json_survives_a_struct_round_trip() {
        let body = json!({"message": "hi", "n": 3, "f": 1.5, "ok": true, "none": null,
                          "list": [1, "two", {"three": 3}], "nested": {"a": {"b": []}}});
        let back = struct_to_json(&json_to_struct(&body).unwrap());
        assert_eq!(back, body);
    }

    #[test]
    fn only_objects_travel_as_a_struct() {
        let err = json_to_struct(&json!([1, 2])).unwrap_err();
        assert!(err.message().contains("JSON object"), "{}", err.message());
    }

    fn inv(target: &str, plaintext: bool) -> GrpcInvoke {
        GrpcInvoke {
            target: target.into(),
            plaintext,
            ca_bundle: None,
            service: DEFAULT_SERVICE.into(),
            method: DEFAULT_METHOD.into(),
            function_id: "f".into(),
            version_id: None,
            poll_seconds: 5,
            timeout: Duration::from_secs(1),
            body: json!({}),
        }
    }

    #[test]
    fn the_target_decides_tls_unless_plaintext_is_asked_for() {
        let uri = |t, p| endpoint_uri(&inv(t, p));
        assert_eq!(
            uri("grpc.example.com:443", false).unwrap(),
            ("https://grpc.example.com:443".into(), true)
        );
        assert_eq!(
            uri("grpc.example.com:10081", true).unwrap(),
            ("http://grpc.example.com:10081".into(), false)
        );
        assert_eq!(
            uri("http://127.0.0.1:8080/", false).unwrap(),
            ("http://127.0.0.1:8080".into(), false)
        );
        assert_eq!(
            uri("https://gw:10081", false).unwrap(),
            ("https://gw:10081".into(), true)
        );
        let err = uri("grpc.example.com", false).unwrap_err();
        assert!(err.message().contains("needs a port"), "{}", err.message());
        let err = uri("tcp://x:1", false).unwrap_err();
        assert!(err.message().contains("scheme"), "{}", err.message());
    }
}
