//! Tearing the stack down: the compute plane first, each plane in reverse dependency
//! order, then what `helm uninstall` leaves behind. Persistent state (PVCs, OpenBao's
//! unseal/root-token/cluster-jwt Secrets, Cassandra data) stays unless asked for.

use crate::base::confirm::Gate;
use crate::base::env::EnvLookup;
use crate::base::error::{Category, Error, Result};
use crate::base::events::{Emitter, Phases};
use crate::base::plan::{Plan, Step, StepState};
use crate::clients::helm::Helm;
use crate::clients::kube::webhooks;
use crate::clients::kube::{delete as kdelete, objects};
use crate::model::stack::catalog::{Catalog, Release, teardown_order};
use crate::model::stack::inputs::Inputs;
use crate::model::stack::manifest;
use crate::operations::stack::render::Planes;
use kube::discovery::ApiResource;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// An object teardown deletes or keeps, by identity only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    fn new(kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{} -n {ns}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    fn doc(&self) -> Option<Value> {
        let (api_version, _, _) = api_of(&self.kind)?;
        let mut meta = json!({ "name": self.name });
        if let Some(ns) = &self.namespace {
            meta["namespace"] = json!(ns);
        }
        Some(json!({ "apiVersion": api_version, "kind": self.kind, "metadata": meta }))
    }
}

/// The kinds teardown deletes by name: `(apiVersion, plural, namespaced)`.
fn api_of(kind: &str) -> Option<(&'static str, &'static str, bool)> {
    Some(match kind {
        "Job" => ("batch/v1", "jobs", true),
        "ConfigMap" => ("v1", "configmaps", true),
        "Secret" => ("v1", "secrets", true),
        "ServiceAccount" => ("v1", "serviceaccounts", true),
        "PersistentVolumeClaim" => ("v1", "persistentvolumeclaims", true),
        "Role" => ("rbac.authorization.k8s.io/v1", "roles", true),
        "RoleBinding" => ("rbac.authorization.k8s.io/v1", "rolebindings", true),
        "ClusterRole" => ("rbac.authorization.k8s.io/v1", "clusterroles", false),
        "ClusterRoleBinding" => ("rbac.authorization.k8s.io/v1", "clusterrolebindings", false),
        "ClusterIssuer" => ("cert-manager.io/v1", "clusterissuers", false),
        "CustomResourceDefinition" => (
            "apiextensions.k8s.io/v1",
            "customresourcedefinitions",
            false,
        ),
        "Namespace" => ("v1", "namespaces", false),
        _ => return None,
    })
}

/// What a teardown will do, decided from the catalog and the config alone.
#[derive(Debug, Clone, Serialize)]
pub struct TeardownPlan {
    /// `(release, namespace)` in uninstall order.
    pub releases: Vec<(String, String)>,
    /// Hook objects `helm uninstall` leaves behind that are not persistent state.
    pub leftovers: Vec<ObjectRef>,
    /// Persistent objects named by the catalog (PVCs are found on the cluster).
    pub persistent: Vec<ObjectRef>,
    /// Namespaces deleted always, and those deleted only with --remove-persistent.
    pub namespaces: Vec<String>,
    pub persistent_namespaces: Vec<String>,
    /// Custom resources deleted before any release (NVCFBackends), when the compute plane
    /// is torn down.
    pub drain: Option<crate::model::stack::catalog::Drain>,
}

