//! The render graph: a petgraph DAG of nodes (sources, tracks, sums, the output), built from
//! a resolved mix. Node identity is a stable path string (`first-light/track/vox`); petgraph
//! indices never leave a run.
//!
//! Faders, pans, sends and gain automation belong to the sum that consumes them, so a fader
//! move changes only the sums downstream.

mod build;
mod print;

use std::path::PathBuf;

use petgraph::graph::{DiGraph, NodeIndex};

pub use build::build;
pub use print::{to_dot, to_text};

use crate::dsp::chain::step::Step;
use crate::ir::{Clip, Length};
use crate::units::{Decibels, Pan, Param, Polarity};

/// The render graph of one mix.
#[derive(Debug, Clone)]
pub struct RenderGraph {
    /// Edges point from an input to the node that reads it.
    pub graph: DiGraph<Node, ()>,
    /// The node that writes the mix file.
    pub output: NodeIndex,
    /// Frames per second of every node.
    pub sample_rate: u32,
}

impl RenderGraph {
    /// The node with the stable id `id`.
    #[must_use]
    pub fn find(&self, id: &str) -> Option<NodeIndex> {
        self.graph.node_indices().find(|&i| self.graph[i].id == id)
    }

    /// Every file the render reads: sources, and the impulse responses of convolution steps.
    #[must_use]
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for node in self.graph.node_weights() {
            match &node.kind {
                NodeKind::Source { file } => files.push(file.clone()),
                NodeKind::Track { chain, .. } | NodeKind::Sum { chain, .. } => {
                    for step in chain {
                        step.collect_files(&mut files);
                    }
                }
                NodeKind::Output { .. } => {}
            }
        }
        files
    }

    /// Whether `node` is a sum without a chain that only the output reads: the master of a
    /// mix with no master chain. The output file already holds its audio, so when the two
    /// run as a pipeline it keeps no cache entry: the entry would be read only to write the
    /// file again (another format, a deleted file), and summing the inputs again for that
    /// costs less than storing a song-length entry on every edit.
    #[must_use]
    pub fn is_plain_sum_for_output(&self, node: NodeIndex) -> bool {
        let plain =
            matches!(&self.graph[node].kind, NodeKind::Sum { chain, .. } if chain.is_empty());
        let mut readers = self.graph.neighbors_directed(node, petgraph::Direction::Outgoing);
        plain && readers.all(|reader| reader == self.output)
    }

    /// Nodes in an order where every input comes before its readers: by depth (sources
    /// first, the output last), then by id, so listings read the same every time.
    #[must_use]
    pub fn topological_order(&self) -> Vec<NodeIndex> {
        let order = petgraph::algo::toposort(&self.graph, None).expect("lowering rejects cycles");
        let mut depth = vec![0usize; self.graph.node_count()];
        for &i in &order {
            depth[i.index()] =
                self.graph[i].inputs.iter().map(|j| depth[j.index()] + 1).max().unwrap_or(0);
        }
        let mut sorted = order;
        sorted.sort_by(|a, b| {
            (depth[a.index()], &self.graph[*a].id).cmp(&(depth[b.index()], &self.graph[*b].id))
        });
        sorted
    }
}

/// One unit of rendering and caching.
#[derive(Debug, Clone)]
pub struct Node {
    /// Stable identity (`first-light/track/vox`).
    pub id: String,
    /// What the node computes; `inputs` are the nodes it reads, in a fixed order.
    pub kind: NodeKind,
    /// Inputs in declaration order; keys fold them in this order.
    pub inputs: Vec<NodeIndex>,
}

/// What a node does.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// An audio file, decoded and brought to the project rate.
    Source {
        /// The file (absolute; never part of a key).
        file: PathBuf,
    },
    /// A track: its audio on the timeline, polarity, then its chain. Inputs: the sources
    /// (one per clip, or the one source), then the sidechain keys.
    Track {
        /// How sources are placed; `None` plays the single source from time zero.
        clips: Option<Vec<Clip>>,
        /// Polarity before the chain.
        polarity: Polarity,
        /// The processing.
        chain: Vec<Step>,
        /// Names of the sidechain inputs, which follow the sources in `inputs`.
        sidechains: Vec<String>,
    },
    /// A bus or the master: a weighted sum of its inputs, then a chain. Inputs: one per
    /// `SumInput`, then the sidechain keys.
    Sum {
        /// How each input is weighted and panned.
        feeds: Vec<Feed>,
        /// Gain after the sum, before the chain (the master's `gain`).
        gain: Param<Decibels>,
        /// The processing.
        chain: Vec<Step>,
        /// Names of the sidechain inputs, which follow the feeds in `inputs`.
        sidechains: Vec<String>,
    },
    /// Writes the master to a WAV file. Input: the master sum.
    Output {
        /// Where the file goes.
        path: PathBuf,
        /// Sample format.
        format: OutputFormat,
        /// How long the file runs.
        length: Length,
    },
}

/// How one input enters a sum: the gains multiply (a fader, then a send level) and the pan
/// is applied last, if any.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Feed {
    /// Gains applied to the input, in order.
    pub gains: Vec<Param<Decibels>>,
    /// Stereo position; `None` for a pre-fader send, which bypasses the pan.
    pub pan: Option<Param<Pan>>,
}

/// The sample format of the rendered mix file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// 16-bit PCM.
    Pcm16,
    /// 24-bit PCM (the default).
    Pcm24,
    /// 32-bit float.
    Float32,
}
