//! The committed JSON Schema matches the one generated from the types.

use std::path::{Path, PathBuf};

use crate::support::{mixdown, root};

#[test]
fn the_committed_schema_matches_the_types() {
    let out = mixdown(&root(), &["schema"]);
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed =
        std::fs::read_to_string(root().join("schemas/mix.schema.json")).unwrap_or_default();
    assert!(
        generated == committed,
        "schemas/mix.schema.json is stale: run `cargo run -- schema > schemas/mix.schema.json`"
    );
}

#[test]
fn the_committed_album_schema_matches_the_types() {
    let out = mixdown(&root(), &["schema", "album"]);
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed =
        std::fs::read_to_string(root().join("schemas/album.schema.json")).unwrap_or_default();
    assert!(
        generated == committed,
        "schemas/album.schema.json is stale: run \
         `cargo run -- schema album > schemas/album.schema.json`"
    );
    assert_ne!(generated, String::from_utf8(mixdown(&root(), &["schema"]).stdout).unwrap());
}

/// The `$schema=` target of every `# yaml-language-server:` modeline under `dir`, with the
/// file it is in.
fn modelines(dir: &Path, into: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            modelines(&path, into);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                if let Some(target) = line
                    .strip_prefix('#')
                    .map(str::trim)
                    .and_then(|l| l.strip_prefix("yaml-language-server:"))
                    .and_then(|l| l.trim().strip_prefix("$schema="))
                {
                    into.push((path.clone(), target.trim().to_string()));
                }
            }
        }
    }
}

#[test]
fn every_modeline_in_the_examples_resolves_to_a_schema_in_the_repository() {
    let schemas = root().join("schemas").canonicalize().unwrap();
    let mut found = Vec::new();
    modelines(&root().join("examples"), &mut found);
    assert!(!found.is_empty(), "the examples should name their schema");
    for (file, target) in found {
        let resolved = file.parent().unwrap().join(&target);
        let resolved = resolved.canonicalize().unwrap_or_else(|_| {
            panic!("{}: the modeline's schema `{target}` does not exist", file.display())
        });
        assert!(
            resolved.starts_with(&schemas),
            "{}: the modeline's schema `{target}` lies outside schemas/",
            file.display()
        );
    }
}
