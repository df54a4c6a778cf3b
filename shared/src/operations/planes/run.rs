//! One run of the phases a command asked for, in order, under the install lock.

use super::apply::{Applied, PlaneApply};
use super::plan::planned;
use super::progress::Progress;
use super::{
    ADMIN_TOKEN, APPLY_COMPUTE, APPLY_CP, LOCK_NAME, PREFLIGHT, PhaseSpec, REGISTER,
    RENDER_COMPUTE, RENDER_CP, Scope, VERIFY,
};
use crate::base::error::{Category, Error, Result};
use crate::base::events::{Emitter, Event, Final, Ts};
use crate::base::output::{Report, column_table};
use crate::clients::helm::Helm;
use crate::clients::kube::lease::{Holder, InstallLock};
use crate::clients::nvcf::Session;
use crate::clients::nvcf::sis::Sis;
use crate::model::handoff::register_values::RegisterValues;
use crate::model::settings::EnvLookup;
use crate::model::stack::catalog::{Catalog, Plane};
use crate::model::stack::inputs::Inputs;
use crate::model::stack::values::PasswordView;
use crate::operations::nvca::registration::{self, RegisterRequest};
use crate::operations::stack::render::{ChartSource, LiveSecrets, assemble, template_all};
use crate::{
    base::checks::{Runner, Status},
    operations::checks::{Plane as CheckPlane, cluster_checks, local_checks},
};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// A cluster a plane lives on, resolved.
pub struct PlaneTarget {
    /// The context name (or cluster) events and messages use.
    pub label: String,
    pub client: kube::Client,
    /// The API server URL: the default OIDC issuer of the cluster's service accounts.
    pub server: String,
    pub helm: Helm,
}

/// Where the compute plane's NVCA finds the control plane.
#[derive(Debug, Clone)]
pub enum ComputeSource {
    /// In-cluster service URLs (the stack config's `compute` section).
    Config,
    /// Public routes, for a GPU cluster that does not host the control plane.
    Public {
        icms: String,
        reval: String,
        nats: String,
    },
    /// A split install's registration values file: the GPU cluster's team registered it
    /// (`kubectl nvca register --control-plane-profile`); nothing is registered here and
    /// the file is the NVCA operator's first values layer, as in upstream's helmfile.
    Handoff(Box<RegisterValues>),
}

impl ComputeSource {
    /// The public routes of the control plane whose SIS `session` reaches; ReVal and NATS
    /// default to the SIS host's siblings.
    pub fn public(session: &Session, reval: Option<String>, nats: Option<String>) -> ComputeSource {
        let (icms, reval, nats) = public_routes(session, reval, nats);
        ComputeSource::Public { icms, reval, nats }
    }
}

/// SIS as `session` reaches it (by name, when it routes on a Host header), and ReVal and
/// NATS, given or the SIS host's siblings.
pub fn public_routes(
    session: &Session,
    reval: Option<String>,
    nats: Option<String>,
) -> (String, String, String) {
    let sis = &session.client.endpoints.sis;
    let mut url = sis.base.clone();
    if let Some(host) = &sis.host {
        let _ = url.set_host(Some(host));
    }
    let icms = url.as_str().trim_end_matches('/').to_owned();
    let (reval_default, nats_default) = siblings(&icms);
    (
        icms,
        reval.unwrap_or(reval_default),
        nats.unwrap_or(nats_default),
    )
}

/// `https://sis.example.com` → `https://reval.example.com`, `nats://nats.example.com:4222`.
fn siblings(icms: &str) -> (String, String) {
    let parsed = url::Url::parse(icms).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("localhost")
        .to_owned();
    let domain = host
        .strip_prefix("sis.")
        .or_else(|| host.strip_prefix("api."))
        .unwrap_or(&host)
        .to_owned();
    let scheme = parsed.as_ref().map(|u| u.scheme()).unwrap_or("https");
    let port = parsed
        .as_ref()
        .and_then(|u| u.port())
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    (
        format!("{scheme}://reval.{domain}{port}"),
        format!("nats://nats.{domain}:4222"),
    )
}

