//! `--llm-model`, `--llm-model-update` and token rate limits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nvcf_fuzz::rejected;
use nvcf_shared::clients::nvcf::llm_config::{parse_llm_model, parse_llm_model_update, token_rate_limit};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parse in [parse_llm_model, parse_llm_model_update] {
        match parse(text) {
            // Whatever we accept serializes: it is sent as JSON.
            Ok(v) => drop(serde_json::to_vec(&v).expect("accepted specs serialize")),
            Err(e) => rejected(&e),
        }
    }
    if let Err(e) = token_rate_limit(text) {
        rejected(&e);
    }
});
