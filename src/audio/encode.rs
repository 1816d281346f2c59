//! The encoder seam: how a target's audio becomes a file. An [`Encoding`] names the file
//! format and its settings; an [`Encoder`] takes planar stereo blocks, in order, and puts
//! the finished file in place atomically.
//!
//! Encoders stream: FLAC and MP3 cannot take back frames once encoded, so an encoder is
//! only ever given frames that belong in the file. A caller that learns the length late
//! (a pipe announces its audible end only at the end) holds back the frames it is not
//! sure of until it knows.
//!
//! Files come out untagged; tags are placed around a copy of the finished stream
//! ([`super::tagged`]), so that a tag edit never needs the audio encoded again.

use std::path::Path;

use super::AudioError;
use super::dither::{Dither, Quantizer};
use super::flac::{FlacSettings, FlacWriter};
use super::loudness::{LoudnessMeter, PoolableRecord};
use super::magnitude;
use super::mp3::{Mp3Rate, Mp3Settings, Mp3Writer};
use super::tags::Container;
use super::wav::{Clipping, WavFormat, WavWriter};

/// A file format and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// A stereo WAV file in this sample format, rounded to nearest without dither.
    Wav(WavFormat),
    /// A stereo 16- or 24-bit WAV file, its samples reduced with dither.
    DitheredWav {
        /// 16 or 24.
        bits: u32,
        /// How samples lose precision.
        dither: Dither,
        /// The dither's seed, from a stable identity (target name and song).
        seed: u64,
    },
    /// A stereo 16- or 24-bit FLAC file.
    Flac {
        /// 16 or 24.
        bits: u32,
        /// How samples lose precision.
        dither: Dither,
        /// The dither's seed, from a stable identity (target name and song).
        seed: u64,
    },
    /// A stereo MP3 file.
    Mp3(Mp3Rate),
}

impl Encoding {
    /// A stable name of the format and its settings, which output keys hash: changing the
    /// encoding writes the file again. Never change an existing name.
    #[must_use]
    pub fn id(self) -> String {
        let dither = |d: Dither| match d {
            Dither::None => "round",
            Dither::Tpdf => "tpdf",
            Dither::Shaped => "shaped",
        };
        match self {
            Self::Wav(WavFormat::Pcm16) => "pcm16".into(),
            Self::Wav(WavFormat::Pcm24) => "pcm24".into(),
            Self::Wav(WavFormat::Float32) => "float32".into(),
            Self::DitheredWav { bits, dither: d, seed } => {
                format!("pcm{bits}-{}-{seed:016x}", dither(d))
            }
            Self::Flac { bits, dither: d, seed } => {
                format!("flac{bits}-{}-{seed:016x}", dither(d))
            }
            Self::Mp3(Mp3Rate::Cbr(kbps)) => format!("mp3-cbr{kbps}"),
            Self::Mp3(Mp3Rate::Vbr(level)) => format!("mp3-v{level}"),
        }
    }

