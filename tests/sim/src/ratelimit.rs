//! Fixed-window rate limits: the LLM gateway's token limits and the functions' request limits.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::util::parse_rate;

#[derive(Debug, Clone)]
struct Window {
    limit: u64,
    length: Duration,
    start: Instant,
    used: u64,
}

/// Fixed windows per subject and limit string (`10-S,500-M`), one per unit.
#[derive(Default)]
pub struct Windows {
    windows: HashMap<String, Vec<Window>>,
}

/// The most constrained window after (or instead of) a take.
pub struct Budget {
    pub limit: u64,
    pub remaining: u64,
    pub reset: Duration,
}

impl Windows {
    /// Takes `tokens` from every window of `spec` (units from `units`), or says how long until they fit.
    pub fn take(
        &mut self,
        subject: &str,
        spec: &str,
        units: &str,
        tokens: u64,
    ) -> Result<Budget, Budget> {
        let limits = parse_rate(spec, units).unwrap_or_default();
        let windows = self
            .windows
            .entry(format!("{subject}|{spec}"))
            .or_insert_with(|| {
                limits
                    .iter()
                    .map(|(n, d)| Window {
                        limit: *n,
                        length: *d,
                        start: Instant::now(),
                        used: 0,
                    })
                    .collect()
            });
        let t = Instant::now();
        for w in windows.iter_mut() {
            if t.duration_since(w.start) >= w.length {
                w.start = t;
                w.used = 0;
            }
        }
        let tightest = |ws: &[Window]| {
            ws.iter()
                .map(|w| Budget {
                    limit: w.limit,
                    remaining: w.limit.saturating_sub(w.used),
                    reset: w.length.saturating_sub(t.duration_since(w.start)),
                })
                .min_by_key(|b| b.remaining)
                .unwrap_or(Budget {
                    limit: 0,
                    remaining: 0,
                    reset: Duration::ZERO,
                })
        };
        if let Some(w) = windows.iter().find(|w| w.used + tokens > w.limit) {
            let mut b = tightest(windows);
            b.reset = w.length.saturating_sub(t.duration_since(w.start));
            return Err(b);
        }
        for w in windows.iter_mut() {
            w.used += tokens;
        }
        Ok(tightest(windows))
    }
}
