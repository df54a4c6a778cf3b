//! Running a teardown: function workloads, the drain, each release uninstalled, leftovers,
//! persistent state (when asked) and namespaces, as evented phases; and its confirmation.

use super::functions::{drain, function_workloads, remove_functions};
use super::objects::delete;
use super::{ObjectRef, TeardownPlan, done, unchanged};
use crate::base::confirm::Gate;
use crate::base::env::EnvLookup;
use crate::base::error::{Category, Error, Result};
use crate::base::events::{Emitter, Phases};
use crate::base::plan::{Plan, Step};
use crate::clients::helm::Helm;
use crate::clients::kube::delete as kdelete;
use crate::clients::kube::webhooks;
use std::time::Duration;

const NAMESPACE_DEADLINE: Duration = Duration::from_secs(180);

/// Uninstalls, clears leftovers, and deletes namespaces (and with `remove_persistent`, the
/// persistent inventory and its namespaces).
pub async fn execute(
    helm: &Helm,
    client: &kube::Client,
    plan: &TeardownPlan,
    inventory: &[ObjectRef],
    remove_persistent: bool,
    timeout: &str,
) -> Result<Plan> {
    execute_evented(
        helm,
        client,
        plan,
        inventory,
        remove_persistent,
        timeout,
        None,
    )
    .await
}

/// [`execute`] as evented phases: drain (compute plane), uninstall, leftovers, persistent
/// state (with `remove_persistent`), namespaces; each release and object is progress.
pub async fn execute_evented(
    helm: &Helm,
    client: &kube::Client,
    plan: &TeardownPlan,
    inventory: &[ObjectRef],
    remove_persistent: bool,
    timeout: &str,
    events: Option<&Emitter>,
) -> Result<Plan> {
    // Function workloads go first, while the agent that owns them can still see them go.
    let functions = match &plan.drain {
        Some(_) => function_workloads(client).await?,
        None => Vec::new(),
    };
    let total = 3
        + u32::from(!functions.is_empty())
        + u32::from(plan.drain.is_some())
        + u32::from(remove_persistent);
    let phases = Phases::new(events, total);
    let mut steps = Vec::new();
    if !functions.is_empty() {
        let removed = phases
            .run("remove-functions", remove_functions(client, &functions))
            .await?;
        steps.extend(removed);
    }
    if let Some(d) = &plan.drain {
        let drained = phases.run("drain-nvcfbackends", drain(client, d)).await?;
        steps.extend(
            drained
                .into_iter()
                .map(|object| done(object, "deleted (drain)")),
        );
    }
    let uninstalled = phases
        .run(
            "uninstall-releases",
            uninstall_releases(helm, client, plan, timeout, &phases),
        )
        .await?;
    steps.extend(uninstalled);
    let deleted = phases
        .run(
            "delete-leftovers",
            delete_each(client, &plan.leftovers, &phases),
        )
        .await?;
    steps.extend(deleted);
    let mut namespaces = plan.namespaces.clone();
    let mut kept = Vec::new();
    if remove_persistent {
        let deleted = phases
            .run("delete-persistent", delete_each(client, inventory, &phases))
            .await?;
        steps.extend(deleted);
        namespaces.extend(plan.persistent_namespaces.iter().cloned());
    } else {
        kept.extend(inventory.iter().map(ObjectRef::display));
        kept.extend(
            plan.persistent_namespaces
                .iter()
                .map(|ns| format!("Namespace/{ns}")),
        );
    }
    let gone = phases
        .run(
            "delete-namespaces",
            delete_namespaces(client, &namespaces, &phases),
        )
        .await?;
    steps.extend(gone);
    phases.finish(true);
    Ok(Plan {
        steps,
        kept,
        ..Plan::default()
    })
}

/// Uninstalls each release in teardown order, with what each left behind.
async fn uninstall_releases(
    helm: &Helm,
    client: &kube::Client,
    plan: &TeardownPlan,
    timeout: &str,
    phases: &Phases<'_>,
) -> Result<Vec<Step>> {
    let mut out = Vec::new();
    let n = count(plan.releases.len());
    for (i, (release, ns)) in plan.releases.iter().enumerate() {
        out.extend(uninstall_release(helm, client, release, ns, timeout).await?);
        phases.progress(&format!("release/{release}"), count(i + 1), n);
    }
    Ok(out)
}

