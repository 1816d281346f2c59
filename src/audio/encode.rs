//! The encoder seam: how a target's audio becomes a file. An [`Encoding`] names the file
//! format and its settings (a render setting, not part of the graph); an [`Encoder`] takes
//! planar stereo blocks and puts the finished file in place atomically.
//!
//! WAV is the one encoding today. FLAC and MP3 become further variants of [`Encoding`],
//! each with its own [`Encoder`], and nothing that calls the seam changes.

use std::path::Path;

use super::AudioError;
use super::wav::{Clipping, WavFormat, WavWriter};

/// A file format and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// A stereo WAV file in this sample format.
    Wav(WavFormat),
}

impl Encoding {
    /// A stable name of the format and its settings, which output keys hash: changing the
    /// encoding writes the file again. Never change an existing name.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Wav(WavFormat::Pcm16) => "pcm16",
            Self::Wav(WavFormat::Pcm24) => "pcm24",
            Self::Wav(WavFormat::Float32) => "float32",
        }
    }

    /// The file name extension, without the dot.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Wav(_) => "wav",
        }
    }

    /// Starts a file that will appear at `path`, holding audio at `sample_rate`, once
    /// [`Encoder::finish`] succeeds.
    ///
    /// # Errors
    /// When the file cannot be started next to `path`.
    pub fn create(self, path: &Path, sample_rate: u32) -> Result<Box<dyn Encoder>, AudioError> {
        match self {
            Self::Wav(format) => Ok(Box::new(WavWriter::create(path, sample_rate, format)?)),
        }
    }
}

/// A file being written from planar stereo blocks.
pub trait Encoder: Send {
    /// Appends one block; `left` and `right` have the same length.
    ///
    /// # Errors
    /// When the file cannot be written.
    fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), AudioError>;

    /// Keeps only the first `frames` frames, for a writer that wrote ahead before it knew
    /// the length; does nothing when no more were written.
    ///
    /// # Errors
    /// When the file cannot be cut.
    fn cut(&mut self, frames: u64) -> Result<(), AudioError>;

    /// How many integer samples reached full scale so far, and the loudest sample.
    fn clipping(&self) -> Clipping;

    /// Completes the file and moves it into place; dropping an encoder instead leaves
    /// whatever was at the path before.
    ///
    /// # Errors
    /// When the file cannot be completed; the destination is then left untouched.
    fn finish(self: Box<Self>) -> Result<(), AudioError>;
}

impl Encoder for WavWriter {
    fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), AudioError> {
        WavWriter::write(self, left, right)
    }

    fn cut(&mut self, frames: u64) -> Result<(), AudioError> {
        self.truncate(frames)
    }

    fn clipping(&self) -> Clipping {
        WavWriter::clipping(self)
    }

    fn finish(self: Box<Self>) -> Result<(), AudioError> {
        WavWriter::finish(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wav_encoder_writes_the_bytes_the_wav_writer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let samples: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 0.8).collect();
        let direct = dir.path().join("direct.wav");
        let mut writer = WavWriter::create(&direct, 44_100, WavFormat::Pcm24).unwrap();
        writer.write(&samples, &samples).unwrap();
        writer.truncate(700).unwrap();
        writer.finish().unwrap();
        let seam = dir.path().join("seam.wav");
        let mut encoder = Encoding::Wav(WavFormat::Pcm24).create(&seam, 44_100).unwrap();
        encoder.write(&samples, &samples).unwrap();
        encoder.cut(700).unwrap();
        encoder.finish().unwrap();
        assert_eq!(std::fs::read(direct).unwrap(), std::fs::read(seam).unwrap());
    }

    #[test]
    fn encoding_ids_are_the_names_keys_have_always_hashed() {
        let ids =
            [WavFormat::Pcm16, WavFormat::Pcm24, WavFormat::Float32].map(|f| Encoding::Wav(f).id());
        assert_eq!(ids, ["pcm16", "pcm24", "float32"]);
    }
}
