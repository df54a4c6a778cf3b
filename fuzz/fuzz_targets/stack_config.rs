//! The stack config, a values overlay (`-f`), `--set` lines and a `values --query`
//! selector, through the whole values pipeline `helm nvcf values` runs (no helm).
//! Input: config, overlay, sets and query separated by `\n----\n`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nvcf_fuzz::{parts, rejected};
use nvcf_shared::model::settings::MapEnv;
use nvcf_shared::model::stack::inputs::Inputs;
use nvcf_shared::operations::stack::render::effective_values;
use nvcf_shared::model::stack::values::{query, to_yaml};

fuzz_target!(|data: &[u8]| {
    let [config, overlay, sets, selector]: [String; 4] =
        parts(data, 4).try_into().expect("four parts");
    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("stack.yaml");
    let overlay_path = dir.path().join("overlay.yaml");
    std::fs::write(&config_path, &config).expect("write config");
    std::fs::write(&overlay_path, &overlay).expect("write overlay");
    let overlays = if overlay.is_empty() {
        vec![]
    } else {
        vec![overlay_path]
    };
    let sets: Vec<String> = sets.lines().map(str::to_owned).collect();
    let env = MapEnv::new([("HOME", dir.path().to_str().expect("utf-8 temp dir"))]);
    let mut diag = Vec::new();
    let inputs = match Inputs::load(Some(&config_path), &overlays, &sets, &env, &mut diag, false) {
        Ok(inputs) => inputs,
        Err(e) => return rejected(&e),
    };
    let values = match effective_values(&inputs, None) {
        Ok(v) => v,
        Err(e) => return rejected(&e),
    };
    if let Err(e) = to_yaml(&values) {
        rejected(&e);
    }
    if !selector.is_empty()
        && let Err(e) = query(&values, &selector)
    {
        rejected(&e);
    }
});
