//! The encode node: a deliverable's audio made into its file format, before tags. The
//! master's final output is cut to the mix's length (with the fade at an exact cut),
//! converted to the target's rate, reduced to its word length with the target's dither,
//! encoded into a scratch file in the cache folder, which becomes an encoded entry that the
//! target's file node copies and tags.
//!
//! The ceiling holds on the file, not on the samples before it: rate conversion moves the
//! peaks between samples, dither adds a few LSB, and decoding an MP3 gives peaks its input
//! did not have. A WAV or FLAC file is measured as it is written, on the integers it
//! stores, which are what a decoder reads back; an MP3 is decoded back with our own
//! decoder and measured. An MP3's peaks are estimated before it is encoded
//! ([`Mp3PeakEstimate`]), and the audio lowered by what the estimate says it needs plus
//! [`ESTIMATE_MARGIN_DB`], so that LAME, the slowest part of a release, usually runs once.
//! When a file is still over the target's ceiling, the audio is encoded again, lowered by
//! the overshoot plus a margin ([`TRIM_MARGIN_DB`] for an MP3, [`LOSSLESS_TRIM_MARGIN_DB`]
//! for WAV and FLAC), at most [`MAX_ENCODINGS`] times in all, and the trim is recorded with
//! the stream for the render to report.
//!
//! The loudness and true peak of the decoded file are kept under the node's key for the
//! render's closing line.

use super::NodeError;
use super::cut_source::CutSource;
use super::job::Job;
use super::output::output_frames;
use super::stream::read_full;
use crate::audio::decode::Decoder;
use crate::audio::dither::Dither;
use crate::audio::encode::{Encoder, Encoding};
use crate::audio::loudness::{PoolableRecord, measure_poolable};
use crate::audio::mp3::Mp3Rate;
use crate::audio::mp3_peak::Mp3PeakEstimate;
use crate::audio::resample::Resampled;
use crate::audio::wav::{Clipping, WavFormat};
use crate::audio::{AudioError, Source};
use crate::cache::encoded::{EncodedFacts, store_encoded};
use crate::cache::folder::CacheDir;
use crate::cache::measurement;
use crate::dsp::BLOCK_FRAMES;
use crate::ir::{DeliverFormat, Deliverable, DitherMode, Length, SampleWidth};

/// How far an MP3's decoded peaks may rise over their estimate ([`Mp3PeakEstimate`]), which
/// leaves out LAME's quantisation noise: on the reference album, up to 0.28 dB.
pub const ESTIMATE_MARGIN_DB: f64 = 0.3;

/// Lowered this much below the ceiling when an MP3 is encoded again, as the second
/// encoding's peaks differ a little from the first's.
pub const TRIM_MARGIN_DB: f64 = 0.1;

/// How far under the ceiling an MP3's peaks are held as our decoder reads them: other
/// decoders (ffmpeg's) read an MP3's peaks up to about 0.1 dB higher than ours.
pub const MP3_DECODER_MARGIN_DB: f64 = 0.2;

/// Lowered this much below the ceiling when a WAV or FLAC is encoded again: the audio
/// scales exactly with the trim, and only the dither's few LSB (under 0.001 dB at 16 bits
/// and -1 dBFS) do not.
pub const LOSSLESS_TRIM_MARGIN_DB: f64 = 0.01;

/// How many times a target's audio is encoded at most to bring its file under the ceiling:
/// once, and again with a trim, and once more should the trimmed file still be over.
pub const MAX_ENCODINGS: usize = 3;

/// The scratch folder's prefix in the system's temporary folder.
pub(super) const SCRATCH: &str = "mixdown-encode-";

