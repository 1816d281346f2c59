//! The render graph: a petgraph DAG of nodes (sources, tracks, sums, outputs) built from
//! one or more resolved mixes. Node identity is a stable path string
//! (`first-light/track/vox`); petgraph indices never leave a run.
//!
//! A mix with a `master.loudness` block has a normalising node between its master and its
//! output.
//!
//! A graph has as many targets as it was asked for (one output per mix, plus any node a
//! user asked to hear on its own), and every node carries its own sample rate. Where a
//! target's audio goes (a folder, a file format) is a render setting, not part of the graph.
//!
//! Faders, pans, sends and gain automation belong to the sum that consumes them, so a fader
//! move changes only the sums downstream.

mod album;
mod build;
mod names;
mod print;

use std::collections::BTreeSet;
use std::path::PathBuf;

use petgraph::graph::{DiGraph, NodeIndex};

pub use album::{DELIVERED_ANALYSIS, build_album, segments_of};
pub use build::{GraphBuilder, build, dither_seed};
pub use names::UnknownNode;
pub use print::{to_dot, to_text};

pub use crate::ir::MASTER;
use crate::ir::{Clip, Deliverable, Length, Normalisation, Release, Step};
use crate::units::{Decibels, Pan, Param, Polarity};

/// The render graph of one or more mixes.
#[derive(Debug, Clone)]
pub struct RenderGraph {
    /// Edges point from an input to the node that reads it.
    pub graph: DiGraph<Node, ()>,
    /// The output nodes a render can deliver, in the order they were added.
    pub targets: Vec<NodeIndex>,
}

