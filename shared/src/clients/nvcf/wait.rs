//! Waiting for a deployment to become `ACTIVE`, with progress events.

use super::client::Client;
use super::functions::{Function, Functions};
use crate::base::error::{Category, Error, Result};
use crate::base::events::{
    Emitter, Event, Final, LastProgress, PhaseCompleted, PhaseFailed, PhaseStarted, Ts,
};
use crate::base::plugin;
use std::time::{Duration, Instant};

const PHASE: &str = "Waiting for deployment";

/// Polls the version until `ACTIVE` (success), `ERROR` (failure) or `timeout`.
pub async fn until_active(
    client: &Client,
    fid: &str,
    vid: &str,
    timeout: Duration,
    interval: Duration,
    events: &Emitter,
) -> Result<Function> {
    let started = Instant::now();
    events.emit(Event::PhaseStarted(PhaseStarted {
        ts: Ts::now(),
        phase_num: 1,
        phase: PHASE.into(),
        total_phases: 1,
        context: Some(format!("function {fid} version {vid}")),
        started_at: Some(Ts::now()),
    }));
    let result = poll(client, fid, vid, timeout, interval, events, started).await;
    match &result {
        Ok(_) => events.emit(Event::PhaseCompleted(PhaseCompleted {
            ts: Ts::now(),
            phase_num: 1,
            phase: PHASE.into(),
            duration_sec: started.elapsed(),
            context: None,
        })),
        Err(e) => events.emit(Event::PhaseFailed(PhaseFailed::from_error(
            Ts::now(),
            1,
            PHASE,
            started.elapsed(),
            e,
        ))),
    }
    events.emit(Event::Final(Final::new(
        Ts::now(),
        result.is_ok(),
        started.elapsed(),
    )));
    result
}

async fn poll(
    client: &Client,
    fid: &str,
    vid: &str,
    timeout: Duration,
    interval: Duration,
    events: &Emitter,
    started: Instant,
) -> Result<Function> {
    let api = Functions { client };
    let mut last = String::new();
    loop {
        let f = api.get(fid, vid, false).await?;
        if f.status != last {
            events.emit(Event::LastProgress(LastProgress {
                ts: Ts::now(),
                phase_num: 1,
                detail: format!("function {} is {}", f.name, f.status),
                at: Some(Ts::now()),
                context: None,
            }));
            last = f.status.clone();
        }
        match f.status.as_str() {
            "ACTIVE" => return Ok(f),
            "ERROR" | "FAILED" => {
                let why = api
                    .deployment(fid, vid)
                    .await
                    .ok()
                    .and_then(|d| d.extra.get("healthInfo").map(|h| h.to_string()))
                    .unwrap_or_default();
                return Err(Error::new(
                    Category::ComputePlane,
                    format!(
                        "deployment of function {} failed with status {}{}",
                        f.name,
                        f.status,
                        if why.is_empty() {
                            String::new()
                        } else {
                            format!(": {why}")
                        }
                    ),
                )
                .hint(format!(
                    "inspect it with `{}`, then remove it with `{}`",
                    plugin::nvcf(&format!(
                        "function deploy get --function-id {fid} --version-id {vid}"
                    )),
                    plugin::nvcf("function deploy remove")
                )));
            }
            _ => {}
        }
        if started.elapsed() >= timeout {
            return Err(Error::new(
                Category::Timeout,
                format!(
                    "function {} still {} after {}s",
                    f.name,
                    f.status,
                    timeout.as_secs()
                ),
            )
            .hint(format!(
                "raise --timeout, or check again later with `{}`",
                plugin::nvcf("function get")
            )));
        }
        tokio::time::sleep(interval.min(timeout.saturating_sub(started.elapsed()))).await;
    }
}
