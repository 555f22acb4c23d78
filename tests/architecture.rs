//! The host's layout holds: imports run one way, `api` → `lifecycle` →
//! `runtime` → `store`, and no file of `host/src` imports, directly or
//! through others, a file that imports it back. Read from the source text:
//! every `crate::…` path names the file it comes from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The folders, lowest first: a file may import its own folder's files and
/// those of the folders below it.
const LAYERS: [&str; 4] = ["store", "runtime", "lifecycle", "api"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `host/src`, as a path relative to it.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read host/src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.strip_prefix(src()).expect("under src").to_path_buf());
        }
    }
}

/// The file a `crate::a::b::c` path comes from: the longest prefix that is
/// a file (`a/b.rs`) or a folder's index (`a/b/mod.rs`).
fn file_of(segments: &[&str], known: &BTreeSet<PathBuf>) -> Option<PathBuf> {
    (1..=segments.len()).rev().find_map(|n| {
        let base: PathBuf = segments[..n].iter().collect();
        let file = base.with_extension("rs");
        let index = base.join("mod.rs");
        [file, index].into_iter().find(|p| known.contains(p))
    })
}

/// Each file's imports of other files of `host/src`, from its `crate::`
/// paths (in `use` lines and inline). A file's unit tests (its
/// `#[cfg(test)]` module, at its end) may use what the file serves, so
/// they are left out.
fn imports() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let known: BTreeSet<PathBuf> = all.iter().cloned().collect();
    let mut graph = BTreeMap::new();
    for file in &all {
        let text = std::fs::read_to_string(src().join(file)).expect("read");
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        // Comments (doc links included) import nothing.
        let text: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut targets = BTreeSet::new();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            // A path, or a grouped import: `crate::a::{b, c::d}`.
            let head: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let head = head.trim_end_matches(':');
            let segments: Vec<&str> = head.split("::").filter(|s| !s.is_empty()).collect();
            let grouped = rest[head.len()..].trim_start_matches(':').starts_with('{');
            if grouped {
                let inner = &rest[head.len()..];
                let inner = &inner[inner.find('{').unwrap_or(0) + 1..inner.find('}').unwrap_or(0)];
                for item in inner.split(',') {
                    let item = item.trim();
                    let mut path: Vec<&str> = segments.clone();
                    path.extend(item.split("::").map(str::trim).filter(|s| *s != "self"));
                    if let Some(target) = file_of(&path, &known) {
                        targets.insert(target);
                    }
                }
            } else if let Some(target) = file_of(&segments, &known) {
                targets.insert(target);
            }
        }
        targets.remove(file);
        graph.insert(file.clone(), targets);
    }
    graph
}

fn layer(file: &Path) -> Option<usize> {
    let top = file.components().next()?.as_os_str().to_str()?;
    LAYERS.iter().position(|l| *l == top)
}

#[test]
fn imports_run_one_way_between_the_folders() {
    let mut backwards = Vec::new();
    for (file, targets) in imports() {
        for target in targets {
            if let (Some(from), Some(to)) = (layer(&file), layer(&target))
                && to > from
            {
                backwards.push(format!("{} imports {}", file.display(), target.display()));
            }
        }
    }
    assert!(
        backwards.is_empty(),
        "imports must run api -> lifecycle -> runtime -> store:\n{}",
        backwards.join("\n")
    );
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let graph = imports();
    // Depth-first search for a cycle, reporting the first found.
    fn visit(
        node: &PathBuf,
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        path: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            let names: Vec<String> = cycle.iter().map(|p| p.display().to_string()).collect();
            panic!("an import circle: {} -> back", names.join(" -> "));
        }
    }
}

#[test]
fn the_reader_finds_what_it_checks() {
    // The check itself must see the imports it judges: a sample of known
    // arrows, so a broken parser cannot pass the two tests above by seeing
    // nothing.
    let graph = imports();
    let has = |from: &str, to: &str| {
        graph
            .get(Path::new(from))
            .is_some_and(|t| t.contains(Path::new(to)))
    };
    assert!(has("runtime/call.rs", "runtime/engine.rs"));
    assert!(has("lifecycle/rollout.rs", "lifecycle/registry.rs"));
    assert!(has("api/router.rs", "api/scheduling.rs"));
    assert!(has("runtime/engine.rs", "store/records.rs"));
}
