//! Building the render graph from resolved mixes. One graph can hold several mixes, each
//! under its own id prefix (as an album of mixes needs), each with its own output target
//! at its own rate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use petgraph::graph::{DiGraph, NodeIndex};

use super::{Feed, MASTER, Node, NodeKind, RenderGraph};
use crate::ir::Step;
use crate::ir::{Deliverable, Mix, Target, TrackInput};
use crate::units::{Decibels, Param};

/// Builds the graph of one mix, under its own id, with one target named after it.
#[must_use]
pub fn build(mix: &Mix) -> RenderGraph {
    let mut builder = GraphBuilder::default();
    builder.add_mix(mix, &mix.id);
    builder.finish()
}

/// A graph being built from one or more mixes.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    graph: DiGraph<Node, ()>,
    targets: Vec<NodeIndex>,
}

impl GraphBuilder {
    /// Adds `mix` with every node id under `prefix` (`prefix/track/vox`), and its targets:
    /// one per `deliver:` target (`prefix/deliver/<name>`, reading `prefix/encode/<name>`),
    /// or without a `deliver:` block one named `prefix` that delivers its master cut to
    /// the mix's length. Returns the first target.
    ///
    /// # Panics
    /// When `prefix` is already used in this graph: ids must stay unique.
    pub fn add_mix(&mut self, mix: &Mix, prefix: &str) -> NodeIndex {
        let output_id = format!("{prefix}/output");
        let mut b = builder(&mut self.graph, mix, prefix);
        let master = b.final_master();
        if !mix.deliver.is_empty() {
            let first = self.targets.len();
            for target in &mix.deliver {
                let deliver = b.deliverable(target, master);
                self.targets.push(deliver);
            }
            return self.targets[first];
        }
        let output = b.add(
            output_id,
            NodeKind::Output {
                name: prefix.to_string(),
                length: mix.length,
                cut_fade_seconds: mix.cut_fade_seconds,
            },
            vec![master],
        );
        self.targets.push(output);
        output
    }

    /// Adds `mix`'s nodes under `prefix`, without targets, and returns the node whose audio
    /// is its finished master (after any loudness normalisation): what an album's song
    /// reads. The mix's own `deliver:` block plays no part.
    ///
    /// # Panics
    /// When `prefix` is already used in this graph: ids must stay unique.
    pub fn add_mix_master(&mut self, mix: &Mix, prefix: &str) -> NodeIndex {
        builder(&mut self.graph, mix, prefix).final_master()
    }

    /// Adds a node at `sample_rate` reading `inputs`, in order.
    pub fn add_node(
        &mut self,
        sample_rate: u32,
        id: String,
        kind: NodeKind,
        inputs: Vec<NodeIndex>,
    ) -> NodeIndex {
        add_to(&mut self.graph, Node { id, sample_rate, kind, inputs })
    }

    /// Makes `node` one of the graph's targets.
    pub fn add_target(&mut self, node: NodeIndex) {
        self.targets.push(node);
    }

    /// The finished graph.
    #[must_use]
    pub fn finish(self) -> RenderGraph {
        RenderGraph { graph: self.graph, targets: self.targets }
    }
}

/// A deliverable's dither seed, from the song's identity (its id prefix) and the target's
/// name: stable across every edit of the mix.
pub fn dither_seed(song: &str, target: &str) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"mixdown dither seed\0");
    hasher.update(song.as_bytes());
    hasher.update(b"\0");
    hasher.update(target.as_bytes());
    let bytes = hasher.finalize();
    u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 of 32 bytes"))
}

/// Adds `node` to `graph` with an edge from each of its inputs.
fn add_to(graph: &mut DiGraph<Node, ()>, node: Node) -> NodeIndex {
    let inputs = node.inputs.clone();
    let index = graph.add_node(node);
    for input in inputs {
        graph.add_edge(input, index, ());
    }
    index
}

/// A builder of `mix`'s nodes in `graph` under `prefix`, which must be new to the graph.
fn builder<'a>(graph: &'a mut DiGraph<Node, ()>, mix: &'a Mix, prefix: &'a str) -> Builder<'a> {
    let master_id = format!("{prefix}/{MASTER}");
    assert!(
        graph.node_weights().all(|n| n.id != master_id),
        "the prefix `{prefix}` is used twice in one graph"
    );
    Builder { mix, prefix, graph, sources: BTreeMap::new(), named: BTreeMap::new() }
}

