//! Tearing the stack down: the compute plane first, each plane in reverse dependency
//! order, then what `helm uninstall` leaves behind. Persistent state (PVCs, OpenBao's
//! unseal/root-token/cluster-jwt Secrets, Cassandra data) stays unless asked for.

use crate::error::{Category, Error, Result};
use crate::helm::Helm;
use crate::output::{Report, column_table};
use crate::stack::catalog::{Catalog, Release, teardown_order};
use crate::stack::inputs::Inputs;
use crate::stack::manifest;
use crate::stack::render::Planes;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
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
    pub drain: Option<crate::stack::catalog::Drain>,
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
    let compute = planes.includes(crate::stack::catalog::Plane::Compute);
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

/// Deletes every object of the drain kind (NVCFBackends), so the operator tears its agent
/// down before it is uninstalled. A missing CRD means there is nothing to drain.
async fn drain(client: &kube::Client, d: &crate::stack::catalog::Drain) -> Result<Vec<String>> {
    let (group, version) = d
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", &d.api_version));
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, &d.kind),
        &d.plural,
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &d.namespace, &ar);
    let list = match api.list(&ListParams::default()).await {
        Ok(list) => list,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
        Err(e) => {
            return Err(crate::kube::from_kube(
                e,
                &format!("list {} in {}", d.plural, d.namespace),
            ));
        }
    };
    let mut deleted = Vec::new();
    for obj in list {
        let Some(name) = obj.metadata.name else {
            continue;
        };
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => deleted.push(format!("{}/{name} -n {}", d.kind, d.namespace)),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(crate::kube::from_kube(
                    e,
                    &format!("delete {}/{name}", d.kind),
                ));
            }
        }
    }
    Ok(deleted)
}

/// What --remove-persistent destroys, read from the cluster: every PVC in the persistent
/// namespaces plus the catalog's named Secrets and ConfigMaps that exist.
pub async fn persistent_inventory(
    client: &kube::Client,
    plan: &TeardownPlan,
) -> Result<Vec<ObjectRef>> {
    let mut out = Vec::new();
    for ns in &plan.persistent_namespaces {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
        let list = pvcs
            .list(&ListParams::default())
            .await
            .map_err(|e| crate::kube::from_kube(e, &format!("list PVCs in {ns}")))?;
        for pvc in list {
            if let Some(name) = pvc.metadata.name {
                out.push(ObjectRef::new("PersistentVolumeClaim", Some(ns), &name));
            }
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

fn dynamic_api(client: &kube::Client, obj: &ObjectRef) -> Option<Api<DynamicObject>> {
    let (api_version, plural, namespaced) = api_of(&obj.kind)?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, &obj.kind),
        plural,
    );
    Some(match (&obj.namespace, namespaced) {
        (Some(ns), true) => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    })
}

async fn get(client: &kube::Client, obj: &ObjectRef) -> Result<bool> {
    let Some(api) = dynamic_api(client, obj) else {
        return Ok(false);
    };
    api.get_opt(&obj.name)
        .await
        .map(|o| o.is_some())
        .map_err(|e| crate::kube::from_kube(e, &format!("read {}", obj.display())))
}

async fn delete(client: &kube::Client, obj: &ObjectRef) -> Result<bool> {
    let Some(api) = dynamic_api(client, obj) else {
        return Ok(false);
    };
    match api.delete(&obj.name, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(crate::kube::from_kube(
            e,
            &format!("delete {}", obj.display()),
        )),
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

/// One line of the teardown report.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub object: String,
    pub action: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TeardownReport {
    pub steps: Vec<Step>,
    pub kept: Vec<String>,
}

impl Report for TeardownReport {
    fn table(&self, _wide: bool) -> String {
        let mut rows: Vec<Vec<String>> = self
            .steps
            .iter()
            .map(|s| vec![s.object.clone(), s.action.clone()])
            .collect();
        rows.extend(self.kept.iter().map(|k| vec![k.clone(), "kept".to_owned()]));
        column_table(&["object", "result"], rows)
    }

    fn names(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.object.clone()).collect()
    }
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
) -> Result<TeardownReport> {
    let mut steps = Vec::new();
    if let Some(d) = &plan.drain {
        for object in drain(client, d).await? {
            steps.push(Step {
                object,
                action: "deleted (drain)".into(),
            });
        }
    }
    for (release, ns) in &plan.releases {
        let installed = helm.get_manifest(release, ns).await?.is_some();
        if installed {
            helm.uninstall(release, ns, timeout).await?;
        }
        steps.push(Step {
            object: format!("release/{release} -n {ns}"),
            action: if installed {
                "uninstalled"
            } else {
                "not installed"
            }
            .into(),
        });
    }
    for obj in &plan.leftovers {
        if delete(client, obj).await? {
            steps.push(Step {
                object: obj.display(),
                action: "deleted".into(),
            });
        }
    }
    let mut namespaces = plan.namespaces.clone();
    let mut kept = Vec::new();
    if remove_persistent {
        for obj in inventory {
            if delete(client, obj).await? {
                steps.push(Step {
                    object: obj.display(),
                    action: "deleted".into(),
                });
            }
        }
        namespaces.extend(plan.persistent_namespaces.iter().cloned());
    } else {
        kept.extend(inventory.iter().map(ObjectRef::display));
        kept.extend(
            plan.persistent_namespaces
                .iter()
                .map(|ns| format!("Namespace/{ns}")),
        );
    }
    let api: Api<Namespace> = Api::all(client.clone());
    let mut deleting = Vec::new();
    for ns in &namespaces {
        match api.delete(ns, &DeleteParams::background()).await {
            Ok(_) => deleting.push(ns.clone()),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(crate::kube::from_kube(e, &format!("delete namespace {ns}"))),
        }
    }
    let deadline = tokio::time::Instant::now() + NAMESPACE_DEADLINE;
    for ns in &deleting {
        loop {
            match api.get_opt(ns).await {
                Ok(None) => break,
                Ok(Some(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Ok(Some(_)) => {
                    return Err(Error::new(
                        Category::Timeout,
                        format!("namespace {ns} is still terminating after 180s"),
                    )
                    .hint(format!(
                        "look for finalizers: kubectl get all,pvc -n {ns}; then run teardown again"
                    )));
                }
                Err(e) => return Err(crate::kube::from_kube(e, &format!("read namespace {ns}"))),
            }
        }
        steps.push(Step {
            object: format!("Namespace/{ns}"),
            action: "deleted".into(),
        });
    }
    Ok(TeardownReport { steps, kept })
}

/// Shows `what` on stderr and asks for `yes` on a terminal; `--yes` skips the question,
/// and without a terminal nothing is destroyed unasked.
pub fn confirm(what: &[String], assume_yes: bool) -> Result<()> {
    use is_terminal::IsTerminal;
    use std::io::{BufRead, Write};
    let mut err = std::io::stderr().lock();
    for line in what {
        let _ = writeln!(err, "{line}");
    }
    if assume_yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            Error::usage("teardown needs confirmation and stdin is not a terminal")
                .hint("review the list above and pass --yes to proceed"),
        );
    }
    let _ = write!(err, "Type yes to proceed: ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io(format!("cannot read the answer: {e}")))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::cancelled())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::MapEnv;

    fn inputs(cfg: &str) -> Inputs {
        crate::stack::inputs::from_text(cfg, &MapEnv::new([]), false)
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
