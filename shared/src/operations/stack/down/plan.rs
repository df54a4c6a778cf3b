//! What `down` and `uninstall` will do, decided before anything changes: phases with ETAs,
//! the releases to uninstall (and whether each is installed), the SIS registration rows to
//! delete, what stays, and every command in order. Building it makes only reads.

use crate::base::error::Result;
use crate::base::output::{Report, column_table, key_value_table};
use crate::base::plan::{Phase, phases_table};
use crate::clients::nvcf::sis::Cluster;
use crate::model::stack::catalog::{Catalog, Plane};
use crate::model::stack::inputs::Inputs;
use crate::operations::nvca::maintenance;
use crate::operations::stack::render::Planes;
use crate::operations::stack::teardown::{self, ObjectRef, TeardownPlan};
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

pub fn build(input: PlanInput<'_>) -> Result<DownPlan> {
    let s = input.shape;
    let mut phases = Vec::new();
    let mut commands = Vec::new();
    let mut releases = Vec::new();
    let mut namespaces = Vec::new();
    let mut remove_persistent = Vec::new();
    let mut kept = Vec::new();
    let mut teardowns = Vec::new();
    let functions = &input.functions;
    if s.drain {
        phases.push(phase(DRAIN, input.compute_context));
        commands.push(format!(
            "{} (context {})",
            maintenance::describe(),
            input.compute_context
        ));
    }
    let mut plane_steps = |plane: Plane,
                           context: &str,
                           installed: &BTreeSet<(String, String)>,
                           inventory: Vec<ObjectRef>,
                           commands: &mut Vec<String>|
     -> Result<()> {
        let planes = match plane {
            Plane::Control => Planes::Control,
            Plane::Compute => Planes::Compute,
        };
        let t = teardown::plan(input.catalog, input.inputs, planes)?;
        if plane == Plane::Compute {
            for o in functions {
                commands.push(format!(
                    "kubectl patch {r} --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}' --context {context} && kubectl delete {r} --context {context}",
                    r = kubectl_ref(o)
                ));
            }
        }
        if let Some(d) = &t.drain {
            commands.push(format!(
                "kubectl delete {}.{} --all -n {} --context {context}",
                d.plural,
                d.api_version.split('/').next().unwrap_or(""),
                d.namespace
            ));
        }
        for (r, ns) in &t.releases {
            let is = installed.contains(&(ns.clone(), r.clone()));
            let command = uninstall_command(r, ns, input.timeout, context);
            if is {
                commands.push(command.clone());
            }
            releases.push(DownRelease {
                plane,
                release: r.clone(),
                namespace: ns.clone(),
                installed: is,
                command,
            });
        }
        for o in &t.leftovers {
            commands.push(format!(
                "kubectl delete {} --ignore-not-found --context {context}",
                kubectl_ref(o)
            ));
        }
        let mut gone = t.namespaces.clone();
        if input.remove_persistent {
            for o in &inventory {
                commands.push(format!(
                    "kubectl delete {} --ignore-not-found --context {context}",
                    kubectl_ref(o)
                ));
                remove_persistent.push(o.display());
            }
            gone.extend(t.persistent_namespaces.iter().cloned());
            remove_persistent.extend(
                t.persistent_namespaces
                    .iter()
                    .map(|n| format!("Namespace/{n}")),
            );
        } else {
            kept.extend(inventory.iter().map(ObjectRef::display));
            kept.extend(
                t.persistent_namespaces
                    .iter()
                    .map(|n| format!("Namespace/{n}")),
            );
        }
        for ns in &gone {
            commands.push(format!(
                "kubectl delete namespace {ns} --ignore-not-found --context {context}"
            ));
        }
        namespaces.extend(gone);
        teardowns.push((plane, t, inventory));
        Ok(())
    };
    if s.compute {
        phases.push(phase(UNINSTALL_COMPUTE, input.compute_context));
        plane_steps(
            Plane::Compute,
            input.compute_context,
            input.installed_compute,
            input.inventory_compute,
            &mut commands,
        )?;
    }
    let mut rows = Vec::new();
    if s.rows {
        phases.push(phase(REMOVE_ROWS, "sis"));
        for c in &input.rows {
            let command = format!(
                "DELETE /v1/accounts/{}/clusters/{}",
                input.nca_id, c.cluster_id
            );
            commands.push(format!("SIS {command}"));
            rows.push(RegistrationRow {
                cluster_name: c.cluster_name.clone(),
                cluster_id: c.cluster_id.clone(),
                nca_id: input.nca_id.to_owned(),
                command,
            });
        }
    }
    if s.control {
        phases.push(phase(UNINSTALL_CONTROL, input.control_context));
        plane_steps(
            Plane::Control,
            input.control_context,
            input.installed_control,
            input.inventory_control,
            &mut commands,
        )?;
    }
    phases.push(phase(VERIFY, input.control_context));
    namespaces.sort();
    namespaces.dedup();
    Ok(DownPlan {
        cluster: input.cluster,
        total_eta_sec: phases.iter().map(|p| p.eta_sec).sum(),
        phases,
        releases,
        registration_rows: rows,
        functions: input.functions.iter().map(ObjectRef::display).collect(),
        namespaces,
        remove_persistent,
        kept,
        commands,
        notes: input.notes,
        teardown: teardowns,
    })
}