struct Builder<'a> {
    mix: &'a Mix,
    prefix: &'a str,
    graph: &'a mut DiGraph<Node, ()>,
    sources: BTreeMap<PathBuf, NodeIndex>,
    named: BTreeMap<String, NodeIndex>,
}

impl Builder<'_> {
    fn add(&mut self, id: String, kind: NodeKind, inputs: Vec<NodeIndex>) -> NodeIndex {
        self.add_at(self.mix.sample_rate, id, kind, inputs)
    }

    fn add_at(
        &mut self,
        sample_rate: u32,
        id: String,
        kind: NodeKind,
        inputs: Vec<NodeIndex>,
    ) -> NodeIndex {
        add_to(self.graph, Node { id, sample_rate, kind, inputs })
    }

    /// The node whose audio is the mix's finished master, which every target reads: the
    /// one place where nodes after the master chain (loudness normalisation) slot in.
    fn final_master(&mut self) -> NodeIndex {
        let master = self.sum_node(MASTER);
        match self.mix.master.loudness {
            Some(normalisation) => {
                let id = format!("{}/loudness", self.prefix);
                self.add(id, NodeKind::Normalise { normalisation }, vec![master])
            }
            None => master,
        }
    }

    /// A deliverable's encoded stream and its file, reading `master`; returns the file.
    fn deliverable(&mut self, target: &Deliverable, master: NodeIndex) -> NodeIndex {
        let rate = target.sample_rate;
        let encode = self.add_at(
            rate,
            format!("{}/encode/{}", self.prefix, target.name),
            NodeKind::Encode {
                target: target.clone(),
                seed: dither_seed(self.prefix, &target.name),
                length: self.mix.length,
                cut_fade_seconds: self.mix.cut_fade_seconds,
            },
            vec![master],
        );
        self.add_at(
            rate,
            format!("{}/deliver/{}", self.prefix, target.name),
            NodeKind::Deliver {
                target: target.name.clone(),
                file_name: target.file_name.clone(),
                tags: self.mix.release.clone(),
            },
            vec![encode],
        )
    }

    fn source(&mut self, file: &Path) -> NodeIndex {
        if let Some(&i) = self.sources.get(file) {
            return i;
        }
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("audio");
        let mut id = format!("{}/source/{name}", self.prefix);
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
                format!("{}/track/{name}", self.prefix),
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
        let names: Vec<&str> = chain.iter().flat_map(Step::sidechains).collect();
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

    /// A bus (or the master, `name == MASTER`): everything routed or sent to it.
    fn sum_node(&mut self, name: &str) -> NodeIndex {
        let target = if name == MASTER { Target::Master } else { Target::Bus(name.to_string()) };
        let mut feeds: Vec<Feed> = Vec::new();
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
                feeds.push(Feed {
                    from: from.clone(),
                    send: None,
                    gains: vec![fader.gain.clone()],
                    pan: Some(fader.pan.clone()),
                });
            }
            let sends = sends.iter().enumerate();
            for (index, send) in sends.filter(|(_, s)| Target::Bus(s.to.clone()) == target) {
                let feed = if send.pre_fader {
                    Feed {
                        from: from.clone(),
                        send: Some(index),
                        gains: vec![send.level.clone()],
                        pan: None,
                    }
                } else {
                    Feed {
                        from: from.clone(),
                        send: Some(index),
                        gains: vec![fader.gain.clone(), send.level.clone()],
                        pan: Some(fader.pan.clone()),
                    }
                };
                feeds.push(feed);
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
        let mut inputs: Vec<NodeIndex> = feeds.iter().map(|f| self.named_node(&f.from)).collect();
        let sidechains = self.sidechains(&chain, &mut inputs);
        let id = match &target {
            Target::Master => format!("{}/{MASTER}", self.prefix),
            Target::Bus(b) => format!("{}/bus/{b}", self.prefix),
        };
        self.add(id, NodeKind::Sum { feeds, gain, chain, sidechains }, inputs)
    }
}
