//! Snapshots of the render graph of each example project.

use crate::snapshot;
use crate::support::{mixdown, root};

fn plan(file: &str, format: &str) -> String {
    let out = mixdown(&root(), &["graph", file, "--format", format]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn first_light_compiles_to_its_plan() {
    snapshot!("graph-first-light", plan("examples/songs/first-light.yaml", "text"));
}

#[test]
fn tidewater_compiles_to_its_plan() {
    snapshot!("graph-tidewater", plan("examples/songs/tidewater.yaml", "text"));
}

#[test]
fn the_dot_output_names_every_edge() {
    snapshot!("graph-tidewater-dot", plan("examples/songs/tidewater.yaml", "dot"));
}
