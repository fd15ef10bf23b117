//! The library's layers only point down: the module-level dependency graph of `src/` (from
//! `crate::<module>` paths outside `#[cfg(test)]` blocks) has no cycle, and the low layers do
//! not reach up. Reads the source; fails naming the modules of a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src` with every `#[cfg(test)]`/`#[cfg(all(test, …))]` module and every `//` comment removed.
fn strip(src: &str) -> String {
    let mut s = src.to_string();
    while let Some(i) = s.find("#[cfg(test)]").or_else(|| s.find("#[cfg(all(test")) {
        let Some(open) = s[i..].find('{').map(|k| i + k) else { break };
        let (mut depth, mut j) = (0usize, open);
        for (k, c) in s[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        j = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        s.replace_range(i..j, "");
    }
    s.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut mods = BTreeMap::new();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().trim_end_matches(".rs").to_string();
        if name == "bin" || name == "lib" {
            continue;
        }
        let mut files = Vec::new();
        if e.path().is_dir() {
            rs_files(&e.path(), &mut files);
        } else {
            files.push(e.path());
        }
        mods.insert(name, files);
    }
    let names: BTreeSet<String> = mods.keys().cloned().collect();
    let mut g = BTreeMap::new();
    for (m, files) in &mods {
        let mut deps = BTreeSet::new();
        for f in files {
            let s = strip(&std::fs::read_to_string(f).unwrap());
            for (i, _) in s.match_indices("crate::") {
                let t: String = s[i + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if names.contains(&t) && &t != m {
                    deps.insert(t);
                }
            }
        }
        g.insert(m.clone(), deps);
    }
    g
}

fn reaches(g: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let (mut seen, mut stack) = (BTreeSet::new(), vec![from.to_string()]);
    while let Some(v) = stack.pop() {
        for w in &g[&v] {
            if w == to {
                return true;
            }
            if seen.insert(w.clone()) {
                stack.push(w.clone());
            }
        }
    }
    false
}

#[test]
fn module_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() >= 10, "modules found: {:?}", g.keys());
    let cyclic: Vec<&String> = g.keys().filter(|m| reaches(&g, m, m)).collect();
    assert!(cyclic.is_empty(), "modules on a dependency cycle: {cyclic:?}\n{g:#?}");
}

#[test]
fn low_layers_do_not_reach_up() {
    let g = graph();
    for (low, high) in [
        ("sparse", "qp"),
        ("neuro", "qp"),
        ("qp", "mpc"),
        ("model", "mpc"),
        ("mpc", "control"),
        ("control", "scenario"),
        ("control", "ros"),
    ] {
        assert!(!reaches(&g, low, high), "{low} depends on {high}: {g:#?}");
    }
    for (m, deps) in &g {
        assert!(m == "lab" || !deps.contains("lab"), "{m} depends on the lab: {deps:?}");
    }
}
