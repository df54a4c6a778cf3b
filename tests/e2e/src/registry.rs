//! A real OCI registry on loopback: the CNCF distribution registry, built from its Go
//! module by tests/testenv/build-registry.sh, for tests that push and pull charts.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn registry_binary() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testenv/build-registry.sh");
    let out = Command::new(script).output().expect("build-registry.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A registry with an empty store on a free loopback port, stopped when dropped.
pub fn start_registry() -> Registry {
    start(None)
}

/// As [`start_registry`], refusing every request without `user`'s basic credentials
/// (distribution's htpasswd auth, bcrypt hashes), as a site's private registry does.
pub fn start_registry_with_auth(user: &str, password: &str) -> Registry {
    start(Some((user, password)))
}

fn start(auth: Option<(&str, &str)>) -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let auth_config = match auth {
        Some((user, password)) => {
            let hash = bcrypt::hash(password, 4).expect("bcrypt hash");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, format!("{user}:{hash}\n")).unwrap();
            format!(
                "auth:\n  htpasswd:\n    realm: nvcf-e2e\n    path: {}\n",
                file.display()
            )
        }
        None => String::new(),
    };
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n{auth_config}",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let child = Command::new(registry_binary())
        .arg("serve")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start registry");
    let started = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "registry did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Registry {
        child,
        addr,
        _dir: dir,
    }
}