/// How a target's format and dither become an encoding.
#[must_use]
pub fn encoding_of(target: &Deliverable, seed: u64) -> Encoding {
    let dither = match target.dither {
        DitherMode::None => Dither::None,
        DitherMode::Tpdf => Dither::Tpdf,
        DitherMode::Shaped => Dither::Shaped,
    };
    let bits = |width| if width == SampleWidth::Int16 { 16 } else { 24 };
    match target.format {
        DeliverFormat::Wav(SampleWidth::Float32) => Encoding::Wav(WavFormat::Float32),
        DeliverFormat::Wav(width) => Encoding::DitheredWav { bits: bits(width), dither, seed },
        DeliverFormat::Flac(width) => Encoding::Flac { bits: bits(width), dither, seed },
        DeliverFormat::Mp3Cbr(kbps) => Encoding::Mp3(Mp3Rate::Cbr(kbps)),
        DeliverFormat::Mp3Vbr(level) => Encoding::Mp3(Mp3Rate::Vbr(level)),
    }
}

/// Encodes the target's audio and stores the stream under this node's key.
///
/// # Errors
/// When the input cannot be read, the audio cannot be encoded, or the cache refuses the
/// stream.
pub fn run_encode(
    job: &Job<'_>,
    target: &Deliverable,
    seed: u64,
    (length, cut_fade_seconds): (Length, f64),
    cache: &CacheDir,
) -> Result<(), NodeError> {
    let encoding = encoding_of(target, seed);
    let scratch = cache.scratch_folder(SCRATCH).map_err(NodeError::CacheWrite)?;
    let path = scratch.path().join(format!("stream.{}", encoding.extension()));
    let cut = Cut { length, cut_fade_seconds };
    let rate = target.sample_rate;
    let (clipping, frames, loudness, headroom_trim_db) =
        encode_under_ceiling(encoding, target.ceiling_dbtp, (&path, rate), |gain, sink| {
            read_cut(job, &cut, rate, gain, sink)
        })?;
    measurement::save(cache, job.keys.key(job.node), &loudness).map_err(NodeError::CacheWrite)?;
    let facts = EncodedFacts {
        key: job.keys.key(job.node).to_string(),
        node: job.graph.graph[job.node].id.clone(),
        frames,
        sample_rate: target.sample_rate,
        clipped_samples: clipping.samples,
        peak: clipping.peak,
        headroom_trim_db,
    };
    store_encoded(job.store, &job.keys.key(job.node), &path, &facts).map_err(NodeError::CacheWrite)
}

/// Where one reading of a target's audio goes: its encoder, or the estimate of an MP3's
/// peaks made before encoding.
pub(super) trait AudioSink {
    /// Takes the next block; `left` and `right` have the same length.
    ///
    /// # Errors
    /// When the block cannot be written.
    fn take(&mut self, left: &[f32], right: &[f32]) -> Result<(), NodeError>;

    /// A segment starts: the dither's noise starts again from rest with `seed`.
    fn restart_dither(&mut self, _seed: u64) {}
}

impl AudioSink for Box<dyn Encoder> {
    fn take(&mut self, left: &[f32], right: &[f32]) -> Result<(), NodeError> {
        self.write(left, right).map_err(NodeError::Audio)
    }

    fn restart_dither(&mut self, seed: u64) {
        Encoder::restart_dither(self.as_mut(), seed);
    }
}

impl AudioSink for Mp3PeakEstimate {
    fn take(&mut self, left: &[f32], right: &[f32]) -> Result<(), NodeError> {
        self.add(left, right);
        Ok(())
    }
}

