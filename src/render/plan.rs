//! Planning: walk back from the target and keep every node whose output is not already in
//! the cache. A cached node cuts the walk, so nothing upstream of it is even looked at.
//!
//! With a remote cache, the walk is made twice: the entries the local cache lacks are
//! looked up in the remote all at once, and the second walk stops at those it holds. A
//! node that keeps a record beside its entry (see [`keeps_record`]) counts as held there
//! when the remote has its record, and a segment counts as held here when its record is:
//! its audio may have streamed into its encode without an entry
//! ([`RenderGraph::streams_without_entry`]), and a cue sheet reads only the record. If a
//! node that runs reads such a node's audio and no cache has it, the walk is made again
//! with that node rendered.

use std::collections::BTreeSet;
use std::path::Path;

use petgraph::graph::NodeIndex;

use super::output::Delivery;
use crate::audio::decode::Decoder;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::measurement;
use crate::cache::output_record::OutputRecord;
use crate::cache::remote::record_object;
use crate::cache::store::Store;
use crate::graph::{NodeKind, RenderGraph};

/// Whether a node of this kind keeps a record (its measurement, an analysis's decisions)
/// under its key beside its entry, which the nodes after it or the render's report read.
/// An output keeps the measurement of the audio it writes.
#[must_use]
pub fn keeps_record(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Output { .. }
            | NodeKind::Segment { .. }
            | NodeKind::Normalise { .. }
            | NodeKind::Encode { .. }
            | NodeKind::AlbumEncode { .. }
            | NodeKind::AlbumAnalysis { .. }
    )
}

/// Whether a node of this kind keeps an entry under its key: audio, or an encoded stream.
/// An output, a deliverable's file and a cue sheet write files; an analysis and a trial
/// segment keep only their records; a source is read where it is, unless it is brought to
/// another rate.
#[must_use]
pub fn keeps_entry(kind: &NodeKind) -> bool {
    !matches!(
        kind,
        NodeKind::Output { .. }
            | NodeKind::Deliver { .. }
            | NodeKind::Cue { .. }
            | NodeKind::AlbumAnalysis { .. }
            | NodeKind::Segment { trial: true, .. }
            | NodeKind::Source { .. }
    )
}

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
    /// The nodes the walk started from.
    pub targets: Vec<NodeIndex>,
}

impl Plan {
    /// Nodes to run, in dependency order.
    #[must_use]
    pub fn to_render(&self) -> Vec<NodeIndex> {
        self.steps.iter().filter(|(_, s)| *s == PlanStep::Render).map(|(i, _)| *i).collect()
    }
}

impl Plan {
    /// The keys of cached nodes whose entries a node of the plan or the caller reads: what
    /// must be at hand locally before the render starts.
    #[must_use]
    pub fn entries_read(&self, graph: &RenderGraph, keys: &Keys) -> Vec<crate::cache::Key> {
        self.entry_inputs(graph).into_iter().map(|i| keys.key(i)).collect()
    }

    /// The cached nodes whose entries a node of the plan reads, and the cached targets
    /// that keep one (which the caller reads: an asserted track, `--only`'s node).
    fn entry_inputs(&self, graph: &RenderGraph) -> BTreeSet<NodeIndex> {
        let step = |i: NodeIndex| self.steps.iter().find(|(j, _)| *j == i).map(|(_, s)| *s);
        let mut read: BTreeSet<NodeIndex> = self
            .targets
            .iter()
            .copied()
            .filter(|&t| step(t) == Some(PlanStep::Cached) && keeps_entry(&graph.graph[t].kind))
            .collect();
        let reads_audio = |i: &NodeIndex| graph.graph[*i].kind.reads_input_audio();
        for i in self.to_render().into_iter().filter(reads_audio) {
            let inputs = graph.graph[i].inputs.iter();
            // An analysis keeps a record, not an entry.
            let entries =
                inputs.filter(|&&j| !matches!(graph.graph[j].kind, NodeKind::AlbumAnalysis { .. }));
            read.extend(entries.filter(|&&j| step(j) == Some(PlanStep::Cached)));
        }
        read
    }

