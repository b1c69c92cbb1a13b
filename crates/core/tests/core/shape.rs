//! The shape of the core: its top-level modules form no import circle.
//! A module's imports are the `crate::<module>` paths in its files (comments
//! left out); `ctx` (what a command runs with) sits below the areas and only
//! `api` (the command table) knows them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module of `src` and the top-level modules it names.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" {
            continue;
        }
        let mut text = String::new();
        let mut stack = vec![path];
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else if p.extension().is_some_and(|x| x == "rs") {
                for line in std::fs::read_to_string(&p).unwrap().lines() {
                    text.push_str(line.split("//").next().unwrap_or(""));
                    text.push('\n');
                }
            }
        }
        modules.entry(name).or_default().push_str(&text);
    }
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(name, text)| {
            let used = named_modules(text).into_iter().filter(|m| m != name && names.contains(m)).collect();
            (name.clone(), used)
        })
        .collect()
}

/// The first segment of every `crate::` path: `crate::a::b`, and each of
/// `crate::{a, b::{c, d}}` at the first level.
fn named_modules(text: &str) -> Vec<String> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut out = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `pitlane_crate::`, `$crate::`
        }
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut start) = (1, true);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => break,
                    '}' => depth -= 1,
                    ',' if depth == 1 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start && depth == 1 => {
                        out.push(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out
}

/// The import circles: each group of modules that reach one another,
/// written as one path around it.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for n in graph.get(&m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
        seen
    };
    let mut found = Vec::new();
    let mut placed = BTreeSet::new();
    for m in graph.keys() {
        if placed.contains(m) || !reach(m).contains(m) {
            continue;
        }
        let group: BTreeSet<String> = reach(m).into_iter().filter(|n| reach(n).contains(m)).collect();
        placed.extend(group.iter().cloned());
        // One way around: breadth-first from m back to m inside the group.
        let mut back: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([m.clone()]);
        'search: while let Some(x) = queue.pop_front() {
            for n in &graph[&x] {
                if n == m {
                    back.insert(format!("{m}#end"), x.clone());
                    break 'search;
                }
                if group.contains(n) && !back.contains_key(n) {
                    back.insert(n.clone(), x.clone());
                    queue.push_back(n.clone());
                }
            }
        }
        let mut path = vec![m.clone()];
        let mut at = back[&format!("{m}#end")].clone();
        while at != *m {
            path.push(at.clone());
            at = back[&at].clone();
        }
        path.push(m.clone());
        let last = path.len() - 1;
        path[1..last].reverse();
        found.push(format!(
            "{} modules in a circle ({}), e.g. {}",
            group.len(),
            group.iter().cloned().collect::<Vec<_>>().join(", "),
            path.join(" -> ")
        ));
    }
    found
}

#[test]
fn core_modules_form_no_import_circle() {
    let graph = imports(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() > 30 && graph["api"].contains("job_cards"), "the sources were read: {graph:?}");
    let found = circles(&graph);
    assert!(found.is_empty(), "the core's modules import one another in a circle:\n{}", found.join("\n"));
}

/// The check itself sees a circle, through a `crate::{…}` group and a
/// nested module alike.
#[test]
fn core_modules_form_no_import_circle_sees_a_circle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("c")).unwrap();
    std::fs::write(dir.path().join("lib.rs"), "pub mod a; pub mod b; pub mod c; pub mod d;").unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::{b::{X, Y}, d};\n// crate::c in a comment\n").unwrap();
    std::fs::write(dir.path().join("b.rs"), "fn f() { crate::c::g() }").unwrap();
    std::fs::write(dir.path().join("c").join("inner.rs"), "use crate::a::Z;").unwrap();
    std::fs::write(dir.path().join("d.rs"), "").unwrap();
    let graph = imports(dir.path());
    assert_eq!(graph["a"], BTreeSet::from(["b".to_string(), "d".to_string()]));
    assert_eq!(circles(&graph), ["3 modules in a circle (a, b, c), e.g. a -> b -> c -> a"]);
}