/// One release: a pending one without its hooks, an installed one releasing the finalizers
/// its operator can no longer clear; then the webhooks whose Service went with it.
async fn uninstall_release(
    helm: &Helm,
    client: &kube::Client,
    release: &str,
    ns: &str,
    timeout: &str,
) -> Result<Vec<Step>> {
    let mut out = Vec::new();
    let object = format!("release/{release} -n {ns}");
    let manifest = helm.get_manifest(release, ns).await?;
    let installed = manifest.is_some();
    let pending = crate::clients::helm::storage::recorded_one(client, ns, release)
        .await?
        .filter(|r| r.is_pending());
    if let Some(cut_off) = &pending {
        // Its hooks would run against half-made state, or wait for ever.
        helm.uninstall_without_hooks(release, ns, timeout).await?;
        out.push(done(
            object.clone(),
            format!(
                "{} (revision {}): uninstalled with --no-hooks",
                cut_off.status, cut_off.revision
            ),
        ));
    } else if let Some(manifest) = manifest {
        let released = crate::operations::nvca::orphans::uninstall_releasing_orphans(
            helm, client, release, ns, &manifest, timeout,
        )
        .await?;
        out.extend(
            released
                .into_iter()
                .map(|object| done(object, "finalizer released: its operator is gone")),
        );
    }
    if installed || pending.is_some() {
        let left = webhooks::dangling(client, &[ns.to_owned()]).await?;
        webhooks::delete(client, &left).await?;
        out.extend(left.iter().map(|d| {
            let closed = if d.fails_closed {
                "; failing closed, it would have refused every pod it matches"
            } else {
                ""
            };
            done(
                d.display(),
                format!(
                    "deleted: the Service it calls ({}) went with the release{closed}",
                    d.services.join(", ")
                ),
            )
        }));
    }
    out.push(if installed {
        done(object, "uninstalled")
    } else {
        unchanged(object, "not installed")
    });
    Ok(out)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

async fn delete_each(
    client: &kube::Client,
    objs: &[ObjectRef],
    phases: &Phases<'_>,
) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    for (i, obj) in objs.iter().enumerate() {
        if delete(client, obj).await? {
            steps.push(done(obj.display(), "deleted"));
        }
        phases.progress(&obj.display(), count(i + 1), count(objs.len()));
    }
    Ok(steps)
}

async fn delete_namespaces(
    client: &kube::Client,
    namespaces: &[String],
    phases: &Phases<'_>,
) -> Result<Vec<Step>> {
    let mut deleting = Vec::new();
    for ns in namespaces {
        if kdelete::delete_namespace(client, ns).await? {
            deleting.push(ns.clone());
        }
    }
    let started = std::time::Instant::now();
    let mut steps = Vec::new();
    for (i, ns) in deleting.iter().enumerate() {
        let left = NAMESPACE_DEADLINE.saturating_sub(started.elapsed());
        if !kdelete::wait_namespace_gone(client, ns, left).await? {
            return Err(Error::new(
                Category::Timeout,
                format!("namespace {ns} is still terminating after 180s"),
            )
            .hint(format!(
                "look for finalizers: kubectl get all,pvc -n {ns}; then run teardown again"
            )));
        }
        phases.progress(
            &format!("Namespace/{ns}"),
            count(i + 1),
            count(deleting.len()),
        );
        steps.push(done(format!("Namespace/{ns}"), "deleted"));
    }
    Ok(steps)
}

/// Tearing down a stack is destructive-wide: after the list, a person types the name of what
/// goes (the cluster or kube context); `--yes` grants it in scripts.
pub fn confirm(what: &[String], name: &str, yes: bool, env: &dyn EnvLookup) -> Result<()> {
    Gate::type_name(format!("tear down the NVCF stack on {name}"), name)
        .showing(what.iter().cloned())
        .reviewable()
        .check(yes, env)
}