    /// The keys of cached nodes whose records only the remote holds: what must be brought
    /// here before anything reads them (the nodes after them, the render's report). An
    /// output that writes its file counts too: the measurement of the audio its key names
    /// stands, so it writes without measuring.
    #[must_use]
    pub fn records_wanted(
        &self,
        graph: &RenderGraph,
        keys: &Keys,
        store: &Store,
        cache: &CacheDir,
    ) -> Vec<crate::cache::Key> {
        self.steps
            .iter()
            .filter(|(i, step)| {
                let kind = &graph.graph[*i].kind;
                keeps_record(kind)
                    && (*step == PlanStep::Cached || matches!(kind, NodeKind::Output { .. }))
            })
            .map(|(i, _)| keys.key(*i))
            .filter(|key| {
                !measurement::exists(cache, *key) && store.remote_has(&record_object(key))
            })
            .collect()
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
    if store.remote().is_some() {
        let local = walk(graph, keys, store, cache, delivery, targets, &BTreeSet::new());
        // Files (an output's, a deliverable's) are recorded here, never kept in the remote.
        let mut missing = Vec::new();
        for i in local.to_render() {
            let kind = &graph.graph[i].kind;
            let key = keys.key(i);
            if keeps_entry(kind) {
                missing.push(key);
            }
            if keeps_record(kind) {
                missing.push(record_object(&key));
            }
        }
        store.look_up_remote(&missing);
    }
    // A node held by its record alone (a segment's audio that streamed into its encode, or
    // that the remote does not keep) renders when a node of the plan reads its audio after
    // all.
    let mut forced = BTreeSet::new();
    loop {
        let plan = walk(graph, keys, store, cache, delivery, targets, &forced);
        let absent: Vec<NodeIndex> = plan
            .entry_inputs(graph)
            .into_iter()
            .filter(|&i| !store.holds_here(&keys.key(i)) && !store.remote_has(&keys.key(i)))
            .collect();
        if absent.is_empty() {
            return plan;
        }
        forced.extend(absent);
    }
}

/// One walk back from `targets`, stopping at what `store` holds, except at the nodes in
/// `forced`.
fn walk(
    graph: &RenderGraph,
    keys: &Keys,
    store: &Store,
    cache: &CacheDir,
    delivery: &Delivery,
    targets: &[NodeIndex],
    forced: &BTreeSet<NodeIndex>,
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
            NodeKind::AlbumAnalysis { .. } | NodeKind::Segment { trial: true, .. } => {
                let key = keys.key(i);
                if measurement::exists(cache, key) || store.remote_has(&record_object(&key)) {
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
            kind => {
                if !forced.contains(&i) && held(store, cache, kind, &keys.key(i)) {
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
    Plan { steps, materialized, targets: targets.to_vec() }
}

/// Whether the output of a node of `kind` keyed `key` is at hand: its entry kept here, a
/// segment's record kept here, or in the remote as a look-up found its entry or, for a
/// node that keeps a record, its record (whether its audio is needed, and where it is, is
/// settled by [`plan`]).
fn held(store: &Store, cache: &CacheDir, kind: &NodeKind, key: &crate::cache::Key) -> bool {
    store.holds_here(key)
        || (matches!(kind, NodeKind::Segment { .. }) && measurement::exists(cache, *key))
        || if keeps_record(kind) {
            store.remote_has(&record_object(key))
        } else {
            store.remote_has(key)
        }
}

/// Whether a source file's rate differs from the render's. A file that cannot be opened is
/// read directly, so the decode error surfaces with its path when the track runs.
fn needs_resampling(file: &Path, rate: u32) -> bool {
    Decoder::open(file).is_ok_and(|d| crate::audio::Source::sample_rate(&d) != rate)
}
