//! Where settings and policies read the environment from: the process, or a fixed map in
//! tests, so nothing below the command line touches `std::env` directly.

use std::collections::HashMap;

/// Reads environment variables. A trait so resolution can be tested without touching the
/// process environment.
pub trait EnvLookup {
    fn get(&self, key: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl EnvLookup for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
}

/// A fixed environment, for tests.
#[derive(Debug, Default, Clone)]
pub struct MapEnv(pub HashMap<String, String>);

impl MapEnv {
    pub fn new<const N: usize>(pairs: [(&str, &str); N]) -> Self {
        MapEnv(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl EnvLookup for MapEnv {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
}

/// An environment with some variables set on top, as a flag that stands for a variable
/// (`--icms-url` for `NVCF_ICMS_URL`) sets it for one run.
pub struct Overlaid<'a> {
    pub base: &'a dyn EnvLookup,
    pub on_top: HashMap<String, String>,
}

impl EnvLookup for Overlaid<'_> {
    fn get(&self, key: &str) -> Option<String> {
        self.on_top.get(key).cloned().or_else(|| self.base.get(key))
    }
}
