//! `kubectl nvcf keys` against a real OpenBao server (dev mode, the official `bao` binary),
//! reached the way the product reaches it in a cluster: the Kubernetes API server's service
//! proxy to Service vault-system/openbao-server. The server runs on this host, so the
//! Service has manual Endpoints at the host's non-loopback address (the API server refuses
//! to proxy to loopback addresses). The service proxy also only uses an endpoint whose
//! targetRef names a Pod carrying that IP (`isValidAddress` in kube-apiserver's service
//! storage), so a Pod bound to a node nobody runs stands for the server, its status set to
//! the host's address.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::Env;
use serde_json::Value;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const TOKEN: &str = "e2e-root-token-3f9c1a7d5b";
const OLD_KID: &str = "6fa459ea-ee8a-11ca-8a3c-0123456789ab";
const OLD_K: &str = "q2n0Zb2tQh3m1sV8yW4xP6rT9uE7iO5aS3dF1gH0jKc";

fn bao_bin() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/install-openbao.sh");
    let out = Command::new(script)
        .output()
        .expect("run install-openbao.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("bao")
}

/// The address other hosts would see: the source address of the default route.
fn host_ip() -> IpAddr {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect("192.0.2.254:9").unwrap();
    let ip = s.local_addr().unwrap().ip();
    assert!(
        !ip.is_loopback(),
        "this host needs a non-loopback IPv4 address for the API server proxy"
    );
    ip
}

