//! `kubectl nvcf ops health` on the real test cluster, with OpenBao and NATS answering
//! through the API server's pod proxy: their StatefulSets' pods are bound to a node nobody
//! runs and carry this host's address, where a small HTTP server plays `sys/seal-status`
//! (:8200) and `/routez` (:8222). A sealed pod that reports Ready must fail the check.

use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::Env;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn host_ip() -> IpAddr {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect("192.0.2.254:9").unwrap();
    let ip = s.local_addr().unwrap().ip();
    assert!(!ip.is_loopback(), "needs a non-loopback IPv4 address");
    ip
}

/// Answers every request on `ip:port` with `body()`, one thread per listener.
fn serve(ip: IpAddr, port: u16, body: impl Fn(&str) -> String + Send + 'static) {
    let listener = TcpListener::bind((ip, port))
        .unwrap_or_else(|e| panic!("port {port} on {ip} is taken ({e}); this test needs it"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let payload = body(path);
            let _ = (&stream).write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                    payload.len()
                )
                .as_bytes(),
            );
        }
    });
}

fn apply(env: &Env, yaml: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), yaml).unwrap();
    env.kubectl_run(&["apply", "-f", file.path().to_str().unwrap()])
        .unwrap();
}

/// A StatefulSet whose pods no kubelet (real or KWOK) ever picks up.
fn outside_statefulset(ns: &str, name: &str, replicas: u32) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n\
apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  replicas: {replicas}\n  serviceName: {name}\n  podManagementPolicy: Parallel\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      nodeName: outside-the-cluster\n      containers: [{{name: {name}, image: stand-in/{name}:0}}]\n"
    )
}

/// Marks every pod of `ns` Running and Ready at `ip`, as its kubelet would.
fn pods_run_at(env: &Env, ns: &str, count: usize, ip: IpAddr) {
    let started = Instant::now();
    let names = loop {
        let out = env
            .kubectl_run(&["get", "pods", "-n", ns, "-o", "name"])
            .unwrap();
        let names: Vec<String> = out.lines().map(str::to_owned).collect();
        if names.len() == count {
            break names;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{ns}: {out}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let status = format!(
        "{{\"status\":{{\"phase\":\"Running\",\"podIP\":\"{ip}\",\"podIPs\":[{{\"ip\":\"{ip}\"}}],\"conditions\":[{{\"type\":\"Ready\",\"status\":\"True\"}}]}}}}"
    );
    for pod in names {
        env.kubectl_run(&[
            "patch",
            &pod,
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status,
        ])
        .unwrap();
    }
}

fn outcomes(run: &Run) -> BTreeMap<String, Value> {
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run:#?}"));
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_owned(), o.clone()))
        .collect()
}

#[test]
fn health_reads_seal_status_and_nats_routes_through_the_pod_proxy() {
    let env = Env::shared();
    let ip = host_ip();
    let sealed = Arc::new(AtomicBool::new(false));
    let seal = sealed.clone();
    serve(ip, 8200, move |_| {
        format!(
            "{{\"type\":\"shamir\",\"initialized\":true,\"sealed\":{},\"version\":\"2.4.1\"}}",
            seal.load(Ordering::SeqCst)
        )
    });
    serve(ip, 8222, |_| {
        r#"{"routes":[{"remote_name":"nats-peer-a"},{"remote_name":"nats-peer-b"},{"remote_name":"nats-peer-a"}]}"#.into()
    });
    for (ns, name, replicas) in [
        ("vault-system", "openbao-server", 3),
        ("nats-system", "nats", 3),
        ("cassandra-system", "cassandra", 1),
    ] {
        apply(env, &outside_statefulset(ns, name, replicas));
        pods_run_at(env, ns, replicas as usize, ip);
    }

    let home = Home::new();
    let health = || {
        Run::of(
            home.command(bin("kubectl-nvcf"))
                .arg("--kubeconfig")
                .arg(env.kubeconfig())
                .args(["ops", "health", "-o", "json"]),
        )
    };
    let run = health();
    let got = outcomes(&run);
    for id in [
        "openbao-openbao-server-0",
        "openbao-openbao-server-2",
        "nats-nats-0",
        "nats-nats-2",
        "cassandra-cassandra-0",
    ] {
        let o = got.get(id).unwrap_or_else(|| panic!("no {id}: {run:#?}"));
        assert_eq!(o["status"], "passed", "{id}: {o}");
    }
    assert!(
        got["openbao-openbao-server-1"]
            .to_string()
            .contains("2.4.1"),
        "{}",
        got["openbao-openbao-server-1"]
    );

    // Sealed while Ready: the readiness probe passes, the check must not.
    sealed.store(true, Ordering::SeqCst);
    let run = health();
    assert_eq!(run.code, Some(2), "{run:#?}");
    let got = outcomes(&run);
    let o = &got["openbao-openbao-server-0"];
    assert_eq!(o["status"], "failed", "{o}");
    assert!(o.to_string().contains("sealed"), "{o}");
    assert!(o.to_string().contains("auto-unseal-sidecar"), "{o}");
    assert_eq!(got["nats-nats-1"]["status"], "passed");

    let table = Run::of(
        home.command(bin("kubectl-nvcf"))
            .arg("--kubeconfig")
            .arg(env.kubeconfig())
            .args(["ops", "health"]),
    );
    assert!(
        table.stdout.contains("openbao-server-0 unsealed"),
        "{table:#?}"
    );
}