    /// The file name extension, without the dot.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self.container() {
            Container::Wav => "wav",
            Container::Flac => "flac",
            Container::Mp3 => "mp3",
        }
    }

    /// The container the file is, for its tags.
    #[must_use]
    pub fn container(self) -> Container {
        match self {
            Self::Wav(_) | Self::DitheredWav { .. } => Container::Wav,
            Self::Flac { .. } => Container::Flac,
            Self::Mp3(_) => Container::Mp3,
        }
    }

    /// Starts a file that will appear at `path`, holding audio at `sample_rate`, once
    /// [`Encoder::finish`] succeeds.
    ///
    /// # Errors
    /// When the file cannot be started next to `path`, or the format cannot hold
    /// `sample_rate`.
    pub fn create(self, path: &Path, sample_rate: u32) -> Result<Box<dyn Encoder>, AudioError> {
        self.start(path, sample_rate, false)
    }

    /// As [`Encoding::create`], with an encoder that also measures its samples as a
    /// decoder will read them back, where the format stores exactly the integers reduced
    /// here (a dithered WAV, FLAC); see [`Encoder::decoded_loudness`].
    ///
    /// # Errors
    /// As [`Encoding::create`], or when the loudness meter does not take the rate.
    pub fn create_measuring(
        self,
        path: &Path,
        sample_rate: u32,
    ) -> Result<Box<dyn Encoder>, AudioError> {
        self.start(path, sample_rate, true)
    }

    fn start(
        self,
        path: &Path,
        sample_rate: u32,
        measuring: bool,
    ) -> Result<Box<dyn Encoder>, AudioError> {
        let unsupported =
            |reason: String| AudioError::Unsupported { path: path.to_path_buf(), reason };
        Ok(match self {
            Self::Wav(format) => Box::new(WavWriter::create(path, sample_rate, format)?),
            Self::DitheredWav { bits, dither, seed } => {
                let format = if bits == 16 { WavFormat::Pcm16 } else { WavFormat::Pcm24 };
                let decoded = measuring
                    .then(|| LoudnessMeter::new(sample_rate))
                    .transpose()
                    .map_err(|e| unsupported(e.to_string()))?;
                Box::new(DitheredWav {
                    writer: WavWriter::create(path, sample_rate, format)?,
                    quantizer: Quantizer::new(bits, dither, seed),
                    scale: 1.0 / f64::from(1_u32 << (bits - 1)),
                    integers: Vec::new(),
                    planes: (Vec::new(), Vec::new()),
                    decoded,
                })
            }
            Self::Flac { bits, dither, seed } => {
                let settings = FlacSettings { bits, dither, seed };
                let mut encoder = FlacWriter::create(path, sample_rate, settings)?;
                if measuring {
                    encoder.measure_as_decoded()?;
                }
                Box::new(Counted { encoder, meter: ClipMeter::new(bits) })
            }
            Self::Mp3(rate) => {
                let settings = Mp3Settings { rate };
                Box::new(Mp3Writer::create(path, sample_rate, settings)?)
            }
        })
    }
}

/// A file being written from planar stereo blocks.
pub trait Encoder: Send {
    /// Appends one block; `left` and `right` have the same length. Every frame given is
    /// in the file: encoded frames cannot be taken back.
    ///
    /// # Errors
    /// When the file cannot be written.
    fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), AudioError>;

    /// How many integer samples reached full scale so far, and the loudest sample; zero
    /// for formats that store any level (float, MP3).
    fn clipping(&self) -> Clipping;

    /// Starts the dither's noise again from rest with `seed`; formats without dither
    /// ignore it.
    fn restart_dither(&mut self, _seed: u64) {}

    /// The loudness and peaks of what has been written so far, as a decoder will read the
    /// file back: for an encoder from [`Encoding::create_measuring`] of a format that
    /// stores exactly what it is given, else `None` (the file must then be decoded).
    fn decoded_loudness(&self) -> Option<PoolableRecord> {
        None
    }

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

    fn clipping(&self) -> Clipping {
        WavWriter::clipping(self)
    }

    fn finish(self: Box<Self>) -> Result<(), AudioError> {
        WavWriter::finish(*self)
    }
}

impl Encoder for Mp3Writer {
    fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), AudioError> {
        Mp3Writer::write(self, left, right)
    }

    fn clipping(&self) -> Clipping {
        Clipping::default()
    }

    fn finish(self: Box<Self>) -> Result<(), AudioError> {
        Mp3Writer::finish(*self)
    }
}

/// A WAV writer behind a dithering quantizer: each sample is reduced to its integer here
/// and handed on as that integer's exact float value, which the writer's rounding keeps
/// and a decoder reads back, so the meter takes those values.
struct DitheredWav {
    writer: WavWriter,
    quantizer: Quantizer,
    /// 2¹⁻ⁿ: one LSB as a float.
    scale: f64,
    integers: Vec<i32>,
    planes: (Vec<f32>, Vec<f32>),
    decoded: Option<LoudnessMeter>,
}

impl Encoder for DitheredWav {
    fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), AudioError> {
        self.integers.clear();
        self.quantizer.quantize(left, right, &mut self.integers);
        let (l, r) = &mut self.planes;
        l.clear();
        r.clear();
        for pair in self.integers.chunks_exact(2) {
            l.push((f64::from(pair[0]) * self.scale) as f32);
            r.push((f64::from(pair[1]) * self.scale) as f32);
        }
        if let Some(meter) = &mut self.decoded {
            meter.add(l, r);
        }
        self.writer.write(l, r)
    }

    fn clipping(&self) -> Clipping {
        self.writer.clipping()
    }

    fn restart_dither(&mut self, seed: u64) {
        self.quantizer.restart(seed);
    }

    fn decoded_loudness(&self) -> Option<PoolableRecord> {
        self.decoded.as_ref().map(LoudnessMeter::poolable)
    }

    fn finish(self: Box<Self>) -> Result<(), AudioError> {
        self.writer.finish()
    }
}

