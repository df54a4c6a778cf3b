//! The control plane behaves like a real cluster: GPU nodes, workloads reaching their
//! states, namespace finalization, server-side apply, and the audit log.

use std::time::{Duration, Instant};

use anyhow::Result;
use nvcf_testenv::Env;
use serde_json::Value;

fn json(env: &Env, args: &[&str]) -> Result<Value> {
    let mut args = args.to_vec();
    args.extend(["-o", "json"]);
    Ok(serde_json::from_str(&env.kubectl_run(&args)?)?)
}

#[test]
fn kwok_gpu_nodes_advertise_gpus_and_discovery_labels() -> Result<()> {
    let env = Env::shared();
    let nodes = json(env, &["get", "nodes"])?;
    let nodes = nodes["items"].as_array().expect("items");
    let ready = |n: &Value| {
        n["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    };
    let gpu: Vec<&Value> = nodes
        .iter()
        .filter(|n| n["status"]["allocatable"]["nvidia.com/gpu"].is_string())
        .collect();
    assert_eq!(gpu.len(), 2, "two GPU nodes expected, got {nodes:#?}");
    assert!(nodes.len() > gpu.len(), "at least one CPU node expected");
    for n in &gpu {
        let labels = &n["metadata"]["labels"];
        assert!(ready(n), "{} not Ready", n["metadata"]["name"]);
        assert_eq!(
            labels["nvidia.com/gpu.count"],
            n["status"]["allocatable"]["nvidia.com/gpu"]
        );
        for l in [
            "nvidia.com/gpu.product",
            "nvidia.com/gpu.memory",
            "nvidia.com/gpu.family",
        ] {
            assert!(labels[l].is_string(), "{} lacks {l}", n["metadata"]["name"]);
        }
    }
    let table = env.kubectl_run(&["get", "nodes", "-L", "nvidia.com/gpu.product"])?;
    assert!(
        table.contains("NVIDIA-H100-80GB-HBM3") && table.contains(" Ready "),
        "{table}"
    );
    Ok(())
}

#[test]
fn gpu_pod_is_scheduled_on_a_gpu_node_and_runs() -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("gpu-pod")?;
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"cuda"},"spec":{"containers":[{"name":"c","image":"nvcr.invalid/cuda:12","resources":{"limits":{"nvidia.com/gpu":"8"}}}]}}"#;
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), pod)?;
    env.kubectl_run(&["apply", "-n", &ns, "-f", file.path().to_str().unwrap()])?;
    env.kubectl_run(&[
        "wait",
        "-n",
        &ns,
        "pod/cuda",
        "--for=jsonpath={.status.phase}=Running",
        "--timeout=60s",
    ])?;
    let pod = json(env, &["get", "pod", "cuda", "-n", &ns])?;
    // Only the H100 node has 8 GPUs.
    assert_eq!(pod["spec"]["nodeName"], "testenv-gpu-0");
    Ok(())
}

#[test]
fn deployment_becomes_available_with_running_pods() -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("deploy")?;
    env.kubectl_run(&[
        "create",
        "deployment",
        "web",
        "-n",
        &ns,
        "--image=registry.invalid/web:1",
        "--replicas=3",
    ])?;
    env.kubectl_run(&[
        "wait",
        "-n",
        &ns,
        "deployment/web",
        "--for=condition=Available",
        "--timeout=60s",
    ])?;
    let pods = json(env, &["get", "pods", "-n", &ns, "-l", "app=web"])?;
    let phases: Vec<&Value> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["status"]["phase"])
        .collect();
    assert_eq!(phases.len(), 3, "{pods:#}");
    assert!(phases.iter().all(|p| *p == "Running"), "{phases:?}");
    let deploy = json(env, &["get", "deployment", "web", "-n", &ns])?;
    assert_eq!(deploy["status"]["availableReplicas"], 3);
    Ok(())
}

#[test]
fn job_completes() -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("job")?;
    env.kubectl_run(&[
        "create",
        "job",
        "once",
        "-n",
        &ns,
        "--image=registry.invalid/job:1",
        "--",
        "true",
    ])?;
    env.kubectl_run(&[
        "wait",
        "-n",
        &ns,
        "job/once",
        "--for=condition=Complete",
        "--timeout=90s",
    ])?;
    let job = json(env, &["get", "job", "once", "-n", &ns])?;
    assert_eq!(job["status"]["succeeded"], 1);
    Ok(())
}

#[test]
fn deleting_a_namespace_finishes() -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("delete-me")?;
    env.kubectl_run(&["create", "configmap", "c", "-n", &ns, "--from-literal=a=b"])?;
    env.kubectl_run(&[
        "create",
        "deployment",
        "d",
        "-n",
        &ns,
        "--image=registry.invalid/d:1",
    ])?;
    env.kubectl_run(&[
        "wait",
        "-n",
        &ns,
        "deployment/d",
        "--for=condition=Available",
        "--timeout=60s",
    ])?;
    env.kubectl_run(&["delete", "namespace", &ns, "--wait=false"])?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = env.kubectl_run(&["get", "namespaces", "-o", "name"])?;
        if !out.lines().any(|l| l == format!("namespace/{ns}")) {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "namespace {ns} still exists after 60s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn failed_and_crashlooping_pods_keep_the_status_set_by_hand() -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("status")?;
    for name in ["broken", "crashing"] {
        env.kubectl_run(&[
            "run",
            name,
            "-n",
            &ns,
            "--image=registry.invalid/x:1",
            "--restart=Never",
        ])?;
        env.kubectl_run(&[
            "wait",
            "-n",
            &ns,
            &format!("pod/{name}"),
            "--for=condition=Ready",
            "--timeout=60s",
        ])?;
    }
    env.fail_pod(&ns, "broken", "Error", 3)?;
    env.set_pod_waiting(&ns, "crashing", "CrashLoopBackOff")?;
    // Give KWOK time to undo the change if it were going to.
    std::thread::sleep(Duration::from_secs(2));
    let broken = json(env, &["get", "pod", "broken", "-n", &ns])?;
    assert_eq!(broken["status"]["phase"], "Failed");
    assert_eq!(
        broken["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        3
    );
    let crashing = json(env, &["get", "pod", "crashing", "-n", &ns])?;
    assert_eq!(
        crashing["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "CrashLoopBackOff"
    );
    let ready = crashing["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["status"], "False");
    Ok(())
}
