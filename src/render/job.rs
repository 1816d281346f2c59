//! What a node needs while it renders, and the manifest it leaves next to its audio.

use std::collections::BTreeSet;
use std::sync::Mutex;

use petgraph::graph::NodeIndex;

use super::NodeError;
use super::cost::{balanced_split, overhead};
use super::impulse::{ChainFiles, decode_chain_files};
use super::inputs::{EntryStream, FileStream, Stream, expected_content};
use super::pipe::{Link, PipeReceiver, PipeSender};
use super::staged::StagedChain;
use super::stream::{Produced, SidechainInput, Sink, run_chain};
use crate::cache::keys::Keys;
use crate::cache::manifest::{Description, Measurements};
use crate::cache::store::{EntryWriter, Store};

use crate::dsp::{BLOCK_FRAMES, BuildEnv};
use crate::graph::{NodeKind, RenderGraph};
use crate::ir::step::{Step, build_chain};

/// One node's render, with access to the graph, the keys and the cache.
pub struct Job<'a> {
    /// The graph.
    pub graph: &'a RenderGraph,
    /// Every node's key.
    pub keys: &'a Keys,
    /// The cache.
    pub store: &'a Store,
    /// Source nodes whose files are read through a cache entry (resampled) instead of
    /// decoded directly.
    pub materialized: &'a BTreeSet<NodeIndex>,
    /// The node being rendered.
    pub node: NodeIndex,
    /// The input that arrives through a pipe instead of the cache, until it is opened.
    inbound: Mutex<Option<(NodeIndex, PipeReceiver)>>,
    /// The pipe to this node's reader, until the node starts writing.
    outbound: Mutex<Option<PipeSender>>,
    /// Whether the node has the machine to itself (see [`Link::alone`]).
    alone: bool,
}

impl<'a> Job<'a> {
    /// A job for `node`, connected to the pipes of `link`.
    #[must_use]
    pub fn new(
        graph: &'a RenderGraph,
        keys: &'a Keys,
        store: &'a Store,
        materialized: &'a BTreeSet<NodeIndex>,
        node: NodeIndex,
        link: Link,
    ) -> Self {
        Self {
            graph,
            keys,
            store,
            materialized,
            node,
            inbound: Mutex::new(link.from),
            outbound: Mutex::new(link.to),
            alone: link.alone,
        }
    }

    /// The node's frames per second.
    #[must_use]
    pub fn sample_rate(&self) -> u32 {
        self.graph.graph[self.node].sample_rate
    }

    /// Opens input `input` of this node: a cache entry, or a source file read directly.
    ///
    /// # Errors
    /// When the input cannot be opened.
    pub fn open_input(&self, input: NodeIndex) -> Result<Box<dyn Stream>, NodeError> {
        let mut inbound = self.inbound.lock().expect("no thread panicked holding the lock");
        if inbound.as_ref().is_some_and(|(from, _)| *from == input) {
            let (_, receiver) = inbound.take().expect("checked just above");
            return Ok(Box::new(receiver.open()?));
        }
        drop(inbound);
        match &self.graph.graph[input].kind {
            NodeKind::Source { file } if !self.materialized.contains(&input) => {
                Ok(Box::new(FileStream::open(file, expected_content(self.keys, input))?))
            }
            _ => Ok(Box::new(EntryStream::open(self.store, self.keys.key(input))?)),
        }
    }

