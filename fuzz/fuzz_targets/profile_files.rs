//! A profile's config and state files, and upstream's `~/.nvcf-cli.yaml` and
//! `~/.nvcf-cli.state` imported from a home without profiles, then the settings they give.
//! Input: config, state separated by `\n----\n`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nvcf_fuzz::{parts, rejected};
use nvcf_shared::model::profile::{Profile, ProfileArgs};
use nvcf_shared::model::settings::{MapEnv, Settings};
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let [config, state]: [String; 2] = parts(data, 2).try_into().expect("two parts");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, &config).expect("write config");
    std::fs::write(dir.path().join("config.yaml.state.json"), &state).expect("write state");
    std::fs::write(dir.path().join(".nvcf-cli.yaml"), &config).expect("write legacy config");
    std::fs::write(dir.path().join(".nvcf-cli.state"), &state).expect("write legacy state");
    let home = dir.path().to_str().expect("utf-8 temp dir");
    let env = MapEnv::new([("HOME", home), ("XDG_CONFIG_HOME", home)]);
    let explicit = ProfileArgs {
        profile: None,
        config: Some(file),
    };
    for args in [explicit, ProfileArgs::default()] {
        let profile = match Profile::locate(&args, None, &env) {
            Ok(p) => p,
            Err(e) => return rejected(&e),
        };
        match profile.read_config() {
            Ok(cfg) => {
                let _ = Settings::resolve(&BTreeMap::new(), &env, &cfg.settings);
            }
            Err(e) => rejected(&e),
        }
        if let Err(e) = profile.read_state() {
            rejected(&e);
        }
    }
});
