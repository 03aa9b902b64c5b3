//! The modules of the core and of the model form no import cycle: data types sit below the behaviour that uses
//! them, so a module can be read, tested and moved with what it depends on and nothing more.
//!
//! The graph is read from the sources: a module (a top-level file or folder of `src/`)
//! depends on another when its code, outside its `#[cfg(test)]` section and comments, names
//! `crate::<other>`, directly or inside a `use crate::{...}` group. A folder module and its
//! own files are one node, so a parent module and its helpers may use each other.

#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Code without comments and without the unit-test section that closes most files.
fn code_of(source: &str) -> String {
    let source = source
        .find("#[cfg(test)]")
        .map_or(source, |test_section| &source[..test_section]);
    source
        .lines()
        .map(|line| line.find("//").map_or(line, |comment| &line[..comment]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level names a `use crate::{...}` group brings in, starting at its `{`.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for character in group.chars() {
        match character {
            '{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    heads.push(std::mem::take(&mut current));
                    break;
                }
            }
            ',' if depth == 1 => {
                heads.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        if depth == 1 {
            current.push(character);
        }
    }
    heads
        .iter()
        .filter_map(|head| {
            let name: String = head
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// Every module `code` names through `crate::`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if rest.starts_with('{') {
            names.extend(group_heads(rest));
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    names
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let module_of = |path: &Path| -> String {
        let relative = path.strip_prefix(src).expect("a file under src");
        let first = relative
            .components()
            .next()
            .expect("a path component")
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        first.trim_end_matches(".rs").to_owned()
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|path| module_of(path))
        .filter(|module| module != "lib")
        .collect();
    let mut graph = Graph::new();
    for path in &files {
        let module = module_of(path);
        if module == "lib" {
            continue;
        }
        let source = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let depends = graph.entry(module.clone()).or_default();
        depends.extend(
            named_modules(&code_of(&source))
                .into_iter()
                .filter(|named| *named != module && modules.contains(named)),
        );
    }
    graph
}

/// One cycle of `graph`, as the path around it, if there is any.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        module: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(module) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|entry| entry == module)?;
                let mut cycle = path[start..].to_vec();
                cycle.push(module.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(module.to_owned(), Mark::Open);
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(module.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// Panics naming the cycle when the crate whose sources are in `src` has one.
fn check_acyclic(src: &Path) {
    let graph = module_graph(src);
    assert!(
        graph.len() > 5,
        "the module graph of {} looks empty: {graph:?}",
        src.display()
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the modules of {} import each other in a cycle: {}",
            src.display(),
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_core_modules_form_no_import_cycle() {
    check_acyclic(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
}

#[test]
fn the_model_modules_form_no_import_cycle() {
    check_acyclic(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/src"));
}

#[test]
fn the_graph_reader_sees_grouped_and_direct_imports_and_finds_a_cycle() {
    let code = code_of(
        "use crate::{plan::{Plan, ObjectPlan}, ids};\n// crate::commented\nfn f() { crate::report::x(); }\n#[cfg(test)]\nmod tests { use crate::tested; }",
    );
    assert_eq!(
        named_modules(&code),
        BTreeSet::from(["ids".to_owned(), "plan".to_owned(), "report".to_owned()])
    );
    let graph = Graph::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let acyclic = Graph::from([("a".to_owned(), BTreeSet::from(["b".to_owned()]))]);
    assert_eq!(find_cycle(&acyclic), None);
}
