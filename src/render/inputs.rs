//! Opening what a node reads: cache entries of upstream nodes, or source files directly.

use std::path::Path;

use super::NodeError;
use super::stream::read_full;
use petgraph::graph::NodeIndex;

use crate::audio::decode::Decoder;
use crate::audio::{AudioError, ExpectedContent, Source};
use crate::cache::CacheError;
use crate::cache::Key;
use crate::cache::keys::Keys;
use crate::cache::store::EntryReader;

/// Planar stereo audio a node reads block by block.
pub trait Stream: Send {
    /// Fills up to `left.len()` frames; 0 at the end.
    ///
    /// # Errors
    /// When the underlying file or entry fails.
    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, NodeError>;

    /// Total frames, when known up front.
    fn frames(&self) -> Option<u64>;

    /// Where the source material of an upstream node ends (the rest is its tail), which
    /// sums pass on so the output knows where the music stops.
    fn content_frames(&self) -> Option<u64> {
        None
    }

    /// Frames up to the last audible one of an upstream node, once known.
    fn audible_frames(&self) -> Option<u64> {
        None
    }

    /// Confirms, for a stream that a reader stops reading before its end, that what was
    /// read can be kept: a source file must still be the file its key was made of.
    ///
    /// # Errors
    /// When the file changed or cannot be read.
    fn confirm_content(&mut self) -> Result<(), NodeError> {
        Ok(())
    }

    /// The next `n` frames, lent from the stream's own buffers where it holds them in one
    /// piece, which saves copying them, and otherwise read into `spare`.
    ///
    /// # Errors
    /// When the underlying file or entry fails.
    fn lend<'a>(&'a mut self, n: usize, spare: &'a mut Spare) -> Result<Lent<'a>, NodeError> {
        lend_by_copy(self, n, spare)
    }
}

/// Buffers a reader lends into when a stream cannot lend its own.
pub type Spare = [Vec<f32>; 2];

/// Frames lent by [`Stream::lend`]: always as many as asked for, the ones past the end of
/// the stream zeros.
pub struct Lent<'a> {
    /// Left samples.
    pub left: &'a [f32],
    /// Right samples.
    pub right: &'a [f32],
    /// Frames of real audio at the start (0 once the stream has ended).
    pub filled: usize,
}

/// [`Stream::lend`] for a stream without buffers of its own to lend: reads into `spare`.
///
/// # Errors
/// When the stream fails.
pub fn lend_by_copy<'a, S: Stream + ?Sized>(
    stream: &mut S,
    n: usize,
    spare: &'a mut Spare,
) -> Result<Lent<'a>, NodeError> {
    let [left, right] = spare;
    let filled = read_full(stream, &mut left[..n], &mut right[..n])?;
    Ok(Lent { left: &left[..n], right: &right[..n], filled })
}

/// A source file decoded directly (its rate already matches the render).
pub struct FileStream(pub Decoder);

impl FileStream {
    /// Opens `path` for decoding, to read the file whose bytes are `content`.
    ///
    /// # Errors
    /// When the file cannot be opened as audio.
    pub fn open(path: &Path, content: Option<ExpectedContent>) -> Result<Self, NodeError> {
        open_decoder(path, content).map(Self).map_err(NodeError::Audio)
    }
}

/// What the file of source node `source` must hold, as its key says and this run saw it.
#[must_use]
pub fn expected_content(keys: &Keys, source: NodeIndex) -> Option<ExpectedContent> {
    let digest = keys.source_content(source)?;
    Some(ExpectedContent { digest, hashed_as: keys.source_hashed_as(source) })
}

/// Opens `path`, checking its bytes against `content` when it is given.
///
/// # Errors
/// When the file cannot be opened as audio.
pub fn open_decoder(path: &Path, content: Option<ExpectedContent>) -> Result<Decoder, AudioError> {
    match content {
        Some(expected) => Decoder::open_expecting(path, expected),
        None => Decoder::open(path),
    }
}

impl Stream for FileStream {
    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, NodeError> {
        self.0.read(left, right).map_err(NodeError::Audio)
    }

    fn frames(&self) -> Option<u64> {
        self.0.frames()
    }

    fn confirm_content(&mut self) -> Result<(), NodeError> {
        self.0.confirm_content().map_err(NodeError::Audio)
    }
}

/// A cache entry of an upstream node. A checksum failure names the entry so the scheduler
/// can drop it and render it again.
pub struct EntryStream {
    reader: EntryReader,
    key: Key,
    content_frames: Option<u64>,
    audible_frames: Option<u64>,
}

impl EntryStream {
    /// Opens the entry for `key`.
    ///
    /// # Errors
    /// `CorruptInput` when the entry is missing or damaged.
    pub fn open(store: &crate::cache::store::Store, key: Key) -> Result<Self, NodeError> {
        let mut reader = store.open_entry(&key).map_err(|e| corrupt(key, &e))?;
        let about = reader.read_manifest().map_err(|e| corrupt(key, &e))?.description;
        Ok(Self {
            reader,
            key,
            content_frames: Some(about.content_frames),
            audible_frames: Some(about.audible_frames),
        })
    }
}

fn corrupt(key: Key, error: &CacheError) -> NodeError {
    NodeError::CorruptInput { key, reason: error.to_string() }
}

impl Stream for EntryStream {
    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, NodeError> {
        self.reader.read(left, right).map_err(|e| corrupt(self.key, &e))
    }

    fn lend<'a>(&'a mut self, n: usize, spare: &'a mut Spare) -> Result<Lent<'a>, NodeError> {
        if self.reader.holds_next(n).map_err(|e| corrupt(self.key, &e))? {
            let (left, right) = self.reader.lend(n);
            return Ok(Lent { left, right, filled: n });
        }
        lend_by_copy(self, n, spare)
    }

    fn frames(&self) -> Option<u64> {
        Some(self.reader.frames())
    }

    fn content_frames(&self) -> Option<u64> {
        self.content_frames
    }

    fn audible_frames(&self) -> Option<u64> {
        self.audible_frames
    }
}

/// Counts the frames of a stream whose container does not say, by decoding it once; the
/// file must hold the bytes `content` says.
///
/// # Errors
/// When the file fails to decode or has changed.
pub fn count_frames(path: &Path, content: Option<ExpectedContent>) -> Result<u64, AudioError> {
    let mut decoder = open_decoder(path, content)?;
    if let Some(frames) = decoder.frames() {
        return Ok(frames);
    }
    let mut l = vec![0.0; crate::dsp::BLOCK_FRAMES];
    let mut r = vec![0.0; crate::dsp::BLOCK_FRAMES];
    let mut total = 0u64;
    loop {
        let n = decoder.read(&mut l, &mut r)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}
