//! The crate's modules are layers (see the crate docs): a file may import from its own
//! layer and the ones below, never from above. This reads every source file and fails
//! naming each import that runs upward, so the tree keeps saying where things live.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first.
const LAYERS: [&str; 5] = ["base", "model", "clients", "operations", "cli"];

/// Items the crate root re-exports for everyone; they live in `base`.
const ROOT_REEXPORTS: [&str; 3] = ["Error", "ExitCode", "Result"];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

pub(crate) fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file below `src`: `base/events/mod.rs` → [base, events].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

pub(crate) fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal ("http://") is not a comment; good enough to
            // keep the whole line when a quote comes before it.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every absolute or `super::` path the file names, as segments: `use crate::a::{b, c::d}`
/// yields [crate, a, b] and [crate, a, c, d].
fn paths_in(text: &str) -> Vec<Vec<String>> {
    let text = without_comments(text);
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_path = [b"crate::", b"super::"]
            .iter()
            .any(|p| bytes[i..].starts_with(*p))
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'_'
                    || bytes[i - 1] == b'$'));
        if !starts_path {
            i += 1;
            continue;
        }
        let end = path_end(&text, i);
        expand(&text[i..end], Vec::new(), &mut out);
        i = end;
    }
    out
}

/// Where the path starting at `start` ends: after its identifiers, `::`s and one brace
/// group (use trees nest braces).
fn path_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphanumeric() || c == b'_' || c == b':' || c == b'*' {
            i += 1;
        } else if c == b'{' {
            let mut depth = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            return i;
        } else {
            break;
        }
    }
    i
}

fn expand(tree: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let mut depth = 0;
        let mut item = String::new();
        for c in inner.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&item, prefix.clone(), out);
                    item.clear();
                    continue;
                }
                _ => {}
            }
            item.push(c);
        }
        expand(&item, prefix, out);
        return;
    }
    match tree.split_once("::") {
        Some((head, rest)) => {
            let mut next = prefix;
            next.push(head.to_string());
            expand(rest, next, out);
        }
        None if !tree.is_empty() => {
            let mut done = prefix;
            // `x as y` names x
            done.push(
                tree.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
            out.push(done);
        }
        None => out.push(prefix),
    }
}

/// Resolves `super::` against the file's module; `None` for paths that stay below the
/// crate root without naming a layer.
fn absolute(module: &[String], path: &[String]) -> Vec<String> {
    if path.first().map(String::as_str) == Some("crate") {
        return path[1..].to_vec();
    }
    let ups = path.iter().take_while(|s| *s == "super").count();
    let base = &module[..module.len().saturating_sub(ups)];
    base.iter().chain(&path[ups..]).cloned().collect()
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut upward = BTreeSet::new();
    let mut outside = BTreeSet::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(own) = module.first().and_then(|l| rank(l)) else {
            continue; // lib.rs and this test
        };
        let text = std::fs::read_to_string(file).unwrap();
        for path in paths_in(&text) {
            let target = absolute(&module, &path);
            let Some(head) = target.first() else { continue };
            match rank(head) {
                Some(r) if r > own => {
                    upward.insert(format!(
                        "{} imports {}",
                        file.strip_prefix(&src).unwrap().display(),
                        target.join("::")
                    ));
                }
                Some(_) => {}
                None if ROOT_REEXPORTS.contains(&head.as_str()) => {}
                None => {
                    outside.insert(format!(
                        "{} names crate::{}, which is in no layer",
                        file.strip_prefix(&src).unwrap().display(),
                        target.join("::")
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run upward:\n{}",
        upward.into_iter().collect::<Vec<_>>().join("\n")
    );
    assert!(
        outside.is_empty(),
        "{}",
        outside.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// Sibling modules (the files or folders of one module, and the modules of one layer) must
/// not import each other in a circle: a circle means two modules are one idea split in two,
/// or that one piece should sit lower. A parent's own `mod.rs` may use its children. The
/// plugins' modules are held to the same.
#[test]
fn sibling_modules_form_no_circle() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![shared.join("src")];
    for plugin in std::fs::read_dir(shared.join("../plugins")).unwrap() {
        roots.push(plugin.unwrap().path().join("src"));
    }
    let mut circles = Vec::new();
    for src in roots {
        circles.extend(circles_in(&src));
    }
    assert!(
        circles.is_empty(),
        "circles between sibling modules:\n{}",
        circles.join("\n")
    );
}

fn circles_in(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(src, file);
        if module.is_empty() || module[0] == "bin" || module[0] == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for path in paths_in(&text) {
            let target = absolute(&module, &path);
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common < module.len() && common < target.len() {
                edges
                    .entry(module[..=common].join("::"))
                    .or_default()
                    .insert(target[..=common].join("::"));
            }
        }
    }
    let mut circles = Vec::new();
    for (from, tos) in &edges {
        for to in tos {
            if reaches(&edges, to, from, &mut BTreeSet::new()) {
                circles.push(format!("{}: {from} → {to} → … → {from}", src.display()));
            }
        }
    }
    circles
}

fn reaches(
    edges: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    goal: &str,
    seen: &mut BTreeSet<String>,
) -> bool {
    if from == goal {
        return true;
    }
    if !seen.insert(from.to_string()) {
        return false;
    }
    edges
        .get(from)
        .is_some_and(|tos| tos.iter().any(|t| reaches(edges, t, goal, seen)))
}

#[test]
fn use_trees_expand_to_every_path_they_name() {
    let paths =
        paths_in("use crate::{a::b, c::{d, e::f}};\nlet x = super::g::h(); // crate::not::this");
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        joined,
        [
            "crate::a::b",
            "crate::c::d",
            "crate::c::e::f",
            "super::g::h"
        ]
    );
    let module = ["model".to_string(), "stack".into(), "values".into()];
    assert_eq!(
        absolute(
            &module,
            &["super".into(), "super".into(), "templates".into()]
        ),
        ["model", "templates"]
    );
}
