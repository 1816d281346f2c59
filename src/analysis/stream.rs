//! A rendered signal read block by block, whichever holds it: a node's cache entry, an
//! album song's mix master cut as the song reads it, or a delivered audio file. Measuring and null tests read through this one seam, so they do
//! not care where the audio lives.

use std::path::Path;

use crate::audio::Source;
use crate::audio::decode::Decoder;
use crate::audio::resample::Resampled;
use crate::cache::store::EntryReader;
use crate::render::MixMaster;

/// Planar stereo audio read to its end, a block at a time.
pub trait AudioStream {
    /// Frames per second.
    fn sample_rate(&self) -> u32;

    /// Fills up to `left.len()` frames of both channels; 0 means the end. A failure is
    /// said in words, naming what failed to read.
    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String>;
}

impl AudioStream for EntryReader {
    fn sample_rate(&self) -> u32 {
        EntryReader::sample_rate(self)
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
        EntryReader::read(self, left, right).map_err(|e| e.to_string())
    }
}

impl AudioStream for MixMaster {
    fn sample_rate(&self) -> u32 {
        MixMaster::sample_rate(self)
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
        MixMaster::read(self, left, right).map_err(|e| e.to_string())
    }
}

/// An audio file decoded, and resampled to a rate when asked.
pub struct FileStream(Resampled<Decoder>);

impl FileStream {
    /// Opens `path`, to be read at `rate` (its own rate when `None`).
    ///
    /// # Errors
    /// When the file cannot be opened as audio or resampled.
    pub fn open(path: &Path, rate: Option<u32>) -> Result<Self, String> {
        let decoder = Decoder::open(path).map_err(|e| e.to_string())?;
        let rate = rate.unwrap_or_else(|| decoder.sample_rate());
        Resampled::new(decoder, rate).map(Self).map_err(|e| e.to_string())
    }
}

impl AudioStream for FileStream {
    fn sample_rate(&self) -> u32 {
        self.0.sample_rate()
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, String> {
        self.0.read(left, right).map_err(|e| e.to_string())
    }
}
