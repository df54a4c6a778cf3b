//! Echo invocation throughput through the simulator against a static-response baseline
//! served by the same HTTP stack on the same machine. Bounded loopback load: a fixed
//! number of workers for a fixed time (`BENCH_SECONDS`, `BENCH_CONCURRENCY`).
//!
//! `cargo bench -p nvcf-sim --bench echo_throughput`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nvcf_sim::{Sim, SimConfig};
use serde_json::{Value, json};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Requests per second of `workers` keep-alive clients hitting `url` with `host` for `secs`.
async fn load(
    url: String,
    host: String,
    bearer: Option<String>,
    body: Value,
    workers: u64,
    secs: u64,
) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (url, host, bearer, body, done) = (
            url.clone(),
            host.clone(),
            bearer.clone(),
            body.to_string(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            while Instant::now() < deadline {
                let mut req = http
                    .post(&url)
                    .header("host", &host)
                    .header("content-type", "application/json")
                    .body(body.clone());
                if let Some(b) = &bearer {
                    req = req.bearer_auth(b);
                }
                let r = req.send().await.expect("request");
                assert_eq!(r.status(), 200);
                r.bytes().await.expect("body");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn setup_echo(sim: &Sim) -> (String, String) {
    let http = reqwest::Client::new();
    let admin = sim.admin_token();
    let api = format!("api.{}", sim.domain());
    let f: Value = http
        .post(format!("{}/v2/nvcf/functions", sim.url()))
        .header("host", &api)
        .bearer_auth(&admin)
        .json(&json!({"name": "bench-echo", "inferenceUrl": "/echo", "containerImage": "nvcr.io/x/echo:1"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let (fid, vid) = (
        f["function"]["id"].as_str().expect("id").to_string(),
        f["function"]["versionId"]
            .as_str()
            .expect("vid")
            .to_string(),
    );
    let spec = json!({"deploymentSpecifications": [{"gpu": "A10G", "instanceType": "NCP.GPU.A10G_1x", "minInstances": 0, "maxInstances": 1}]});
    let r = http
        .post(format!(
            "{}/v2/nvcf/deployments/functions/{fid}/versions/{vid}",
            sim.url()
        ))
        .header("host", &api)
        .bearer_auth(&admin)
        .json(&spec)
        .send()
        .await
        .expect("deploy");
    assert_eq!(r.status(), 200);
    // The admin JWT cannot invoke; a JWT carrying `invoke_function` authenticates like an API key would.
    (
        fid,
        sim.token("ncp", &["invoke_function".to_string()], 3600),
    )
}

fn main() {
    let secs = env_num("BENCH_SECONDS", 2);
    let workers = env_num("BENCH_CONCURRENCY", 32);
    let rounds = env_num("BENCH_ROUNDS", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let body = json!({"message": "hello world", "repeats": 1});

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().fallback(|| async { ([("content-type", "application/json")], r#"{"message": "hello world", "repeats": 1}"#) });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let sim = Sim::start(SimConfig::default()).await.expect("sim");
        let (fid, key) = setup_echo(&sim).await;

        // Interleaved rounds, so a busy machine slows both sides alike; the median ratio is reported.
        let mut ratios = Vec::new();
        for round in 1..=rounds {
            let baseline = load(format!("http://{addr}/echo"), "static.local".into(), None, body.clone(), workers, secs).await;
            let echo = load(format!("{}/echo", sim.url()), format!("{fid}.invocation.{}", sim.domain()), Some(key.clone()), body.clone(), workers, secs).await;
            println!("round {round}: static baseline {baseline:.0} req/s, nvcf-sim echo {echo:.0} req/s, ratio {:.2}", echo / baseline);
            ratios.push(echo / baseline);
        }
        sim.assert_no_violations();
        ratios.sort_by(f64::total_cmp);
        println!("median ratio echo/baseline: {:.2} ({rounds} rounds of {secs} s, {workers} workers, loopback, one 2-thread runtime)", ratios[ratios.len() / 2]);
    });
}