impl RenderGraph {
    /// `from` and every node upstream of them.
    #[must_use]
    pub fn upstream(&self, from: impl IntoIterator<Item = NodeIndex>) -> BTreeSet<NodeIndex> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<NodeIndex> = from.into_iter().collect();
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(self.graph[i].inputs.iter().copied());
            }
        }
        seen
    }

    /// The node with the stable id `id`.
    #[must_use]
    pub fn find(&self, id: &str) -> Option<NodeIndex> {
        self.graph.node_indices().find(|&i| self.graph[i].id == id)
    }

    /// The target named `name`: a mix's id for its output, or a `deliver:` target's name.
    #[must_use]
    pub fn target(&self, name: &str) -> Option<NodeIndex> {
        self.targets.iter().copied().find(|&i| match &self.graph[i].kind {
            NodeKind::Output { name: n, .. } => n == name,
            NodeKind::Deliver { target, .. } => target == name,
            _ => false,
        })
    }

    /// Every file the render reads: sources, and the files chain steps read.
    #[must_use]
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for node in self.graph.node_weights() {
            match &node.kind {
                NodeKind::Source { file } => files.push(file.clone()),
                NodeKind::Track { chain, .. }
                | NodeKind::Sum { chain, .. }
                | NodeKind::Song { chain, .. } => {
                    let read = chain.iter().flat_map(Step::files);
                    files.extend(read.map(|file| file.path.clone()));
                }
                NodeKind::Normalise { .. }
                | NodeKind::Output { .. }
                | NodeKind::Encode { .. }
                | NodeKind::Deliver { .. }
                | NodeKind::AlbumAnalysis { .. }
                | NodeKind::Segment { .. }
                | NodeKind::AlbumEncode { .. }
                | NodeKind::Cue { .. } => {}
            }
        }
        files
    }

    /// Whether `node` keeps no cache entry when it streams into its one reader, which holds
    /// its audio (see `render::pipe`). Two kinds of node do:
    ///
    /// - a sum without a chain that only outputs read: the master of a mix with no master
    ///   chain, whose audio the output file holds. The entry would be read only to write
    ///   the file again (another format, a deleted file), and summing the inputs again for
    ///   that costs less than storing a song-length entry on every edit;
    /// - a segment whose audio only one encode reads, whole and alone, other than the
    ///   album-rate segments: a segment of a WAV album file at a rate no other target
    ///   takes (the CD's). Its encoded stream holds its audio, and writing the entry would
    ///   cost every build more than making the segment again costs the rare edit that
    ///   needs it (the target's format or word length). The album-rate segments keep
    ///   theirs, as they are the album's audio that assertions, `diff` and the overview
    ///   read after a render.
    ///
    /// Either renders again, with its reader, when that reader renders again.
    #[must_use]
    pub fn streams_without_entry(&self, node: NodeIndex) -> bool {
        match &self.graph[node].kind {
            NodeKind::Sum { chain, .. } => {
                chain.is_empty()
                    && self
                        .audio_readers(node)
                        .iter()
                        .all(|&r| matches!(self.graph[r].kind, NodeKind::Output { .. }))
            }
            NodeKind::Segment { trial: false, .. } => {
                let readers = self.audio_readers(node);
                let [reader] = readers.as_slice() else { return false };
                let whole = matches!(
                    self.graph[*reader].kind,
                    NodeKind::AlbumEncode { span: EncodeSpan::Segments, .. }
                );
                // The delivered analysis reads the album-rate segments.
                let delivered = self
                    .graph
                    .neighbors_directed(node, petgraph::Direction::Outgoing)
                    .any(|r| matches!(self.graph[r].kind, NodeKind::AlbumAnalysis { .. }));
                whole && !delivered && self.graph[*reader].inputs == [node]
            }
            _ => false,
        }
    }

    /// The nodes that read `node`'s audio, as opposed to the record it keeps.
    #[must_use]
    pub fn audio_readers(&self, node: NodeIndex) -> Vec<NodeIndex> {
        let mut readers: Vec<NodeIndex> = self
            .graph
            .neighbors_directed(node, petgraph::Direction::Outgoing)
            .filter(|&reader| self.graph[reader].kind.reads_input_audio())
            .collect();
        readers.sort_unstable();
        readers.dedup();
        readers
    }

    /// Adds a target that delivers `node`'s own audio, as it comes out of the node, under
    /// the name `name`: what a user asks to hear on its own (`render --only vox`). Returns
    /// the new output node.
    pub fn add_solo_target(&mut self, node: NodeIndex, name: &str) -> NodeIndex {
        let from = &self.graph[node];
        let solo = Node {
            id: format!("{}/solo", from.id),
            sample_rate: from.sample_rate,
            kind: NodeKind::Output {
                name: name.to_string(),
                length: Length::Natural,
                cut_fade_seconds: 0.0,
            },
            inputs: vec![node],
        };
        let index = self.graph.add_node(solo);
        self.graph.add_edge(node, index, ());
        self.targets.push(index);
        index
    }

    /// Nodes in an order where every input comes before its readers: by depth (sources
    /// first, the outputs last), then by id, so listings read the same every time.
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
    /// Frames per second of the node's output.
    pub sample_rate: u32,
    /// What the node computes.
    pub kind: NodeKind,
    /// Inputs in a fixed order, which keys fold in: the main inputs (see
    /// [`Node::main_inputs`]), then the sidechains.
    pub inputs: Vec<NodeIndex>,
}

impl Node {
    /// The inputs whose audio the node plays or sums: a track's sources (one per clip), a
    /// sum's feeds, an output's node.
    #[must_use]
    pub fn main_inputs(&self) -> &[NodeIndex] {
        &self.inputs[..self.inputs.len() - self.sidechain_names().len()]
    }

    /// The inputs that only drive processors' detectors, with the names the chain uses
    /// for them, in order.
    pub fn sidechain_inputs(&self) -> impl Iterator<Item = (&str, NodeIndex)> {
        let names = self.sidechain_names();
        let first = self.inputs.len() - names.len();
        names.iter().map(String::as_str).zip(self.inputs[first..].iter().copied())
    }

