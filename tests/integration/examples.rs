//! Every project shipped in `examples/` checks and renders, at every commit.

use std::path::{Path, PathBuf};

use crate::support::{mixdown, root, scratch, stderr};

/// Every YAML file below `examples/`, sorted.
fn example_projects() -> Vec<PathBuf> {
    fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, into);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                into.push(path);
            }
        }
    }
    let mut projects = Vec::new();
    walk(&root().join("examples"), &mut projects);
    projects.sort();
    projects
}

#[test]
fn every_example_checks_and_renders() {
    let projects = example_projects();
    assert!(projects.len() >= 2, "examples/ holds {projects:?}");
    let work = scratch();
    for (i, project) in projects.iter().enumerate() {
        let path = project.to_str().unwrap();
        let out = format!("out-{i}");
        let check = mixdown(work.path(), &["check", path]);
        assert!(check.status.success(), "check {path}:\n{}", stderr(&check));
        let render = mixdown(work.path(), &["render", path, "--cache", "cache", "--out", &out]);
        assert!(render.status.success(), "render {path}:\n{}", stderr(&render));
        let written = std::fs::read_dir(work.path().join(&out)).map_or(0, Iterator::count);
        assert!(written > 0, "render {path} wrote nothing into --out");
    }
}
