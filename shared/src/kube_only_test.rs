//! `clients::kube` is the only way to Kubernetes: no other file builds a `kube::Api`, so
//! every call fails in the product's taxonomy with what it was doing (see
//! `clients::kube::Objects`). Files not yet moved onto it are listed; the list only shrinks.

use crate::layers_test::{sources, without_comments};
use std::path::Path;

/// Files that still build a `kube::Api` themselves, relative to the workspace root.
const NOT_YET: [&str; 2] = [
    "shared/src/operations/stack/status/observe.rs",
    "shared/src/operations/stack/status/watch.rs",
];

const HOME: &str = "shared/src/clients/kube/";

/// Naming the type or calling one of its constructors, imports included.
const BUILDS_AN_API: &str = r"(^|[^A-Za-z0-9_])(kube::(api::)?Api\b|Api::(<|namespaced|all|default_namespaced)|kube::api::\{[^}]*\bApi\b)";

/// Each `file:line` in `text` that builds a `kube::Api`.
fn uses_in(file: &str, text: &str) -> Vec<String> {
    let text = without_comments(text);
    let pattern = regex_lite::Regex::new(BUILDS_AN_API).unwrap();
    pattern
        .find_iter(&text)
        .map(|m| {
            let line = text[..m.start()].matches('\n').count() + 1;
            format!("{file}:{line}: {}", m.as_str().trim())
        })
        .collect()
}

#[test]
fn only_clients_kube_builds_a_kube_api() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = vec![root.join("shared/src")];
    for plugin in std::fs::read_dir(root.join("plugins")).unwrap() {
        dirs.push(plugin.unwrap().path().join("src"));
    }
    let mut files = Vec::new();
    for dir in dirs {
        sources(&dir, &mut files);
    }
    let mut offending = Vec::new();
    let mut converted = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel.starts_with(HOME) || rel.ends_with("kube_only_test.rs") {
            continue;
        }
        let uses = uses_in(&rel, &std::fs::read_to_string(&file).unwrap());
        match (NOT_YET.contains(&rel.as_str()), uses.is_empty()) {
            (false, false) => offending.extend(uses),
            (true, true) => converted.push(rel),
            _ => {}
        }
    }
    assert!(
        offending.is_empty(),
        "build kube::Api only in {HOME}; use clients::kube::Objects instead:\n{}",
        offending.join("\n")
    );
    assert!(
        converted.is_empty(),
        "no longer build a kube::Api: take them off NOT_YET:\n{}",
        converted.join("\n")
    );
}

#[test]
fn every_way_of_building_an_api_is_seen() {
    let text = "use kube::api::{ListParams,\n Api};\nlet a = Api::<Pod>::all(c);\n\
                let b: Api<Pod> = Api::namespaced(c, ns);\nlet d = kube::Api::all(c);\n\
                // Api::namespaced in a comment\nlet e = LlmApi::all();";
    let lines: Vec<String> = uses_in("f.rs", text)
        .iter()
        .map(|u| u.split(": ").next().unwrap().to_string())
        .collect();
    assert_eq!(lines, ["f.rs:1", "f.rs:3", "f.rs:4", "f.rs:5"]);
}
