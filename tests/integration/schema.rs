//! The committed JSON Schema matches the one generated from the types.

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
