//! The install lock: a `coordination.k8s.io` Lease that one `up` holds while it changes a
//! control plane, so a second one stops at once and says who is working.
//!
//! The holder is `user@host pid=N`. A holder interrupted by Ctrl-C or SIGTERM deletes it
//! on the way out. A holder that stopped renewing loses the lock when the lease expires; a
//! holder on this host whose process is gone loses it at once, so a re-run after a kill
//! does not wait out the expiry.

use crate::base::error::{Category, Error, ExitCode, Result};
use crate::clients::kube::from_kube;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub const NAMESPACE: &str = "nvcf-cli-system";
pub const DURATION: Duration = Duration::from_secs(60);
const RENEW_EVERY: Duration = Duration::from_secs(15);

/// Who is asking: `user@host pid=N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
}

impl Holder {
    pub fn this_process(env: &dyn crate::model::settings::EnvLookup) -> Holder {
        let user = env
            .get("USER")
            .or_else(|| env.get("LOGNAME"))
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Holder {
            user,
            host: hostname(),
            pid: std::process::id(),
        }
    }

    pub fn identity(&self) -> String {
        format!("{}@{} pid={}", self.user, self.host, self.pid)
    }

    pub fn parse(identity: &str) -> Option<Holder> {
        let (who, pid) = identity.rsplit_once(" pid=")?;
        let (user, host) = who.split_once('@')?;
        Some(Holder {
            user: user.to_owned(),
            host: host.to_owned(),
            pid: pid.trim().parse().ok()?,
        })
    }

    /// Only a process on this host can be known to be gone.
    fn is_dead_here(&self) -> bool {
        self.host == hostname() && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Why the current holder may be replaced, if it may.
fn takeover_reason(spec: &LeaseSpec, now: Timestamp) -> Option<String> {
    let Some(identity) = spec.holder_identity.as_deref().filter(|h| !h.is_empty()) else {
        return Some("released".into());
    };
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    match renewed {
        None => return Some(format!("{identity} never renewed it")),
        Some(t) if t.as_second() + duration < now.as_second() => {
            return Some(format!("{identity} let it expire"));
        }
        _ => {}
    }
    Holder::parse(identity)
        .filter(Holder::is_dead_here)
        .map(|_| format!("{identity} is no longer running"))
}

/// A held lock. Renewed in the background until [`InstallLock::release`].
pub struct InstallLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
    /// Deletes the lease if the run is interrupted (Ctrl-C) before [`InstallLock::release`].
    on_cancel: crate::base::on_cancel::Registered,
    /// Set when a stale holder was replaced: worth telling the user.
    pub took_over: Option<String>,
}

impl InstallLock {
    /// Takes the lock `name`, or fails at once naming the holder.
    pub async fn acquire(
        client: &kube::Client,
        name: &str,
        holder: &Holder,
    ) -> Result<InstallLock> {
        ensure_namespace(client).await?;
        let api: Api<Lease> = Api::namespaced(client.clone(), NAMESPACE);
        let identity = holder.identity();
        let now = Timestamp::now();
        let spec = LeaseSpec {
            holder_identity: Some(identity.clone()),
            lease_duration_seconds: Some(DURATION.as_secs() as i32),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        };
        let doing = format!("take lease {NAMESPACE}/{name}");
        let took_over = match api.get_opt(name).await.map_err(|e| from_kube(e, &doing))? {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(name.to_owned()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(spec),
                };
                match api.create(&PostParams::default(), &lease).await {
                    Ok(_) => None,
                    // Someone created it between our read and our write: they hold it.
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        return Err(held(name, "another process (it was just taken)"));
                    }
                    Err(e) => return Err(from_kube(e, &doing)),
                }
            }
            Some(mut existing) => {
                let current = existing.spec.clone().unwrap_or_default();
                let Some(reason) = takeover_reason(&current, now) else {
                    return Err(held(name, &describe(&current, now)));
                };
                let transitions = current.lease_transitions.unwrap_or(0) + 1;
                existing.spec = Some(LeaseSpec {
                    lease_transitions: Some(transitions),
                    ..spec
                });
                // The resourceVersion we read makes this a compare-and-swap.
                match api.replace(name, &PostParams::default(), &existing).await {
                    Ok(_) => Some(reason),
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        return Err(held(name, "another process (it was just taken over)"));
                    }
                    Err(e) => return Err(from_kube(e, &doing)),
                }
            }
        };
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew_loop(
            api.clone(),
            name.to_owned(),
            identity.clone(),
            lost.clone(),
        ));
        let on_cancel = {
            let (api, name, identity) = (api.clone(), name.to_owned(), identity.clone());
            crate::base::on_cancel::register(async move {
                let _ = delete_if_ours(&api, &name, &identity).await;
            })
        };
        Ok(InstallLock {
            api,
            name: name.to_owned(),
            identity,
            lost,
            renewer,
            on_cancel,
            took_over,
        })
    }

    /// Fails when another process took the lock from us (we stopped renewing in time).
    pub fn check(&self) -> Result<()> {
        if self.lost.load(Ordering::Relaxed) {
            return Err(Error::new(
                Category::Conflict,
                format!("lost the install lock {NAMESPACE}/{}", self.name),
            )
            .hint(format!(
                "another `{nvcf_cmd0}` took over; let it finish, then re-run",
                nvcf_cmd0 = crate::base::plugin::nvcf("up")
            ))
            .exit_code_override(ExitCode::Conflict));
        }
        Ok(())
    }

    /// Stops renewing and deletes the lease, if it is still ours.
    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        self.on_cancel.disarm();
        delete_if_ours(&self.api, &self.name, &self.identity).await
    }
}

