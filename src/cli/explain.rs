//! `mixdown explain`: say whether a node is cached and, if not, which ingredients of its key
//! changed since it last rendered.

use std::path::PathBuf;
use std::time::SystemTime;

use serde_json::Value;

use super::compile::compile;
use super::render_cmd::compute_keys;
use super::{CacheArgs, DEFAULT_PROJECT, EXIT_FAILURE, EXIT_INVALID, EXIT_OK};
use crate::cache::folder::CacheDir;
use crate::cache::latest_render::LatestRender;
use crate::cache::output_record::OutputRecord;
use crate::cache::store::Store;
use crate::diag::did_you_mean;
use crate::graph::{NodeKind, OutputFormat};

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The node id, as `mixdown graph` prints it.
    node: String,
    /// The mix file.
    #[arg(default_value = DEFAULT_PROJECT)]
    file: PathBuf,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> i32 {
    let Ok(compiled) = compile(&args.file, "out".as_ref(), OutputFormat::Pcm24) else {
        return EXIT_INVALID;
    };
    let graph = &compiled.graph;
    let Some(node) = graph.find(&args.node) else {
        let ids: Vec<&str> = graph.graph.node_weights().map(|n| n.id.as_str()).collect();
        let hint = did_you_mean(&args.node, ids.iter().copied()).map_or_else(
            || format!("known nodes: {}", ids.join(", ")),
            |s| format!("did you mean `{s}`?"),
        );
        eprintln!("error: no node `{}` in this mix\n  = help: {hint}", args.node);
        return EXIT_INVALID;
    };
    let cache = CacheDir::new(&args.cache.dir);
    let store = Store::local(&cache);
    let keys = match compute_keys(&compiled, &args.cache.dir, SystemTime::now()) {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    let key = keys.key(node);
    let current = serde_json::to_value(keys.material(node)).expect("key material serializes");
    println!("node {}\nkey  {key}", args.node);
    let fresh = |i: petgraph::graph::NodeIndex| match &graph.graph[i].kind {
        NodeKind::Output { path, .. } => OutputRecord::is_fresh(&cache, path, keys.key(i)),
        _ => store.contains(&keys.key(i)),
    };
    let streamed = graph.is_plain_sum_for_output(node);
    if fresh(node) {
        println!("cached: nothing it depends on has changed");
        return EXIT_OK;
    }
    let previous = LatestRender::read(&cache, &args.node);
    match previous {
        None => println!("will render: it has not been rendered with this cache before"),
        Some(previous) if previous.key == key.to_string() => {
            if !streamed {
                println!("will render: its entry has left the cache (`cache gc`, `cache clear`)");
            } else if fresh(graph.output) {
                println!(
                    "up to date in the output file: it streams into the file and keeps no cache entry"
                );
            } else {
                println!("will render with the output file, which it streams into");
            }
        }
        Some(previous) => {
            println!("will render: its key changed since the last render");
            let mut changes = Vec::new();
            diff("", &previous.material, &current, &mut changes);
            for change in changes {
                println!("  {change}");
            }
        }
    }
    EXIT_OK
}

/// Lists the JSON paths where `old` and `new` differ.
fn diff(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for name in names {
                let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                match (a.get(name), b.get(name)) {
                    (Some(x), Some(y)) => diff(&child, x, y, out),
                    (Some(x), None) => out.push(format!("{child}: {x} → (removed)")),
                    (None, Some(y)) => out.push(format!("{child}: (added) → {y}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if old != new => {
            let what = if path.starts_with("inputs") { "an input changed" } else { "changed" };
            out.push(format!("{path}: {what}: {old} → {new}"));
        }
        _ => {}
    }
}
