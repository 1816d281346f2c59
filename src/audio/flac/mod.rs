//! Writing stereo FLAC files, 16- or 24-bit, streamed block by block and put in place
//! atomically, through the pure-Rust `flacenc` encoder.
//!
//! Why flacenc (0.5): it is the maintained pure-Rust FLAC encoder on crates.io (the other
//! candidates either wrap libFLAC through C, or only decode, like claxon and symphonia's
//! reader). It exposes encoding one frame at a time (`encode_fixed_size_frame`), so this
//! writer holds one FLAC block (4096 frames) of integers and the encoded bytes not yet
//! flushed: memory does not grow with the song's length. Its encoder is single-threaded
//! here (the `par` feature is off), so the bytes depend only on the samples: no threads,
//! no timestamps, no vendor string. STREAMINFO carries the MD5 of the samples, which
//! decoders (ours included) check, and the total length, both written by
//! [`FlacWriter::finish`] over a placeholder header once the stream is complete.
//!
//! flacenc 0.5.1 misjudges loud 24-bit material: its estimate of a Rice partition's cost
//! overflows, it picks a parameter of 0 for large residuals, and a frame of fixed
//! prediction comes out many times larger than its samples (one 4096-frame block of a
//! master came to 2.3 GB). Its LPC subframes are measured exactly against plain storage,
//! so fixed prediction is left out and every frame takes at most about the room of its
//! samples. Leaving it out also encodes a 24-bit master 1.5 times faster than trying it
//! (no larger a file), and a 16-bit one 1.2 times faster (about 1% larger).
//!
//! LPC orders up to 8, as the reference encoder's default level (`flac -5`) uses, rather
//! than flacenc's 10: on a song of the reference album that encodes 13% faster at 24 bits
//! for a file 0.1% larger, and 6% faster at 16 bits for one no larger.
//!
//! flacenc 0.5.1 also caps the Rice parameter at 14, the most that FLAC's first residual
//! coding method holds, and does not write the second method (five-bit parameters), which
//! 24-bit residuals need. So a 24-bit master's FLAC is about 15% larger than `flac -5`'s,
//! with a third of its subframes stored verbatim; the samples are exact either way. A 16-bit
//! file comes within half a percent of `flac -5`'s.
//!
//! Samples are reduced to integers by [`super::dither::Quantizer`] with the dither the
//! settings name. The file is untagged: tags are placed around a copy of it
//! ([`super::tagged`]).
//!
//! Which two channels each frame stores is chosen by estimate before encoding ([`stereo`]).
//!
//! This module is the only one that names flacenc.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use flacenc::bitsink::ByteSink;
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::config;
use flacenc::error::Verify;
use flacenc::source::{Context, Fill};

use super::AudioError;
use super::decoded_meter::DecodedMeter;
use super::dither::{Dither, Quantizer};
use super::loudness::PoolableRecord;
use super::staged::StagedFile;
use stereo::StereoCoder;

mod stereo;

/// Frames per FLAC block: flacenc's and the reference encoder's default.
const FLAC_BLOCK_FRAMES: usize = 4096;
/// The highest LPC order tried: the reference encoder's default level's.
const LPC_ORDER: usize = 8;
/// Encoded bytes gathered before a write reaches the file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// `fLaC`, one metadata block header and the 34 bytes of STREAMINFO.
const HEADER_BYTES: usize = 42;

/// How a FLAC file is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlacSettings {
    /// 16 or 24.
    pub bits: u32,
    /// How the float signal becomes integers.
    pub dither: Dither,
    /// The dither's seed, from a stable identity (target name and song).
    pub seed: u64,
}

/// A stereo FLAC file being written.
pub struct FlacWriter {
    file: StagedFile,
    settings: FlacSettings,
    quantizer: Quantizer,
    stream_info: StreamInfo,
    coder: StereoCoder,
    /// The running MD5 and frame count.
    context: Context,
    /// The current block's left and right integers.
    channels: (Vec<i32>, Vec<i32>),
    /// Interleaved integers not yet encoded: less than one block.
    pending: Vec<i32>,
    /// Encoded bytes not yet written to the file.
    encoded: Vec<u8>,
    /// Measures the integers as a decoder will read them, when asked to.
    decoded: Option<DecodedMeter>,
}