/// FLAC's writer with the clipping count a WAV writer keeps.
struct Counted {
    encoder: FlacWriter,
    meter: ClipMeter,
}

impl Encoder for Counted {
    fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), AudioError> {
        self.meter.add(left, right);
        self.encoder.write(left, right)
    }

    fn restart_dither(&mut self, seed: u64) {
        self.encoder.restart_dither(seed);
    }

    fn decoded_loudness(&self) -> Option<PoolableRecord> {
        self.encoder.decoded_loudness()
    }

    fn clipping(&self) -> Clipping {
        self.meter.clipping
    }

    fn finish(self: Box<Self>) -> Result<(), AudioError> {
        self.encoder.finish()
    }
}

/// Counts samples at or within half a step of an integer format's largest value, as the
/// WAV writer does, and the loudest sample.
struct ClipMeter {
    /// The level, as a float, from which a sample lands on the largest integer.
    threshold: f32,
    clipping: Clipping,
}

impl ClipMeter {
    fn new(bits: u32) -> Self {
        let full_scale = f64::from(1_u32 << (bits - 1));
        Self { threshold: ((full_scale - 1.5) / full_scale) as f32, clipping: Clipping::default() }
    }

    fn add(&mut self, left: &[f32], right: &[f32]) {
        for channel in [left, right] {
            let (peak, above) =
                magnitude::loudest_and_count_above(channel, self.clipping.peak, self.threshold);
            self.clipping.peak = peak;
            self.clipping.samples += above;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Source;
    use crate::audio::decode::Decoder;
    use crate::audio::loudness::measure_poolable;

    fn signal(frames: usize) -> Vec<f32> {
        (0..frames).map(|i| (i as f32 * 0.01).sin() * 0.8).collect()
    }

    #[test]
    fn a_lossless_file_measured_while_written_reads_as_its_decoded_file_measures() {
        let dir = tempfile::tempdir().unwrap();
        // 5 s of a loud tone with a burst, so that loudness, range and an inter-sample
        // peak all have something to read; the dither makes the integers differ from
        // the floats given.
        let frames = 5 * 48_000;
        let left: Vec<f32> = (0..frames)
            .map(|i| {
                let burst = if (96_000..110_000).contains(&i) { 0.3 } else { 0.0 };
                0.6 * (i as f32 * 0.37).sin() + burst
            })
            .collect();
        let right: Vec<f32> = left.iter().map(|x| -0.8 * x).collect();
        let encodings = [
            Encoding::DitheredWav { bits: 16, dither: Dither::Tpdf, seed: 3 },
            Encoding::DitheredWav { bits: 24, dither: Dither::None, seed: 3 },
            Encoding::Flac { bits: 16, dither: Dither::Shaped, seed: 3 },
            Encoding::Flac { bits: 24, dither: Dither::None, seed: 3 },
        ];
        for encoding in encodings {
            let path = dir.path().join(format!("measured.{}", encoding.extension()));
            let mut encoder = encoding.create_measuring(&path, 48_000).unwrap();
            for (l, r) in left.chunks(3000).zip(right.chunks(3000)) {
                encoder.write(l, r).unwrap();
            }
            let measured = encoder.decoded_loudness().expect("a lossless file is measured");
            encoder.finish().unwrap();
            let decoded = measure_poolable(&mut Decoder::open(&path).unwrap()).unwrap();
            assert_eq!(measured, decoded, "{encoding:?}");
            assert!(measured.record.true_peak.is_some(), "{encoding:?}");
        }
        let mp3 = dir.path().join("unmeasured.mp3");
        let encoder = Encoding::Mp3(Mp3Rate::Cbr(320)).create_measuring(&mp3, 48_000).unwrap();
        assert!(encoder.decoded_loudness().is_none(), "an MP3 must be decoded to be measured");
    }

    #[test]
    fn a_wav_encoder_writes_the_bytes_the_wav_writer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let samples = signal(1000);
        let direct = dir.path().join("direct.wav");
        let mut writer = WavWriter::create(&direct, 44_100, WavFormat::Pcm24).unwrap();
        writer.write(&samples, &samples).unwrap();
        writer.finish().unwrap();
        let seam = dir.path().join("seam.wav");
        let mut encoder = Encoding::Wav(WavFormat::Pcm24).create(&seam, 44_100).unwrap();
        encoder.write(&samples[..300], &samples[..300]).unwrap();
        encoder.write(&samples[300..], &samples[300..]).unwrap();
        encoder.finish().unwrap();
        assert_eq!(std::fs::read(direct).unwrap(), std::fs::read(seam).unwrap());
    }

    #[test]
    fn encoding_ids_are_the_names_keys_have_always_hashed() {
        let ids =
            [WavFormat::Pcm16, WavFormat::Pcm24, WavFormat::Float32].map(|f| Encoding::Wav(f).id());
        assert_eq!(ids, ["pcm16", "pcm24", "float32"]);
    }

    #[test]
    fn encoding_ids_tell_every_setting_apart() {
        let tpdf = Encoding::Flac { bits: 16, dither: Dither::Tpdf, seed: 1 };
        let ids = [
            tpdf.id(),
            Encoding::Flac { bits: 24, dither: Dither::Tpdf, seed: 1 }.id(),
            Encoding::Flac { bits: 16, dither: Dither::Shaped, seed: 1 }.id(),
            Encoding::Flac { bits: 16, dither: Dither::Tpdf, seed: 2 }.id(),
            Encoding::DitheredWav { bits: 16, dither: Dither::Tpdf, seed: 1 }.id(),
            Encoding::Mp3(Mp3Rate::Cbr(320)).id(),
            Encoding::Mp3(Mp3Rate::Cbr(256)).id(),
            Encoding::Mp3(Mp3Rate::Vbr(0)).id(),
        ];
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }

    /// Decodes `path` into interleaved integers of `bits` bits.
    fn decode_integers(path: &Path, bits: u32) -> Vec<i32> {
        let mut decoder = Decoder::open(path).unwrap();
        let scale = f64::from(1_u32 << (bits - 1));
        let (mut l, mut r) = (vec![0.0; 4096], vec![0.0; 4096]);
        let mut out = Vec::new();
        loop {
            let n = decoder.read(&mut l, &mut r).unwrap();
            if n == 0 {
                return out;
            }
            for (a, b) in l[..n].iter().zip(&r[..n]) {
                out.push((f64::from(*a) * scale).round() as i32);
                out.push((f64::from(*b) * scale).round() as i32);
            }
        }
    }

    #[test]
    fn a_dithered_wav_holds_exactly_the_integers_its_quantizer_makes() {
        let dir = tempfile::tempdir().unwrap();
        let (left, right) = (signal(5000), signal(5000).iter().map(|x| -x * 0.5).collect());
        let right: Vec<f32> = right;
        for (bits, dither) in [(16, Dither::Tpdf), (16, Dither::Shaped), (24, Dither::Tpdf)] {
            let path = dir.path().join(format!("{bits}-{dither:?}.wav"));
            let mut encoder =
                Encoding::DitheredWav { bits, dither, seed: 9 }.create(&path, 48_000).unwrap();
            encoder.write(&left[..1234], &right[..1234]).unwrap();
            encoder.write(&left[1234..], &right[1234..]).unwrap();
            encoder.finish().unwrap();
            let mut meant = Vec::new();
            Quantizer::new(bits, dither, 9).quantize(&left, &right, &mut meant);
            assert!(decode_integers(&path, bits) == meant, "{bits} bits {dither:?}");
        }
    }

    #[test]
    fn a_flac_encoder_counts_full_scale_samples_as_a_wav_writer_does() {
        let dir = tempfile::tempdir().unwrap();
        let hot: Vec<f32> = (0..2000).map(|i| if i % 2 == 0 { 1.3 } else { -0.2 }).collect();
        let wav = dir.path().join("hot.wav");
        let mut encoder = Encoding::Wav(WavFormat::Pcm16).create(&wav, 48_000).unwrap();
        encoder.write(&hot, &hot).unwrap();
        let expected = encoder.clipping();
        let flac = dir.path().join("hot.flac");
        let mut encoder = Encoding::Flac { bits: 16, dither: Dither::None, seed: 0 }
            .create(&flac, 48_000)
            .unwrap();
        encoder.write(&hot, &hot).unwrap();
        assert_eq!(encoder.clipping(), expected);
        assert_eq!(expected.samples, 2000);
    }
}
