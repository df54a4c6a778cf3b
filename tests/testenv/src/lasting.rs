//! Faults that last while a command runs: `fault.sh apf-throttle` and `fault.sh slow-proxy`
//! run in the background, say when they bite, and undo themselves when dropped (or after
//! their time is up, whichever comes first).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::env::{Env, script};

/// A fault that holds until dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lasting {
    /// API Priority and Fairness answers 429 to the ServiceAccount of
    /// [`Running::kubeconfig`]: a FlowSchema sends it to a priority level with no seats.
    ApfThrottle,
    /// A loopback proxy in front of kube-apiserver holds back every chunk of every answer
    /// by this many milliseconds; [`Running::kubeconfig`] points at it.
    SlowProxy { delay_ms: u32 },
}

/// A lasting fault in force; dropping it ends the fault and waits until it is undone.
pub struct Running {
    child: Child,
    kubeconfig: PathBuf,
}

impl Running {
    /// The kubeconfig whose requests meet the fault.
    pub fn kubeconfig(&self) -> &std::path::Path {
        &self.kubeconfig
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Env {
    /// Starts `fault` for at most `seconds` and returns once it bites.
    pub fn lasting_fault(&self, fault: Lasting, seconds: u32) -> Result<Running> {
        let (kind, ready, kubeconfig, extra) = match fault {
            Lasting::ApfThrottle => ("apf-throttle", "throttling", "throttled.kubeconfig", None),
            Lasting::SlowProxy { delay_ms } => (
                "slow-proxy",
                "proxying",
                "slow.kubeconfig",
                Some(format!("--delay-ms={delay_ms}")),
            ),
        };
        let mut cmd = Command::new(script("fault.sh"));
        cmd.arg(kind)
            .arg(seconds.to_string())
            .arg(self.name())
            .arg("--dir")
            .arg(self.dir())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().context("starting fault.sh")?;
        let out = child.stdout.take().context("fault.sh stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let running = Running {
            child,
            kubeconfig: self.dir().join(kubeconfig),
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line == ready => Ok(running),
            Ok(line) => bail!("fault.sh {kind} said {line:?}, not {ready:?}"),
            Err(_) => bail!("fault.sh {kind} did not bite within 60 s"),
        }
    }
}