impl std::fmt::Debug for FlacWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlacWriter")
            .field("path", &self.file.path())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl FlacWriter {
    /// Starts writing a stereo file at `sample_rate` that will appear at `path` when
    /// finished.
    ///
    /// # Panics
    /// When `settings.bits` is neither 16 nor 24.
    ///
    /// # Errors
    /// When the temporary file cannot be created next to `path`, or FLAC cannot hold
    /// `sample_rate`.
    pub fn create(
        path: impl AsRef<Path>,
        sample_rate: u32,
        settings: FlacSettings,
    ) -> Result<Self, AudioError> {
        let path = path.as_ref();
        let bits = settings.bits as usize;
        let stream_info = StreamInfo::new(sample_rate as usize, 2, bits).map_err(|e| {
            AudioError::Unsupported { path: path.to_path_buf(), reason: e.to_string() }
        })?;
        let mut encoder = config::Encoder::default();
        encoder.block_size = FLAC_BLOCK_FRAMES;
        encoder.subframe_coding.use_fixed = false;
        encoder.subframe_coding.qlpc.lpc_order = LPC_ORDER;
        let config = encoder.into_verified().expect("the default settings less a method are valid");
        let coder = StereoCoder::new(config, sample_rate as usize, bits, FLAC_BLOCK_FRAMES)
            .map_err(|reason| AudioError::Unsupported { path: path.to_path_buf(), reason })?;
        let mut file = StagedFile::create(path)?;
        let placeholder = [0; HEADER_BYTES];
        file.file().write_all(&placeholder).map_err(|e| file.error(e))?;
        Ok(Self {
            file,
            quantizer: Quantizer::new(settings.bits, settings.dither, settings.seed),
            settings,
            stream_info,
            coder,
            context: Context::new(bits, 2),
            channels: (
                Vec::with_capacity(FLAC_BLOCK_FRAMES),
                Vec::with_capacity(FLAC_BLOCK_FRAMES),
            ),
            pending: Vec::with_capacity(2 * FLAC_BLOCK_FRAMES),
            encoded: Vec::with_capacity(WRITE_BUFFER_BYTES + 64 * 1024),
            decoded: None,
        })
    }

    /// Measures the file's samples, as a decoder will read them, while they are written
    /// (see [`FlacWriter::decoded_loudness`]).
    ///
    /// # Errors
    /// When the loudness meter does not take the file's rate.
    pub fn measure_as_decoded(&mut self) -> Result<(), AudioError> {
        let rate = self.stream_info.sample_rate() as u32;
        let meter = DecodedMeter::new(rate, self.settings.bits).map_err(|e| {
            AudioError::Unsupported { path: self.file.path().to_path_buf(), reason: e.to_string() }
        })?;
        self.decoded = Some(meter);
        Ok(())
    }

    /// The loudness and peaks of what has been written, as a decoder will read them back;
    /// `None` unless [`FlacWriter::measure_as_decoded`] was called first.
    #[must_use]
    pub fn decoded_loudness(&self) -> Option<PoolableRecord> {
        self.decoded.as_ref().map(DecodedMeter::measured)
    }

    /// Starts the dither's noise again from rest with `seed` (see [`Quantizer::restart`]).
    pub fn restart_dither(&mut self, seed: u64) {
        self.quantizer.restart(seed);
    }

    /// Appends one block; `left` and `right` must have the same length.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), AudioError> {
        for (l, r) in left.chunks(FLAC_BLOCK_FRAMES).zip(right.chunks(FLAC_BLOCK_FRAMES)) {
            let start = self.pending.len();
            self.quantizer.quantize(l, r, &mut self.pending);
            if let Some(meter) = &mut self.decoded {
                meter.add_integers(&self.pending[start..]);
            }
            if self.pending.len() >= 2 * FLAC_BLOCK_FRAMES {
                let rest = self.pending.split_off(2 * FLAC_BLOCK_FRAMES);
                self.encode_pending()?;
                self.pending = rest;
            }
        }
        if self.encoded.len() >= WRITE_BUFFER_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Encodes the last partial block, writes the header with the stream's length and
    /// MD5 and moves the file into place.
    ///
    /// # Errors
    /// When the file cannot be completed; the destination is then left untouched.
    pub fn finish(mut self) -> Result<(), AudioError> {
        if !self.pending.is_empty() {
            self.encode_pending()?;
        }
        self.flush()?;
        let info = &mut self.stream_info;
        info.set_md5_digest(&self.context.md5_digest());
        info.set_total_samples(self.context.total_samples());
        // The last block may be shorter; FLAC's minimum block size excludes it.
        info.set_block_sizes(FLAC_BLOCK_FRAMES, FLAC_BLOCK_FRAMES)
            .expect("4096 is a valid block size");
        let mut sink = ByteSink::new();
        Stream::with_stream_info(self.stream_info.clone())
            .write(&mut sink)
            .expect("a header always fits in memory");
        let header = sink.as_slice();
        assert_eq!(header.len(), HEADER_BYTES, "a FLAC header is 42 bytes");
        let file = self.file.file();
        let result = file.seek(SeekFrom::Start(0)).and_then(|_| file.write_all(header));
        result.map_err(|e| self.file.error(e))?;
        self.file.commit()
    }

    /// Encodes the pending integers (one block, or the last partial one) as a FLAC frame.
    fn encode_pending(&mut self) -> Result<(), AudioError> {
        self.context.fill_interleaved(&self.pending).expect("counting samples cannot fail");
        let (left, right) = &mut self.channels;
        left.clear();
        right.clear();
        for frame in self.pending.chunks_exact(2) {
            left.push(frame[0]);
            right.push(frame[1]);
        }
        self.pending.clear();
        let number = self.context.current_frame_number().expect("a block was just counted");
        let frame = self
            .coder
            .encode(left, right, number)
            .map_err(|e| self.file.error(std::io::Error::other(e)))?;
        self.stream_info.update_frame_info(&frame);
        let mut sink = ByteSink::new();
        frame.write(&mut sink).expect("a frame always fits in memory");
        self.encoded.extend_from_slice(sink.as_slice());
        Ok(())
    }

    fn flush(&mut self) -> Result<(), AudioError> {
        let result = self.file.file().write_all(&self.encoded);
        self.encoded.clear();
        result.map_err(|e| self.file.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Source;
    use crate::audio::decode::Decoder;

    fn settings(bits: u32, dither: Dither) -> FlacSettings {
        FlacSettings { bits, dither, seed: 7 }
    }

    /// A stereo test signal of `frames` frames: two sines and a little of everything.
    fn signal(frames: usize) -> (Vec<f32>, Vec<f32>) {
        let left = (0..frames).map(|i| 0.7 * (i as f32 * 0.013).sin()).collect();
        let right = (0..frames).map(|i| 0.5 * (i as f32 * 0.0071).cos() - 0.2).collect();
        (left, right)
    }

    /// Writes `left` and `right` in uneven blocks.
    fn encode(path: &Path, left: &[f32], right: &[f32], settings: FlacSettings) {
        let mut writer = FlacWriter::create(path, 48_000, settings).unwrap();
        let mut start = 0;
        for size in [1000, 5000, 1, 4096, 333].into_iter().cycle() {
            let end = (start + size).min(left.len());
            writer.write(&left[start..end], &right[start..end]).unwrap();
            start = end;
            if start == left.len() {
                break;
            }
        }
        writer.finish().unwrap();
    }

    /// Decodes `path` with our own decoder into interleaved integers of `bits` bits.
    fn decode(path: &Path, bits: u32) -> Vec<i32> {
        let mut decoder = Decoder::open(path).unwrap();
        assert_eq!(decoder.sample_rate(), 48_000);
        let scale = f64::from(1_u32 << (bits - 1));
        let (mut l, mut r) = (vec![0.0; 1000], vec![0.0; 1000]);
        let mut out = Vec::new();
        loop {
            let n = decoder.read(&mut l, &mut r).unwrap();
            if n == 0 {
                return out;
            }
            for (a, b) in l[..n].iter().zip(&r[..n]) {
                out.push((f64::from(*a) * scale) as i32);
                out.push((f64::from(*b) * scale) as i32);
            }
        }
    }

    #[test]
    fn a_flac_file_decodes_bit_exactly_to_the_integers_meant_at_16_and_24_bits() {
        let dir = tempfile::tempdir().unwrap();
        // Not a whole number of FLAC blocks, so the last block is short.
        let (left, right) = signal(3 * FLAC_BLOCK_FRAMES + 1234);
        for (bits, dither) in [(16, Dither::Tpdf), (24, Dither::None), (16, Dither::Shaped)] {
            let path = dir.path().join(format!("{bits}.flac"));
            encode(&path, &left, &right, settings(bits, dither));
            let mut meant = Vec::new();
            Quantizer::new(bits, dither, 7).quantize(&left, &right, &mut meant);
            let decoded = decode(&path, bits);
            assert_eq!(decoded.len(), meant.len(), "{bits} bits: length");
            assert!(decoded == meant, "{bits} bits: decoded integers differ");
        }
    }

    /// A frame header names a rate in whole kHz, in tens of Hz or in Hz below 65,536, and
    /// 70,001 Hz is none of them: the frames leave it to STREAMINFO.
    #[test]
    fn a_flac_file_at_a_rate_frames_cannot_name_decodes_bit_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.flac");
        let (left, right) = signal(2 * FLAC_BLOCK_FRAMES + 100);
        let mut writer = FlacWriter::create(&path, 70_001, settings(24, Dither::None)).unwrap();
        writer.write(&left, &right).unwrap();
        writer.finish().unwrap();
        let mut meant = Vec::new();
        Quantizer::new(24, Dither::None, 7).quantize(&left, &right, &mut meant);
        let mut reader = claxon::FlacReader::open(&path).unwrap();
        assert_eq!(reader.streaminfo().sample_rate, 70_001);
        let decoded: Vec<i32> = reader.samples().map(Result::unwrap).collect();
        assert!(decoded == meant, "decoded integers differ");
    }

    #[test]
    fn a_flac_file_is_the_same_bytes_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let (left, right) = signal(20_000);
        let (a, b) = (dir.path().join("a.flac"), dir.path().join("b.flac"));
        encode(&a, &left, &right, settings(24, Dither::Tpdf));
        encode(&b, &left, &right, settings(24, Dither::Tpdf));
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }

    #[test]
    fn a_flac_file_states_its_length_and_md5() {
        let dir = tempfile::tempdir().unwrap();
        let (left, right) = signal(10_000);
        let path = dir.path().join("s.flac");
        encode(&path, &left, &right, settings(16, Dither::None));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"fLaC");
        // STREAMINFO: total samples in the low 36 bits of bytes 21..26, then the MD5.
        let packed = u64::from_be_bytes(bytes[18..26].try_into().unwrap());
        assert_eq!(packed & 0xF_FFFF_FFFF, 10_000);
        assert_ne!(&bytes[26..42], &[0; 16], "the MD5 is written");
        // Our decoder verifies the MD5, so a wrong one would have failed to decode.
        assert_eq!(decode(&path, 16).len(), 20_000);
    }

    #[test]
    fn a_loud_master_takes_no_more_room_than_its_samples_stored_plainly() {
        let dir = tempfile::tempdir().unwrap();
        // A loud bass line under noise a fifth of its level, from a fixed linear
        // congruential sequence: residuals of fixed prediction sum past 2^28 per partition.
        let mut x = 0x2545_f491_u32;
        let mut noise = || {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (f64::from(x) / f64::from(u32::MAX) - 0.5) as f32 * 0.3
        };
        let frames = 8 * FLAC_BLOCK_FRAMES + 1000;
        let bass = |i: usize| 0.6 * (i as f32 * 0.0065).sin();
        let (left, right): (Vec<f32>, Vec<f32>) =
            (0..frames).map(|i| (bass(i) + noise(), bass(i) + noise())).unzip();
        for bits in [16, 24] {
            let path = dir.path().join(format!("noise{bits}.flac"));
            encode(&path, &left, &right, settings(bits, Dither::None));
            let plain = frames * 2 * bits as usize / 8;
            let size = std::fs::metadata(&path).unwrap().len() as usize;
            assert!(
                size <= plain + plain / 100,
                "{size} bytes for {plain} bytes of {bits}-bit samples"
            );
            let flac =
                std::process::Command::new("flac").args(["--test", "--silent"]).arg(&path).status();
            match flac {
                Ok(status) => assert!(status.success(), "flac --test refuses the stream"),
                Err(e) => {
                    eprintln!("skipping the flac --test check: the flac tool does not run ({e})");
                }
            }
            let mut meant = Vec::new();
            Quantizer::new(bits, Dither::None, 7).quantize(&left, &right, &mut meant);
            assert!(decode(&path, bits) == meant, "the noise decodes to the integers meant");
        }
    }

    #[test]
    fn a_flac_writer_dropped_before_finishing_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dropped.flac");
        let (left, right) = signal(10_000);
        let mut writer = FlacWriter::create(&path, 48_000, settings(16, Dither::Tpdf)).unwrap();
        writer.write(&left, &right).unwrap();
        drop(writer);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