/// Encodes what `read(gain, sink)` reads, scaled by `gain`, into the file at `path`, at
/// `rate`, and measures it (as the encoder measured it while writing, or else decoded
/// back). An MP3 whose estimated peaks ([`Mp3PeakEstimate`]) would pass the ceiling is
/// lowered by that much plus [`ESTIMATE_MARGIN_DB`] before its first encoding. Then,
/// while the file's true peak is over `ceiling_dbtp`, it is encoded again, lowered by the
/// overshoot plus a margin (at most [`MAX_ENCODINGS`] encodings in all). Returns the last
/// encoding's clipping and frames, the file's loudness and the trim, rounded to 0.01 dB.
///
/// # Errors
/// As `read`, or when the file cannot be written or does not decode.
pub(super) fn encode_under_ceiling(
    encoding: Encoding,
    ceiling_dbtp: f64,
    (path, rate): (&std::path::Path, u32),
    mut read: impl FnMut(f32, &mut dyn AudioSink) -> Result<u64, NodeError>,
) -> Result<(Clipping, u64, PoolableRecord, Option<f64>), NodeError> {
    let (margin_db, held_at) = if matches!(encoding, Encoding::Mp3(_)) {
        (TRIM_MARGIN_DB, ceiling_dbtp - MP3_DECODER_MARGIN_DB)
    } else {
        (LOSSLESS_TRIM_MARGIN_DB, ceiling_dbtp)
    };
    let estimate = match encoding {
        Encoding::Mp3(mp3_rate) => Mp3PeakEstimate::new(mp3_rate, rate),
        _ => None,
    };
    let mut trim_db = match estimate {
        Some(mut estimate) => {
            read(1.0, &mut estimate)?;
            estimate.finish().map_or(0.0, |peak| (peak + ESTIMATE_MARGIN_DB - held_at).max(0.0))
        }
        None => 0.0,
    };
    let mut encode = |trim_db: f64| -> Result<_, NodeError> {
        let mut encoder = encoding.create_measuring(path, rate).map_err(NodeError::Audio)?;
        let frames = read(10f64.powf(-trim_db / 20.0) as f32, &mut encoder)?;
        let (clipping, measured) = (encoder.clipping(), encoder.decoded_loudness());
        encoder.finish().map_err(NodeError::Audio)?;
        let loudness = match measured {
            Some(loudness) => loudness,
            None => decoded_loudness(path)?,
        };
        Ok((clipping, frames, loudness))
    };
    let (mut clipping, mut frames, mut loudness) = encode(trim_db)?;
    for _ in 1..MAX_ENCODINGS {
        let over = loudness.record.true_peak.map(|tp| tp - held_at).filter(|&o| o > 0.0);
        let Some(over) = over else { break };
        trim_db += over + margin_db;
        (clipping, frames, loudness) = encode(trim_db)?;
    }
    let headroom_trim_db = (trim_db > 0.0).then(|| (trim_db * 100.0).round() / 100.0);
    Ok((clipping, frames, loudness, headroom_trim_db))
}

/// How the master's audio is cut before it is encoded.
struct Cut {
    length: Length,
    cut_fade_seconds: f64,
}

/// Reads the input, cut, converted to `rate` and scaled by `gain`, into `sink`; returns
/// the frames read.
fn read_cut(
    job: &Job<'_>,
    cut: &Cut,
    rate: u32,
    gain: f32,
    sink: &mut dyn AudioSink,
) -> Result<u64, NodeError> {
    let input = job.graph.graph[job.node].main_inputs()[0];
    let input_rate = job.graph.graph[input].sample_rate;
    let stream = job.open_input(input)?;
    let content = stream.content_frames().unwrap_or(0);
    let audible = stream.audible_frames().unwrap_or(0);
    let frames = output_frames(cut.length, input_rate, content, audible);
    let fade = match cut.length {
        Length::Exact(_) => {
            ((cut.cut_fade_seconds * f64::from(input_rate)).round() as u64).min(frames)
        }
        Length::Natural | Length::Tail(_) => 0,
    };
    let source = CutSource::new(stream, input_rate, frames, fade, gain);
    let mut resampled = Resampled::new(source, rate).map_err(NodeError::Audio)?;
    let (mut left, mut right) = (vec![0.0f32; BLOCK_FRAMES], vec![0.0f32; BLOCK_FRAMES]);
    let mut written = 0u64;
    loop {
        let n = match resampled.read(&mut left, &mut right) {
            Ok(n) => n,
            Err(error) => {
                return Err(resampled.into_source().failure.unwrap_or(NodeError::Audio(error)));
            }
        };
        if n == 0 {
            break;
        }
        sink.take(&left[..n], &right[..n])?;
        written += n as u64;
    }
    let mut source = resampled.into_source();
    // Read the rest so the entry's checksum is verified even when the cut is early.
    while read_full(source.stream.as_mut(), &mut left, &mut right)? > 0 {}
    Ok(written)
}

