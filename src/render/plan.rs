//! Planning: walk back from the target and keep every node whose output is not already in
//! the cache. A cached node cuts the walk, so nothing upstream of it is even looked at.
//!
//! With a remote cache, the walk is made twice: the entries the local cache lacks are
//! looked up in the remote all at once, and the second walk stops at those it holds.

use std::collections::BTreeSet;
use std::path::Path;

use petgraph::graph::NodeIndex;

use super::output::Delivery;
use crate::audio::decode::Decoder;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::measurement;
use crate::cache::output_record::OutputRecord;
use crate::cache::store::Store;
use crate::graph::{NodeKind, RenderGraph};

/// What will happen to one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStep {
    /// Its output is cached.
    Cached,
    /// It must run.
    Render,
    /// A source file read directly (no resampling needed).
    Direct,
}

/// The nodes a render must run, in dependency order, and what it found cached.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Node → what happens to it, for every node the walk reached.
    pub steps: Vec<(NodeIndex, PlanStep)>,
    /// Source nodes whose audio comes from the cache (they need resampling).
    pub materialized: BTreeSet<NodeIndex>,
}

impl Plan {
    /// Nodes to run, in dependency order.
    #[must_use]
    pub fn to_render(&self) -> Vec<NodeIndex> {
        self.steps.iter().filter(|(_, s)| *s == PlanStep::Render).map(|(i, _)| *i).collect()
    }
}

impl Plan {
    /// The keys of cached nodes whose entries a node of the plan reads: what must be at
    /// hand locally before the render starts.
    #[must_use]
    pub fn entries_read(&self, graph: &RenderGraph, keys: &Keys) -> Vec<crate::cache::Key> {
        let step = |i: NodeIndex| self.steps.iter().find(|(j, _)| *j == i).map(|(_, s)| *s);
        let mut read: BTreeSet<NodeIndex> = BTreeSet::new();
        for i in self.to_render() {
            let inputs = graph.graph[i].inputs.iter();
            // An analysis keeps a record, not an entry.
            let entries =
                inputs.filter(|&&j| !matches!(graph.graph[j].kind, NodeKind::AlbumAnalysis { .. }));
            read.extend(entries.filter(|&&j| step(j) == Some(PlanStep::Cached)));
        }
        read.into_iter().map(|i| keys.key(i)).collect()
    }
}

/// Plans the render of `targets`. `cache` holds the records of delivered files.
#[must_use]
pub fn plan(
    graph: &RenderGraph,
    keys: &Keys,
    store: &Store,
    cache: &CacheDir,
    delivery: &Delivery,
    targets: &[NodeIndex],
) -> Plan {
    let local = walk(graph, keys, store, cache, delivery, targets);
    if store.remote().is_none() {
        return local;
    }
    // An output's file is recorded, not kept as an entry: there is nothing to look up.
    let missing: Vec<_> = local
        .to_render()
        .into_iter()
        .filter(|&i| {
            !matches!(
                graph.graph[i].kind,
                NodeKind::Output { .. } | NodeKind::AlbumAnalysis { .. } | NodeKind::Cue { .. }
            )
        })
        .map(|i| keys.key(i))
        .collect();
    store.look_up_remote(&missing);
    walk(graph, keys, store, cache, delivery, targets)
}

/// One walk back from `targets`, stopping at what `store` holds.
fn walk(
    graph: &RenderGraph,
    keys: &Keys,
    store: &Store,
    cache: &CacheDir,
    delivery: &Delivery,
    targets: &[NodeIndex],
) -> Plan {
    let mut reached: BTreeSet<NodeIndex> = BTreeSet::new();
    let mut steps = std::collections::BTreeMap::new();
    let mut materialized = BTreeSet::new();
    let mut stack = targets.to_vec();
    while let Some(i) = stack.pop() {
        if !reached.insert(i) {
            continue;
        }
        let node = &graph.graph[i];
        let step = match &node.kind {
            NodeKind::Output { name, .. } => {
                let file_key = delivery.file_key(keys.key(i));
                if OutputRecord::is_fresh(cache, &delivery.path(name), file_key) {
                    PlanStep::Cached
                } else {
                    PlanStep::Render
                }
            }
            NodeKind::Deliver { target, file_name, .. }
            | NodeKind::Cue { target, file_name, .. } => {
                let path = delivery.target_path(target, file_name);
                if OutputRecord::is_fresh(cache, &path, keys.key(i)) {
                    PlanStep::Cached
                } else {
                    PlanStep::Render
                }
            }
            NodeKind::AlbumAnalysis { .. } => {
                if measurement::exists(cache, keys.key(i)) {
                    PlanStep::Cached
                } else {
                    PlanStep::Render
                }
            }
            NodeKind::Source { file } => {
                if needs_resampling(file, node.sample_rate) {
                    materialized.insert(i);
                    if store.contains(&keys.key(i)) { PlanStep::Cached } else { PlanStep::Render }
                } else {
                    PlanStep::Direct
                }
            }
            _ => {
                if store.contains(&keys.key(i)) {
                    PlanStep::Cached
                } else {
                    PlanStep::Render
                }
            }
        };
        if step == PlanStep::Render {
            stack.extend(node.inputs.iter().copied());
        }
        steps.insert(i, step);
    }
    let order = graph.topological_order();
    let steps = order.into_iter().filter_map(|i| steps.get(&i).map(|s| (i, *s))).collect();
    Plan { steps, materialized }
}

/// Whether a source file's rate differs from the render's. A file that cannot be opened is
/// read directly, so the decode error surfaces with its path when the track runs.
fn needs_resampling(file: &Path, rate: u32) -> bool {
    Decoder::open(file).is_ok_and(|d| crate::audio::Source::sample_rate(&d) != rate)
}
