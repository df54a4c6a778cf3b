//! Work that must still happen when a run is interrupted (Ctrl-C, SIGTERM): the runtime
//! drops the command, then runs what is registered here, for a few seconds at most,
//! before it exits 130. A SIGKILL runs nothing; what it leaves must be safe to find.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

type Cleanup = Pin<Box<dyn Future<Output = ()> + Send>>;

static PENDING: Mutex<Vec<(u64, Cleanup)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A registered cleanup; [`Registered::disarm`] once the work is done the ordinary way.
#[derive(Debug)]
pub struct Registered(u64);

impl Registered {
    pub fn disarm(self) {
        pending().retain(|(id, _)| *id != self.0);
    }
}

fn pending() -> std::sync::MutexGuard<'static, Vec<(u64, Cleanup)>> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `cleanup` if the run is interrupted before [`Registered::disarm`].
pub fn register(cleanup: impl Future<Output = ()> + Send + 'static) -> Registered {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    pending().push((id, Box::pin(cleanup)));
    Registered(id)
}

/// Runs every registered cleanup, newest first, all within `within`.
pub async fn run_all(within: Duration) {
    let all: Vec<Cleanup> = pending().drain(..).rev().map(|(_, c)| c).collect();
    let _ = tokio::time::timeout(within, async {
        for cleanup in all {
            cleanup.await;
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU32;

    #[tokio::test]
    async fn only_what_is_still_armed_runs_and_only_once() {
        let ran = Arc::new(AtomicU32::new(0));
        let count = |n: u32| {
            let ran = ran.clone();
            async move {
                ran.fetch_add(n, Ordering::Relaxed);
            }
        };
        let armed = register(count(1));
        register(count(10)).disarm();
        run_all(Duration::from_secs(1)).await;
        run_all(Duration::from_secs(1)).await;
        assert_eq!(ran.load(Ordering::Relaxed), 1);
        armed.disarm();
    }
}
