//! Running a set of nodes on a rayon pool as soon as their inputs are ready, longest
//! remaining path first, so that the chain that decides when the render ends (a reverb bus,
//! the master) starts as early as it can while short branches fill the other cores.
//!
//! Priority only changes when a node runs, never what it computes: every node reads its
//! inputs from finished cache entries, so the output is the same for any order.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use petgraph::graph::NodeIndex;

use super::NodeError;
use crate::dsp::step::Step;
use crate::graph::{NodeKind, RenderGraph};

/// A node's result, in completion order.
pub type Outcome = (NodeIndex, Result<(), NodeError>);

/// Runs every node of `nodes` (which must be closed under "inputs that also need running")
/// with `run`, on `pool`. After the first failure no new node starts; the ones running
/// finish. Returns each node's outcome in completion order.
pub fn dispatch(
    pool: &rayon::ThreadPool,
    graph: &RenderGraph,
    nodes: &[NodeIndex],
    run: &(dyn Fn(NodeIndex) -> Result<(), NodeError> + Sync),
) -> Vec<Outcome> {
    let members: BTreeSet<NodeIndex> = nodes.iter().copied().collect();
    let waiting_on: BTreeMap<NodeIndex, AtomicUsize> = nodes
        .iter()
        .map(|&i| {
            let pending = graph.graph[i].inputs.iter().filter(|j| members.contains(j)).count();
            (i, AtomicUsize::new(pending))
        })
        .collect();
    let mut readers: BTreeMap<NodeIndex, Vec<NodeIndex>> = BTreeMap::new();
    for &i in nodes {
        for j in graph.graph[i].inputs.iter().filter(|j| members.contains(j)) {
            readers.entry(*j).or_default().push(i);
        }
    }
    let priority = critical_paths(graph, nodes, &readers);
    let state = State {
        ready: Mutex::new(BinaryHeap::new()),
        outcomes: Mutex::new(Vec::new()),
        stopped: AtomicBool::new(false),
    };
    pool.scope(|scope| {
        let initial: Vec<NodeIndex> =
            nodes.iter().copied().filter(|i| waiting_on[i].load(Ordering::Relaxed) == 0).collect();
        for node in initial {
            state.push(node, &priority);
            scope.spawn(|s| take_one(s, &state, &waiting_on, &readers, &priority, run));
        }
    });
    state.outcomes.into_inner().expect("no thread panicked holding the lock")
}

struct State {
    /// Ready nodes by priority (highest first), then by index for a fixed tie order.
    ready: Mutex<BinaryHeap<(u64, std::cmp::Reverse<usize>)>>,
    outcomes: Mutex<Vec<Outcome>>,
    stopped: AtomicBool,
}

impl State {
    fn push(&self, node: NodeIndex, priority: &BTreeMap<NodeIndex, u64>) {
        let mut ready = self.ready.lock().expect("no thread panicked holding the lock");
        ready.push((priority[&node], std::cmp::Reverse(node.index())));
    }
}

/// One task: takes the most urgent ready node, runs it, and spawns a task for each reader
/// that it made ready.
fn take_one<'s>(
    scope: &rayon::Scope<'s>,
    state: &'s State,
    waiting_on: &'s BTreeMap<NodeIndex, AtomicUsize>,
    readers: &'s BTreeMap<NodeIndex, Vec<NodeIndex>>,
    priority: &'s BTreeMap<NodeIndex, u64>,
    run: &'s (dyn Fn(NodeIndex) -> Result<(), NodeError> + Sync),
) {
    let next = state.ready.lock().expect("no thread panicked holding the lock").pop();
    let Some((_, std::cmp::Reverse(index))) = next else { return };
    if state.stopped.load(Ordering::Acquire) {
        return;
    }
    let node = NodeIndex::new(index);
    let result = run(node);
    let ok = result.is_ok();
    if !ok {
        state.stopped.store(true, Ordering::Release);
    }
    state.outcomes.lock().expect("no thread panicked holding the lock").push((node, result));
    if !ok {
        return;
    }
    for &reader in readers.get(&node).into_iter().flatten() {
        if waiting_on[&reader].fetch_sub(1, Ordering::AcqRel) == 1 {
            state.push(reader, priority);
            scope.spawn(move |s| take_one(s, state, waiting_on, readers, priority, run));
        }
    }
}

/// For each node, its own estimated cost plus the costliest path from it to the end.
fn critical_paths(
    graph: &RenderGraph,
    nodes: &[NodeIndex],
    readers: &BTreeMap<NodeIndex, Vec<NodeIndex>>,
) -> BTreeMap<NodeIndex, u64> {
    let mut longest: BTreeMap<NodeIndex, u64> = BTreeMap::new();
    let order = graph.topological_order();
    for i in order.into_iter().rev().filter(|i| nodes.contains(i)) {
        let after = readers.get(&i).into_iter().flatten().map(|r| longest[r]).max().unwrap_or(0);
        longest.insert(i, cost(&graph.graph[i].kind) + after);
    }
    longest
}

/// A rough relative cost per frame of running a node, from measured processor speeds.
fn cost(kind: &NodeKind) -> u64 {
    match kind {
        NodeKind::Source { .. } => 10,
        NodeKind::Track { chain, .. } => 4 + chain.iter().map(step_cost).sum::<u64>(),
        NodeKind::Sum { feeds, chain, .. } => {
            2 + feeds.len() as u64 + chain.iter().map(step_cost).sum::<u64>()
        }
        NodeKind::Output { .. } => 3,
    }
}

fn step_cost(step: &Step) -> u64 {
    match step {
        Step::Parallel(branches) => branches.iter().flatten().map(step_cost).sum(),
        Step::Eq(bands) => 2 * bands.0.len() as u64,
        other => match other.kind() {
            "reverb" => 25,
            "saturate" => 30,
            "convolution" | "limiter" => 10,
            "chorus" => 6,
            "compressor" | "gate" | "expander" | "deesser" => 5,
            "gain" | "polarity" | "width" => 1,
            _ => 2,
        },
    }
}
