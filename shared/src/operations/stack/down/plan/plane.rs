//! One plane's part of a `down` plan: its teardown (function workloads, drain, releases,
//! leftovers, persistent state, namespaces) as commands, in run order.

use super::{DownRelease, PlanInput, kubectl_ref, uninstall_command};
use crate::base::error::Result;
use crate::model::stack::catalog::Plane;
use crate::operations::stack::render::Planes;
use crate::operations::stack::teardown::{self, ObjectRef, TeardownPlan};

/// What the planes' teardowns add up to.
#[derive(Default)]
pub(super) struct Planned {
    pub commands: Vec<String>,
    pub releases: Vec<DownRelease>,
    pub namespaces: Vec<String>,
    pub remove_persistent: Vec<String>,
    pub kept: Vec<String>,
    pub teardowns: Vec<(Plane, TeardownPlan, Vec<ObjectRef>)>,
}

impl Planned {
    /// Adds `plane`'s teardown; `inventory` is the persistent state found on its cluster.
    pub fn plane(
        &mut self,
        input: &PlanInput<'_>,
        plane: Plane,
        inventory: Vec<ObjectRef>,
    ) -> Result<()> {
        let (planes, context) = match plane {
            Plane::Control => (Planes::Control, input.control_context),
            Plane::Compute => (Planes::Compute, input.compute_context),
        };
        let t = teardown::plan(input.catalog, input.inputs, planes)?;
        if plane == Plane::Compute {
            for o in &input.functions {
                self.commands.push(format!(
                    "kubectl patch {r} --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}' --context {context} && kubectl delete {r} --context {context}",
                    r = kubectl_ref(o)
                ));
            }
        }
        if let Some(d) = &t.drain {
            self.commands.push(format!(
                "kubectl delete {}.{} --all -n {} --context {context}",
                d.plural,
                d.api_version.split('/').next().unwrap_or(""),
                d.namespace
            ));
        }
        self.releases(input, plane, context, &t);
        for o in &t.leftovers {
            self.commands.push(format!(
                "kubectl delete {} --ignore-not-found --context {context}",
                kubectl_ref(o)
            ));
        }
        let gone = self.persistent(input.remove_persistent, context, &t, &inventory);
        for ns in &gone {
            self.commands.push(format!(
                "kubectl delete namespace {ns} --ignore-not-found --context {context}"
            ));
        }
        self.namespaces.extend(gone);
        self.teardowns.push((plane, t, inventory));
        Ok(())
    }

    /// Each release, with its uninstall command (a command to run only when installed).
    fn releases(&mut self, input: &PlanInput<'_>, plane: Plane, context: &str, t: &TeardownPlan) {
        let installed = match plane {
            Plane::Control => input.installed_control,
            Plane::Compute => input.installed_compute,
        };
        for (r, ns) in &t.releases {
            let is = installed.contains(&(ns.clone(), r.clone()));
            let command = uninstall_command(r, ns, input.timeout, context);
            if is {
                self.commands.push(command.clone());
            }
            self.releases.push(DownRelease {
                plane,
                release: r.clone(),
                namespace: ns.clone(),
                installed: is,
                command,
            });
        }
    }

    /// Persistent state destroyed (with `remove`) or kept; the namespaces that go.
    fn persistent(
        &mut self,
        remove: bool,
        context: &str,
        t: &TeardownPlan,
        inventory: &[ObjectRef],
    ) -> Vec<String> {
        let mut gone = t.namespaces.clone();
        let namespaces = t
            .persistent_namespaces
            .iter()
            .map(|n| format!("Namespace/{n}"));
        if remove {
            for o in inventory {
                self.commands.push(format!(
                    "kubectl delete {} --ignore-not-found --context {context}",
                    kubectl_ref(o)
                ));
                self.remove_persistent.push(o.display());
            }
            gone.extend(t.persistent_namespaces.iter().cloned());
            self.remove_persistent.extend(namespaces);
        } else {
            self.kept.extend(inventory.iter().map(ObjectRef::display));
            self.kept.extend(namespaces);
        }
        gone
    }
}
