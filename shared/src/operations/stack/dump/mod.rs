//! `dump`: a support bundle of both planes: the stack's resources, log tails, helm
//! releases, events and stuck namespaces, as a directory or a `.tar.gz`. Secret values are
//! replaced and log lines redacted unless `--no-redact`.

mod of_planes;

pub use of_planes::dump_planes;

use crate::base::error::{Error, Result};
use crate::clients::kube::Objects;
use crate::model::stack::catalog::{Catalog, Plane};
use crate::operations::stack::status::{Clusters, helm_releases};
use futures_util::future::join_all;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{ApiResource, ListParams, LogParams};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const KINDS: [(&str, &str, &str, &str); 9] = [
    ("", "v1", "Pod", "pods"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("batch", "v1", "Job", "jobs"),
    ("", "v1", "Service", "services"),
    ("", "v1", "ConfigMap", "configmaps"),
    ("", "v1", "Secret", "secrets"),
    ("", "v1", "Event", "events"),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
];
/// What a bundle holds and how much of each log (upstream's `cluster-dump` flags).
#[derive(Debug, Clone)]
pub struct DumpOptions {
    pub redact: bool,
    pub resources: bool,
    pub logs: bool,
    pub helm: bool,
    /// Only the compute plane's namespaces (or its cluster, with split planes).
    pub compute_only: bool,
    /// Lines from the end of each container's log.
    pub log_tail: i64,
    /// Bytes at most of each container's log.
    pub max_log_bytes: i64,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            redact: true,
            resources: true,
            logs: true,
            helm: true,
            compute_only: false,
            log_tail: 2000,
            max_log_bytes: 1_048_576,
        }
    }
}
pub const REDACTED: &str = "<redacted>";

fn scrub(kind: &str, mut obj: Value, redact: bool) -> Value {
    if !redact {
        return obj;
    }
    if kind == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(map) = obj.get_mut(field).and_then(Value::as_object_mut) {
                for v in map.values_mut() {
                    *v = json!(REDACTED);
                }
            }
        }
    }
    // Helm's release Secrets and last-applied annotations copy whole manifests around.
    if let Some(a) = obj
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    let text = obj.to_string();
    serde_json::from_str(&crate::base::secret::redact(&text)).unwrap_or(obj)
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| crate::base::files::io_error("create", dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| crate::base::files::io_error("write", path, e))
}

fn yaml(v: &Value) -> Result<String> {
    serde_saphyr::to_string(v).map_err(|e| Error::internal(format!("cannot write YAML: {e}")))
}

/// What was written, for the summary.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DumpSummary {
    pub path: String,
    pub files: usize,
    pub redacted: bool,
    pub stuck_namespaces: Vec<String>,
    pub warnings: Vec<String>,
}

