//! Helm's own storage, edited as a helm that failed or was killed leaves it: the release
//! record helm reads (base64 of gzipped JSON in a Secret) and the label on it.

use base64::Engine as _;
use nvcf_testenv::Env;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn gzip(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from another thread: gzip's output can fill its pipe before it reads all.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "gzip {args:?}");
    out.stdout
}

/// Rewrites the latest revision of `release` in helm's own storage to `status`, as a helm
/// that failed or was killed leaves it: the record helm reads, and the label on it.
pub fn set_status(env: &Env, release: &str, status: &str) {
    let listed: Value = serde_json::from_str(
        &env.kubectl_run(&[
            "get",
            "secrets",
            "-A",
            "-l",
            &format!("owner=helm,name={release}"),
            "-o",
            "json",
        ])
        .unwrap(),
    )
    .unwrap();
    let latest = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|s| {
            s["metadata"]["labels"]["version"]
                .as_str()
                .unwrap_or("0")
                .parse::<u32>()
                .unwrap_or(0)
        })
        .unwrap_or_else(|| panic!("no helm record of {release}"))
        .clone();
    let (name, ns) = (
        latest["metadata"]["name"].as_str().unwrap(),
        latest["metadata"]["namespace"].as_str().unwrap(),
    );
    let stored = B64
        .decode(latest["data"]["release"].as_str().unwrap())
        .unwrap();
    let gzipped = B64.decode(stored).unwrap();
    let mut record: Value = serde_json::from_slice(&gzip(&["-dc"], &gzipped)).unwrap();
    record["info"]["status"] = Value::from(status);
    let stored = B64.encode(gzip(&["-c"], record.to_string().as_bytes()));
    let patch = serde_json::json!({
        "metadata": {"labels": {"status": status}},
        "data": {"release": B64.encode(stored)},
    });
    env.kubectl_run(&[
        "patch",
        "secret",
        name,
        "-n",
        ns,
        "--type=merge",
        "-p",
        &patch.to_string(),
    ])
    .unwrap();
}

/// `release -> status` of every helm release on the cluster, from helm's own records.
pub fn latest_statuses(env: &Env) -> std::collections::BTreeMap<String, String> {
    let out = env
        .kubectl_run(&[
            "get",
            "secrets",
            "-A",
            "-l",
            "owner=helm",
            "-o",
            "jsonpath={range .items[*]}{.metadata.labels.name} {.metadata.labels.version} {.metadata.labels.status}{\"\\n\"}{end}",
        ])
        .unwrap();
    let mut latest: std::collections::BTreeMap<String, (u32, String)> = Default::default();
    for line in out.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let [name, version, status] = parts[..] {
            let v: u32 = version.parse().unwrap_or(0);
            if latest.get(name).is_none_or(|(w, _)| *w < v) {
                latest.insert(name.to_owned(), (v, status.to_owned()));
            }
        }
    }
    latest.into_iter().map(|(k, (_, s))| (k, s)).collect()
}