    fn sidechain_names(&self) -> &[String] {
        match &self.kind {
            NodeKind::Track { sidechains, .. } | NodeKind::Sum { sidechains, .. } => sidechains,
            NodeKind::Source { .. }
            | NodeKind::Normalise { .. }
            | NodeKind::Output { .. }
            | NodeKind::Encode { .. }
            | NodeKind::Deliver { .. }
            | NodeKind::Song { .. }
            | NodeKind::AlbumAnalysis { .. }
            | NodeKind::Segment { .. }
            | NodeKind::AlbumEncode { .. }
            | NodeKind::Cue { .. } => &[],
        }
    }
}

/// What a node does.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// An audio file, decoded and brought to the node's rate.
    Source {
        /// The file (absolute; never part of a key).
        file: PathBuf,
    },
    /// A track: its audio on the timeline, polarity, then its chain. Main inputs: the
    /// sources (one per clip, or the one source).
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
    /// A bus or the master: a weighted sum of its inputs, then a chain. Main inputs: one
    /// per feed.
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
    /// A master brought to a loudness: one gain, rounded to 0.01 dB, then a true-peak
    /// limiter at the ceiling; the gain comes from a measurement of the input, corrected
    /// once if the limiter moved the loudness. Main input: the master.
    Normalise {
        /// The target, ceiling and the most limiting allowed.
        normalisation: Normalisation,
    },
    /// A target: its one input cut to length, ready for an encoder.
    Output {
        /// The target's name, which names its file (a mix's id).
        name: String,
        /// How long the audio runs.
        length: Length,
        /// The fade-out that ends an exact `length:` cut, in seconds (0 for a hard cut).
        cut_fade_seconds: f64,
    },
    /// A deliverable's audio encoded, without tags: its one input (the master's final
    /// node) cut to length, converted to the node's rate, reduced to the target's word
    /// length with dither, and encoded. Its cache entry is the encoded stream, so a tag
    /// edit never encodes again.
    Encode {
        /// The format, rate and dither.
        target: Deliverable,
        /// The dither's seed: the target's name and the song's identity, never an
        /// upstream key, so that a fader move changes the signal under the dither and not
        /// its noise.
        seed: u64,
        /// How long the audio runs.
        length: Length,
        /// The fade-out that ends an exact `length:` cut, in seconds.
        cut_fade_seconds: f64,
    },
    /// A delivered file: its one input's encoded stream with the tags written around it,
    /// in the target's folder.
    Deliver {
        /// The target's name, which names its folder.
        target: String,
        /// The file's name in that folder.
        file_name: String,
        /// The tags.
        tags: Release,
    },
    /// An album's song: its one input (a mix's finished master, or a file's source)
    /// brought to the node's rate (the album's), cut to the mix's length, then the
    /// album's mastering chain. Its fades and trims belong to the segment that plays it,
    /// so editing them leaves this node alone.
    Song {
        /// The mastering chain.
        chain: Vec<Step>,
        /// How long the input runs.
        length: Length,
        /// The fade-out that ends an exact `length:` cut, in seconds.
        cut_fade_seconds: f64,
    },
    /// A measurement of the album, kept as a record, with no audio: the loudness that
    /// decides the album's gains, and the timeline. Its inputs depend on the stage.
    AlbumAnalysis {
        /// Which measurement.
        stage: AnalysisStage,
        /// The songs' sequencing and the loudness settings.
        album: AlbumShape,
    },
    /// One segment of the album (a song and the gap after it, or songs joined by
    /// crossfades) at the node's rate: the songs faded, crossfaded and gained, converted
    /// to the rate, then the true-peak limiter at the ceiling, all from rest. Main inputs:
    /// the segment's songs; the last input is the analysis whose record settles the
    /// segment's plan (its gains and timing), which the key holds instead of that
    /// analysis's key (early cutoff).
    Segment {
        /// The segment's position in the album (where its plan is in the record); not
        /// part of the key.
        segment: usize,
        /// Whether its length is whole CD frames.
        cd: bool,
        /// Whether it ends the album (a CD segment's length is then rounded up).
        last: bool,
        /// The true-peak ceiling, in dBTP.
        ceiling_dbtp: f64,
        /// Whether it is a trial: the album-rate segment at the first gains, which keeps
        /// only its record (its loudness after the limiter), as that is all the limited
        /// analysis reads. Not part of the key: a final segment at the same gains renders
        /// the same audio and record, so either finds the other's record.
        trial: bool,
    },
    /// A deliverable's audio taken from segments and encoded without tags: one song's span
    /// of its segment, or whole segments in order (the album, or one segment of a WAV album
    /// file that its file node joins from its segments).
    AlbumEncode {
        /// The format, rate and dither.
        target: Deliverable,
        /// Which audio.
        span: EncodeSpan,
        /// The dither's seed for each segment read: from the target's name and the
        /// segment's (or song's) identity, never from upstream keys.
        seeds: Vec<u64>,
    },
    /// A CUE sheet beside an album file, from its segments' timing.
    Cue {
        /// The target's name, which names its folder.
        target: String,
        /// The sheet's file name in that folder.
        file_name: String,
        /// What the sheet says besides the timing.
        sheet: CueText,
    },
}

