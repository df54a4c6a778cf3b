//! What `down` and `uninstall` will do, decided before anything changes: phases with ETAs,
//! the releases to uninstall (and whether each is installed), the SIS registration rows to
//! delete, what stays, and every command in order. Building it makes only reads.

mod plane;
mod table;

use crate::base::error::Result;
use crate::base::plan::Phase;
use crate::clients::nvcf::sis::Cluster;
use crate::model::stack::catalog::{Catalog, Plane};
use crate::model::stack::inputs::Inputs;
use crate::operations::nvca::maintenance;
use crate::operations::stack::teardown::{ObjectRef, TeardownPlan};
use serde::Serialize;
use std::collections::BTreeSet;

/// Upstream's teardown phases and their P50 estimates (phases.md §3.1).
pub const DRAIN: (u32, &str, u64) = (1, "drain-active", 30);
pub const UNINSTALL_COMPUTE: (u32, &str, u64) = (2, "uninstall-compute-plane", 60);
pub const REMOVE_ROWS: (u32, &str, u64) = (3, "remove-cluster-row", 5);
pub const UNINSTALL_CONTROL: (u32, &str, u64) = (4, "uninstall-control-plane", 90);
pub const VERIFY: (u32, &str, u64) = (5, "verify-clean", 2);

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownRelease {
    pub plane: Plane,
    pub release: String,
    pub namespace: String,
    pub installed: bool,
    pub command: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationRow {
    pub cluster_name: String,
    pub cluster_id: String,
    pub nca_id: String,
    pub command: String,
}

/// What the run will do, and the reasons it will not do more.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownPlan {
    /// The cluster name, or `all`.
    pub cluster: String,
    #[serde(rename = "totalETASec")]
    pub total_eta_sec: u64,
    /// Each phase with its ETA and the context it acts on.
    pub phases: Vec<Phase>,
    pub releases: Vec<DownRelease>,
    pub registration_rows: Vec<RegistrationRow>,
    /// Function workloads still deployed on the compute plane, removed first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
    /// Namespaces deleted once their releases are gone.
    pub namespaces: Vec<String>,
    /// Persistent state deleted (`--remove-persistent`) or kept.
    pub remove_persistent: Vec<String>,
    pub kept: Vec<String>,
    /// Every mutating step, in order, as a command a person could run.
    pub commands: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip)]
    pub teardown: Vec<(Plane, TeardownPlan, Vec<ObjectRef>)>,
}

/// Which phases a run has.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub drain: bool,
    pub compute: bool,
    pub rows: bool,
    pub control: bool,
}

pub struct PlanInput<'a> {
    pub catalog: &'a Catalog,
    /// Function workloads found on the compute plane ([`teardown::function_workloads`]).
    pub functions: Vec<ObjectRef>,
    pub inputs: &'a Inputs,
    pub shape: Shape,
    pub cluster: String,
    pub control_context: &'a str,
    pub compute_context: &'a str,
    /// `(namespace, release)` of the helm releases each plane's cluster holds.
    pub installed_control: &'a BTreeSet<(String, String)>,
    pub installed_compute: &'a BTreeSet<(String, String)>,
    /// Rows to delete from SIS.
    pub rows: Vec<Cluster>,
    pub nca_id: &'a str,
    pub remove_persistent: bool,
    /// Persistent objects found on each plane's cluster.
    pub inventory_control: Vec<ObjectRef>,
    pub inventory_compute: Vec<ObjectRef>,
    pub timeout: &'a str,
    pub notes: Vec<String>,
}

fn phase(p: (u32, &str, u64), context: &str) -> Phase {
    Phase::new(p.0, p.1, p.2).context(context)
}

pub fn uninstall_command(release: &str, ns: &str, timeout: &str, context: &str) -> String {
    format!(
        "helm uninstall {release} --namespace {ns} --ignore-not-found --wait --timeout {timeout} --kube-context {context}"
    )
}

pub fn build(mut input: PlanInput<'_>) -> Result<DownPlan> {
    let s = input.shape;
    let mut phases = Vec::new();
    let mut acc = plane::Planned::default();
    if s.drain {
        phases.push(phase(DRAIN, input.compute_context));
        acc.commands.push(format!(
            "{} (context {})",
            maintenance::describe(),
            input.compute_context
        ));
    }
    if s.compute {
        phases.push(phase(UNINSTALL_COMPUTE, input.compute_context));
        let inventory = std::mem::take(&mut input.inventory_compute);
        acc.plane(&input, Plane::Compute, inventory)?;
    }
    let mut rows = Vec::new();
    if s.rows {
        phases.push(phase(REMOVE_ROWS, "sis"));
        rows = registration_rows(&input, &mut acc.commands);
    }
    if s.control {
        phases.push(phase(UNINSTALL_CONTROL, input.control_context));
        let inventory = std::mem::take(&mut input.inventory_control);
        acc.plane(&input, Plane::Control, inventory)?;
    }
    phases.push(phase(VERIFY, input.control_context));
    acc.namespaces.sort();
    acc.namespaces.dedup();
    Ok(DownPlan {
        cluster: input.cluster,
        total_eta_sec: phases.iter().map(|p| p.eta_sec).sum(),
        phases,
        releases: acc.releases,
        registration_rows: rows,
        functions: input.functions.iter().map(ObjectRef::display).collect(),
        namespaces: acc.namespaces,
        remove_persistent: acc.remove_persistent,
        kept: acc.kept,
        commands: acc.commands,
        notes: input.notes,
        teardown: acc.teardowns,
    })
}

/// The SIS rows to delete, each with its request (also added to `commands`).
fn registration_rows(input: &PlanInput<'_>, commands: &mut Vec<String>) -> Vec<RegistrationRow> {
    input
        .rows
        .iter()
        .map(|c| {
            let command = format!(
                "DELETE /v1/accounts/{}/clusters/{}",
                input.nca_id, c.cluster_id
            );
            commands.push(format!("SIS {command}"));
            RegistrationRow {
                cluster_name: c.cluster_name.clone(),
                cluster_id: c.cluster_id.clone(),
                nca_id: input.nca_id.to_owned(),
                command,
            }
        })
        .collect()
}

pub(super) fn kubectl_ref(o: &ObjectRef) -> String {
    let kind = o.kind.to_lowercase();
    match &o.namespace {
        Some(ns) => format!("{kind}/{} -n {ns}", o.name),
        None => format!("{kind}/{}", o.name),
    }
}
