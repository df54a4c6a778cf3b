//! The render pipeline: our values for every enabled release, `helm template` for all of
//! them at once, and one stream ordered for `kubectl apply -f -`.

use crate::base::error::{Error, Result};
use crate::clients::helm::{ChartRef, Helm, TemplateCache, TemplateRequest};
use crate::model::stack::catalog::{Catalog, Plane, Release, install_order};
use crate::model::stack::config::StackConfig;
use crate::model::stack::inputs::Inputs;
use crate::model::stack::manifest::{self, Phase};
use crate::model::stack::password_refs::{self, StoredPassword};
use crate::model::stack::templates;
use crate::model::stack::values::{PasswordView, ValuesInput};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Which planes a command acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planes {
    Control,
    Compute,
    All,
}

impl Planes {
    pub fn includes(self, plane: Plane) -> bool {
        matches!(
            (self, plane),
            (Planes::All, _)
                | (Planes::Control, Plane::Control)
                | (Planes::Compute, Plane::Compute)
        )
    }
}

/// Where charts come from: `oci://registry/repository` (`oci+http://` for a registry without
/// TLS, such as a local mirror) or `dir:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartSource {
    Oci(String),
    Dir(PathBuf),
}

impl ChartSource {
    pub fn parse(text: &str) -> Result<ChartSource> {
        if let Some(dir) = text.strip_prefix("dir:") {
            let path = PathBuf::from(dir);
            if !path.is_dir() {
                return Err(Error::input_missing(format!(
                    "chart source {text:?}: {dir} is not a directory"
                ))
                .hint(
                    "pass dir:PATH naming a directory holding one chart per catalog chart name",
                ));
            }
            return Ok(ChartSource::Dir(path));
        }
        for scheme in ["oci://", "oci+http://"] {
            if text.starts_with(scheme) && text.len() > scheme.len() {
                return Ok(ChartSource::Oci(text.trim_end_matches('/').to_owned()));
            }
        }
        Err(Error::usage(format!(
            "chart source {text:?} is neither oci://…, oci+http://… nor dir:PATH"
        ))
        .hint("pass --chart-source oci://REGISTRY/REPOSITORY (oci+http:// for a registry without TLS) or --chart-source dir:PATH"))
    }

    /// The default: the user's registry and repository (stack.yaml chartSources).
    pub fn from_config(cfg: &StackConfig) -> Result<ChartSource> {
        match &cfg.chart_source {
            Some(s) => ChartSource::parse(s),
            None => Ok(ChartSource::Oci(format!(
                "oci://{}/{}",
                cfg.registry, cfg.repository
            ))),
        }
    }

    /// A chart directory holds every chart under its catalog name, external ones included,
    /// so an air-gapped mirror needs no network at all. Otherwise a third-party chart comes
    /// from its public repository (the catalog's `repo`, as upstream's helmfile names it),
    /// unless the stack config's `chartMirrors` names a mirror for it or for `all`.
    pub fn chart_ref(&self, release: &Release, mirrors: &BTreeMap<String, String>) -> ChartRef {
        let repo = release.repo.as_ref().map(|public| {
            mirrors
                .get(&release.name)
                .or_else(|| mirrors.get("all"))
                .unwrap_or(public)
        });
        match (self, repo) {
            (ChartSource::Dir(dir), _) => ChartRef::Path(dir.join(&release.chart)),
            (ChartSource::Oci(_), Some(repo))
                if repo.starts_with("oci://") || repo.starts_with("oci+http://") =>
            {
                ChartRef::Oci(format!("{}/{}", repo.trim_end_matches('/'), release.chart))
            }
            (ChartSource::Oci(_), Some(repo)) => ChartRef::Repo {
                url: repo.clone(),
                chart: release.chart.clone(),
            },
            (ChartSource::Oci(base), None) => ChartRef::Oci(format!("{base}/{}", release.chart)),
        }
    }
}

/// One release as it will be rendered or installed.
#[derive(Debug, Clone)]
pub struct Planned<'c> {
    pub release: &'c Release,
    pub namespace: String,
    pub chart: ChartRef,
    pub values: Value,
}

/// The values-render pipeline's input set: everything decided before helm runs; pure, so it
/// can be tested and printed. Not a user-facing plan (that is [`crate::base::plan::Plan`]).
#[derive(Debug, Clone)]
pub struct RenderSet<'c> {
    pub releases: Vec<Planned<'c>>,
    /// `group/version` and `group/version/Kind` of every CRD the enabled releases ship.
    pub api_versions: Vec<String>,
}

