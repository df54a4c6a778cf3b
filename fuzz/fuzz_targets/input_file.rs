//! `--input-file` for function create/update, deploy, task create and invoke: the file as
//! read, then the request built from it as the commands build it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nvcf_fuzz::rejected;
use nvcf_shared::clients::nvcf::function_spec::{DeploySpecArgs, FunctionSpecArgs, FunctionUpdateArgs};
use nvcf_shared::clients::nvcf::input::{parse_checked, shapes};
use nvcf_shared::clients::nvcf::task_spec::TaskSpecArgs;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let checks: [fn(&str, &str) -> nvcf_shared::Result<serde_json::Value>; 4] = [
        parse_checked::<shapes::Invoke>,
        parse_checked::<shapes::TaskIds>,
        parse_checked::<shapes::Secrets>,
        parse_checked::<shapes::Deploy>,
    ];
    for check in checks {
        if let Err(e) = check(text, "fuzz.json") {
            rejected(&e);
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("input.json");
    std::fs::write(&file, data).expect("write input");
    let outcomes = [
        FunctionSpecArgs {
            input_file: Some(file.clone()),
            ..Default::default()
        }
        .body()
        .map(drop),
        FunctionUpdateArgs {
            input_file: Some(file.clone()),
            ..Default::default()
        }
        .body()
        .map(drop),
        DeploySpecArgs {
            input_file: Some(file.clone()),
            ..Default::default()
        }
        .specs()
        .map(drop),
        TaskSpecArgs {
            input_file: Some(file.clone()),
            ..Default::default()
        }
        .body()
        .map(drop),
    ];
    for outcome in outcomes {
        if let Err(e) = outcome {
            rejected(&e);
        }
    }
});