async fn dump_plane(
    client: &kube::Client,
    plane: &str,
    nss: &[String],
    dir: &Path,
    opts: &DumpOptions,
    s: &mut DumpSummary,
) -> Result<()> {
    let redact = opts.redact;
    let base = dir.join(plane);
    if opts.helm {
        match helm_releases(client).await {
            Ok(releases) => {
                let list: Vec<Value> = releases
                    .into_iter()
                    .map(|(ns, n)| json!({"namespace": ns, "release": n}))
                    .collect();
                write(&base.join("helm-releases.yaml"), &yaml(&json!(list))?)?;
                s.files += 1;
            }
            Err(e) => s
                .warnings
                .push(format!("{plane}: helm releases: {}", e.message())),
        }
    }
    let existing = Objects::<Namespace>::cluster(client)
        .list(&ListParams::default())
        .await?;
    let mut present = Vec::new();
    for n in existing {
        let name = n.metadata.name.clone().unwrap_or_default();
        if !nss.contains(&name) {
            continue;
        }
        if n.status.as_ref().and_then(|st| st.phase.as_deref()) == Some("Terminating") {
            s.stuck_namespaces.push(format!("{plane}/{name}"));
            write(
                &base.join(&name).join("namespace-terminating.yaml"),
                &yaml(&serde_json::to_value(&n).unwrap_or_default())?,
            )?;
            s.files += 1;
        }
        present.push(name);
    }
    let lists = present.iter().flat_map(|ns| {
        KINDS.iter().map(move |(g, v, k, p)| {
            let ar = ApiResource {
                group: (*g).into(),
                version: (*v).into(),
                api_version: if g.is_empty() {
                    (*v).into()
                } else {
                    format!("{g}/{v}")
                },
                kind: (*k).into(),
                plural: (*p).into(),
            };
            let objects = Objects::dynamic(client, &ar, Some(ns));
            async move { (ns.clone(), *k, objects.list(&ListParams::default()).await) }
        })
    });
    let lists: Vec<_> = if opts.resources {
        lists.collect()
    } else {
        Vec::new()
    };
    for (ns, kind, res) in join_all(lists).await {
        match res {
            Ok(list) => {
                let items: Vec<Value> = list
                    .into_iter()
                    .map(|o| scrub(kind, serde_json::to_value(o).unwrap_or_default(), redact))
                    .collect();
                if !items.is_empty() {
                    write(
                        &base.join(&ns).join(format!("{}.yaml", kind.to_lowercase())),
                        &yaml(&json!(items))?,
                    )?;
                    s.files += 1;
                }
            }
            Err(e) => s.warnings.push(format!("{plane}/{ns}: {kind}: {e}")),
        }
    }
    let (log_tail, max_log_bytes) = (opts.log_tail, opts.max_log_bytes);
    for ns in present.iter().filter(|_| opts.logs) {
        let pods = Objects::<Pod>::namespaced(client, ns);
        let Ok(list) = pods.list(&ListParams::default()).await else {
            continue;
        };
        let pods = &pods;
        let logs = list.iter().flat_map(|p| {
            let pod = p.metadata.name.clone().unwrap_or_default();
            let containers: Vec<String> = p
                .spec
                .as_ref()
                .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            containers.into_iter().map(move |c| {
                let pod = pod.clone();
                async move {
                    let lp = LogParams {
                        container: Some(c.clone()),
                        tail_lines: Some(log_tail),
                        limit_bytes: Some(max_log_bytes),
                        ..LogParams::default()
                    };
                    (pod.clone(), c, pods.logs(&pod, &lp).await)
                }
            })
        });
        for (pod, c, res) in join_all(logs).await {
            let text = match res {
                Ok(t) if redact => crate::base::secret::redact(&t).into_owned(),
                Ok(t) => t,
                Err(e) => format!("(no log: {e})\n"),
            };
            write(
                &base.join(ns).join("logs").join(format!("{pod}_{c}.log")),
                &text,
            )?;
            s.files += 1;
        }
    }
    Ok(())
}

/// Writes the bundle to `out`: a directory, or a `.tar.gz` when the name says so.
pub async fn dump(
    catalog: &Catalog,
    clusters: &Clusters,
    out: &Path,
    opts: &DumpOptions,
) -> Result<DumpSummary> {
    let redact = opts.redact;
    let tarball =
        out.to_string_lossy().ends_with(".tar.gz") || out.to_string_lossy().ends_with(".tgz");
    let staging = if tarball {
        tempfile::tempdir()
            .map_err(|e| Error::io(format!("cannot create a temporary directory: {e}")))?
            .keep()
    } else {
        out.to_path_buf()
    };
    let mut s = DumpSummary {
        path: out.display().to_string(),
        redacted: redact,
        ..DumpSummary::default()
    };
    let mut planes: Vec<(&kube::Client, &str, Vec<String>)> = Vec::new();
    match &clusters.compute {
        None if opts.compute_only => {
            planes.push((
                &clusters.control.client,
                "cluster",
                catalog.plane_namespaces(Plane::Compute),
            ));
        }
        None => {
            let mut all = catalog.plane_namespaces(Plane::Control);
            all.extend(catalog.plane_namespaces(Plane::Compute));
            all.sort();
            all.dedup();
            planes.push((&clusters.control.client, "cluster", all));
        }
        Some(c) if opts.compute_only => {
            planes.push((
                &c.client,
                "compute-plane",
                catalog.plane_namespaces(Plane::Compute),
            ));
        }
        Some(c) => {
            planes.push((
                &clusters.control.client,
                "control-plane",
                catalog.plane_namespaces(Plane::Control),
            ));
            planes.push((
                &c.client,
                "compute-plane",
                catalog.plane_namespaces(Plane::Compute),
            ));
        }
    }
    for (client, plane, nss) in planes {
        dump_plane(client, plane, &nss, &staging, opts, &mut s).await?;
    }
    write(
        &staging.join("summary.yaml"),
        &yaml(&serde_json::to_value(&s).unwrap_or_default())?,
    )?;
    s.files += 1;
    if tarball {
        let status = std::process::Command::new("tar")
            .arg("-czf")
            .arg(out)
            .arg("-C")
            .arg(&staging)
            .arg(".")
            .status()
            .map_err(|e| Error::io(format!("cannot run tar: {e}")))?;
        let _ = std::fs::remove_dir_all(&staging);
        if !status.success() {
            return Err(Error::io(format!("tar could not write {}", out.display())));
        }
    }
    Ok(s)
}

pub fn default_path() -> PathBuf {
    PathBuf::from(format!(
        "nvcf-dump-{}.tar.gz",
        crate::base::events::Ts::now().unix()
    ))
}