pub fn plan(catalog: &Catalog, inputs: &Inputs, planes: Planes) -> Result<TeardownPlan> {
    let cfg = inputs.config.as_value();
    let chosen: Vec<&Release> = catalog
        .releases
        .iter()
        .filter(|r| planes.includes(r.plane) && r.enabled_in(&cfg) && !r.keep_on_teardown)
        .collect();
    let order = teardown_order(&chosen)?;
    let mut leftovers = Vec::new();
    let mut persistent = Vec::new();
    let mut namespaces = BTreeSet::new();
    for r in &order {
        let ns = r.namespace_in(&cfg);
        for p in &r.persistent {
            if p.kind != "PersistentVolumeClaim" && p.kind != "CustomResourceDefinition" {
                let scoped = api_of(&p.kind).is_some_and(|(_, _, n)| n);
                persistent.push(ObjectRef::new(
                    &p.kind,
                    scoped.then_some(ns.as_str()),
                    &p.name,
                ));
            }
        }
        for h in &r.hooks {
            let is_persistent = r
                .persistent
                .iter()
                .any(|p| p.kind == h.kind && p.name == h.name);
            if !is_persistent && api_of(&h.kind).is_some() {
                leftovers.push(ObjectRef::new(&h.kind, Some(&ns), &h.name));
            }
        }
        namespaces.insert(ns);
    }
    let compute = planes.includes(crate::model::stack::catalog::Plane::Compute);
    if compute {
        namespaces.extend(catalog.namespaces.compute_runtime.iter().cloned());
        leftovers.extend(
            catalog
                .compute_teardown
                .crds
                .iter()
                .map(|c| ObjectRef::new("CustomResourceDefinition", None, c)),
        );
    }
    let gateway = &inputs.config.gateway;
    let never: BTreeSet<&str> = catalog
        .namespaces
        .topology
        .iter()
        .map(String::as_str)
        .chain([
            gateway.controller_namespace.as_str(),
            gateway.shared.namespace.as_str(),
            gateway.grpc.namespace.as_str(),
        ])
        .collect();
    // A namespace that a kept release (cert-manager) lives in stays too.
    let kept: BTreeSet<String> = catalog
        .releases
        .iter()
        .filter(|r| r.keep_on_teardown || !chosen.iter().any(|c| c.name == r.name))
        .filter(|r| r.enabled_in(&cfg))
        .map(|r| r.namespace_in(&cfg))
        .collect();
    let (persistent_namespaces, namespaces): (Vec<String>, Vec<String>) = namespaces
        .into_iter()
        .filter(|ns| !never.contains(ns.as_str()) && !kept.contains(ns))
        .partition(|ns| catalog.namespaces.persistent.contains(ns));
    // Pull secrets we created (render and deploy.sh) would outlive the releases in the
    // namespaces kept for their data.
    if inputs.config.passwords.registry.is_some()
        && let Some(secret) = inputs.config.image_pull_secrets.first()
    {
        for ns in &persistent_namespaces {
            leftovers.push(ObjectRef::new("Secret", Some(ns), secret));
        }
    }
    Ok(TeardownPlan {
        releases: order
            .iter()
            .map(|r| (r.name.clone(), r.namespace_in(&cfg)))
            .collect(),
        leftovers,
        persistent,
        namespaces,
        persistent_namespaces,
        drain: compute.then(|| catalog.compute_teardown.drain.clone()),
    })
}

/// Where function workloads run on a compute plane: the agent's ICMSRequests and the
/// function pods (seed 001, "Uninstalling").
const FUNCTIONS_NAMESPACE: &str = crate::operations::nvca::kill::REQUESTS_NAMESPACE;

fn icms_requests() -> ApiResource {
    use crate::operations::nvca::functions::{GROUP, KIND, PLURAL, VERSION};
    objects::resource(&format!("{GROUP}/{VERSION}"), KIND, PLURAL)
}

/// Function workloads still on the compute plane: ICMSRequests and pods in nvcf-backend.
/// Once NVCA is uninstalled nothing removes their finalizers, and the namespace (and so the
/// teardown) would wait on them for ever.
pub async fn function_workloads(client: &kube::Client) -> Result<Vec<ObjectRef>> {
    let mut found: Vec<ObjectRef> =
        objects::names(client, &icms_requests(), Some(FUNCTIONS_NAMESPACE))
            .await?
            .into_iter()
            .map(|name| ObjectRef::new("ICMSRequest", Some(FUNCTIONS_NAMESPACE), &name))
            .collect();
    found.extend(
        kdelete::live_pods(client, FUNCTIONS_NAMESPACE)
            .await?
            .into_iter()
            .map(|name| ObjectRef::new("Pod", Some(FUNCTIONS_NAMESPACE), &name)),
    );
    Ok(found)
}

/// Removes what [`function_workloads`] found: requests with their finalizers cleared (as
/// `kubectl nvca cleanup` does), pods at once.
async fn remove_functions(client: &kube::Client, found: &[ObjectRef]) -> Result<Vec<Step>> {
    let pods = objects::resource("v1", "Pod", "pods");
    let mut steps = Vec::new();
    for o in found {
        let resource = if o.kind == "Pod" {
            &pods
        } else {
            &icms_requests()
        };
        let removed =
            kdelete::delete_without_finalizers(client, resource, o.namespace.as_deref(), &o.name)
                .await?;
        steps.push(if removed {
            done(
                o.display(),
                "deleted (finalizers cleared): a function still deployed",
            )
        } else {
            unchanged(o.display(), "already gone")
        });
    }
    Ok(steps)
}

/// Deletes every object of the drain kind (NVCFBackends), so the operator tears its agent
/// down before it is uninstalled. A missing CRD means there is nothing to drain.
async fn drain(
    client: &kube::Client,
    d: &crate::model::stack::catalog::Drain,
) -> Result<Vec<String>> {
    let resource = objects::resource(&d.api_version, &d.kind, &d.plural);
    Ok(kdelete::delete_all_custom(client, &resource, &d.namespace)
        .await?
        .into_iter()
        .map(|name| format!("{}/{name} -n {}", d.kind, d.namespace))
        .collect())
}

/// What --remove-persistent destroys, read from the cluster: every PVC in the persistent
/// namespaces plus the catalog's named Secrets and ConfigMaps that exist.
pub async fn persistent_inventory(
    client: &kube::Client,
    plan: &TeardownPlan,
) -> Result<Vec<ObjectRef>> {
    let mut out = Vec::new();
    for ns in &plan.persistent_namespaces {
        for name in objects::pvc_names(client, ns).await? {
            out.push(ObjectRef::new("PersistentVolumeClaim", Some(ns), &name));
        }
    }
    for obj in &plan.persistent {
        if get(client, obj).await? {
            out.push(obj.clone());
        }
    }
    out.sort();
    Ok(out)
}