/// The enabled releases of `planes` in install order, each with its values.
pub fn render_set<'c>(
    catalog: &'c Catalog,
    input: &ValuesInput<'_>,
    view: &PasswordView<'_>,
    planes: Planes,
    source: &ChartSource,
) -> Result<RenderSet<'c>> {
    let cfg = input.config.as_value();
    let enabled: Vec<&Release> = catalog
        .releases
        .iter()
        .filter(|r| planes.includes(r.plane) && r.enabled_in(&cfg))
        .collect();
    let mut releases = Vec::new();
    for r in install_order(&enabled)? {
        releases.push(Planned {
            release: r,
            namespace: r.namespace_in(&cfg),
            chart: source.chart_ref(r, &input.config.chart_mirrors),
            values: input.release_values(r, view)?,
        });
    }
    crate::model::stack::chart_deps::check(releases.iter().filter_map(|p| match &p.chart {
        ChartRef::Path(dir) => Some((p.release.name.as_str(), dir.as_path())),
        _ => None,
    }))?;
    let api_versions: BTreeSet<String> = enabled
        .iter()
        .flat_map(|r| &r.crds)
        .flat_map(|c| {
            [
                format!("{}/{}", c.group, c.version),
                format!("{}/{}/{}", c.group, c.version, c.kind),
            ]
        })
        .collect();
    Ok(RenderSet {
        releases,
        api_versions: api_versions.into_iter().collect(),
    })
}

/// Runs `helm template` for every planned release concurrently; outputs in plan order.
pub async fn template_all(helm: &Helm, plan: &RenderSet<'_>) -> Result<Vec<String>> {
    let dir = tempfile::tempdir()
        .map_err(|e| Error::io(format!("cannot create a temporary directory: {e}")))?;
    // Two helms per core keep the cores busy while one writes its output, and bound the
    // memory of helms that collect garbage late (see `Helm::template`).
    let slots = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(slots));
    let cache = TemplateCache::from_env(&crate::model::settings::ProcessEnv);
    let mut outputs: Vec<Option<Result<String>>> = (0..plan.releases.len()).map(|_| None).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, p) in plan.releases.iter().enumerate() {
        let values_path = dir.path().join(format!("{}.yaml", p.release.name));
        let text = crate::model::stack::values::to_yaml(&p.values)?;
        let key = cache.as_ref().and_then(|_| {
            let req = TemplateRequest {
                release: &p.release.name,
                namespace: &p.namespace,
                chart: &p.chart,
                version: &p.release.version,
                values: &values_path,
                api_versions: &plan.api_versions,
            };
            TemplateCache::key(&helm.version, &req, text.as_bytes())
        });
        if let Some(hit) = cache.as_ref().zip(key.as_ref()).and_then(|(c, k)| c.get(k)) {
            outputs[i] = Some(Ok(hit));
            continue;
        }
        crate::base::files::write_atomic(&values_path, text.as_bytes())?;
        let cache = cache.clone();
        let helm = helm.clone();
        let (name, namespace, chart, version) = (
            p.release.name.clone(),
            p.namespace.clone(),
            p.chart.clone(),
            p.release.version.clone(),
        );
        let api_versions = plan.api_versions.clone();
        let gate = gate.clone();
        tasks.spawn(async move {
            let _slot = gate.acquire_owned().await;
            let req = TemplateRequest {
                release: &name,
                namespace: &namespace,
                chart: &chart,
                version: &version,
                values: &values_path,
                api_versions: &api_versions,
            };
            let out = helm.template(&req).await;
            if let (Some(cache), Some(key), Ok(text)) = (&cache, &key, &out) {
                cache.put(key, text);
            }
            (i, out)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (i, out) =
            joined.map_err(|e| Error::internal(format!("a helm template task failed: {e}")))?;
        outputs[i] = Some(out);
    }
    // The first failure in install order: the same error whichever task finished first.
    outputs
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Error::internal("a helm template task vanished"))))
        .collect()
}

/// Support manifests we generate: namespaces (labelled for gateway admission) and pull
/// secrets, as documents.
pub fn support_docs(
    catalog: &Catalog,
    cfg: &StackConfig,
    namespaces: &BTreeSet<String>,
    registry_password: Option<&str>,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut ns_docs = Vec::new();
    for ns in namespaces {
        let text = templates::render(
            "namespace.yaml.j2",
            minijinja::context! {
                name => ns,
                platform => catalog.namespaces.platform.contains(ns),
                platform_label => &catalog.namespaces.platform_label,
            },
        )?;
        ns_docs.extend(manifest::parse_stream(&text, "namespace template")?);
    }
    let mut secrets = Vec::new();
    if let (Some(password), Some(name)) = (registry_password, cfg.image_pull_secrets.first()) {
        for ns in namespaces {
            let text = templates::render(
                "pull-secret.yaml.j2",
                minijinja::context! {
                    name => name, namespace => ns, server => &cfg.registry, password => password,
                },
            )?;
            secrets.extend(manifest::parse_stream(&text, "pull-secret template")?);
        }
    }
    Ok((ns_docs, secrets))
}

