//! Audio files in and out: decoding any supported format to planar stereo `f32`,
//! resampling to the project rate, writing WAV files atomically, and measuring loudness.
//!
//! Each outside library is named in one file only (symphonia in [`decode`], rubato in
//! [`resample`], ebur128 in [`loudness`]); [`wav`] writes the WAV container itself. This
//! module knows nothing of projects, graphs or caches.

mod aiff;
pub mod decode;
pub mod loudness;
pub mod resample;
pub mod wav;

use std::io;
use std::path::PathBuf;

/// Why reading, resampling or writing audio failed. File errors name the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The file could not be opened or created.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// Reading the file failed part way.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// Writing the file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system or the encoder said.
        source: io::Error,
    },
    /// The file is not audio in a format we read, or uses a feature we do not support.
    #[error("{}: unsupported audio: {reason}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        reason: String,
    },
    /// The file has more channels than mono or stereo.
    #[error("{}: has {channels} channels; only mono and stereo files are supported", path.display())]
    Channels {
        /// The file.
        path: PathBuf,
        /// How many channels it has.
        channels: usize,
    },
    /// The file's data is malformed or fails its own checksum.
    #[error("{}: corrupt audio: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the decoder found.
        reason: String,
    },
    /// The file yields fewer frames than its header declares: it was cut short, or the
    /// reader had to skip damaged frames.
    #[error("{}: truncated or damaged: the header declares {expected} frames but only {decoded} decode", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Frames the header declares.
        expected: u64,
        /// Frames actually decoded.
        decoded: u64,
    },
    /// The resampler could not be set up for this pair of rates.
    #[error("cannot resample from {from} Hz to {to} Hz: {reason}")]
    Resample {
        /// Source rate.
        from: u32,
        /// Target rate.
        to: u32,
        /// What the resampler said.
        reason: String,
    },
}

/// A stream of planar stereo `f32` audio: a decoded file, or a resampled one.
pub trait Source {
    /// Frames per second of the audio that `read` returns.
    fn sample_rate(&self) -> u32;

    /// Total frames the stream will return, when known before reading it all.
    fn frames(&self) -> Option<u64>;

    /// Fills up to `left.len()` frames of both channels (`right` must be as long) and
    /// returns how many were written; 0 means the stream has ended.
    ///
    /// # Errors
    /// When the underlying file cannot be read or is corrupt.
    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, AudioError>;
}
