//! Building the render graph from a resolved mix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use petgraph::graph::{DiGraph, NodeIndex};

use super::{Feed, Node, NodeKind, OutputFormat, RenderGraph};
use crate::dsp::chain::step::Step;
use crate::ir::{Mix, Target, TrackInput};
use crate::units::{Decibels, Param};

/// Builds the graph that renders `mix` to `out_dir/<mix id>.wav`.
#[must_use]
pub fn build(mix: &Mix, out_dir: &Path, format: OutputFormat) -> RenderGraph {
    let mut b =
        Builder { mix, graph: DiGraph::new(), sources: BTreeMap::new(), named: BTreeMap::new() };
    let master = b.sum_node("master");
    let output_id = format!("{}/output", mix.id);
    let output = b.add(
        output_id,
        NodeKind::Output {
            path: out_dir.join(format!("{}.wav", mix.id)),
            format,
            length: mix.length,
        },
        vec![master],
    );
    RenderGraph { graph: b.graph, output, sample_rate: mix.sample_rate }
}

struct Builder<'a> {
    mix: &'a Mix,
    graph: DiGraph<Node, ()>,
    sources: BTreeMap<PathBuf, NodeIndex>,
    named: BTreeMap<String, NodeIndex>,
}

/// What feeds a sum, before it becomes a node input.
struct Incoming {
    from: String,
    feed: Feed,
}

impl Builder<'_> {
    fn add(&mut self, id: String, kind: NodeKind, inputs: Vec<NodeIndex>) -> NodeIndex {
        let index = self.graph.add_node(Node { id, kind, inputs: inputs.clone() });
        for input in inputs {
            self.graph.add_edge(input, index, ());
        }
        index
    }

    fn source(&mut self, file: &Path) -> NodeIndex {
        if let Some(&i) = self.sources.get(file) {
            return i;
        }
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("audio");
        let mut id = format!("{}/source/{name}", self.mix.id);
        if self.graph.node_weights().any(|n| n.id == id) {
            id = format!("{id}#{}", self.sources.len());
        }
        let i = self.add(id, NodeKind::Source { file: file.to_path_buf() }, Vec::new());
        self.sources.insert(file.to_path_buf(), i);
        i
    }

    /// The node of a named track or bus, building it (and what it reads) on first use.
    fn named_node(&mut self, name: &str) -> NodeIndex {
        if let Some(&i) = self.named.get(name) {
            return i;
        }
        let i = if let Some(track) = self.mix.tracks.iter().find(|t| t.name == name) {
            let (clips, mut inputs) = match &track.input {
                TrackInput::Source(file) => (None, vec![self.source(file)]),
                TrackInput::Clips(clips) => {
                    (Some(clips.clone()), clips.iter().map(|c| self.source(&c.file)).collect())
                }
            };
            let sidechains = self.sidechains(&track.chain, &mut inputs);
            self.add(
                format!("{}/track/{name}", self.mix.id),
                NodeKind::Track {
                    clips,
                    polarity: track.polarity,
                    chain: track.chain.clone(),
                    sidechains,
                },
                inputs,
            )
        } else {
            self.sum_node(name)
        };
        self.named.insert(name.to_string(), i);
        i
    }

    fn sidechains(&mut self, chain: &[Step], inputs: &mut Vec<NodeIndex>) -> Vec<String> {
        let mut names = Vec::new();
        for step in chain {
            step.collect_sidechains(&mut names);
        }
        let mut unique: Vec<String> = Vec::new();
        for name in names {
            if !unique.iter().any(|u| u == name) {
                unique.push(name.to_string());
            }
        }
        for name in &unique {
            inputs.push(self.named_node(name));
        }
        unique
    }

    /// A bus (or the master, `name == "master"`): everything routed or sent to it.
    fn sum_node(&mut self, name: &str) -> NodeIndex {
        let target = if name == "master" { Target::Master } else { Target::Bus(name.to_string()) };
        let mut incoming: Vec<Incoming> = Vec::new();
        let tracks = self
            .mix
            .tracks
            .iter()
            .filter(|t| t.audible)
            .map(|t| (&t.name, &t.to, &t.fader, &t.sends));
        let buses = self
            .mix
            .buses
            .iter()
            .filter(|b| b.audible)
            .map(|b| (&b.name, &b.to, &b.fader, &b.sends));
        for (from, to, fader, sends) in tracks.chain(buses) {
            if *to == target {
                incoming.push(Incoming {
                    from: from.clone(),
                    feed: Feed { gains: vec![fader.gain.clone()], pan: Some(fader.pan.clone()) },
                });
            }
            for send in sends.iter().filter(|s| Target::Bus(s.to.clone()) == target) {
                let feed = if send.pre_fader {
                    Feed { gains: vec![send.level.clone()], pan: None }
                } else {
                    Feed {
                        gains: vec![fader.gain.clone(), send.level.clone()],
                        pan: Some(fader.pan.clone()),
                    }
                };
                incoming.push(Incoming { from: from.clone(), feed });
            }
        }
        let (gain, chain) = match &target {
            Target::Master => (self.mix.master.gain.clone(), self.mix.master.chain.clone()),
            Target::Bus(b) => {
                let bus = self
                    .mix
                    .buses
                    .iter()
                    .find(|x| x.name == *b)
                    .expect("lowering checked bus names");
                (Param::Constant(Decibels(0.0)), bus.chain.clone())
            }
        };
        let mut inputs: Vec<NodeIndex> =
            incoming.iter().map(|i| self.named_node(&i.from)).collect();
        let feeds = incoming.into_iter().map(|i| i.feed).collect();
        let sidechains = self.sidechains(&chain, &mut inputs);
        let id = match &target {
            Target::Master => format!("{}/master", self.mix.id),
            Target::Bus(b) => format!("{}/bus/{b}", self.mix.id),
        };
        self.add(id, NodeKind::Sum { feeds, gain, chain, sidechains }, inputs)
    }
}