/// An install stream, with what the user must know about it (passwords a chart forced
/// into it as literals).
#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub yaml: String,
    pub notes: Vec<String>,
}

/// Orders everything into one stream: namespaces, CRDs, support objects, then each
/// release's pre-install hooks, body and post-install hooks, in install order. Literal
/// copies of `stored` passwords become Secret references where Kubernetes allows it.
pub fn assemble(
    catalog: &Catalog,
    cfg: &StackConfig,
    plan: &RenderSet<'_>,
    outputs: &[String],
    registry_password: Option<&str>,
    live: &LiveSecrets,
    stored: &[StoredPassword],
) -> Result<Stream> {
    let mut notes = Vec::new();
    let mut crds: Vec<(String, Value)> = Vec::new();
    let mut chart_namespaces: Vec<Value> = Vec::new();
    let mut per_release: Vec<Vec<Value>> = Vec::new();
    for (p, text) in plan.releases.iter().zip(outputs) {
        let mut rest = Vec::new();
        for mut doc in manifest::parse_stream(text, &format!("helm template {}", p.release.name))? {
            if manifest::kind(&doc) == "Secret"
                && p.release
                    .random_secrets
                    .iter()
                    .any(|n| n == manifest::name(&doc))
                && let Some(data) = live.get(&(
                    manifest::namespace(&doc).unwrap_or(&p.namespace).to_owned(),
                    manifest::name(&doc).to_owned(),
                ))
                && let Some(obj) = doc.as_object_mut()
            {
                obj.remove("stringData");
                obj.insert("data".into(), data.clone());
            }
            match manifest::kind(&doc) {
                "CustomResourceDefinition" => {
                    if !crds
                        .iter()
                        .any(|(_, c)| manifest::name(c) == manifest::name(&doc))
                    {
                        crds.push((p.release.name.clone(), doc));
                    }
                }
                "Namespace" => chart_namespaces.push(doc),
                _ => rest.push(doc),
            }
        }
        per_release.push(rest);
    }
    let crd_values: Vec<Value> = crds.iter().map(|(_, c)| c.clone()).collect();
    let cluster_scoped = manifest::cluster_scoped_kinds(&crd_values);
    let mut namespaces: BTreeSet<String> =
        plan.releases.iter().map(|p| p.namespace.clone()).collect();
    for (p, docs) in plan.releases.iter().zip(per_release.iter_mut()) {
        for doc in docs.iter_mut() {
            manifest::inject_namespace(doc, &p.namespace, &cluster_scoped);
            notes.extend(password_refs::reference(doc, stored));
            if let Some(ns) = manifest::namespace(doc) {
                namespaces.insert(ns.to_owned());
            }
        }
    }
    let (ns_docs, secret_docs) = support_docs(catalog, cfg, &namespaces, registry_password)?;
    let mut out = String::new();
    for doc in &ns_docs {
        manifest::write_doc(&mut out, "helm-nvcf: namespace", doc)?;
    }
    for doc in chart_namespaces
        .iter()
        .filter(|d| !namespaces.contains(manifest::name(d)))
    {
        manifest::write_doc(&mut out, "chart namespace", doc)?;
    }
    for (release, doc) in &crds {
        manifest::write_doc(&mut out, &format!("{release}: crd"), doc)?;
    }
    for doc in &secret_docs {
        manifest::write_doc(&mut out, "helm-nvcf: image pull secret", doc)?;
    }
    for (p, docs) in plan.releases.iter().zip(per_release) {
        let mut by_phase: BTreeMap<u8, Vec<Value>> = BTreeMap::new();
        for doc in docs {
            let slot = match manifest::phase(&doc) {
                Phase::PreInstall(_) => 0,
                Phase::Body => 1,
                Phase::PostInstall(_) => 2,
                Phase::Dropped => continue,
            };
            by_phase.entry(slot).or_default().push(doc);
        }
        for (slot, mut docs) in by_phase {
            manifest::sort_phase(&mut docs, slot != 1);
            let label = ["pre-install", "body", "post-install"][usize::from(slot)];
            let origin = format!(
                "{} ({} {}): {label}",
                p.release.name, p.release.chart, p.release.version
            );
            for doc in &docs {
                manifest::write_doc(&mut out, &origin, doc)?;
            }
        }
    }
    Ok(Stream { yaml: out, notes })
}

