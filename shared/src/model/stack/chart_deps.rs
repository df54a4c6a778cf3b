//! Subcharts a chart directory declares but does not carry.
//!
//! A published chart carries its dependencies in `charts/`; a chart checked out from
//! source (upstream's `helm-nvcf-nats` and `helm-nvcf-openbao-server`) does not. helm finds
//! out only when it templates, one chart at a time, after earlier releases may already be
//! installed: we look before anything runs and name every gap at once.

use crate::base::error::{Error, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
struct ChartYaml {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    dependencies: Vec<Dependency>,
}

/// The version a chart directory declares, if it is one.
pub fn version(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("Chart.yaml")).ok()?;
    serde_saphyr::from_str::<ChartYaml>(&text).ok()?.version
}

#[derive(Debug, Deserialize)]
struct Dependency {
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    repository: String,
}

/// The declared dependencies of the chart at `dir` that its `charts/` folder lacks, as
/// `name version (repository)`.
pub fn missing(dir: &Path) -> Result<Vec<String>> {
    let chart_yaml = dir.join("Chart.yaml");
    let text = match std::fs::read_to_string(&chart_yaml) {
        Ok(t) => t,
        // Not a chart directory (or a packaged .tgz): helm reports that itself.
        Err(_) => return Ok(Vec::new()),
    };
    let chart: ChartYaml = serde_saphyr::from_str(&text).map_err(|e| {
        Error::invalid_input(format!(
            "{} is not a valid Chart.yaml: {e}",
            chart_yaml.display()
        ))
        .hint("fix the chart's Chart.yaml, or use the published chart (oci://…)")
    })?;
    let vendored: Vec<String> = std::fs::read_dir(dir.join("charts"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    Ok(chart
        .dependencies
        .iter()
        .filter(|d| {
            !vendored.iter().any(|entry| {
                entry == &d.name
                    || (entry.starts_with(&format!("{}-", d.name)) && entry.ends_with(".tgz"))
            })
        })
        .map(|d| format!("{} {} ({})", d.name, d.version, d.repository))
        .collect())
}

/// Fails naming each release whose chart directory lacks a declared subchart.
pub fn check<'a>(charts: impl IntoIterator<Item = (&'a str, &'a Path)>) -> Result<()> {
    let mut gaps = Vec::new();
    for (release, dir) in charts {
        for dep in missing(dir)? {
            gaps.push((release, dir, dep));
        }
    }
    let Some((release, dir, _)) = gaps.first() else {
        return Ok(());
    };
    let list: Vec<String> = gaps
        .iter()
        .map(|(r, d, dep)| format!("{r} ({}): {dep}", d.display()))
        .collect();
    Err(Error::input_missing(format!(
        "release {release}: chart {} declares subcharts its charts/ folder lacks: {}; nothing was installed",
        dir.display(),
        list.join("; ")
    ))
    .hint(format!(
        "run `helm dependency build {}` where the subcharts' repositories are reachable, or install from the published chart (--chart-source oci://REGISTRY/REPOSITORY), which carries them",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(dir: &Path, deps: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            format!("apiVersion: v2\nname: w\nversion: 0.1.0\n{deps}"),
        )
        .unwrap();
    }

    #[test]
    fn a_missing_subchart_is_named_with_its_release_and_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("helm-nvcf-nats");
        chart(
            &dir,
            "dependencies:\n- {name: nats, version: 1.3.15, repository: https://nats-io.github.io/k8s/helm/charts/}\n",
        );
        let err = check([("nats", dir.as_path())]).unwrap_err();
        assert_eq!(err.exit_code().code(), 66);
        let text = err.one_line();
        assert!(text.contains("release nats"), "{text}");
        assert!(text.contains("nats 1.3.15"), "{text}");
        assert!(text.contains("helm dependency build"), "{text}");
    }

    #[test]
    fn a_vendored_directory_or_archive_satisfies_the_dependency() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("w");
        chart(
            &dir,
            "dependencies:\n- {name: nats, version: 1.3.15}\n- {name: openbao, version: 0.28.3}\n",
        );
        std::fs::create_dir_all(dir.join("charts/nats")).unwrap();
        std::fs::write(dir.join("charts/openbao-0.28.3.tgz"), b"").unwrap();
        assert!(check([("w", dir.as_path())]).is_ok());
        let bare = tmp.path().join("bare");
        chart(&bare, "");
        assert!(missing(&bare).unwrap().is_empty());
        assert_eq!(version(&bare).as_deref(), Some("0.1.0"));
        assert_eq!(version(tmp.path()), None);
    }
}
