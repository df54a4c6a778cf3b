//! GitOps bundles in aicr's layout (seed 003): `NNN-<release>/` folders with `values.yaml`,
//! `cluster-values.yaml` and `install.sh`; `deploy.sh`, `undeploy.sh`, `namespaces.yaml`,
//! a README and `checksums.txt` at the top; and their verification.
//!
//! Passwords never enter a bundle: where a value comes from `{env: VAR}`, `values.yaml`
//! holds an empty string and `install.sh` passes `--set-string path=$VAR` at deploy time.

use crate::base::error::{Category, Error, Result};
use crate::base::output::{Report, column_table};
use crate::model::stack::catalog::{Catalog, teardown_order};
use crate::model::stack::config::{PasswordRef, SecretKeyRef};
use crate::model::stack::inputs::Inputs;
use crate::model::stack::manifest;
use crate::model::stack::templates;
use crate::model::stack::value_tree::{set_path, take_path};
use crate::model::stack::values::{PasswordView, env_marker, secret_marker, to_yaml};
use crate::operations::stack::render::{ChartSource, Planes, render_set, support_docs};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub const CHECKSUMS: &str = "checksums.txt";

/// `--dynamic release:path`: a value that differs per cluster and is filled in at deploy time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dynamic {
    pub release: String,
    pub path: String,
}