impl NodeKind {
    /// Whether a node of this kind reads its inputs' audio: a cue sheet, and an analysis
    /// after the limiter, read only the records their segments keep.
    #[must_use]
    pub fn reads_input_audio(&self) -> bool {
        match self {
            Self::Cue { .. } => false,
            Self::AlbumAnalysis { stage, .. } => *stage == AnalysisStage::Unlimited,
            _ => true,
        }
    }
}

/// Which measurement of an album an analysis node makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisStage {
    /// The sequenced songs before any gain: the first gains. Inputs: the songs.
    Unlimited,
    /// The trial segments (the first gains and the limiter) at the album's rate: the
    /// corrected gains. Inputs: the trial segments, then the unlimited analysis.
    Limited,
    /// The delivered segments at the album's rate: the figures of the report. Inputs: the
    /// album-rate segments, then the limited analysis.
    Delivered,
}

/// What an album's analyses need of the album besides audio.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlbumShape {
    /// Each song's sequencing, in order.
    pub songs: Vec<crate::album::sequence::SongShape>,
    /// The loudness settings.
    pub loudness: crate::ir::AlbumLoudness,
    /// Whether a target follows the CD rules, so the Red Book's limits are checked.
    pub cd: bool,
}

/// The audio an album encode node takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EncodeSpan {
    /// Song `index` of the one segment read (its position inside the segment).
    Song(usize),
    /// Every segment read, whole, in order.
    Segments,
}

/// The text of a CUE sheet besides its timing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CueText {
    /// The album's title.
    pub title: String,
    /// The album's artist.
    pub performer: String,
    /// The barcode.
    pub catalog: Option<String>,
    /// The release year.
    pub year: Option<u32>,
    /// The audio file the sheet describes, as named beside it.
    pub file: String,
    /// Each song's title, performer and ISRC, in order.
    pub tracks: Vec<(String, String, Option<String>)>,
}

/// How one input enters a sum: the gains multiply (a fader, then a send level) and the pan
/// is applied last, if any.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Feed {
    /// The track or bus it comes from, as the YAML names it. Not part of the key: the
    /// input's own key already says what it is.
    #[serde(skip)]
    pub from: String,
    /// Which of the input's `sends:` it is, or `None` for the input's own routing (`to:`).
    #[serde(skip)]
    pub send: Option<usize>,
    /// Gains applied to the input, in order.
    pub gains: Vec<Param<Decibels>>,
    /// Stereo position; `None` for a pre-fader send, which bypasses the pan.
    pub pan: Option<Param<Pan>>,
}
