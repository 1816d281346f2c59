//! Rendering: plan which nodes the cache lacks, run them in dependency order on a rayon
//! pool, and log what ran. Nodes stream block by block through their cache entries, so
//! memory depends on neither song length nor track count.
//!
//! Render knows nothing about YAML: it takes a graph, its keys, the targets to render and
//! a [`Delivery`] that says where their files go and how they are encoded.

mod album_analysis;
mod album_encode;
mod album_record;
mod album_report;
mod converted;
mod cost;
mod cue;
mod cut_source;
mod deliver;
mod dirty;
mod dispatch;
mod encode;
mod impulse;
mod inputs;
mod job;
mod normalise;
mod output;
mod pipe;
mod plan;
mod schedule;
mod segment;
mod segment_mix;
mod settle;
mod shard;
mod song;
mod source;
mod staged;
mod stream;
mod sum;
mod track;

use std::path::PathBuf;

pub use album_analysis::AlbumError;
pub use album_record::{AlbumRecord, SegmentRecord};
pub use album_report::album_report;
pub use dirty::{DirtyReason, dirty_reasons};
pub use normalise::{NORMALISE_VERSION, NormaliseError, Normalised};
pub use output::{Delivery, output_frames};
pub use plan::{Plan, PlanStep, plan};
pub use schedule::{Progress, Settings, render};
pub use settle::{render_settled, settled_value};
pub use shard::{Shard, shard_targets};
pub use song::MixMaster;
pub use stream::{MAX_TAIL_SECONDS, SILENCE};
pub use sum::pan_gains;

use crate::audio::loudness::LoudnessRecord;
use crate::cache::Key;

/// Bump when what an album's song, analysis, segment or encode nodes compute for the same
/// inputs and settings changes. Version 2: the album's loudness after the limiter pools
/// the segments' measurements of their songs. Version 3: the limiter's mean gain reduction
/// over a song is summed exactly, in fixed point.
pub const ALBUM_VERSION: u32 = 3;

/// What happened to a node during a render.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum RenderEvent {
    /// The node's output was already cached.
    Hit(String),
    /// The node ran, taking this many seconds.
    Rendered(String, f64),
    /// The node's cache entry failed its checksum; it was dropped and rendered again.
    Repaired(String),
    /// The target's audio was measured (loudness, true peak) as its file was written.
    Measured(String),
}

/// What a render did.
#[derive(Debug, Clone, Default)]
pub struct RenderReport {
    /// Every event, in the order they happened.
    pub events: Vec<RenderEvent>,
    /// Nodes in the part of the graph the target needs.
    pub considered: usize,
    /// Warnings for the user (corrupt entries found and repaired).
    pub warnings: Vec<String>,
    /// The loudness of each target's audio, measured now or found in the cache, in the
    /// order the targets were asked for.
    pub loudness: Vec<TargetLoudness>,
    /// Each normalised target's name and what its normalisation did, in the order the
    /// targets were asked for.
    pub normalised: Vec<(String, Normalised)>,
}

/// The loudness of one target's file. An album target makes a file per song, each with
/// its own figures under the target's one name.
#[derive(Debug, Clone)]
pub struct TargetLoudness {
    /// The id of the node that makes the file.
    pub node: String,
    /// The target's name.
    pub name: String,
    /// The file's audio, as measured when it was made.
    pub record: LoudnessRecord,
}

impl RenderReport {
    /// Ids of the nodes that ran, sorted: the log that proves an edit re-rendered only what
    /// it touched.
    #[must_use]
    pub fn rendered(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .events
            .iter()
            .filter_map(|e| match e {
                RenderEvent::Rendered(id, _) => Some(id.clone()),
                _ => None,
            })
            .collect();
        ids.sort();
        ids
    }
}

/// Why a node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// A source file could not be decoded.
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
    /// An upstream cache entry is missing or failed its checksum.
    #[error("cache entry {} is damaged: {reason}", key.to_string())]
    CorruptInput {
        /// The damaged entry.
        key: Key,
        /// What was wrong.
        reason: String,
    },
    /// A chain was built without the audio of a file it reads: a bug in the engine.
    #[error(transparent)]
    Unloaded(#[from] crate::ir::step::UnloadedFile),
    /// The node's own cache entry could not be written (the error names where). A render
    /// meeting this can always run again without the cache.
    #[error("cannot write to the cache: {0}")]
    CacheWrite(std::io::Error),
    /// The node read another through a pipe, and that node failed (its own error says
    /// why); this one did not run.
    #[error("the node it reads from failed")]
    Interrupted,
    /// The master could not be brought to its loudness target.
    #[error(transparent)]
    Loudness(#[from] NormaliseError),
    /// The album cannot be mastered as written.
    #[error(transparent)]
    Album(#[from] AlbumError),
    /// The output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// A render that failed, naming the node.
#[derive(Debug, thiserror::Error)]
#[error("{node}: {error}")]
pub struct RenderError {
    /// The node's id.
    pub node: String,
    /// What went wrong.
    pub error: NodeError,
}