    /// Runs `chain` over `input_frames` frames that `fill(position, left, right)` provides,
    /// with the node's sidechains, into this node's cache entry. `content_frames` (where
    /// the source material ends) goes into the manifest for the output's length. A node
    /// that runs alone splits a chain without sidechains over two threads.
    ///
    /// # Errors
    /// When an input, an impulse response or the cache fails.
    pub fn render_chain(
        &self,
        chain: &[Step],
        frames: (u64, u64),
        fill: impl FnMut(u64, &mut [f32], &mut [f32]) -> Result<(), NodeError>,
    ) -> Result<(), NodeError> {
        let (input_frames, content_frames) = frames;
        let (files, mut sidechain_inputs) = self.prepare_chain(chain)?;
        let rate = self.sample_rate();
        let env = BuildEnv { sample_rate: f64::from(rate), max_block: BLOCK_FRAMES };
        let mut sink = self.sink(content_frames)?;
        let split = if self.alone && sidechain_inputs.is_empty() {
            balanced_split(overhead(&self.graph.graph[self.node].kind), chain)
        } else {
            None
        };
        let produced = if let Some(k) = split {
            std::thread::scope(|scope| {
                let front = build_chain(&chain[..k], &env, &files)?;
                let back = build_chain(&chain[k..], &env, &files)?;
                let mut staged = StagedChain::start(scope, front, back, BLOCK_FRAMES);
                run_chain(&mut staged, input_frames, rate, &mut sidechain_inputs, &mut sink, fill)
            })
        } else {
            let mut whole = build_chain(chain, &env, &files)?;
            run_chain(&mut whole, input_frames, rate, &mut sidechain_inputs, &mut sink, fill)
        }?;
        self.finish_sink(sink, produced)
    }

    /// Where this node's frames go: the pipe to its reader when the two run as a pipeline,
    /// and its cache entry, unless it streams into a reader that holds its audio
    /// ([`RenderGraph::streams_without_entry`]). `content_frames` is where its source
    /// material ends.
    ///
    /// # Errors
    /// When the entry cannot be created.
    pub fn sink(&self, content_frames: u64) -> Result<Sink, NodeError> {
        let pipe = self.outbound.lock().expect("no thread panicked holding the lock").take();
        let entry = if pipe.is_some() && self.graph.streams_without_entry(self.node) {
            None
        } else {
            Some(self.create_entry()?)
        };
        Ok(Sink { entry, pipe, content_frames })
    }

    /// Seals the entry of `sink` and tells its reader that the frames have ended.
    ///
    /// # Errors
    /// When the entry cannot be written.
    pub fn finish_sink(&self, sink: Sink, produced: Produced) -> Result<(), NodeError> {
        if let Some(entry) = sink.entry {
            self.finish_entry(entry, produced, sink.content_frames)?;
        }
        if let Some(mut pipe) = sink.pipe {
            pipe.end(produced.audible_frames);
        }
        Ok(())
    }

    /// Decodes the files this node's chain reads (impulse responses) and opens its
    /// sidechain inputs.
    ///
    /// # Errors
    /// When an impulse response or a sidechain input cannot be read.
    fn prepare_chain(
        &self,
        chain: &[Step],
    ) -> Result<(ChainFiles, Vec<SidechainInput>), NodeError> {
        let files = decode_chain_files(chain, self.sample_rate())?;
        let sidechain_inputs = self.graph.graph[self.node]
            .sidechain_inputs()
            .map(|(name, input)| {
                Ok(SidechainInput { name: name.to_string(), stream: self.open_input(input)? })
            })
            .collect::<Result<_, NodeError>>()?;
        Ok((files, sidechain_inputs))
    }

    /// Opens this node's cache entry for writing.
    ///
    /// # Errors
    /// When the cache directory is not writable.
    pub fn create_entry(&self) -> Result<EntryWriter, NodeError> {
        self.store
            .create(&self.keys.key(self.node), self.sample_rate())
            .map_err(NodeError::CacheWrite)
    }

    /// Seals this node's entry with its manifest: the key's ingredients and the lengths.
    ///
    /// # Errors
    /// When the entry cannot be written.
    pub fn finish_entry(
        &self,
        writer: EntryWriter,
        produced: Produced,
        content_frames: u64,
    ) -> Result<(), NodeError> {
        let material = serde_json::to_value(self.keys.material(self.node))
            .map_err(|e| NodeError::CacheWrite(e.into()))?;
        let description = Description {
            node: self.graph.graph[self.node].id.clone(),
            material,
            content_frames,
            audible_frames: produced.audible_frames,
            measurements: Measurements::default(),
        };
        writer.finish(description).map_err(NodeError::CacheWrite)
    }
}
