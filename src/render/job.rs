//! What a node needs while it renders, and the manifest it leaves next to its audio.

use std::collections::BTreeSet;

use petgraph::graph::NodeIndex;
use serde_json::{Value, json};

use super::NodeError;
use super::inputs::{EntryStream, FileStream, Stream};
use super::stream::Produced;
use crate::cache::keys::Keys;
use crate::cache::store::{EntryWriter, Store};
use crate::graph::{NodeKind, RenderGraph};

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
}

impl Job<'_> {
    /// The render's frames per second.
    #[must_use]
    pub fn sample_rate(&self) -> u32 {
        self.graph.sample_rate
    }

    /// Opens input `input` of this node: a cache entry, or a source file read directly.
    ///
    /// # Errors
    /// When the input cannot be opened.
    pub fn open_input(&self, input: NodeIndex) -> Result<Box<dyn Stream>, NodeError> {
        match &self.graph.graph[input].kind {
            NodeKind::Source { file } if !self.materialized.contains(&input) => {
                Ok(Box::new(FileStream::open(file)?))
            }
            _ => Ok(Box::new(EntryStream::open(self.store, self.keys.key(input))?)),
        }
    }

    /// The frames of source material that input `input` carries (its `content_frames`),
    /// which sums propagate so the output knows where the music ends and the tail begins.
    #[must_use]
    pub fn content_frames(&self, input: NodeIndex) -> Option<u64> {
        let manifest = self.store.manifest(&self.keys.key(input))?;
        manifest.get("ingredients")?.get("content_frames")?.as_u64()
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
        let manifest: Value = json!({
            "id": self.graph.graph[self.node].id,
            "material": self.keys.material(self.node),
            "frames": produced.frames,
            "content_frames": content_frames,
            "audible_frames": produced.audible_frames,
        });
        writer.finish(&manifest).map_err(NodeError::CacheWrite)
    }
}