/// The API resource and namespace an object is addressed by; `None` for kinds teardown
/// does not delete by name.
fn address(obj: &ObjectRef) -> Option<(ApiResource, Option<&str>)> {
    let (api_version, plural, namespaced) = api_of(&obj.kind)?;
    let ns = obj.namespace.as_deref().filter(|_| namespaced);
    Some((objects::resource(api_version, &obj.kind, plural), ns))
}

async fn get(client: &kube::Client, obj: &ObjectRef) -> Result<bool> {
    match address(obj) {
        Some((resource, ns)) => objects::exists(client, &resource, ns, &obj.name).await,
        None => Ok(false),
    }
}

async fn delete(client: &kube::Client, obj: &ObjectRef) -> Result<bool> {
    match address(obj) {
        Some((resource, ns)) => kdelete::delete_object(client, &resource, ns, &obj.name).await,
        None => Ok(false),
    }
}

/// `--no-apply`: the delete YAML for `kubectl delete -f -`, from `helm get manifest` of each
/// installed release, in teardown order, then leftovers and namespaces.
pub async fn delete_yaml(
    helm: &Helm,
    plan: &TeardownPlan,
    extra_persistent: &[ObjectRef],
    remove_persistent: bool,
) -> Result<String> {
    let mut out = String::new();
    for (release, ns) in &plan.releases {
        let Some(text) = helm.get_manifest(release, ns).await? else {
            continue;
        };
        let mut docs = manifest::parse_stream(&text, &format!("helm get manifest {release}"))?;
        docs.retain(|d| {
            remove_persistent
                || d.pointer("/metadata/annotations/helm.sh~1resource-policy")
                    .and_then(Value::as_str)
                    != Some("keep")
        });
        let scoped = manifest::cluster_scoped_kinds(&docs);
        for d in docs.iter_mut() {
            manifest::inject_namespace(d, ns, &scoped);
        }
        // Dependents first: the reverse of helm's install order.
        docs.sort_by_key(|d| std::cmp::Reverse(manifest::kind_rank(manifest::kind(d))));
        for d in &docs {
            manifest::write_doc(&mut out, &format!("{release}: delete"), d)?;
        }
    }
    let mut tail: Vec<ObjectRef> = plan.leftovers.clone();
    if remove_persistent {
        tail.extend(extra_persistent.iter().cloned());
    }
    let mut namespaces = plan.namespaces.clone();
    if remove_persistent {
        namespaces.extend(plan.persistent_namespaces.iter().cloned());
    }
    tail.extend(
        namespaces
            .iter()
            .map(|ns| ObjectRef::new("Namespace", None, ns)),
    );
    for obj in tail {
        if let Some(doc) = obj.doc() {
            manifest::write_doc(&mut out, "helm-nvcf: leftover", &doc)?;
        }
    }
    Ok(out)
}

/// A step teardown took on `object`: `done`, with what happened.
fn done(object: impl Into<String>, detail: impl Into<String>) -> Step {
    Step::new(object, StepState::Done).detail(detail)
}

/// A step that found nothing to do on `object`.
fn unchanged(object: impl Into<String>, detail: impl Into<String>) -> Step {
    Step::new(object, StepState::Unchanged).detail(detail)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;

    fn inputs(cfg: &str) -> Inputs {
        crate::model::stack::inputs::from_text(cfg, &MapEnv::new([]), false)
    }

    #[test]
    fn compute_plane_first_and_persistent_namespaces_kept_apart() {
        let p = plan(
            Catalog::embedded(),
            &inputs("registry: r\nrepository: o/t\n"),
            Planes::All,
        )
        .unwrap();
        let names: Vec<&str> = p.releases.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(names[0], "nvca-operator");
        assert_eq!(*names.last().unwrap(), "nats");
        assert!(!names.contains(&"cert-manager"), "topology stays");
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(pos("invocation-service") < pos("api"));
        assert!(pos("api") < pos("ess-api"));
        assert!(pos("openbao-server") < pos("nats"));
        assert_eq!(
            p.persistent_namespaces,
            ["cassandra-system", "nats-system", "vault-system"]
        );
        assert!(p.namespaces.contains(&"nvcf".to_owned()));
        assert!(p.namespaces.contains(&"nvca-system".to_owned()));
        assert!(
            !p.namespaces
                .iter()
                .any(|n| n == "cert-manager" || n == "envoy-gateway-system")
        );
        assert!(
            p.persistent
                .iter()
                .any(|o| o.name == "openbao-server-unseal")
        );
        assert!(p.leftovers.iter().any(|o| o.name == "cassandra-migrations"));
        assert!(
            !p.leftovers.iter().any(|o| o.name == "cassandra-init-cql"),
            "persistent, not leftover"
        );
    }
}
