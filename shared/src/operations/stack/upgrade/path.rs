//! The way from the installed chart versions to a stack version: ordered steps, each the
//! releases it upgrades (in install order) and the chart version each goes to. A release's
//! `upgradePath` versions between where it is and where it goes are stops of their own.

use crate::base::error::{Category, Error, Result};
use crate::model::stack::catalog::{Catalog, Release};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Compares chart versions: a leading `v` ignored, numeric parts numerically, then text.
pub fn compare(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<String> {
        v.trim_start_matches('v')
            .split(['.', '-', '+'])
            .map(str::to_owned)
            .collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            _ => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    // 1.0 == 1.0.0; a pre-release (1.0.0-rc1) sorts before its release.
    let rest = |p: &[String], from: usize| p[from..].iter().all(|s| s == "0");
    match pa.len().cmp(&pb.len()) {
        Ordering::Equal => Ordering::Equal,
        Ordering::Less if rest(&pb, pa.len()) => Ordering::Equal,
        Ordering::Greater if rest(&pa, pb.len()) => Ordering::Equal,
        Ordering::Less if pb[pa.len()].parse::<u64>().is_err() => Ordering::Greater,
        Ordering::Greater if pa[pb.len()].parse::<u64>().is_err() => Ordering::Less,
        other => other,
    }
}

/// One release's move within a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    pub release: String,
    pub namespace: String,
    pub chart: String,
    pub from: String,
    pub to: String,
}

/// One stop of an upgrade: a required version on the way, or the target stack version (the
/// path's model; what is printed is the shared plan built from it in shape.rs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stop {
    /// `stack 0.8.0`, or `required stop 1` for an `upgradePath` version on the way.
    pub name: String,
    pub releases: Vec<Move>,
}

/// The known stack versions, newest first.
pub fn known_versions(catalog: &Catalog) -> Vec<&str> {
    catalog
        .stack_versions
        .iter()
        .map(|v| v.version.as_str())
        .collect()
}

/// `target` if the catalog knows it, else a usage error naming the versions it knows.
pub fn require_version<'c>(catalog: &'c Catalog, target: &str) -> Result<&'c str> {
    let t = target.trim_start_matches('v');
    known_versions(catalog)
        .into_iter()
        .find(|v| *v == t)
        .ok_or_else(|| {
            Error::usage(format!("stack version {target} is not one this tool knows")).hint(
                format!("use one of: {}", known_versions(catalog).join(", ")),
            )
        })
}

/// The steps from `installed` (release name -> chart version) to stack version `target`,
/// over `releases` (the enabled ones, in install order, each with its namespace).
/// Releases not installed are left out: the plan lists them, an upgrade does not install.
pub fn steps(
    catalog: &Catalog,
    target: &str,
    releases: &[(&Release, String)],
    installed: &BTreeMap<String, String>,
) -> Result<Vec<Stop>> {
    let target = require_version(catalog, target)?;
    let mut ways: Vec<(Move, Vec<String>)> = Vec::new();
    for (r, ns) in releases {
        let Some(from) = installed.get(&r.name) else {
            continue;
        };
        let want = catalog
            .chart_version_in(target, r)
            .ok_or_else(|| Error::internal(format!("no chart version for {}", r.name)))?;
        match compare(from, want) {
            Ordering::Equal => continue,
            Ordering::Greater => return Err(downgrade(r, from, target, want)),
            Ordering::Less => {}
        }
        let mut stops: Vec<String> = r
            .upgrade_path
            .iter()
            .filter(|s| compare(from, s) == Ordering::Less && compare(s, want) == Ordering::Less)
            .cloned()
            .collect();
        stops.sort_by(|a, b| compare(a, b));
        stops.push(want.to_owned());
        let mv = Move {
            release: r.name.clone(),
            namespace: ns.clone(),
            chart: r.chart.clone(),
            from: from.clone(),
            to: String::new(),
        };
        ways.push((mv, stops));
    }
    Ok(align(target, ways))
}

/// Stops first, step by step; the target versions last, all in one step.
fn align(target: &str, ways: Vec<(Move, Vec<String>)>) -> Vec<Stop> {
    let count = ways.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
    let mut steps: Vec<Stop> = (0..count)
        .map(|i| Stop {
            name: if i + 1 == count {
                format!("stack {target}")
            } else {
                format!("required stop {}", i + 1)
            },
            releases: Vec::new(),
        })
        .collect();
    for (mv, stops) in ways {
        let mut from = mv.from.clone();
        let last = stops.len() - 1;
        for (i, to) in stops.into_iter().enumerate() {
            let at = if i == last { count - 1 } else { i };
            steps[at].releases.push(Move {
                from: std::mem::replace(&mut from, to.clone()),
                to,
                ..mv.clone()
            });
        }
    }
    steps
}

fn downgrade(r: &Release, from: &str, target: &str, want: &str) -> Error {
    Error::new(
        Category::Conflict,
        format!(
            "{} is at chart version {from}, newer than stack {target}'s {want}: upgrade --to does not downgrade",
            r.name
        ),
    )
    .hint(format!(
        "return one release with {} {}, or pick a newer stack version",
        crate::base::plugin::helm_nvcf("rollback"),
        r.name
    ))
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
