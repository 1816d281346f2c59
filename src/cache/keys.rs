//! Cache keys: what each node's output depends on, hashed with blake3.
//!
//! | in the key | not in the key |
//! |---|---|
//! | [`KEY_SCHEMA`], [`DSP_EPOCH`], each step's kind and algorithm version | the crate's version string, build time |
//! | the node kind and its canonical parameters (units resolved, so `-3 dB` = `-3.0dB`) | names, comments, key order, YAML formatting |
//! | the node's sample rate and the resampler's quality | thread count, block size, verbosity |
//! | the keys of the node's inputs, in declaration order | petgraph indices, absolute paths, mtimes, inodes |
//! | blake3 of each source file's bytes | where the file lives |
//! | an output's length and the fade at an exact cut | its target's name, folder and file format (the delivered file's record adds the format) |
//!
//! Parameters are serialized to JSON with sorted map keys (no `HashMap` reaches the
//! bytes), and that JSON is stored next to each cache entry so `mixdown explain` can say
//! which ingredient changed.

use petgraph::graph::NodeIndex;
use serde::Serialize;
use serde_json::{Value, json};

use super::Key;
use crate::dsp::chain::step::Step;
use crate::graph::{NodeKind, RenderGraph};

/// Bump when the layout of the key material or of a cache entry changes: entries written
/// before are then never looked up (a clean miss, not a damaged entry), and `gc` evicts
/// them in time.
pub const KEY_SCHEMA: u32 = 3;

/// Bump when shared DSP behaviour (summing, pan law, fades, latency compensation, tails)
/// changes; per-processor changes bump that processor's own version instead.
pub const DSP_EPOCH: u32 = 1;

/// Everything a key hashes, in a fixed field order.
#[derive(Debug, Clone, Serialize)]
pub struct KeyMaterial {
    /// [`KEY_SCHEMA`].
    pub schema: u32,
    /// [`DSP_EPOCH`].
    pub dsp_epoch: u32,
    /// `source`, `track`, `sum` or `output`.
    pub kind: &'static str,
    /// Frames per second of the node's output.
    pub sample_rate: u32,
    /// The node's canonical parameters.
    pub params: Value,
    /// The keys of the inputs, in order.
    pub inputs: Vec<String>,
}

impl KeyMaterial {
    /// The key of this material.
    #[must_use]
    pub fn key(&self) -> Key {
        let bytes = serde_json::to_vec(self).expect("key material serializes");
        Key(*blake3::hash(&bytes).as_bytes())
    }
}

/// A chain as its key sees it: every file a processor reads (an impulse response) enters by
/// the digest of its bytes, like a source, never by its path.
fn keyed_chain<E>(
    chain: &[Step],
    content_digest: &mut impl FnMut(&std::path::Path) -> Result<String, E>,
) -> Result<Vec<Step>, E> {
    let mut chain = chain.to_vec();
    let mut failure = None;
    for step in &mut chain {
        step.visit_mut(&mut |s| {
            if let Step::Convolution(spec) = s {
                match content_digest(std::path::Path::new(&spec.ir)) {
                    Ok(digest) => spec.ir_content = Some(digest),
                    Err(e) => failure = Some(e),
                }
            }
        });
    }
    failure.map_or(Ok(chain), Err)
}

/// The keys of every node of a graph, by node index.
#[derive(Debug, Clone)]
pub struct Keys {
    materials: Vec<KeyMaterial>,
    keys: Vec<Key>,
}

impl Keys {
    /// Computes every key. `content_digest` gives the blake3 of a source file's bytes, and
    /// `resampler` names the resampler's algorithm and quality.
    ///
    /// # Errors
    /// When a source file cannot be read to hash it.
    pub fn compute<E>(
        graph: &RenderGraph,
        resampler: &str,
        mut content_digest: impl FnMut(&std::path::Path) -> Result<String, E>,
    ) -> Result<Self, E> {
        let count = graph.graph.node_count();
        let mut materials: Vec<Option<KeyMaterial>> = vec![None; count];
        let mut keys: Vec<Option<Key>> = vec![None; count];
        for i in graph.topological_order() {
            let node = &graph.graph[i];
            let (kind, params) = match &node.kind {
                NodeKind::Source { file } => {
                    ("source", json!({ "content": content_digest(file)?, "resampler": resampler }))
                }
                NodeKind::Track { clips, polarity, chain, sidechains } => (
                    "track",
                    json!({
                        "clips": clips,
                        "polarity": polarity,
                        "chain": keyed_chain(chain, &mut content_digest)?,
                        "sidechains": sidechains,
                    }),
                ),
                NodeKind::Sum { feeds, gain, chain, sidechains } => (
                    "sum",
                    json!({
                        "feeds": feeds,
                        "gain": gain,
                        "chain": keyed_chain(chain, &mut content_digest)?,
                        "sidechains": sidechains,
                    }),
                ),
                NodeKind::Output { length, cut_fade_seconds, .. } => {
                    ("output", json!({ "length": length, "cut_fade_seconds": cut_fade_seconds }))
                }
            };
            let inputs = node
                .inputs
                .iter()
                .map(|j| {
                    keys[j.index()].expect("inputs come first in topological order").to_string()
                })
                .collect();
            let material = KeyMaterial {
                schema: KEY_SCHEMA,
                dsp_epoch: DSP_EPOCH,
                kind,
                sample_rate: node.sample_rate,
                params,
                inputs,
            };
            keys[i.index()] = Some(material.key());
            materials[i.index()] = Some(material);
        }
        Ok(Self {
            materials: materials.into_iter().map(|m| m.expect("every node keyed")).collect(),
            keys: keys.into_iter().map(|k| k.expect("every node keyed")).collect(),
        })
    }

    /// The key of node `i`.
    #[must_use]
    pub fn key(&self, i: NodeIndex) -> Key {
        self.keys[i.index()]
    }

    /// The blake3 digest of the file that source node `i` reads, as its key holds it;
    /// `None` for other nodes.
    #[must_use]
    pub fn source_content(&self, i: NodeIndex) -> Option<[u8; 32]> {
        let material = &self.materials[i.index()];
        if material.kind != "source" {
            return None;
        }
        super::parse_hex(material.params["content"].as_str()?)
    }

    /// What node `i`'s key hashes.
    #[must_use]
    pub fn material(&self, i: NodeIndex) -> &KeyMaterial {
        &self.materials[i.index()]
    }
}