/// The loudness and true peak of the audio file at `path`, decoded by our own decoder.
pub(super) fn decoded_loudness(path: &std::path::Path) -> Result<PoolableRecord, NodeError> {
    let mut decoder = Decoder::open(path).map_err(NodeError::Audio)?;
    measure_poolable(&mut decoder).map_err(|e| {
        NodeError::Audio(AudioError::Corrupt { path: path.to_path_buf(), reason: e.to_string() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;

    /// A second of two tones, 440 Hz and 3 kHz, whose peaks reach `dbfs`, faded in and
    /// out over 50 ms so that no click rings past them.
    fn tones(dbfs: f64) -> Vec<f32> {
        let amplitude = 10f64.powf(dbfs / 20.0) / 2.0;
        let fade = f64::from(RATE) * 0.05;
        (0..RATE)
            .map(|n| {
                let t = f64::from(n) / f64::from(RATE);
                let edge = (f64::from(n.min(RATE - 1 - n)) / fade).min(1.0);
                let envelope = 0.5 - 0.5 * (std::f64::consts::PI * edge).cos();
                let wave = |hz: f64| (2.0 * std::f64::consts::PI * hz * t).cos();
                (amplitude * envelope * (wave(440.0) + wave(3_000.0))) as f32
            })
            .collect()
    }

    /// Runs `encode_under_ceiling` on `audio` as a 320 kbit/s MP3 under -1 dBTP; returns
    /// the gains it read the audio at and what it returned.
    fn hold_mp3(audio: &[f32]) -> (Vec<f32>, PoolableRecord, Option<f64>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stream.mp3");
        let mut gains = Vec::new();
        let (_, _, loudness, trim) = encode_under_ceiling(
            Encoding::Mp3(Mp3Rate::Cbr(320)),
            -1.0,
            (&path, RATE),
            |gain, sink| {
                gains.push(gain);
                let scaled: Vec<f32> = audio.iter().map(|x| x * gain).collect();
                sink.take(&scaled, &scaled)?;
                Ok(scaled.len() as u64)
            },
        )
        .unwrap();
        (gains, loudness, trim)
    }

    #[test]
    fn a_loud_mp3_is_lowered_by_its_estimate_and_encoded_once() {
        let (gains, loudness, trim) = hold_mp3(&tones(-0.5));
        // Read once for the estimate, at unity, and once into the encoder, lowered.
        assert_eq!(gains.len(), 2, "read at {gains:?}");
        assert_eq!(gains[0], 1.0);
        let trim = trim.expect("the file was lowered");
        let true_peak = loudness.record.true_peak.unwrap();
        assert!(true_peak <= -1.0 - MP3_DECODER_MARGIN_DB, "decoded at {true_peak:.3} dBTP");
        // The estimate is the tones' own peak: lowered by it, its margin and the decoder's.
        let expected = -0.5 + ESTIMATE_MARGIN_DB + 1.0 + MP3_DECODER_MARGIN_DB;
        assert!((trim - expected).abs() < 0.02, "lowered by {trim} dB, not {expected:.2}");
    }

    #[test]
    fn a_quiet_mp3_is_encoded_once_as_it_is() {
        let (gains, loudness, trim) = hold_mp3(&tones(-6.0));
        assert_eq!(gains, [1.0, 1.0]);
        assert_eq!(trim, None);
        assert!((loudness.record.true_peak.unwrap() + 6.0).abs() < 0.3);
    }
}
