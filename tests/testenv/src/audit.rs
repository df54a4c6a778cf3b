//! Reading the apiserver's audit log: every request is logged at Metadata level, so a test
//! can prove which calls a command made (e.g. that a plan mode made no mutating call).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cmd::run;
use crate::tools;

/// A position in the audit log; see [`AuditLog::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(u64);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    #[serde(rename = "auditID")]
    pub audit_id: String,
    pub stage: String,
    pub verb: String,
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    pub user: UserInfo,
    #[serde(default)]
    pub user_agent: String,
    pub object_ref: Option<ObjectRef>,
    pub response_status: Option<ResponseStatus>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserInfo {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub api_group: Option<String>,
    pub api_version: Option<String>,
    pub subresource: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ResponseStatus {
    pub code: Option<i32>,
}

impl AuditEvent {
    /// Whether the request could change state (dry-run requests included: filter on
    /// `request_uri` containing `dryRun` if those are allowed).
    pub fn is_mutating(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        )
    }

    pub fn namespace(&self) -> Option<&str> {
        self.object_ref.as_ref()?.namespace.as_deref()
    }

    pub fn resource(&self) -> Option<&str> {
        self.object_ref.as_ref()?.resource.as_deref()
    }
}

/// The audit log of one environment.
pub struct AuditLog {
    path: PathBuf,
    kubeconfig: PathBuf,
}

impl AuditLog {
    pub(crate) fn new(path: PathBuf, kubeconfig: PathBuf) -> Self {
        AuditLog { path, kubeconfig }
    }

    /// The current end of the log, after every request already answered has been logged.
    pub fn mark(&self) -> Result<Mark> {
        self.sync()?;
        Ok(Mark(std::fs::metadata(&self.path)?.len()))
    }

    /// All requests logged after `mark`, including those of other tests and controllers.
    pub fn requests_since(&self, mark: Mark) -> Result<Vec<AuditEvent>> {
        self.sync()?;
        read_from(&self.path, mark)
    }

    /// Requests after `mark` whose verb is one of `verbs` (all verbs if empty) and whose
    /// user agent starts with `user_agent` (e.g. `"kubectl/"`, `"Helm/"`).
    pub fn requests_matching(
        &self,
        mark: Mark,
        verbs: &[&str],
        user_agent: &str,
    ) -> Result<Vec<AuditEvent>> {
        Ok(self
            .requests_since(mark)?
            .into_iter()
            .filter(|e| verbs.is_empty() || verbs.contains(&e.verb.as_str()))
            .filter(|e| e.user_agent.starts_with(user_agent))
            .collect())
    }

    /// As [`AuditLog::assert_read_only`], counting only writes into `namespace` or to
    /// cluster-scoped objects: for tests sharing an environment with others that run the
    /// same binary in parallel, each in a namespace of its own.
    pub fn assert_read_only_in(&self, mark: Mark, user_agent: &str, namespace: &str) {
        self.assert_no_writes(mark, user_agent, |e| {
            e.namespace().is_none_or(|ns| ns == namespace)
        });
    }

    /// Panics unless `user_agent` read the cluster after `mark` and wrote nothing: the
    /// proof a dry run is one. The read check keeps the write check from passing vacuously.
    pub fn assert_read_only(&self, mark: Mark, user_agent: &str) {
        self.assert_no_writes(mark, user_agent, |_| true);
    }

    fn assert_no_writes(&self, mark: Mark, user_agent: &str, counts: impl Fn(&AuditEvent) -> bool) {
        let writes: Vec<AuditEvent> = self
            .requests_matching(
                mark,
                &["create", "update", "patch", "delete", "deletecollection"],
                user_agent,
            )
            .unwrap()
            .into_iter()
            .filter(|e| counts(e))
            .collect();
        assert!(writes.is_empty(), "{user_agent} wrote: {writes:#?}");
        let reads = self
            .requests_matching(mark, &["list", "get"], user_agent)
            .unwrap();
        assert!(
            !reads.is_empty(),
            "the audit log shows no read by {user_agent}"
        );
    }

    /// The apiserver writes an event once the response is done, so a client can see its
    /// answer before the event is on disk. A request with a unique URI, waited for in the
    /// log, orders everything answered before it.
    fn sync(&self) -> Result<()> {
        let nonce = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let uri = format!("/version?nvcf-testenv-sync={nonce}");
        let before = Mark(std::fs::metadata(&self.path)?.len());
        let mut kubectl = Command::new(tools::kubectl());
        run(kubectl
            .env("KUBECONFIG", &self.kubeconfig)
            .args(["get", "--raw", &uri]))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if read_from(&self.path, before)?
                .iter()
                .any(|e| e.request_uri == uri)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("request {uri} did not appear in {}", self.path.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_from(path: &Path, mark: Mark) -> Result<Vec<AuditEvent>> {
    let mut file = File::open(path).with_context(|| format!("open {}", path.display()))?;
    // A mark can fall inside a line another request was writing; that line belongs before it.
    let mid_line = mark.0 > 0 && {
        let mut prev = [0u8];
        file.seek(SeekFrom::Start(mark.0 - 1))?;
        file.read_exact(&mut prev)?;
        prev[0] != b'\n'
    };
    let mut events = Vec::new();
    for line in BufReader::new(file).lines().skip(usize::from(mid_line)) {
        let line = line?;
        // A line still being written has no closing brace yet; it is picked up next time.
        if line.ends_with('}') {
            events
                .push(serde_json::from_str(&line).with_context(|| format!("audit line: {line}"))?);
        }
    }
    Ok(events)
}
