//! Running a set of nodes on a rayon pool as soon as their inputs are ready, longest
//! remaining path first, so that the chain that decides when the render ends (a reverb bus,
//! the master) starts as early as it can while short branches fill the other cores.
//!
//! When a node's one reader waits for nothing but that node, the two start together as a
//! pipeline, the reader taking each block as it is made (see `pipe`); so does that reader's
//! own reader, and so on. This turns the serial end of a render (the last bus, the master,
//! the output) into stages that run side by side, and lets a segment of a WAV album file
//! stream into its encode. Readers of a node's record alone (a cue sheet) run after it.
//!
//! Neither priority nor pipelines change what a node computes: it reads the same frames in
//! the same order whether they come from a finished cache entry or a pipe, so the output is
//! the same for any order and any thread count.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use petgraph::graph::NodeIndex;

use super::NodeError;
use super::cost::node_cost;
use super::pipe::{Link, pipe};
use crate::graph::{NodeKind, RenderGraph};

/// A node's result, in completion order.
pub type Outcome = (NodeIndex, Result<(), NodeError>);

/// Runs a node with its pipes.
pub type Run<'a> = dyn Fn(NodeIndex, Link) -> Result<(), NodeError> + Sync + 'a;

/// Runs every node of `nodes` (which must be closed under "inputs that also need running")
/// with `run`, on `pool`, forming pipelines when `pipelines` is set (the head of a
/// pipeline runs on the pool, its later stages on threads of their own). After the first
/// failure no new node starts; the ones running finish. Returns each node's outcome in
/// completion order.
pub fn dispatch(
    pool: &rayon::ThreadPool,
    graph: &RenderGraph,
    nodes: &[NodeIndex],
    pipelines: bool,
    run: &Run<'_>,
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
        graph,
        waiting_on,
        readers,
        priority,
        pipelines,
        ready: Mutex::new(BinaryHeap::new()),
        running: AtomicUsize::new(0),
        outcomes: Mutex::new(Vec::new()),
        stopped: AtomicBool::new(false),
    };
    pool.scope(|scope| {
        let initial: Vec<NodeIndex> = nodes
            .iter()
            .copied()
            .filter(|i| state.waiting_on[i].load(Ordering::Relaxed) == 0)
            .collect();
        for node in initial {
            state.push(node);
            scope.spawn(|s| take_one(s, &state, run));
        }
    });
    state.outcomes.into_inner().expect("no thread panicked holding the lock")
}

struct State<'g> {
    graph: &'g RenderGraph,
    /// Per node, how many of its inputs have not finished.
    waiting_on: BTreeMap<NodeIndex, AtomicUsize>,
    /// Per node, the nodes of the run that read it.
    readers: BTreeMap<NodeIndex, Vec<NodeIndex>>,
    priority: BTreeMap<NodeIndex, u64>,
    pipelines: bool,
    /// Ready nodes by priority (highest first), then by index for a fixed tie order.
    ready: Mutex<BinaryHeap<(u64, std::cmp::Reverse<usize>)>>,
    /// Pipelines running now.
    running: AtomicUsize,
    outcomes: Mutex<Vec<Outcome>>,
    stopped: AtomicBool,
}

impl State<'_> {
    fn push(&self, node: NodeIndex) {
        let mut ready = self.ready.lock().expect("no thread panicked holding the lock");
        ready.push((self.priority[&node], std::cmp::Reverse(node.index())));
    }

    /// `node`, then the reader of its audio as long as that reader is the only one in the
    /// run and waits for nothing else: the nodes that can run together as one pipeline.
    fn pipeline_from(&self, node: NodeIndex) -> Vec<NodeIndex> {
        let mut stages = vec![node];
        if !self.pipelines {
            return stages;
        }
        while let Some(&last) = stages.last()
            && let Some(reader) = self.only_audio_reader(last)
            && self.waiting_on[&reader].load(Ordering::Acquire) == 1
            && can_stream(self.graph, last, reader)
        {
            stages.push(reader);
        }
        stages
    }

    /// The one node of the run that reads `node`'s audio, if exactly one does.
    fn only_audio_reader(&self, node: NodeIndex) -> Option<NodeIndex> {
        let readers = self.readers.get(&node)?;
        let mut audio = readers.iter().filter(|r| self.graph.graph[**r].kind.reads_input_audio());
        match (audio.next(), audio.next()) {
            (Some(&reader), None) => Some(reader),
            _ => None,
        }
    }
}

