//! The encode node: a deliverable's audio made into its file format, before tags. The
//! master's final output is cut to the mix's length (with the fade at an exact cut),
//! converted to the target's rate, reduced to its word length with the target's dither,
//! encoded into a scratch file, and kept in the cache as an encoded entry, which the
//! target's file node copies and tags.
//!
//! The ceiling holds on the file, not on the samples before it: rate conversion moves the
//! peaks between samples, dither adds a few LSB, and decoding an MP3 gives peaks its input
//! did not have. A WAV or FLAC file is measured as it is written, on the integers it
//! stores, which are what a decoder reads back; an MP3 is decoded back with our own
//! decoder and measured. When it is over the target's ceiling, the audio is encoded again, lowered by
//! the overshoot plus a margin ([`TRIM_MARGIN_DB`] for an MP3, [`LOSSLESS_TRIM_MARGIN_DB`]
//! for WAV and FLAC), at most [`MAX_ENCODINGS`] times in all, and the trim is recorded with
//! the stream for the render to report.
//!
//! The loudness and true peak of the decoded file are kept under the node's key for the
//! render's closing line.

use std::fs::File;

use super::NodeError;
use super::cut_source::CutSource;
use super::job::Job;
use super::output::output_frames;
use super::stream::read_full;
use crate::atomic_file::TemporaryFolder;
use crate::audio::decode::Decoder;
use crate::audio::dither::Dither;
use crate::audio::encode::Encoding;
use crate::audio::loudness::{PoolableRecord, measure_poolable};
use crate::audio::mp3::Mp3Rate;
use crate::audio::resample::Resampled;
use crate::audio::wav::{Clipping, WavFormat};
use crate::audio::{AudioError, Source};
use crate::cache::encoded::{EncodedFacts, store_encoded};
use crate::cache::folder::CacheDir;
use crate::cache::measurement;
use crate::dsp::BLOCK_FRAMES;
use crate::ir::{DeliverFormat, Deliverable, DitherMode, Length, SampleWidth};

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
    let scratch = TemporaryFolder::create(SCRATCH).map_err(NodeError::CacheWrite)?;
    let path = scratch.path().join(format!("stream.{}", encoding.extension()));
    let cut = Cut { length, cut_fade_seconds };
    let (clipping, frames, loudness, headroom_trim_db) =
        encode_under_ceiling(encoding, target.ceiling_dbtp, &path, |gain| {
            encode(job, &cut, encoding, target.sample_rate, gain, &path)
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
    let mut stream = File::open(&path).map_err(NodeError::CacheWrite)?;
    store_encoded(job.store, &job.keys.key(job.node), &mut stream, &facts)
        .map_err(NodeError::CacheWrite)
}

/// Encodes with `pass(gain)` into the file at `path`, measures it (as the pass measured it
/// while writing, or else decoded back), and encodes again, lowered by the overshoot plus a margin, while its true peak is over
/// `ceiling_dbtp` (at most [`MAX_ENCODINGS`] encodings in all). Returns the last pass's
/// clipping and frames, the decoded file's loudness and the trim, rounded to 0.01 dB.
///
/// # Errors
/// As `pass`, or when the file does not decode.
pub(super) fn encode_under_ceiling(
    encoding: Encoding,
    ceiling_dbtp: f64,
    path: &std::path::Path,
    mut pass: impl FnMut(f32) -> Result<Pass, NodeError>,
) -> Result<(Clipping, u64, PoolableRecord, Option<f64>), NodeError> {
    let (margin_db, held_at) = if matches!(encoding, Encoding::Mp3(_)) {
        (TRIM_MARGIN_DB, ceiling_dbtp - MP3_DECODER_MARGIN_DB)
    } else {
        (LOSSLESS_TRIM_MARGIN_DB, ceiling_dbtp)
    };
    let measured = |pass: Pass| -> Result<_, NodeError> {
        let loudness = match pass.decoded {
            Some(loudness) => loudness,
            None => decoded_loudness(path)?,
        };
        Ok((pass.clipping, pass.frames, loudness))
    };
    let (mut clipping, mut frames, mut loudness) = measured(pass(1.0)?)?;
    let mut trim_db = 0.0;
    for _ in 1..MAX_ENCODINGS {
        let over = loudness.record.true_peak.map(|tp| tp - held_at).filter(|&o| o > 0.0);
        let Some(over) = over else { break };
        trim_db += over + margin_db;
        (clipping, frames, loudness) = measured(pass(10f64.powf(-trim_db / 20.0) as f32)?)?;
    }
    let headroom_trim_db = (trim_db > 0.0).then(|| (trim_db * 100.0).round() / 100.0);
    Ok((clipping, frames, loudness, headroom_trim_db))
}

/// What one encoding of a target's audio wrote.
pub(super) struct Pass {
    /// The encoder's clipping.
    pub clipping: Clipping,
    /// Frames written.
    pub frames: u64,
    /// The file's loudness and peaks as a decoder reads them, when the encoder measured
    /// them while writing.
    pub decoded: Option<PoolableRecord>,
}

/// How the master's audio is cut before it is encoded.
struct Cut {
    length: Length,
    cut_fade_seconds: f64,
}

/// Encodes the input, cut, converted and scaled by `gain`, into `path`.
fn encode(
    job: &Job<'_>,
    cut: &Cut,
    encoding: Encoding,
    rate: u32,
    gain: f32,
    path: &std::path::Path,
) -> Result<Pass, NodeError> {
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
    let mut encoder = encoding.create_measuring(path, rate).map_err(NodeError::Audio)?;
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
        encoder.write(&left[..n], &right[..n]).map_err(NodeError::Audio)?;
        written += n as u64;
    }
    let mut source = resampled.into_source();
    // Read the rest so the entry's checksum is verified even when the cut is early.
    while read_full(source.stream.as_mut(), &mut left, &mut right)? > 0 {}
    let pass =
        Pass { clipping: encoder.clipping(), frames: written, decoded: encoder.decoded_loudness() };
    encoder.finish().map_err(NodeError::Audio)?;
    Ok(pass)
}

/// The loudness and true peak of the audio file at `path`, decoded by our own decoder.
pub(super) fn decoded_loudness(path: &std::path::Path) -> Result<PoolableRecord, NodeError> {
    let mut decoder = Decoder::open(path).map_err(NodeError::Audio)?;
    measure_poolable(&mut decoder).map_err(|e| {
        NodeError::Audio(AudioError::Corrupt { path: path.to_path_buf(), reason: e.to_string() })
    })
}
