//! Two kubeconfig files merged through KUBECONFIG, then the context, cluster and user a
//! plugin would act on (no connection is made).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nvcf_fuzz::{parts, rejected};
use nvcf_shared::model::settings::MapEnv;
use nvcf_shared::model::target::{KubeSelection, Target};

fuzz_target!(|data: &[u8]| {
    let [first, second]: [String; 2] = parts(data, 2).try_into().expect("two parts");
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&a, first).expect("write a");
    std::fs::write(&b, second).expect("write b");
    let list = format!("{}:{}", a.display(), b.display());
    let env = MapEnv::new([
        ("KUBECONFIG", list.as_str()),
        ("HOME", dir.path().to_str().expect("utf-8 temp dir")),
    ]);
    if let Err(e) = Target::resolve(&KubeSelection::default(), &env) {
        rejected(&e);
    }
});
