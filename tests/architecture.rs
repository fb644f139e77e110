//! The shape of the code, checked: page modules in `src/web/` must not import each other in a
//! circle. Shared view helpers live in `src/web/view.rs` (and the request context, layout and
//! middleware in their own modules); a page module may use another page module's pieces only
//! in one direction.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Sibling modules of `src/web/` that `source` names through `super::…` or `crate::web::…`.
fn sibling_uses(source: &str, siblings: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for prefix in ["super::", "crate::web::"] {
        for (at, _) in source.match_indices(prefix) {
            let rest = &source[at + prefix.len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                group[..group.find('}').unwrap_or(0)]
                    .split(',')
                    .map(|n| n.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                vec![
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap_or(""),
                ]
            };
            for name in names {
                if siblings.contains(name) {
                    found.insert(name.to_string());
                }
            }
        }
    }
    found
}

fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut c = path[start..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn web_modules_do_not_import_each_other_in_a_circle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("src/web") {
        let path = entry.expect("entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().is_some_and(|e| e == "rs") && name != "mod" {
            files.insert(name, std::fs::read_to_string(&path).expect("read"));
        }
    }
    let siblings: BTreeSet<String> = files.keys().cloned().collect();
    assert!(siblings.contains("view") && siblings.contains("forum"));
    let graph: BTreeMap<String, BTreeSet<String>> = files
        .iter()
        .map(|(name, source)| {
            let mut uses = sibling_uses(source, &siblings);
            uses.remove(name);
            (name.clone(), uses)
        })
        .collect();
    assert!(
        graph["forum"].contains("view"),
        "the checker sees imports: {graph:?}"
    );
    if let Some(c) = cycle(&graph) {
        panic!("import cycle in src/web/: {}", c.join(" -> "));
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert!(cycle(&graph).is_some());
    let siblings = BTreeSet::from(["forum".to_string(), "view".to_string()]);
    let uses = sibling_uses(
        "use super::{view::when, forum};\nsuper::view::x();",
        &siblings,
    );
    assert_eq!(uses.len(), 2);
}
