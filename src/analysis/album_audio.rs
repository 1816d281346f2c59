//! Where a rendered album's delivered audio is: the album-rate segments its delivered
//! analysis read, in timeline order, and each song's span of them, from its start to the
//! next song's start (the last song to the album's end). Found from the graph and the
//! records the segments keep; nothing is rendered or measured here.

use petgraph::graph::NodeIndex;

use super::chained::Chained;
use super::span::Span;
use super::stream::AudioStream;
use crate::cache::Key;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::measurement;
use crate::cache::store::Store;
use crate::graph::{DELIVERED_ANALYSIS, RenderGraph};
use crate::render::SegmentRecord;

/// One song's stretch of an album-rate segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SongSpan {
    /// The segment's cache key.
    pub segment: Key,
    /// The song's first frame in the segment.
    pub start: u64,
    /// Frames up to the next song's start, or the segment's end.
    pub frames: u64,
}

/// A rendered album's audio at the album's rate.
#[derive(Debug, Clone)]
pub struct AlbumAudio {
    /// Frames per second.
    pub sample_rate: u32,
    /// The segments' keys, in timeline order.
    pub segments: Vec<Key>,
    /// Each song's span, in album order.
    pub songs: Vec<SongSpan>,
}

impl AlbumAudio {
    /// Finds the album-rate audio of the album rendered as `graph` with `keys`.
    ///
    /// # Errors
    /// When the graph is not an album's, or a segment's record is not in `cache` (the
    /// album has not been rendered).
    pub fn find(graph: &RenderGraph, keys: &Keys, cache: &CacheDir) -> Result<Self, String> {
        let delivered =
            graph.find(DELIVERED_ANALYSIS).ok_or("the album has no delivered analysis")?;
        let segments = Self::timeline_segments(graph);
        let sample_rate = graph.graph[delivered].sample_rate;
        let mut songs = Vec::new();
        for &segment in segments {
            let key = keys.key(segment);
            let record: SegmentRecord =
                measurement::load(cache, key).ok_or("a segment's record is missing")?;
            for (j, &start) in record.starts.iter().enumerate() {
                let end = record.starts.get(j + 1).copied().unwrap_or(record.frames);
                songs.push(SongSpan { segment: key, start, frames: end.saturating_sub(start) });
            }
        }
        let segments = segments.iter().map(|&s| keys.key(s)).collect();
        Ok(Self { sample_rate, segments, songs })
    }

    /// The album-rate segments of the album whose graph is `graph`, in timeline order: the
    /// nodes that hold its whole audio as delivered. None when it is not an album's graph.
    #[must_use]
    pub fn timeline_segments(graph: &RenderGraph) -> &[NodeIndex] {
        let Some(delivered) = graph.find(DELIVERED_ANALYSIS) else { return &[] };
        let inputs = graph.graph[delivered].main_inputs();
        // The delivered analysis reads the album-rate segments, then the limited analysis.
        &inputs[..inputs.len().saturating_sub(1)]
    }

    /// Seconds of song `index`'s span.
    #[must_use]
    pub fn seconds(&self, index: usize) -> f64 {
        self.songs.get(index).map_or(0.0, |s| s.frames as f64 / f64::from(self.sample_rate))
    }

    /// Opens song `index`'s span.
    ///
    /// # Errors
    /// When the album has no such song, or its segment cannot be read.
    pub fn open_song(&self, store: &Store, index: usize) -> Result<Box<dyn AudioStream>, String> {
        let span = self.songs.get(index).ok_or_else(|| format!("the album has no song {index}"))?;
        let entry = store.open_entry(&span.segment).map_err(|e| e.to_string())?;
        Ok(Box::new(Span::new(entry, span.start, span.frames)))
    }

    /// The whole album: every segment, end to end. A segment that cannot be read fails
    /// the read that reaches it.
    #[must_use]
    pub fn open_album(&self, store: &Store) -> Box<dyn AudioStream> {
        let store = store.clone();
        let parts = self.segments.clone().into_iter().map(move |key| {
            let entry = store.open_entry(&key).map_err(|e| e.to_string())?;
            Ok(Box::new(entry) as Box<dyn AudioStream>)
        });
        Box::new(Chained::new(parts, self.sample_rate))
    }
}