pub struct Request<'a> {
    pub scope: Scope,
    pub cluster_name: String,
    pub nca_id: Option<String>,
    pub region: String,
    pub inputs: Inputs,
    pub source: ChartSource,
    /// Needed by the control-plane phases.
    pub control: Option<&'a PlaneTarget>,
    /// Needed by the compute-plane phases.
    pub compute: Option<&'a PlaneTarget>,
    /// The NVCF API (nvcf-sim in tests), for the admin token and registration.
    pub session: Option<&'a Session>,
    /// The admin token came with the command (`--token`): never minted.
    pub token_given: bool,
    pub compute_source: ComputeSource,
    /// Distinct contexts: checks run once per cluster, labels name both planes.
    pub split: bool,
    pub env: &'a dyn EnvLookup,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseResult {
    pub phase_num: u32,
    pub phase: String,
    pub duration_sec: u64,
    pub result: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpReport {
    pub cluster: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_group_id: Option<String>,
    pub phases: Vec<PhaseResult>,
    pub releases: Vec<Applied>,
}

impl Report for UpReport {
    fn table(&self, _wide: bool) -> String {
        let phases = column_table(
            &["phase", "name", "took", "result"],
            self.phases
                .iter()
                .map(|p| {
                    vec![
                        format!("{}/8", p.phase_num),
                        p.phase.clone(),
                        format!("{}s", p.duration_sec),
                        p.result.clone(),
                    ]
                })
                .collect(),
        );
        let releases = column_table(
            &["wave", "release", "namespace", "action"],
            self.releases
                .iter()
                .map(|r| {
                    vec![
                        r.wave.to_string(),
                        r.name.clone(),
                        r.namespace.clone(),
                        r.action.clone(),
                    ]
                })
                .collect(),
        );
        let id = match (&self.cluster_id, &self.cluster_group_id) {
            (Some(id), Some(group)) => format!(" (id {id}, group {group})"),
            _ => String::new(),
        };
        format!("cluster {}{id} is up\n\n{phases}\n{releases}", self.cluster)
    }

    fn names(&self) -> Vec<String> {
        self.releases
            .iter()
            .map(|r| format!("release/{}", r.name))
            .collect()
    }
}

/// What the phases hand each other.
#[derive(Default)]
struct State {
    registration: Option<crate::model::profile::Registration>,
    releases: Vec<Applied>,
    compute_inputs: Option<Inputs>,
}

fn need<'a>(target: Option<&'a PlaneTarget>, plane: &str) -> Result<&'a PlaneTarget> {
    target.ok_or_else(|| Error::internal(format!("no {plane} cluster was resolved")))
}