struct Bao {
    child: Child,
    addr: String,
    bin: PathBuf,
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bao {
    fn start() -> Bao {
        let bin = bao_bin();
        let ip = host_ip();
        let port = TcpListener::bind((ip, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("{ip}:{port}");
        let child = Command::new(&bin)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={TOKEN}"),
                &format!("-dev-listen-address={listen}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao");
        let bao = Bao {
            child,
            addr: format!("http://{listen}"),
            bin,
        };
        for _ in 0..100 {
            if bao.cli(&["status"]).status.success() {
                return bao;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("bao dev server did not come up on {listen}");
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.bin)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", TOKEN)
            .args(args)
            .output()
            .expect("run bao")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "bao {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `bao kv get -format=json` of the key set: (fields, version).
    fn stored(&self) -> (Value, u64) {
        let v: Value = serde_json::from_str(&self.ok(&[
            "kv",
            "get",
            "-format=json",
            "services/all/kv/encryption/keys/stored_data",
        ]))
        .unwrap();
        (
            v["data"]["data"].clone(),
            v["data"]["metadata"]["version"].as_u64().unwrap(),
        )
    }
}

fn keys_of(fields: &Value) -> Vec<Value> {
    let raw = STANDARD.decode(fields["keys"].as_str().unwrap()).unwrap();
    let set: Value = serde_json::from_slice(&raw).unwrap();
    set["keys"].as_array().unwrap().clone()
}

fn apply(env: &Env, yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.yaml");
    std::fs::write(&path, yaml).unwrap();
    env.kubectl_run(&["apply", "-f", path.to_str().unwrap()])
        .unwrap();
}

/// OpenBao as the stack exposes it: Service openbao-server:8200 in vault-system and the
/// root token Secret, with the bootstrap key set written as 03_setup_shared_secrets.sh does.
fn install(env: &Env, bao: &Bao) {
    let (ip, port) = bao
        .addr
        .trim_start_matches("http://")
        .rsplit_once(':')
        .unwrap();
    apply(
        env,
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: vault-system}}\n---\n\
apiVersion: v1\nkind: Secret\nmetadata: {{name: openbao-server-root-token, namespace: vault-system}}\nstringData: {{root_token: {TOKEN}}}\n---\n\
apiVersion: v1\nkind: Service\nmetadata: {{name: openbao-server, namespace: vault-system}}\nspec:\n  ports: [{{name: http, port: 8200, targetPort: {port}}}]\n---\n\
apiVersion: v1\nkind: Pod\nmetadata: {{name: openbao-server-0, namespace: vault-system}}\nspec:\n  nodeName: outside-the-cluster\n  containers: [{{name: openbao, image: stand-in/openbao:0}}]\n---\n\
apiVersion: v1\nkind: Endpoints\nmetadata: {{name: openbao-server, namespace: vault-system}}\nsubsets:\n- addresses: [{{ip: \"{ip}\", targetRef: {{kind: Pod, name: openbao-server-0, namespace: vault-system}}}}]\n  ports: [{{name: http, port: {port}}}]\n"
        ),
    );
    env.kubectl_run(&[
        "patch",
        "pod",
        "openbao-server-0",
        "-n",
        "vault-system",
        "--subresource=status",
        "--type=merge",
        "-p",
        &format!(
            "{{\"status\":{{\"phase\":\"Running\",\"podIP\":\"{ip}\",\"podIPs\":[{{\"ip\":\"{ip}\"}}]}}}}"
        ),
    ])
    .unwrap();
    bao.ok(&["secrets", "enable", "-path=services/all/kv", "kv-v2"]);
    let jwk = serde_json::json!({"kty": "oct", "use": "enc", "kid": OLD_KID, "k": OLD_K, "alg": "A256GCM"});
    let keys = STANDARD.encode(serde_json::json!({"keys": [jwk]}).to_string());
    bao.ok(&[
        "kv",
        "put",
        "services/all/kv/encryption/keys/stored_data",
        &format!("keys={keys}"),
        &format!("current_kid={OLD_KID}"),
        &format!("jwe_mapping={{\"payload_jwe_kid\":\"{OLD_KID}\"}}"),
        &format!("private_jwks={keys}"),
    ]);
}

fn nvcf(env: &Env, home: &Home, args: &[&str]) -> Run {
    let run = Run::of(
        home.command(bin("kubectl-nvcf"))
            .arg("--kubeconfig")
            .arg(env.kubeconfig())
            .args(args),
    );
    assert!(
        !run.all().contains(TOKEN),
        "the root token was printed: {run:#?}"
    );
    assert!(
        !run.all().contains(OLD_K),
        "key material was printed: {run:#?}"
    );
    run
}

#[test]
fn mek_rotation_keeps_the_old_key_orders_keys_as_ess_needs_and_its_backup_restores() {
    let env = Env::shared();
    let bao = Bao::start();
    install(env, &bao);
    let home = Home::new();
    let (original, v1) = bao.stored();

    let status = nvcf(env, &home, &["keys", "status", "-o", "json"]);
    status.expect_success();
    let s: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        (s["currentKid"].as_str(), s["count"].as_u64()),
        (Some(OLD_KID), Some(1)),
        "{s:#}"
    );
    assert!(
        s["keys"][0]["ageSeconds"].as_i64().unwrap() > 365 * 86_400,
        "age from the kid: {s:#}"
    );

    // Plan mode: no write through the API server (a proxied POST is a `create`), none in OpenBao.
    let mark = env.audit().mark().unwrap();
    let plan = nvcf(
        env,
        &home,
        &["keys", "rotate-mek", "--plan-only", "-o", "json"],
    );
    plan.expect_success();
    let p: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert!(
        p["steps"]
            .as_array()
            .unwrap()
            .iter()
            .skip(1)
            .all(|s| s["state"] == "planned"),
        "{p:#}"
    );
    let writes: Vec<String> = env
        .audit()
        .requests_matching(mark, &[], "kubectl-nvcf/")
        .unwrap()
        .into_iter()
        .filter(|e| e.is_mutating())
        .map(|e| e.request_uri)
        .collect();
    assert!(writes.is_empty(), "plan mode wrote: {writes:?}");
    assert_eq!(bao.stored(), (original.clone(), v1));
    let work = tempfile::tempdir().unwrap();
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);

    // Without --yes and without a terminal, nothing happens.
    let backup = work.path().join("mek.json");
    let unconfirmed = nvcf(
        env,
        &home,
        &["keys", "rotate-mek", "--backup", backup.to_str().unwrap()],
    );
    assert_eq!(unconfirmed.code, Some(64), "{unconfirmed:#?}");
    assert_eq!(bao.stored().1, v1);

    let run = nvcf(
        env,
        &home,
        &[
            "keys",
            "rotate-mek",
            "--yes",
            "--backup",
            backup.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    run.expect_success();
    let (after, v2) = bao.stored();
    assert_eq!(v2, v1 + 1);
    let keys = keys_of(&after);
    assert_eq!(keys.len(), 2, "{after:#}");
    let new_kid = keys[0]["kid"].as_str().unwrap();
    assert_eq!(
        keys[1],
        keys_of(&original)[0],
        "the old key is kept, unchanged, after the new one"
    );
    assert_eq!(after["current_kid"], new_kid, "current_kid names keys[0]");
    let mapping: Value = serde_json::from_str(after["jwe_mapping"].as_str().unwrap()).unwrap();
    assert_eq!(mapping["payload_jwe_kid"], new_kid);
    assert_eq!(after["private_jwks"], after["keys"]);
    assert_eq!(
        &new_kid[14..15],
        "1",
        "kid {new_kid} is a time-based UUID v1"
    );
    assert_eq!(new_kid, new_kid.to_lowercase());
    assert_eq!(
        STANDARD
            .decode(
                keys[0]["k"]
                    .as_str()
                    .unwrap()
                    .replace('-', "+")
                    .replace('_', "/")
                    + "="
            )
            .unwrap()
            .len(),
        32
    );
    let r: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["state"] == "verified"),
        "{r:#}"
    );

    // The backup: owner-only, in `bao kv get -format=json` shape, holding the previous state.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&backup).unwrap()).unwrap();
    assert_eq!(saved["data"]["data"], original);

    let again = work.path().join("before-restore.json");
    let restore = nvcf(
        env,
        &home,
        &[
            "keys",
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--backup",
            again.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ],
    );
    restore.expect_success();
    let (restored, v3) = bao.stored();
    assert_eq!(restored, original, "the backup restores the previous state");
    assert_eq!(v3, v2 + 1);
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(
        kept["data"]["data"], after,
        "the state before the restore was backed up too"
    );
}
