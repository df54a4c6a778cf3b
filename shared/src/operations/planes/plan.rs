//! What `up --plan-only` prints: the phases with their ETAs and the releases wave by wave.
//! Decided from the catalog and the stack config alone, so it contacts nothing.

use super::{PhaseSpec, Scope};
use crate::base::error::Result;
use crate::base::events::{PlannedPhase, Ts};
use crate::base::output::{Report, column_table};
use crate::base::plan::Phase;
use crate::model::stack::catalog::{Catalog, Plane, Release};
use crate::model::stack::inputs::Inputs;
use crate::model::stack::values::PasswordView;
use crate::operations::stack::render::{ChartSource, Planes, Planned, render_set};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpRelease {
    pub name: String,
    pub plane: Plane,
    pub namespace: String,
    pub chart: String,
    pub version: String,
    /// Releases of one wave install in parallel; a wave starts when the previous one is done.
    pub wave: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpPlan {
    pub cluster: String,
    pub control_plane_context: String,
    pub compute_plane_context: String,
    pub chart_source: String,
    #[serde(rename = "totalETASec")]
    pub total_eta_sec: u64,
    /// Each phase with its wire name, label and ETA.
    pub phases: Vec<Phase>,
    pub releases: Vec<UpRelease>,
}

impl UpPlan {
    pub fn planned_phases(&self) -> Vec<PlannedPhase> {
        self.phases
            .iter()
            .map(|p| PlannedPhase {
                phase_num: p.phase_num,
                phase: p.title().to_owned(),
                eta_sec: p.eta_sec,
            })
            .collect()
    }

    pub fn planned_event(&self) -> crate::base::events::Planned {
        crate::base::events::Planned {
            ts: Ts::now(),
            cluster: self.cluster.clone(),
            target: self.control_plane_context.clone(),
            stack: self.chart_source.clone(),
            total_eta_sec: self.total_eta_sec,
            phases: self.planned_phases(),
            will_uninstall: Vec::new(),
        }
    }
}

impl Report for UpPlan {
    fn table(&self, _wide: bool) -> String {
        let phases = column_table(
            &["phase", "name", "eta"],
            self.phases
                .iter()
                .map(|p| {
                    vec![
                        format!("{}/8", p.phase_num),
                        p.title().to_owned(),
                        format!("{}s", p.eta_sec),
                    ]
                })
                .collect(),
        );
        let releases = column_table(
            &["plane", "wave", "release", "namespace", "chart", "version"],
            self.releases
                .iter()
                .map(|r| {
                    vec![
                        r.plane.as_str().to_owned(),
                        r.wave.to_string(),
                        r.name.clone(),
                        r.namespace.clone(),
                        r.chart.clone(),
                        r.version.clone(),
                    ]
                })
                .collect(),
        );
        format!(
            "cluster {} (control plane: {}, compute plane: {}), charts from {}\n\n{phases}\n{releases}\nTotal ETA {}s. Nothing was changed (plan only).",
            self.cluster,
            self.control_plane_context,
            self.compute_plane_context,
            self.chart_source,
            self.total_eta_sec
        )
    }

    fn names(&self) -> Vec<String> {
        self.releases
            .iter()
            .map(|r| format!("release/{}", r.name))
            .collect()
    }
}

/// Each release's wave within its plane: one more than the latest wave it needs.
pub fn waves(releases: &[&Release]) -> BTreeMap<String, u32> {
    let mut wave: BTreeMap<String, u32> = BTreeMap::new();
    // `releases` is in install order, so every need is placed before its dependant.
    for r in releases {
        let w = r
            .needs
            .iter()
            .filter_map(|n| {
                releases
                    .iter()
                    .find(|o| o.name == *n && o.plane == r.plane)
                    .and_then(|o| wave.get(&o.name))
            })
            .max()
            .map_or(1, |w| w + 1);
        wave.insert(r.name.clone(), w);
    }
    wave
}

/// The enabled releases of `scope` with their values decided: passwords as markers for
/// plans, real for installs.
pub fn planned<'c>(
    catalog: &'c Catalog,
    inputs: &'c Inputs,
    scope: Scope,
    source: &ChartSource,
    real_passwords: bool,
) -> Result<Vec<Planned<'c>>> {
    let planes = match scope {
        Scope::All => Planes::All,
        Scope::ControlPlane => Planes::Control,
        Scope::ComputePlane => Planes::Compute,
    };
    let view = if real_passwords {
        PasswordView::Real(&inputs.passwords)
    } else {
        PasswordView::Markers
    };
    Ok(render_set(catalog, &inputs.values_input(), &view, planes, source)?.releases)
}

pub struct PlanInput<'a> {
    pub cluster: &'a str,
    pub control_plane_context: &'a str,
    pub compute_plane_context: &'a str,
    pub chart_source: &'a str,
}

pub fn build(
    inputs: &Inputs,
    scope: Scope,
    source: &ChartSource,
    at: &PlanInput<'_>,
) -> Result<UpPlan> {
    let catalog = Catalog::embedded();
    let planned = planned(catalog, inputs, scope, source, false)?;
    let refs: Vec<&Release> = planned.iter().map(|p| p.release).collect();
    let wave = waves(&refs);
    let phases: Vec<PhaseSpec> = scope.phases();
    let mut planned = planned;
    planned.sort_by_key(|p| {
        (
            p.release.plane,
            wave.get(&p.release.name).copied().unwrap_or(1),
        )
    });
    Ok(UpPlan {
        cluster: at.cluster.to_owned(),
        control_plane_context: at.control_plane_context.to_owned(),
        compute_plane_context: at.compute_plane_context.to_owned(),
        chart_source: at.chart_source.to_owned(),
        total_eta_sec: phases.iter().map(|p| p.eta_sec).sum(),
        phases: phases
            .iter()
            .map(|p| Phase::new(p.num, p.wire, p.eta_sec).label(p.label))
            .collect(),
        releases: planned
            .iter()
            .map(|p| UpRelease {
                name: p.release.name.clone(),
                plane: p.release.plane,
                namespace: p.namespace.clone(),
                chart: p.release.chart.clone(),
                version: p.release.version.clone(),
                wave: wave.get(&p.release.name).copied().unwrap_or(1),
                needs: p
                    .release
                    .needs
                    .iter()
                    .filter(|n| refs.iter().any(|r| r.name == **n))
                    .cloned()
                    .collect(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_follow_needs_within_each_plane() {
        let catalog = Catalog::embedded();
        let all: Vec<&Release> = [
            "nats",
            "cassandra",
            "openbao-server",
            "sis",
            "api",
            "ess-api",
            "nvca-operator",
        ]
        .iter()
        .map(|n| catalog.release(n).unwrap())
        .collect();
        let ordered = crate::model::stack::catalog::install_order(&all).unwrap();
        let w = waves(&ordered);
        assert_eq!(w["nats"], 1);
        assert_eq!(w["cassandra"], 1);
        assert_eq!(w["openbao-server"], 2);
        assert_eq!(w["sis"], 3);
        assert_eq!(w["ess-api"], 3);
        assert_eq!(w["api"], 4);
        assert_eq!(w["nvca-operator"], 1, "disabled needs are ignored");
    }
}