/// Whether `reader` can take `producer`'s frames from a pipe: the producer is a track or a
/// sum (they render through one shared loop that feeds pipes) and the reader a sum or the
/// output, or the producer is a segment that streams into its encode; and the reader
/// opens the producer once.
fn can_stream(graph: &RenderGraph, producer: NodeIndex, reader: NodeIndex) -> bool {
    let mixes = matches!(graph.graph[producer].kind, NodeKind::Track { .. } | NodeKind::Sum { .. })
        && matches!(graph.graph[reader].kind, NodeKind::Sum { .. } | NodeKind::Output { .. });
    let encodes = matches!(graph.graph[producer].kind, NodeKind::Segment { .. })
        && graph.streams_without_entry(producer);
    let opens = graph.graph[reader].inputs.iter().filter(|&&i| i == producer).count();
    (mixes || encodes) && opens == 1
}

/// Runs the stages of a pipeline: the first on this thread, each later one on a thread of
/// its own, connected by pipes. `alone` says that nothing else runs or waits, which lets
/// the stages split their chains. Returns each stage's result, in stage order.
fn run_stages(stages: &[NodeIndex], alone: bool, run: &Run<'_>) -> Vec<Result<(), NodeError>> {
    let [first, rest @ ..] = stages else { return Vec::new() };
    let mut links: Vec<Link> = stages.iter().map(|_| Link { alone, ..Link::default() }).collect();
    for (k, pair) in stages.windows(2).enumerate() {
        let (sender, receiver) = pipe();
        links[k].to = Some(sender);
        links[k + 1].from = Some((pair[0], receiver));
    }
    let mut links = links.into_iter();
    let head = links.next().expect("one link per stage");
    std::thread::scope(|scope| {
        let later: Vec<_> = rest
            .iter()
            .zip(links)
            .map(|(&node, link)| scope.spawn(move || run(node, link)))
            .collect();
        let mut results = vec![run(*first, head)];
        results.extend(
            later
                .into_iter()
                .map(|stage| stage.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))),
        );
        results
    })
}

/// One task: takes the most urgent ready node, runs it (with any pipeline it heads), and
/// spawns a task for each reader that this made ready.
fn take_one<'s>(scope: &rayon::Scope<'s>, state: &'s State<'s>, run: &'s Run<'s>) {
    let (next, none_waiting) = {
        let mut ready = state.ready.lock().expect("no thread panicked holding the lock");
        let next = ready.pop();
        (next, ready.is_empty())
    };
    let Some((_, std::cmp::Reverse(index))) = next else { return };
    if state.stopped.load(Ordering::Acquire) {
        return;
    }
    let stages = state.pipeline_from(NodeIndex::new(index));
    // A split chain needs threads beyond the pool, as pipelines do: with `-j 1`, which has
    // no pipelines, nothing is ever alone, so that setting stays strictly serial.
    let others_running = state.running.fetch_add(1, Ordering::AcqRel);
    let alone = state.pipelines && none_waiting && others_running == 0;
    let results = run_stages(&stages, alone, run);
    state.running.fetch_sub(1, Ordering::AcqRel);
    let ok = results.iter().all(Result::is_ok);
    if !ok {
        state.stopped.store(true, Ordering::Release);
    }
    state
        .outcomes
        .lock()
        .expect("no thread panicked holding the lock")
        .extend(stages.iter().copied().zip(results));
    if !ok {
        return;
    }
    for &node in &stages {
        let outside =
            state.readers.get(&node).into_iter().flatten().filter(|r| !stages.contains(r));
        for &reader in outside {
            if state.waiting_on[&reader].fetch_sub(1, Ordering::AcqRel) == 1 {
                state.push(reader);
                scope.spawn(move |s| take_one(s, state, run));
            }
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
        longest.insert(i, node_cost(&graph.graph[i].kind) + after);
    }
    longest
}