impl Dynamic {
    pub fn parse(text: &str) -> Result<Dynamic> {
        match text.split_once(':') {
            Some((r, p)) if !r.is_empty() && !p.trim_start_matches('.').is_empty() => Ok(Dynamic {
                release: r.to_owned(),
                path: p.trim_start_matches('.').to_owned(),
            }),
            _ => Err(
                Error::usage(format!("--dynamic {text:?} is not RELEASE:PATH"))
                    .hint("write e.g. --dynamic nvca-operator:clusterName"),
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundledRelease {
    pub dir: String,
    pub name: String,
    pub chart: String,
    pub version: String,
    pub namespace: String,
}

/// What `bundle` wrote.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleReport {
    pub path: PathBuf,
    pub releases: Vec<BundledRelease>,
    pub files: usize,
}

impl Report for BundleReport {
    fn table(&self, _wide: bool) -> String {
        column_table(
            &["dir", "release", "chart", "version", "namespace"],
            self.releases
                .iter()
                .map(|r| {
                    vec![
                        r.dir.clone(),
                        r.name.clone(),
                        r.chart.clone(),
                        r.version.clone(),
                        r.namespace.clone(),
                    ]
                })
                .collect(),
        )
    }

    fn names(&self) -> Vec<String> {
        self.releases.iter().map(|r| r.dir.clone()).collect()
    }
}

/// A password `install.sh` passes from the environment (`var`), or reads from a
/// Kubernetes Secret on the cluster at deploy time (`read`, a shell command).
#[derive(Debug, Clone, Serialize)]
struct EnvSecret {
    var: String,
    path: String,
    read: Option<String>,
}

/// A shell command printing a Secret key's value, for scripts that run `kubectl`.
fn read_secret_command(r: &SecretKeyRef) -> String {
    format!(
        "\"${{KUBECTL:-kubectl}}\" get secret -n '{}' '{}' -o 'jsonpath={{.data.{}}}' | base64 -d",
        r.namespace,
        r.name,
        r.key.replace('.', "\\.")
    )
}

/// Helm `--set` syntax for a path: dots in keys escaped, list items as `[i]`.
fn helm_path(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if let Some(index) = p.strip_prefix('[') {
            out.push('[');
            out.push_str(index);
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&p.replace('.', "\\."));
        }
    }
    out
}

/// Replaces every env and Secret marker in `value` with "" and returns where each was.
fn extract_secrets(value: &mut Value, vars: &[String], refs: &[SecretKeyRef]) -> Vec<EnvSecret> {
    fn walk(
        v: &mut Value,
        path: &mut Vec<String>,
        vars: &[String],
        refs: &[SecretKeyRef],
        out: &mut Vec<EnvSecret>,
    ) {
        match v {
            Value::String(s) => {
                if let Some(var) = vars.iter().find(|var| *s == env_marker(var)) {
                    out.push(EnvSecret {
                        var: var.clone(),
                        path: helm_path(path),
                        read: None,
                    });
                    s.clear();
                } else if let Some(r) = refs.iter().find(|r| *s == secret_marker(r)) {
                    out.push(EnvSecret {
                        var: r.display(),
                        path: helm_path(path),
                        read: Some(read_secret_command(r)),
                    });
                    s.clear();
                }
            }
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    path.push(k.clone());
                    walk(child, path, vars, refs, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    path.push(format!("[{i}]"));
                    walk(child, path, vars, refs, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), vars, refs, &mut out);
    out
}

fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn write_file(path: &Path, text: &str, executable: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| crate::base::files::io_error("create", dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| crate::base::files::io_error("write", path, e))?;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| crate::base::files::io_error("set permissions on", path, e))
}

/// Writes the bundle for `planes` into `out`, which must be empty or absent.
pub fn write_bundle(
    inputs: &Inputs,
    planes: Planes,
    source: Option<&str>,
    dynamic: &[Dynamic],
    out: &Path,
) -> Result<BundleReport> {
    let catalog = Catalog::embedded();
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(|e| crate::base::files::io_error("read", out, e))?
            .next()
            .is_some()
    {
        return Err(Error::new(
            Category::Conflict,
            format!("bundle directory {} is not empty", out.display()),
        )
        .hint("pass a new or empty directory to -o; bundles are regenerated, never merged"));
    }
    let source = match source {
        Some(s) => ChartSource::parse(s)?,
        None => ChartSource::from_config(&inputs.config)?,
    };
    let input = inputs.values_input();
    let plan = render_set(catalog, &input, &PasswordView::Markers, planes, &source)?;
    for d in dynamic {
        if !plan.releases.iter().any(|p| p.release.name == d.release) {
            return Err(catalog.require(&d.release).err().unwrap_or_else(|| {
                Error::usage(format!(
                    "--dynamic {}:{}: release {} is not enabled in this bundle",
                    d.release, d.path, d.release
                ))
                .hint("enable it in the stack config or drop the --dynamic flag")
            }));
        }
    }
    let vars: Vec<String> = inputs
        .config
        .passwords
        .env_vars()
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let refs: Vec<SecretKeyRef> = inputs
        .config
        .passwords
        .secret_refs()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let timeout = &catalog.helm.timeout;
    let mut releases = Vec::new();
    let mut secret_vars = BTreeSet::new();
    for (i, p) in plan.releases.iter().enumerate() {
        let dir_name = format!("{:03}-{}", i + 1, p.release.name);
        let dir = out.join(&dir_name);
        let mut values = p.values.clone();
        let secrets = extract_secrets(&mut values, &vars, &refs);
        secret_vars.extend(
            secrets
                .iter()
                .filter(|s| s.read.is_none())
                .map(|s| s.var.clone()),
        );
        let mut cluster = Value::Object(Default::default());
        for d in dynamic.iter().filter(|d| d.release == p.release.name) {
            let current = take_path(&mut values, &d.path).unwrap_or(Value::String(String::new()));
            set_path(&mut cluster, &d.path, current);
        }
        write_file(&dir.join("values.yaml"), &to_yaml(&values)?, false)?;
        let cluster_text = format!(
            "# Cluster-specific values (bundle --dynamic): fill these in before deploying.\n{}",
            to_yaml(&cluster)?
        );
        write_file(&dir.join("cluster-values.yaml"), &cluster_text, false)?;
        let chart_args: Vec<String> = p
            .chart
            .args(&p.release.version)
            .into_iter()
            .take_while(|a| a != "--version")
            .map(|a| shell_quote(&a))
            .collect();
        let script = templates::render(
            "install.sh.j2",
            minijinja::context! {
                release => &p.release.name,
                chart => &p.release.chart,
                version => shell_quote(&p.release.version),
                namespace => &p.namespace,
                chart_args => chart_args.join(" "),
                timeout => timeout,
                secrets => secrets,
            },
        )?;
        write_file(&dir.join("install.sh"), &script, true)?;
        releases.push(BundledRelease {
            dir: dir_name,
            name: p.release.name.clone(),
            chart: p.release.chart.clone(),
            version: p.release.version.clone(),
            namespace: p.namespace.clone(),
        });
    }
    let namespaces: BTreeSet<String> = plan.releases.iter().map(|p| p.namespace.clone()).collect();
    let (ns_docs, _) = support_docs(catalog, &inputs.config, &namespaces, None)?;
    let mut ns_text = String::new();
    for doc in &ns_docs {
        manifest::write_doc(&mut ns_text, "helm-nvcf: namespace", doc)?;
    }
    write_file(&out.join("namespaces.yaml"), &ns_text, false)?;
    let pull_secret = inputs
        .config
        .passwords
        .registry
        .as_ref()
        .and_then(|r| match r {
            PasswordRef::Env(var) => Some((var.clone(), None)),
            PasswordRef::SecretRef(s) => Some((s.display(), Some(read_secret_command(s)))),
            PasswordRef::Value(_) => None,
        })
        .zip(inputs.config.image_pull_secrets.first())
        .map(|((var, read), name)| {
            serde_json::json!({"var": var, "read": read, "name": name, "server": inputs.config.registry})
        });
    write_file(
        &out.join("deploy.sh"),
        &templates::render(
            "deploy.sh.j2",
            minijinja::context! { pull_secret => pull_secret, namespaces => &namespaces },
        )?,
        true,
    )?;
    let planned: Vec<&crate::model::stack::catalog::Release> =
        plan.releases.iter().map(|p| p.release).collect();
    let cfg_value = inputs.config.as_value();
    let undeploy: Vec<Value> = teardown_order(&planned)?
        .into_iter()
        .map(|r| serde_json::json!({"name": r.name, "namespace": r.namespace_in(&cfg_value)}))
        .collect();
    write_file(
        &out.join("undeploy.sh"),
        &templates::render(
            "undeploy.sh.j2",
            minijinja::context! { releases => undeploy, timeout => timeout },
        )?,
        true,
    )?;
    write_file(
        &out.join("README.md"),
        &templates::render(
            "bundle-readme.md.j2",
            minijinja::context! {
                stack_version => &catalog.stack_version,
                profile => crate::model::stack::sizing::Profile::of(inputs.config.profile).name,
                releases => &releases,
                secret_vars => secret_vars,
            },
        )?,
        false,
    )?;
    let files = write_checksums(out)?;
    Ok(BundleReport {
        path: out.to_path_buf(),
        releases,
        files,
    })
}

/// Every regular file under `dir` except `checksums.txt`, as sorted relative paths.
fn content_files(dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| crate::base::files::io_error("read", dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| crate::base::files::io_error("read", dir, e))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| crate::base::files::io_error("inspect", &path, e))?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                if rel != CHECKSUMS {
                    out.push(rel);
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| crate::base::files::io_error("read", path, e))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Writes `checksums.txt` in `sha256sum -c` format; returns how many files it covers.
fn write_checksums(dir: &Path) -> Result<usize> {
    let files = content_files(dir)?;
    let mut text = String::new();
    for f in &files {
        text.push_str(&format!("{}  {f}\n", sha256_file(&dir.join(f))?));
    }
    write_file(&dir.join(CHECKSUMS), &text, false)?;
    Ok(files.len())
}

/// One file's verification result.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub file: String,
    /// `ok`, `modified`, `missing` or `unlisted`.
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub path: PathBuf,
    pub ok: bool,
    pub files: Vec<Checked>,
}

impl Report for VerifyReport {
    fn table(&self, wide: bool) -> String {
        column_table(
            &["file", "status"],
            self.files
                .iter()
                .filter(|c| wide || c.status != "ok")
                .map(|c| vec![c.file.clone(), c.status.to_owned()])
                .chain(std::iter::once(vec![
                    format!("{} files", self.files.len()),
                    if self.ok { "verified" } else { "FAILED" }.to_owned(),
                ]))
                .collect(),
        )
    }

