//! An album's song node: the song's input (a mix's finished master, or a finished file)
//! cut to its length, brought to the album's rate, then the mastering chain, streamed into
//! the cache. The song's fades and trims are its segment's, not this node's.
//!
//! A song's mix master, cut as this node cuts it, can also be read on its own
//! ([`MixMaster`]): what the mix's own assertions on its master measure in an album.

use petgraph::graph::NodeIndex;

use super::NodeError;
use super::converted::{KeepsFailure as _, fill_converted};
use super::cut_source::CutSource;
use super::inputs::{EntryStream, Stream};
use super::job::Job;
use super::output::output_frames;
use super::track::stream_frames;
use crate::album::sequence::convert;
use crate::audio::Source as _;
use crate::audio::resample::Resampled;
use crate::cache::keys::Keys;
use crate::cache::store::Store;
use crate::graph::{NodeKind, RenderGraph};
use crate::ir::{Length, Step};

/// Renders a song node.
///
/// # Errors
/// When the input cannot be read or converted, or the entry cannot be written.
pub fn run_song(
    job: &Job<'_>,
    chain: &[Step],
    length: Length,
    cut_fade_seconds: f64,
) -> Result<(), NodeError> {
    let input = job.graph.graph[job.node].main_inputs()[0];
    let input_rate = job.graph.graph[input].sample_rate;
    let stream = job.open_input(input)?;
    // A file plays whole; a mix's master runs as long as its mix says.
    let (frames, fade) = if matches!(job.graph.graph[input].kind, NodeKind::Source { .. }) {
        (stream_frames(job, input, stream.as_ref())?, 0)
    } else {
        master_cut(stream.as_ref(), input_rate, length, cut_fade_seconds)
    };
    let rate = job.sample_rate();
    let source = CutSource::new(stream, input_rate, frames, fade, 1.0);
    let mut converted = Resampled::new(source, rate).map_err(NodeError::Audio)?;
    let song_frames = convert(frames, input_rate, rate);
    job.render_chain(chain, (song_frames, song_frames), |_, left, right| {
        fill_converted(&mut converted, left, right).map(drop)
    })
}

/// The frames a mix's master plays for as its mix says (`length`), and the frames of the
/// fade that ends an exact cut.
fn master_cut(stream: &dyn Stream, rate: u32, length: Length, cut_fade_seconds: f64) -> (u64, u64) {
    let content = stream.content_frames().unwrap_or(0);
    let audible = stream.audible_frames().unwrap_or(0);
    let frames = output_frames(length, rate, content, audible);
    let fade = match length {
        Length::Exact(_) => ((cut_fade_seconds * f64::from(rate)).round() as u64).min(frames),
        Length::Natural | Length::Tail(_) => 0,
    };
    (frames, fade)
}

/// A song's mix master as its song node reads it, before the album touches it: the mix's
/// finished master cut to the mix's length, with the fade that ends an exact cut, at the
/// mix's rate. The same audio a render of the mix alone writes to its file.
pub struct MixMaster(CutSource);

impl MixMaster {
    /// Opens the mix master that song node `song` reads, from its cache entry; `None` when
    /// the song is a finished file, not a mix.
    ///
    /// # Errors
    /// When the master's entry is missing or damaged.
    pub fn open(
        graph: &RenderGraph,
        keys: &Keys,
        store: &Store,
        song: NodeIndex,
    ) -> Result<Option<Self>, NodeError> {
        let NodeKind::Song { length, cut_fade_seconds, .. } = graph.graph[song].kind else {
            return Ok(None);
        };
        let master = graph.graph[song].main_inputs()[0];
        if matches!(graph.graph[master].kind, NodeKind::Source { .. }) {
            return Ok(None);
        }
        Self::cut(graph, keys, store, master, (length, cut_fade_seconds)).map(Some)
    }

    /// Opens a mix's finished master `master` from its cache entry, cut to `length` with
    /// the fade that ends an exact cut: the audio its deliverables encode.
    ///
    /// # Errors
    /// When the master's entry is missing or damaged.
    pub fn cut(
        graph: &RenderGraph,
        keys: &Keys,
        store: &Store,
        master: NodeIndex,
        (length, cut_fade_seconds): (Length, f64),
    ) -> Result<Self, NodeError> {
        let rate = graph.graph[master].sample_rate;
        let stream = EntryStream::open(store, keys.key(master))?;
        let (frames, fade) = master_cut(&stream, rate, length, cut_fade_seconds);
        Ok(Self(CutSource::new(Box::new(stream), rate, frames, fade, 1.0)))
    }

    /// Frames per second: the mix's rate.
    #[must_use]
    pub fn sample_rate(&self) -> u32 {
        self.0.sample_rate()
    }

    /// Fills up to `left.len()` frames of both channels; 0 at the end.
    ///
    /// # Errors
    /// When the master's entry fails to read.
    pub fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, NodeError> {
        self.0.read(left, right).map_err(|e| self.0.failure_or(e))
    }
}