/// Live `data` of the Secrets charts mint on every render, by (namespace, name).
pub type LiveSecrets = BTreeMap<(String, String), Value>;

/// Reads back the random Secrets (stack.md §7) that exist on the cluster, so a render
/// applied over a live stack keeps their keys instead of rotating them.
pub async fn live_random_secrets(
    client: &kube::Client,
    plan: &RenderSet<'_>,
) -> Result<LiveSecrets> {
    let mut live = LiveSecrets::new();
    for p in &plan.releases {
        for name in &p.release.random_secrets {
            if let Some(data) =
                crate::clients::kube::objects::secret_data(client, &p.namespace, name).await?
            {
                let data = serde_json::to_value(data)
                    .map_err(|e| Error::internal(format!("cannot read secret {name}: {e}")))?;
                live.insert((p.namespace.clone(), name.clone()), data);
            }
        }
    }
    Ok(live)
}

/// The effective values: of one release, or of every enabled release keyed by name.
pub fn effective_values(inputs: &Inputs, release: Option<&str>) -> Result<Value> {
    let catalog = Catalog::embedded();
    let input = inputs.values_input();
    let view = PasswordView::Real(&inputs.passwords);
    match release {
        Some(name) => input.release_values(catalog.require(name)?, &view),
        None => {
            let source = ChartSource::from_config(&inputs.config)?;
            let plan = render_set(catalog, &input, &view, Planes::All, &source)?;
            Ok(Value::Object(
                plan.releases
                    .into_iter()
                    .map(|p| (p.release.name.clone(), p.values))
                    .collect(),
            ))
        }
    }
}

/// The whole install stream for `planes`, ready for `kubectl apply -f -`. With a
/// client, chart-minted random Secrets that exist on the cluster keep their live data.
pub async fn render_stream(
    inputs: &Inputs,
    planes: Planes,
    source: Option<&str>,
    helm: &Helm,
    live_from: Option<&kube::Client>,
) -> Result<Stream> {
    let catalog = Catalog::embedded();
    let source = match source {
        Some(s) => ChartSource::parse(s)?,
        None => ChartSource::from_config(&inputs.config)?,
    };
    let input = inputs.values_input();
    let plan = render_set(
        catalog,
        &input,
        &PasswordView::Real(&inputs.passwords),
        planes,
        &source,
    )?;
    let live = match live_from {
        Some(client) => live_random_secrets(client, &plan).await?,
        None => LiveSecrets::new(),
    };
    let outputs = template_all(helm, &plan).await?;
    let registry_password = inputs.passwords.registry.as_ref().map(|s| s.expose());
    assemble(
        catalog,
        &inputs.config,
        &plan,
        &outputs,
        registry_password,
        &live,
        &password_refs::stored(&inputs.config, &inputs.passwords),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn third_party_charts_come_from_their_public_repository_unless_mirrored() {
        let catalog = Catalog::embedded();
        let kai = catalog.release("kai-scheduler").unwrap();
        let api = catalog.release("api").unwrap();
        let source = ChartSource::Oci("oci://r.example/acme".into());
        let none = BTreeMap::new();
        assert_eq!(
            source.chart_ref(kai, &none),
            ChartRef::Oci("oci://ghcr.io/kai-scheduler/kai-scheduler/kai-scheduler".into())
        );
        let all: BTreeMap<String, String> = [(
            "all".to_owned(),
            "oci+http://127.0.0.1:5000/mirror/".to_owned(),
        )]
        .into();
        assert_eq!(
            source.chart_ref(kai, &all),
            ChartRef::Oci("oci+http://127.0.0.1:5000/mirror/kai-scheduler".into())
        );
        let one: BTreeMap<String, String> = [
            ("all".to_owned(), "oci://m.example/all".to_owned()),
            (
                "kai-scheduler".to_owned(),
                "https://m.example/kai".to_owned(),
            ),
        ]
        .into();
        assert_eq!(
            source.chart_ref(kai, &one),
            ChartRef::Repo {
                url: "https://m.example/kai".into(),
                chart: "kai-scheduler".into()
            }
        );
        // NVCF charts follow chartSource, mirrors or not; a directory holds everything.
        assert_eq!(
            source.chart_ref(api, &one),
            ChartRef::Oci("oci://r.example/acme/helm-nvcf-api".into())
        );
        let dir = ChartSource::Dir("/charts".into());
        assert_eq!(
            dir.chart_ref(kai, &one),
            ChartRef::Path("/charts/kai-scheduler".into())
        );
    }
}