    fn names(&self) -> Vec<String> {
        self.files
            .iter()
            .filter(|c| c.status != "ok")
            .map(|c| c.file.clone())
            .collect()
    }
}

impl VerifyReport {
    /// The error a failed verification exits with, naming what changed.
    pub fn failure(&self) -> Option<Error> {
        let bad: Vec<String> = self
            .files
            .iter()
            .filter(|c| c.status != "ok")
            .map(|c| format!("{} ({})", c.file, c.status))
            .collect();
        (!bad.is_empty()).then(|| {
            Error::new(
                Category::ChecksFailed,
                format!(
                    "bundle {} does not match its checksums: {}",
                    self.path.display(),
                    bad.join(", ")
                ),
            )
            .hint(format!(
                "regenerate the bundle with `{helm_nvcf_cmd0}`, or restore the files named",
                helm_nvcf_cmd0 = crate::base::plugin::helm_nvcf("bundle")
            ))
        })
    }
}

/// Checks every file of the bundle at `dir` against `checksums.txt`: changed, missing and
/// added files all fail.
pub fn verify(dir: &Path) -> Result<VerifyReport> {
    let sums_path = dir.join(CHECKSUMS);
    let text = std::fs::read_to_string(&sums_path).map_err(|e| {
        crate::base::files::io_error("read", &sums_path, e).hint(format!(
            "{} is not a {helm_nvcf_cmd0}",
            dir.display(),
            helm_nvcf_cmd0 = crate::base::plugin::helm_nvcf("bundle")
        ))
    })?;
    let mut listed = BTreeSet::new();
    let mut files = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some((hash, file)) = line.split_once("  ") else {
            return Err(Error::new(
                Category::ChecksFailed,
                format!("{}:{}: not a checksum line", sums_path.display(), n + 1),
            )
            .hint(format!(
                "regenerate the bundle with `{helm_nvcf_cmd0}`",
                helm_nvcf_cmd0 = crate::base::plugin::helm_nvcf("bundle")
            )));
        };
        listed.insert(file.to_owned());
        let path = dir.join(file);
        let status = if !path.is_file() || file.contains("..") {
            "missing"
        } else if sha256_file(&path)? != hash {
            "modified"
        } else {
            "ok"
        };
        files.push(Checked {
            file: file.to_owned(),
            status,
        });
    }
    for extra in content_files(dir)?
        .into_iter()
        .filter(|f| !listed.contains(f))
    {
        files.push(Checked {
            file: extra,
            status: "unlisted",
        });
    }
    let ok = files.iter().all(|c| c.status == "ok");
    Ok(VerifyReport {
        path: dir.to_path_buf(),
        ok,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;

    fn inputs(cfg: &str) -> Inputs {
        crate::model::stack::inputs::from_text(
            cfg,
            &MapEnv::new([("PW", "bundle-secret-value")]),
            true,
        )
    }

    const CFG: &str = "registry: r.example\nrepository: o/t\nimagePullSecrets: [pull]\n\
        passwords: {cassandraSuperuser: {env: PW}, registry: {env: PW}}\n";

    #[test]
    fn bundles_are_deterministic_secret_free_and_verifiable() {
        let inputs = inputs(CFG);
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let dynamic = [Dynamic::parse("nvca-operator:clusterName").unwrap()];
        let report = write_bundle(&inputs, Planes::All, None, &dynamic, a.path()).unwrap();
        write_bundle(&inputs, Planes::All, None, &dynamic, b.path()).unwrap();
        assert_eq!(report.releases[0].dir, "001-nats");
        let sums = |d: &Path| std::fs::read_to_string(d.join(CHECKSUMS)).unwrap();
        assert_eq!(sums(a.path()), sums(b.path()), "byte-identical bundles");
        for f in content_files(a.path()).unwrap() {
            let text = std::fs::read_to_string(a.path().join(&f)).unwrap();
            assert!(
                !text.contains("bundle-secret-value"),
                "{f} carries a password"
            );
        }
        let cass = report
            .releases
            .iter()
            .find(|r| r.name == "cassandra")
            .unwrap();
        let install = std::fs::read_to_string(a.path().join(&cass.dir).join("install.sh")).unwrap();
        assert!(
            install.contains("--set-string \"cassandra.dbUser.password=${value}\""),
            "{install}"
        );
        let nvca = report
            .releases
            .iter()
            .find(|r| r.name == "nvca-operator")
            .unwrap();
        let cluster =
            std::fs::read_to_string(a.path().join(&nvca.dir).join("cluster-values.yaml")).unwrap();
        assert!(cluster.contains("clusterName: nvcf-cluster"), "{cluster}");
        let values = std::fs::read_to_string(a.path().join(&nvca.dir).join("values.yaml")).unwrap();
        assert!(!values.contains("clusterName"));
        assert!(verify(a.path()).unwrap().ok);

        std::fs::write(
            a.path().join(&cass.dir).join("values.yaml"),
            "tampered: true\n",
        )
        .unwrap();
        std::fs::write(a.path().join("extra.sh"), "echo hi\n").unwrap();
        std::fs::remove_file(a.path().join("README.md")).unwrap();
        let r = verify(a.path()).unwrap();
        let bad: Vec<(&str, &str)> = r
            .files
            .iter()
            .filter(|c| c.status != "ok")
            .map(|c| (c.file.as_str(), c.status))
            .collect();
        assert_eq!(
            bad,
            [
                ("004-cassandra/values.yaml", "modified"),
                ("README.md", "missing"),
                ("extra.sh", "unlisted"),
            ]
        );
        assert_eq!(r.failure().unwrap().exit_code().code(), 2);
    }

    #[test]
    fn a_non_empty_output_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x"), "").unwrap();
        let err = write_bundle(&inputs(CFG), Planes::All, None, &[], dir.path()).unwrap_err();
        assert_eq!(err.category(), Category::Conflict);
    }

    #[test]
    fn helm_paths_escape_dots_and_index_lists() {
        let parts: Vec<String> = ["a", "b.c", "[1]", "value"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(helm_path(&parts), r"a.b\.c[1].value");
    }
}
