//! Audio files in and out: decoding any supported format to planar stereo `f32`,
//! resampling to the project rate, writing WAV, FLAC and MP3 files atomically, reducing
//! word length with dither, tagging delivered files, and measuring loudness.
//!
//! Each outside library is named in one file only (symphonia in [`decode`], claxon and
//! md-5 in `flac_decode`, rubato in [`resample`], flacenc in [`flac`], LAME's binding in
//! [`mp3`], lofty in [`tags`]); [`wav`] writes the WAV container itself, and
//! [`k_weighting`] is BS.1770's filter, which tests hold to the `ebur128` crate's
//! readings. This module knows nothing of projects, graphs or caches.
//!
//! It is the boundary where untrusted bytes become samples, so everything that comes out of
//! it is checked: sample rates lie in [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`], every
//! sample is finite, buffers are sized by the render and never by a header's word, a panic
//! in a decoder or the resampler is that file's error, and a decoder told which bytes to
//! expect reports a file that changed under it.

mod aiff;
pub mod container;
mod content_check;
pub mod decode;
mod decoded_meter;
pub mod dither;
pub mod encode;
pub mod flac;
mod flac_decode;
mod gating;
mod guard;
pub mod k_weighting;
pub mod loudness;
mod magnitude;
pub mod mp3;
pub mod mp3_peak;
pub mod probe;
pub mod resample;
mod riff;
mod staged;
pub mod tagged;
pub mod tags;
pub mod true_peak;
pub mod wav;
pub mod wav_join;

use std::io;
use std::path::PathBuf;

pub use content_check::ExpectedContent;

/// The lowest sample rate a file may declare, in Hz: below it, a header is more likely
/// damaged than meant (telephone audio is 8 kHz).
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// The highest sample rate a file may declare, in Hz: four times 192 kHz, above any
/// studio format; a header claiming more is damaged or hostile.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

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
    #[error("{}: truncated or damaged: the header declares {expected} frames but the file holds only {decoded}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Frames the header declares.
        expected: u64,
        /// Frames actually decoded.
        decoded: u64,
    },
    /// The file ends before the last frame its header declares, found without decoding.
    #[error("{}: cut short: the header declares {expected} frames but the file ends before the last of them", path.display())]
    CutShort {
        /// The file.
        path: PathBuf,
        /// Frames the header declares.
        expected: u64,
    },
    /// The file has no bytes at all.
    #[error("{}: the file is empty (0 bytes); export the audio again", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file starts like an audio file but holds no audio.
    #[error("{}: holds no audio: the file ends before its first sample", path.display())]
    NoAudio {
        /// The file.
        path: PathBuf,
    },
    /// The header declares a sample rate outside the range we read.
    #[error(
        "{}: declares a sample rate of {rate} Hz; audio files from {} kHz to {} kHz are read, so the header is damaged",
        path.display(), MIN_SAMPLE_RATE / 1000, MAX_SAMPLE_RATE / 1000
    )]
    SampleRate {
        /// The file.
        path: PathBuf,
        /// The rate it declares.
        rate: u32,
    },
    /// A sample is infinite or NaN.
    #[error(
        "{}: holds a sample that is not a finite number (infinite or NaN) at {:.3} s (frame {frame}); repair or re-export the file",
        path.display(), *frame as f64 / f64::from(*sample_rate)
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The first frame holding one.
        frame: u64,
        /// The file's rate, to say where that frame is in time.
        sample_rate: u32,
    },
    /// The decoder failed on the file in a way it did not foresee (a panic, caught).
    #[error("{}: the decoder failed on this file ({reason}); the file is probably damaged", path.display())]
    DecoderFailed {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The file's bytes are not the ones it had when the render hashed it: it was written
    /// while the render ran.
    #[error("{}: changed while it was being rendered, so nothing made from it was kept; render again once it is saved", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
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

impl AudioError {
    /// The file the error is about, when it is about one.
    #[must_use]
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Open { path, .. }
            | Self::Read { path, .. }
            | Self::Write { path, .. }
            | Self::Unsupported { path, .. }
            | Self::Channels { path, .. }
            | Self::Corrupt { path, .. }
            | Self::Truncated { path, .. }
            | Self::CutShort { path, .. }
            | Self::Empty { path }
            | Self::NoAudio { path }
            | Self::SampleRate { path, .. }
            | Self::NonFinite { path, .. }
            | Self::DecoderFailed { path, .. }
            | Self::Changed { path } => Some(path),
            Self::Resample { .. } => None,
        }
    }
}

/// Frames read at a time by whatever reads a stream through to its end to measure it.
pub const READ_BLOCK_FRAMES: usize = 4096;

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

/// Fills `buf` from `file`; false when the file ends first. The container walkers
/// ([`aiff`], [`riff`]) read headers with it.
fn read_all(file: &mut std::fs::File, buf: &mut [u8]) -> io::Result<bool> {
    match std::io::Read::read_exact(file, buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}
