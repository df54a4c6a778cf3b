//! `.dockerconfigjson` pull secrets and registry names, as `check --pre` and
//! `kubectl nvca validate` read them. Decoded secrets never reach a message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nvcf_shared::clients::registry::docker_config::{decode, host_of, image_host};
use nvcf_shared::clients::registry::login::parse_challenge;

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(decoded) => {
            for p in &decoded.problems {
                assert!(!p.message.is_empty());
            }
        }
        Err(message) => assert!(!message.is_empty()),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = host_of(text);
        let _ = image_host(text);
        let _ = parse_challenge(text);
    }
});