fn kubectl_ref(o: &ObjectRef) -> String {
    let kind = o.kind.to_lowercase();
    match &o.namespace {
        Some(ns) => format!("{kind}/{} -n {ns}", o.name),
        None => format!("{kind}/{}", o.name),
    }
}

impl Report for DownPlan {
    fn table(&self, wide: bool) -> String {
        let mut out = key_value_table(&[
            ("CLUSTER", self.cluster.clone()),
            ("ETA", format!("{}s", self.total_eta_sec)),
        ]);
        out.push('\n');
        out.push_str(&phases_table(&self.phases));
        out.push('\n');
        let rows: Vec<Vec<String>> = self
            .releases
            .iter()
            .filter(|r| wide || r.installed)
            .map(|r| {
                vec![
                    r.plane.as_str().to_owned(),
                    r.release.clone(),
                    r.namespace.clone(),
                    if r.installed {
                        "uninstall"
                    } else {
                        "not installed"
                    }
                    .to_owned(),
                ]
            })
            .collect();
        if rows.is_empty() {
            out.push_str("RELEASES   none installed\n");
        } else {
            out.push_str(&column_table(
                &["plane", "release", "namespace", "action"],
                rows,
            ));
        }
        out.push('\n');
        if self.registration_rows.is_empty() {
            out.push_str("REGISTRATION   no SIS row to delete\n");
        } else {
            out.push_str(&column_table(
                &["cluster", "cluster id", "account"],
                self.registration_rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.cluster_name.clone(),
                            r.cluster_id.clone(),
                            r.nca_id.clone(),
                        ]
                    })
                    .collect(),
            ));
        }
        let mut kv = Vec::new();
        if !self.functions.is_empty() {
            kv.push((
                "FUNCTIONS STILL DEPLOYED",
                format!(
                    "{} (removed first, finalizers cleared)",
                    self.functions.join(", ")
                ),
            ));
        }
        if !self.namespaces.is_empty() {
            kv.push(("DELETE NAMESPACES", self.namespaces.join(", ")));
        }
        if !self.remove_persistent.is_empty() {
            kv.push(("DESTROY", self.remove_persistent.join(", ")));
        }
        if !self.kept.is_empty() {
            kv.push(("KEEP", self.kept.join(", ")));
        }
        for n in &self.notes {
            kv.push(("NOTE", n.clone()));
        }
        if !kv.is_empty() {
            out.push('\n');
            out.push_str(&key_value_table(&kv));
        }
        if wide {
            out.push_str("\nCOMMANDS\n");
            for c in &self.commands {
                out.push_str(&format!("  {c}\n"));
            }
        }
        out
    }

    fn names(&self) -> Vec<String> {
        self.releases
            .iter()
            .filter(|r| r.installed)
            .map(|r| format!("release/{}", r.release))
            .collect()
    }
}