/// Deletes lease `name` if `identity` still holds it.
async fn delete_if_ours(api: &Api<Lease>, name: &str, identity: &str) -> Result<()> {
    let doing = format!("release lease {NAMESPACE}/{name}");
    let Some(lease) = api.get_opt(name).await.map_err(|e| from_kube(e, &doing))? else {
        return Ok(());
    };
    if holder_of(&lease) != Some(identity) {
        return Ok(());
    }
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(from_kube(e, &doing)),
    }
}

fn holder_of(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref()?.holder_identity.as_deref()
}

fn describe(spec: &LeaseSpec, now: Timestamp) -> String {
    let holder = spec.holder_identity.clone().unwrap_or_default();
    let expires = spec
        .renew_time
        .as_ref()
        .map(|t| t.0.as_second() + i64::from(spec.lease_duration_seconds.unwrap_or(0)))
        .map(|at| {
            format!(
                ", expires in {}s unless renewed",
                (at - now.as_second()).max(0)
            )
        })
        .unwrap_or_default();
    format!("{holder}{expires}")
}

fn held(name: &str, holder: &str) -> Error {
    Error::new(
        Category::Conflict,
        format!("another `{nvcf_cmd0}` is in progress: install lock {NAMESPACE}/{name} is held by {holder}", nvcf_cmd0 = crate::base::plugin::nvcf("up")),
    )
    .hint(format!(
        "wait for it to finish; if that process is gone, the lock frees itself when it expires \
         (kubectl get lease {name} -n {NAMESPACE} shows it)"
    ))
    .exit_code_override(ExitCode::Conflict)
}

async fn ensure_namespace(client: &kube::Client) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let doing = format!("create namespace {NAMESPACE}");
    if api
        .get_opt(NAMESPACE)
        .await
        .map_err(|e| from_kube(e, &doing))?
        .is_some()
    {
        return Ok(());
    }
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(NAMESPACE.into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(from_kube(e, &doing)),
    }
}

async fn renew_loop(api: Api<Lease>, name: String, identity: String, lost: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        match api.get_opt(&name).await {
            Ok(Some(mut lease)) if holder_of(&lease) == Some(identity.as_str()) => {
                if let Some(spec) = lease.spec.as_mut() {
                    spec.renew_time = Some(MicroTime(Timestamp::now()));
                }
                // A conflict means someone wrote in between; the next round reads again.
                let _ = api.replace(&name, &PostParams::default(), &lease).await;
            }
            Ok(_) => {
                lost.store(true, Ordering::Relaxed);
                return;
            }
            // A blip in reaching the API server: the lease outlives a few missed renewals.
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, renewed_ago: i64, duration: i32) -> LeaseSpec {
        let t = Timestamp::from_second(Timestamp::now().as_second() - renewed_ago).unwrap();
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(duration),
            renew_time: Some(MicroTime(t)),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn identities_round_trip() {
        let h = Holder {
            user: "ana".into(),
            host: "box-1".into(),
            pid: 42,
        };
        assert_eq!(h.identity(), "ana@box-1 pid=42");
        assert_eq!(Holder::parse(&h.identity()), Some(h));
        assert_eq!(Holder::parse("garbage"), None);
    }

    #[test]
    fn a_live_holder_keeps_the_lock_and_a_stale_one_loses_it() {
        let now = Timestamp::now();
        let live_elsewhere = spec("ana@some-other-host pid=1", 5, 60);
        assert_eq!(takeover_reason(&live_elsewhere, now), None);
        let expired = spec("ana@some-other-host pid=1", 120, 60);
        assert!(takeover_reason(&expired, now).unwrap().contains("expire"));
        let me = Holder::this_process(&crate::model::settings::MapEnv::default());
        let alive_here = spec(&me.identity(), 1, 60);
        assert_eq!(takeover_reason(&alive_here, now), None, "we are running");
        let dead_here = spec(&format!("ana@{} pid={}", me.host, u32::MAX - 1), 1, 60);
        assert!(
            takeover_reason(&dead_here, now)
                .unwrap()
                .contains("no longer running")
        );
        let released = LeaseSpec::default();
        assert!(takeover_reason(&released, now).is_some());
    }
}