/// Runs the request's phases. The lock is taken after preflight and released at the end,
/// however the run ends (Ctrl-C releases it on the way out; a kill leaves it to expire or
/// to be taken over).
pub async fn run(req: Request<'_>, events: Arc<Emitter>) -> Result<UpReport> {
    let started = Instant::now();
    let mut progress = Progress::new(events.clone());
    let mut results = Vec::new();
    let mut state = State::default();
    let mut lock = None;
    let outcome = async {
        for phase in req.scope.phases() {
            if let Some(l) = &lock {
                InstallLock::check(l)?;
            }
            progress.start(phase, context_of(&req, phase));
            match run_phase(&req, phase, &progress, &mut state, &mut lock).await {
                Ok(result) => {
                    let took = progress.done();
                    results.push(PhaseResult {
                        phase_num: phase.num,
                        phase: phase.wire.into(),
                        duration_sec: took.as_secs(),
                        result,
                    });
                }
                Err(e) => {
                    progress.failed(&e);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
    .await;
    if let Some(l) = lock.take()
        && let Err(e) = l.release().await
    {
        tracing::warn!("could not release the install lock: {}", e.one_line());
    }
    let mut done = Final::new(Ts::now(), outcome.is_ok(), started.elapsed());
    done.dropped_progress_events = events.dropped();
    if let Some(r) = &state.registration {
        done.cluster_id = Some(r.cluster_id.clone());
        done.cluster_group_id = Some(r.cluster_group_id.clone());
    }
    events.emit(Event::Final(done));
    outcome?;
    Ok(UpReport {
        cluster: req.cluster_name.clone(),
        cluster_id: state.registration.as_ref().map(|r| r.cluster_id.clone()),
        cluster_group_id: state
            .registration
            .as_ref()
            .map(|r| r.cluster_group_id.clone()),
        phases: results,
        releases: state.releases,
    })
}

fn context_of(req: &Request<'_>, phase: PhaseSpec) -> Option<String> {
    if !req.split {
        return None;
    }
    let target = match phase.num {
        2 | 3 => req.control,
        5..=7 => req.compute,
        _ => None,
    };
    target.map(|t| t.label.clone())
}

async fn run_phase(
    req: &Request<'_>,
    phase: PhaseSpec,
    progress: &Progress,
    state: &mut State,
    lock: &mut Option<InstallLock>,
) -> Result<String> {
    let catalog = Catalog::embedded();
    match phase {
        PREFLIGHT => {
            let summary = preflight(req, progress).await?;
            // The lock lives on the cluster whose releases change first.
            let target = req.control.or(req.compute);
            let target = need(target, "target")?;
            let holder = Holder::this_process(req.env);
            let taken = InstallLock::acquire(&target.client, LOCK_NAME, &holder).await?;
            if let Some(why) = &taken.took_over {
                progress.note(format!("took over the install lock: {why}"));
            }
            progress.note(format!(
                "install lock {}/{LOCK_NAME} held by {}",
                crate::clients::kube::lease::NAMESPACE,
                holder.identity()
            ));
            *lock = Some(taken);
            Ok(summary)
        }
        RENDER_CP => {
            render(
                req,
                &req.inputs,
                Scope::ControlPlane,
                need(req.control, "control-plane")?,
                progress,
            )
            .await
        }
        APPLY_CP => {
            let target = need(req.control, "control-plane")?;
            apply(
                req,
                &req.inputs,
                Scope::ControlPlane,
                target,
                progress,
                state,
            )
            .await
        }
        ADMIN_TOKEN if matches!(req.compute_source, ComputeSource::Handoff(_)) => {
            Ok("not needed: the values file carries the registration".into())
        }
        REGISTER if let ComputeSource::Handoff(values) = &req.compute_source => {
            let r = values.registration(&req.cluster_name).ok_or_else(|| {
                Error::invalid_input("the values file has no clusterID: the cluster is not registered")
                    .hint(format!("register it first: `{nvca_cmd0} --control-plane-profile FILE --values-out FILE`", nvca_cmd0 = crate::base::plugin::nvca("register")))
            })?;
            progress.note(format!("cluster registered earlier: {}", r.cluster_id));
            let result = format!(
                "registered earlier: {} (id {}, from the values file)",
                r.cluster_name, r.cluster_id
            );
            state.compute_inputs = Some(compute_inputs(req, &r));
            state.registration = Some(r);
            Ok(result)
        }
        ADMIN_TOKEN => {
            let session = need_session(req)?;
            if req.token_given {
                return Ok("using the admin token given with --token".into());
            }
            let minted = session.client.remint().await?;
            Ok(format!(
                "minted an admin token ({}), expires {}",
                minted.token.masked(),
                minted.expires_at.as_deref().unwrap_or("(unknown)")
            ))
        }
        REGISTER => {
            let session = need_session(req)?;
            let target = need(req.compute, "compute-plane")?;
            let sis = Sis {
                client: &session.client,
            };
            let nca_id = req
                .nca_id
                .clone()
                .unwrap_or_else(|| session.settings.get("client_id").to_owned());
            if nca_id.is_empty() {
                return Err(Error::config("no account (NCA id) to register the cluster under")
                    .hint(format!("pass --nca-id, or set client_id in the profile ({nvcf_cmd0} client_id …)", nvcf_cmd0 = crate::base::plugin::nvcf("profile set"))));
            }
            let report = registration::register(
                &sis,
                &session.profile,
                &target.client,
                &target.server,
                None,
                &RegisterRequest {
                    cluster_name: req.cluster_name.clone(),
                    nca_id,
                    region: req.region.clone(),
                    ignore_existing: true,
                    nvca_version: Some(req.inputs.config.compute.nvca_version.clone()),
                    capabilities: Some(req.inputs.config.compute.feature_gates.clone()),
                },
            )
            .await?;
            let r = report.registration;
            progress.note(format!("cluster registered: {}", r.cluster_id));
            let result = format!(
                "{} {} (id {}, issuer {})",
                report.outcome, r.cluster_name, r.cluster_id, r.oidc_issuer
            );
            state.compute_inputs = Some(compute_inputs(req, &r));
            state.registration = Some(r);
            Ok(result)
        }
        RENDER_COMPUTE => {
            let inputs = state
                .compute_inputs
                .as_ref()
                .ok_or_else(|| Error::internal("render before registration"))?;
            render(
                req,
                inputs,
                Scope::ComputePlane,
                need(req.compute, "compute-plane")?,
                progress,
            )
            .await
        }
        APPLY_COMPUTE => {
            let inputs = state
                .compute_inputs
                .clone()
                .ok_or_else(|| Error::internal("apply before registration"))?;
            let target = need(req.compute, "compute-plane")?;
            apply(req, &inputs, Scope::ComputePlane, target, progress, state).await
        }
        VERIFY => verify(req, state, catalog).await,
        _ => Err(Error::internal(format!("unknown phase {}", phase.wire))),
    }
}

fn need_session<'a>(req: &Request<'a>) -> Result<&'a Session> {
    req.session
        .ok_or_else(|| Error::internal("the NVCF API session was not opened"))
}

/// The stack inputs with this cluster's identity for the NVCA operator.
fn compute_inputs(req: &Request<'_>, r: &crate::model::profile::Registration) -> Inputs {
    let mut inputs = req.inputs.clone();
    inputs.config.compute.cluster_name = req.cluster_name.clone();
    match &req.compute_source {
        ComputeSource::Config => {}
        ComputeSource::Public { icms, reval, nats } => {
            inputs.config.compute.icms_service_url = icms.clone();
            inputs.config.compute.reval_service_url = reval.clone();
            inputs.config.compute.nats_url = nats.clone();
        }
        ComputeSource::Handoff(values) => values.apply_to(&mut inputs),
    }
    inputs.registration = Some(r.clone());
    inputs
}

async fn preflight(req: &Request<'_>, progress: &Progress) -> Result<String> {
    let mut runner = Runner::new(None);
    local_checks(
        &mut runner,
        req.env,
        Some(
            req.control
                .or(req.compute)
                .map(|t| t.helm.bin.clone())
                .unwrap_or_default(),
        )
        .filter(|p| !p.as_os_str().is_empty()),
    )
    .await;
    let targets: Vec<(&PlaneTarget, CheckPlane)> = match (req.control, req.compute) {
        (Some(c), Some(g)) if req.split => vec![(c, CheckPlane::Control), (g, CheckPlane::Compute)],
        (Some(c), Some(_)) => vec![(c, CheckPlane::Both)],
        (Some(c), None) => vec![(c, CheckPlane::Control)],
        (None, Some(g)) => vec![(g, CheckPlane::Compute)],
        (None, None) => vec![],
    };
    for (t, plane) in targets {
        cluster_checks(&mut runner, Ok(t.client.clone()), &t.label, plane, None).await;
    }
    let report = runner.finish();
    let failed: Vec<String> = report
        .outcomes
        .iter()
        .filter(|o| {
            o.status == Status::Failed && o.severity == crate::base::events::Severity::Error
        })
        .map(|o| {
            let why = o.message.clone().unwrap_or_default();
            let hint = o.hint.clone().unwrap_or_default();
            progress.note(format!("{}: {why} (fix: {hint})", o.id));
            o.id.clone()
        })
        .collect();
    if !failed.is_empty() {
        return Err(Error::new(
            Category::ChecksFailed,
            format!("pre-flight checks failed: {}", failed.join(", ")),
        )
        .hint(format!(
            "`{nvcf_cmd0} --pre` shows each failure with its fix",
            nvcf_cmd0 = crate::base::plugin::nvcf("check")
        )));
    }
    let passed = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Passed)
        .count();
    Ok(format!("{passed} checks passed"))
}

/// Renders the plane as `install --no-apply` would print it: charts pulled, values and
/// templates checked, before anything is applied.
async fn render(
    req: &Request<'_>,
    inputs: &Inputs,
    scope: Scope,
    target: &PlaneTarget,
    progress: &Progress,
) -> Result<String> {
    let catalog = Catalog::embedded();
    let plan = crate::operations::stack::render::render_set(
        catalog,
        &inputs.values_input(),
        &PasswordView::Real(&inputs.passwords),
        match scope {
            Scope::ComputePlane => crate::operations::stack::render::Planes::Compute,
            _ => crate::operations::stack::render::Planes::Control,
        },
        &req.source,
    )?;
    let outputs = template_all(&target.helm, &plan).await?;
    let stream = assemble(
        catalog,
        &inputs.config,
        &plan,
        &outputs,
        inputs.passwords.registry.as_ref().map(|s| s.expose()),
        &LiveSecrets::new(),
        &crate::model::stack::password_refs::stored(&inputs.config, &inputs.passwords),
    )?
    .yaml;
    let objects = stream.matches("\n---").count() + usize::from(stream.starts_with("---"));
    progress.note(format!("rendered {} release(s)", plan.releases.len()));
    Ok(format!(
        "{} release(s), {objects} object(s)",
        plan.releases.len()
    ))
}

async fn apply(
    req: &Request<'_>,
    inputs: &Inputs,
    scope: Scope,
    target: &PlaneTarget,
    progress: &Progress,
    state: &mut State,
) -> Result<String> {
    let catalog = Catalog::embedded();
    let planned = planned(catalog, inputs, scope, &req.source, true)?;
    let applier = PlaneApply {
        client: &target.client,
        helm: &target.helm,
        config: &inputs.config,
        registry_password: inputs.passwords.registry.as_ref().map(|s| s.expose()),
        timeout: PlaneApply::default_timeout(catalog),
    };
    let applied = applier.run(&planned, progress).await?;
    let changed = applied.iter().filter(|a| a.action != "unchanged").count();
    let summary = format!(
        "{} release(s): {changed} installed or upgraded, {} unchanged",
        applied.len(),
        applied.len() - changed
    );
    state.releases.extend(applied);
    Ok(summary)
}

async fn verify(req: &Request<'_>, state: &State, catalog: &Catalog) -> Result<String> {
    let mut problems = Vec::new();
    let mut count = 0;
    for (target, plane) in [(req.control, Plane::Control), (req.compute, Plane::Compute)] {
        let Some(target) = target else { continue };
        if !req.scope.includes(plane) {
            continue;
        }
        let inputs = match plane {
            Plane::Compute => state.compute_inputs.as_ref().unwrap_or(&req.inputs),
            Plane::Control => &req.inputs,
        };
        let recorded = crate::clients::helm::storage::recorded(&target.client).await?;
        let wanted = planned(
            catalog,
            inputs,
            match plane {
                Plane::Control => Scope::ControlPlane,
                Plane::Compute => Scope::ComputePlane,
            },
            &req.source,
            true,
        )?;
        for p in wanted {
            count += 1;
            let planned_as = super::releases::planned_fingerprint(p.release, &p.chart, &p.values);
            match recorded.get(&(p.namespace.clone(), p.release.name.clone())) {
                Some(r)
                    if r.status == "deployed" && r.fingerprint.as_deref() == Some(&planned_as) => {}
                Some(r) if r.status == "deployed" => problems.push(format!(
                    "{} revision {} is not what this run installed (changed by someone else?)",
                    p.release.name, r.revision
                )),
                Some(r) => problems.push(format!("{} is {}", p.release.name, r.status)),
                None => problems.push(format!("{} is not installed", p.release.name)),
            }
        }
    }
    if let (Some(session), Some(r)) = (req.session, &state.registration) {
        let sis = Sis {
            client: &session.client,
        };
        let listed = sis.list(&r.nca_id).await?;
        if !listed.iter().any(|c| c.cluster_id == r.cluster_id) {
            problems.push(format!(
                "SIS does not list cluster {} ({})",
                r.cluster_name, r.cluster_id
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::new(
            Category::ComputePlane,
            format!("verification failed: {}", problems.join("; ")),
        )
        .hint("re-run the same command: it continues where things stand"));
    }
    Ok(format!(
        "{count} release(s) deployed{}",
        if state.registration.is_some() {
            ", cluster registered"
        } else {
            ""
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_siblings_follow_the_sis_host() {
        assert_eq!(
            siblings("https://sis.nvcf.example.com"),
            (
                "https://reval.nvcf.example.com".into(),
                "nats://nats.nvcf.example.com:4222".into()
            )
        );
        assert_eq!(
            siblings("http://sis.localhost:8080").0,
            "http://reval.localhost:8080"
        );
    }
}
