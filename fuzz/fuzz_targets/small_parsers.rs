//! Every other parser of text from outside: durations, `--expires-in`, NATS URLs,
//! `--dynamic`, `--chart-source`, `--set`, `NAME=VALUE` flags, manifest streams from helm,
//! stored key sets, lease holders, key ids, timestamps, service kinds and the NVCF API's
//! error bodies. The first byte picks the parser; the rest is its input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nvcf_fuzz::rejected;
use nvcf_shared::Result;

fn check<T>(outcome: Result<T>) {
    if let Err(e) = outcome {
        rejected(&e);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let text = text.as_ref();
    match which % 15 {
        0 => check(nvcf_shared::model::target::parse_duration("--timeout", text)),
        1 => check(nvcf_shared::clients::nvcf::apikeys::parse_expires_in(text)),
        2 => drop(nvcf_shared::operations::nvca::nats::parse(text)),
        3 => check(nvcf_shared::operations::stack::bundle::Dynamic::parse(text)),
        4 => check(nvcf_shared::operations::stack::render::ChartSource::parse(text)),
        5 => check(nvcf_shared::model::stack::values::SetOverride::parse(text)),
        6 => check(nvcf_shared::clients::nvcf::input::key_value("--container-env", text)),
        7 => check(nvcf_shared::model::stack::manifest::parse_stream(text, "fuzz")),
        8 => check(nvcf_shared::operations::keys::stored::decode_keys(text)),
        9 => drop(nvcf_shared::clients::kube::lease::Holder::parse(text)),
        10 => drop(nvcf_shared::operations::keys::stored::Kid::parse(text)),
        11 => drop(nvcf_shared::base::events::Ts::parse(text)),
        12 => drop(nvcf_shared::operations::ops::services::Kind::parse(text)),
        13 => drop(nvcf_shared::operations::keys::nek::parse_duration(text)),
        _ => {
            let _ = nvcf_shared::clients::nvcf::problem::server_message(rest, &http::HeaderMap::new());
            check(nvcf_shared::clients::nvcf::client::decode::<serde_json::Value>(
                rest, "fuzz",
            ));
        }
    }
});
