//! Writing stereo WAV files, streamed block by block and put in place atomically.
//!
//! The samples go to an [`AtomicFile`] next to the destination, which replaces it only in
//! [`WavWriter::finish`]; a writer dropped before that deletes its temporary file, so the
//! destination is either the complete new file or whatever was there before. Float
//! samples become integers by rounding to nearest and clipping symmetrically (to ±(2ⁿ⁻¹−1),
//! so a clipped square wave stays symmetric); there is no dither here. The file holds only
//! the format and the samples: no dates, no host names, no paths.
//!
//! Integer files count, as they are written, the samples that reach full scale (the
//! largest integer of either sign, where everything louder is clipped), with the loudest
//! sample before clipping, so that a render can say that it clipped and by how much.
//!
//! The container is written here rather than through a WAV crate: the header is a fixed
//! 44 or 68 bytes, and packing whole blocks of samples into bytes is several times faster
//! than a per-sample writer, which mattered because every render ends by writing its file.
//! 16-bit files use the plain PCM header; 24-bit and float files use
//! `WAVE_FORMAT_EXTENSIBLE`, as the format's specification asks for more than 16 bits.

use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{AudioError, magnitude};
use crate::atomic_file::AtomicFile;

/// Bytes buffered before a write reaches the file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// The most sample bytes a WAV file can hold: its sizes are 32-bit, and the header (well
/// under 1 KiB) counts toward the RIFF size.
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 1024;

/// Sample format of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavFormat {
    /// 16-bit integer PCM.
    Pcm16,
    /// 24-bit integer PCM.
    Pcm24,
    /// 32-bit IEEE float; samples are stored exactly.
    Float32,
}

impl WavFormat {
    fn bytes_per_sample(self) -> usize {
        match self {
            Self::Pcm16 => 2,
            Self::Pcm24 => 3,
            Self::Float32 => 4,
        }
    }

    fn bytes_per_frame(self) -> u64 {
        2 * self.bytes_per_sample() as u64
    }

    /// The header up to the data chunk's size field, for a stereo file at `rate`.
    fn header(self, rate: u32) -> Vec<u8> {
        let bits = 8 * self.bytes_per_sample() as u16;
        let block_align = 2 * self.bytes_per_sample() as u16;
        let extensible = self != Self::Pcm16;
        let mut h = Vec::with_capacity(68);
        h.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        h.extend_from_slice(&(if extensible { 40u32 } else { 16 }).to_le_bytes());
        h.extend_from_slice(&(if extensible { 0xFFFEu16 } else { 1 }).to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
        h.extend_from_slice(&block_align.to_le_bytes());
        h.extend_from_slice(&bits.to_le_bytes());
        if extensible {
            h.extend_from_slice(&22u16.to_le_bytes());
            h.extend_from_slice(&bits.to_le_bytes());
            // Front left and front right.
            h.extend_from_slice(&3u32.to_le_bytes());
            let sub_format: u16 = if self == Self::Float32 { 3 } else { 1 };
            h.extend_from_slice(&sub_format.to_le_bytes());
            h.extend_from_slice(&[
                0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
            ]);
        }
        h.extend_from_slice(b"data\0\0\0\0");
        h
    }
}

/// How much of an integer file reached full scale.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Clipping {
    /// Samples (of either channel) at the largest integer of either sign: clipped, or
    /// within half a step of it.
    pub samples: u64,
    /// The largest magnitude among the samples given, before conversion (1.0 is full
    /// scale); 0 for a float file, which stores every value as it is.
    pub peak: f32,
}

/// A stereo WAV file being written.
pub struct WavWriter {
    path: PathBuf,
    format: WavFormat,
    frames: u64,
    /// Integer samples written at full scale.
    full_scale: u64,
    /// The loudest integer sample given, before conversion.
    peak: f32,
    header_bytes: u64,
    /// Packed bytes not yet written to the file.
    pending: Vec<u8>,
    /// `None` once finished.
    file: Option<AtomicFile>,
}

impl std::fmt::Debug for WavWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavWriter")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl WavWriter {
    /// Starts writing a stereo file that will appear at `path` when finished.
    ///
    /// # Errors
    /// When the temporary file cannot be created next to `path`.
    pub fn create(
        path: impl AsRef<Path>,
        sample_rate: u32,
        format: WavFormat,
    ) -> Result<Self, AudioError> {
        let path = path.as_ref().to_path_buf();
        // Readable too (as every atomic file is): a truncation reads back what it cuts, to
        // count its clipping.
        let file = AtomicFile::create(&path)
            .map_err(|source| AudioError::Open { path: path.clone(), source })?;
        let header = format.header(sample_rate);
        let mut writer = Self {
            path,
            format,
            frames: 0,
            full_scale: 0,
            peak: 0.0,
            header_bytes: header.len() as u64,
            pending: Vec::with_capacity(WRITE_BUFFER_BYTES + 64 * 1024),
            file: Some(file),
        };
        writer.pending.extend_from_slice(&header);
        Ok(writer)
    }

    /// Appends one block; `left` and `right` must have the same length.
    ///
    /// # Errors
    /// When the file cannot be written or would exceed the 4 GiB that WAV allows.
    pub fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), AudioError> {
        debug_assert_eq!(left.len(), right.len());
        let frames = self.frames + left.len() as u64;
        if frames * self.format.bytes_per_frame() > MAX_DATA_BYTES {
            let source = io::Error::other("the audio exceeds the 4 GiB a WAV file can hold");
            return Err(AudioError::Write { path: self.path.clone(), source });
        }
        self.frames = frames;
        let integers = match self.format {
            WavFormat::Pcm16 => Some(pack_integers::<2>(&mut self.pending, left, right)),
            WavFormat::Pcm24 => Some(pack_integers::<3>(&mut self.pending, left, right)),
            WavFormat::Float32 => {
                let start = self.pending.len();
                self.pending.resize(start + 8 * left.len(), 0);
                let frames = self.pending[start..].chunks_exact_mut(8);
                for ((frame, l), r) in frames.zip(left).zip(right) {
                    frame[..4].copy_from_slice(&l.to_le_bytes());
                    frame[4..].copy_from_slice(&r.to_le_bytes());
                }
                None
            }
        };
        if let Some(full_scale) = integers {
            self.full_scale += full_scale;
            self.peak = magnitude::loudest(right, magnitude::loudest(left, self.peak));
        }
        if self.pending.len() >= WRITE_BUFFER_BYTES {
            self.flush().map_err(|e| self.write_error(e))?;
        }
        Ok(())
    }

    /// How much of the file written so far reached full scale.
    #[must_use]
    pub fn clipping(&self) -> Clipping {
        Clipping { samples: self.full_scale, peak: self.peak }
    }

    /// Completes the header and moves the file into place.
    ///
    /// # Errors
    /// When flushing or renaming fails; the destination is then left untouched.
    pub fn finish(mut self) -> Result<(), AudioError> {
        self.flush().map_err(|e| self.write_error(e))?;
        if let Some(mut file) = self.file.take() {
            let data_bytes = self.frames * self.format.bytes_per_frame();
            self.seal(&mut file, data_bytes).map_err(|e| self.write_error(e))?;
            file.commit().map_err(|e| self.write_error(e))?;
        }
        Ok(())
    }

    /// Writes the RIFF and data sizes into the header.
    fn seal(&self, file: &mut AtomicFile, data_bytes: u64) -> io::Result<()> {
        let riff_size = (self.header_bytes - 8 + data_bytes) as u32;
        file.seek(SeekFrom::Start(4))?;
        file.write_all(&riff_size.to_le_bytes())?;
        file.seek(SeekFrom::Start(self.header_bytes - 4))?;
        file.write_all(&(data_bytes as u32).to_le_bytes())
    }

    /// Writes the packed samples waiting in `pending` to the file.
    fn flush(&mut self) -> io::Result<()> {
        let result = self.file.as_mut().map_or(Ok(()), |f| f.write_all(&self.pending));
        self.pending.clear();
        result
    }

    fn write_error(&self, source: io::Error) -> AudioError {
        AudioError::Write { path: self.path.clone(), source }
    }
}

/// Appends a block as interleaved `N`-byte little-endian integers and returns how many of
/// its samples are at full scale. The samples are converted a chunk at a time into a small
/// array first: that loop has no byte shuffling in it, so the compiler vectorizes it,
/// which makes packing about 1.7 times as fast.
fn pack_integers<const N: usize>(out: &mut Vec<u8>, left: &[f32], right: &[f32]) -> u64 {
    const CHUNK: usize = 64;
    let shift = 8 * N as u32 - 1;
    let max = (1_i32 << shift) - 1;
    let mut full_scale = 0_u64;
    let start = out.len();
    out.resize(start + 2 * N * left.len(), 0);
    let mut ints = [[0i32; CHUNK]; 2];
    let chunks = left.chunks(CHUNK).zip(right.chunks(CHUNK));
    for ((l, r), packed) in chunks.zip(out[start..].chunks_mut(2 * N * CHUNK)) {
        ints[0].iter_mut().zip(l).for_each(|(i, x)| *i = to_int(*x, shift));
        ints[1].iter_mut().zip(r).for_each(|(i, x)| *i = to_int(*x, shift));
        let at_max = |ints: &[i32]| ints.iter().filter(|&&i| i == max || i == -max).count();
        full_scale += (at_max(&ints[0][..l.len()]) + at_max(&ints[1][..r.len()])) as u64;
        for ((frame, il), ir) in packed.chunks_exact_mut(2 * N).zip(&ints[0]).zip(&ints[1]) {
            frame[..N].copy_from_slice(&il.to_le_bytes()[..N]);
            frame[N..].copy_from_slice(&ir.to_le_bytes()[..N]);
        }
    }
    full_scale
}

/// Scales a float sample to a signed integer with `shift` fractional bits (so full scale is
/// 2^shift), rounded to nearest (ties to even) and clipped to ±(2^shift − 1). NaN becomes 0.
/// `shift` is at most 23.
fn to_int(x: f32, shift: u32) -> i32 {
    // Adding 2^23 to a float of the same sign and smaller magnitude lands where floats are
    // whole numbers, so the addition itself rounds to nearest, ties to even (2^23 is even),
    // and leaves the integer's magnitude in the 23 mantissa bits: no library call for
    // `round` on baseline x86-64, no conversion, and a loop of these vectorizes, four
    // samples a vector in single precision where double precision fits two.
    const WHOLE_NUMBERS: f32 = 8_388_608.0;
    let full = (1_u32 << shift) as f32;
    let max = full - 1.0;
    // Scaling by a power of two is exact, so the only rounding is the one below.
    let scaled = x * full;
    let clipped = if scaled.is_nan() { 0.0 } else { scaled.clamp(-max, max) };
    let bits = (clipped + WHOLE_NUMBERS.copysign(clipped)).to_bits() as i32;
    let magnitude = bits & 0x007F_FFFF;
    // All ones for a negative sample, which the next line uses to negate the magnitude.
    let sign = bits >> 31;
    (magnitude ^ sign) - sign
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Source;
    use crate::audio::decode::Decoder;
    use std::fs;

    fn decode_all(path: &Path) -> (u32, Vec<f32>, Vec<f32>) {
        let mut d = Decoder::open(path).unwrap();
        let (mut l, mut r) = (vec![0.0; 1 << 16], vec![0.0; 1 << 16]);
        let n = d.read(&mut l, &mut r).unwrap();
        assert_eq!(d.read(&mut l[n..], &mut r[n..]).unwrap(), 0);
        l.truncate(n);
        r.truncate(n);
        (d.sample_rate(), l, r)
    }

    fn write(path: &Path, format: WavFormat, left: &[f32], right: &[f32]) {
        let mut w = WavWriter::create(path, 48_000, format).unwrap();
        // Uneven blocks, so that a block boundary cannot hide a lost or doubled frame.
        for (l, r) in left.chunks(333).zip(right.chunks(333)) {
            w.write(l, r).unwrap();
        }
        w.finish().unwrap();
    }

    #[test]
    fn values_on_the_24_bit_grid_round_trip_bit_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let full = 8_388_608.0_f32;
        let left: Vec<f32> = (-2000..2000).map(|i| (i * 4111) as f32 / full).collect();
        let mut right: Vec<f32> = left.iter().rev().copied().collect();
        right[0] = (full - 1.0) / full;
        right[1] = -(full - 1.0) / full;
        write(&path, WavFormat::Pcm24, &left, &right);
        let (rate, l, r) = decode_all(&path);
        assert_eq!(rate, 48_000);
        // Exact: each value is k / 2^23 with |k| < 2^23, representable in f32 and in 24 bits.
        assert_eq!(l, left);
        assert_eq!(r, right);
    }

    #[test]
    fn sixteen_bit_rounds_to_the_nearest_step_and_clips_symmetrically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let step = 1.0 / 32_768.0;
        let left = [0.0, 0.4 * step, 0.6 * step, -0.6 * step, 100.5 * step, 2.0, -2.0, f32::NAN];
        let right = [1.0, -1.0, 0.5, -0.5, 101.5 * step, 0.0, 0.0, 0.0];
        write(&path, WavFormat::Pcm16, &left, &right);
        let (_, l, r) = decode_all(&path);
        let max = 32_767.0 * step;
        // Exact: the decoder divides by 2^15, so every expected value is k / 2^15 in f32.
        // Ties round to even (100.5 → 100, 101.5 → 102), which keeps rounding unbiased.
        assert_eq!(l, [0.0, 0.0, step, -step, 100.0 * step, max, -max, 0.0]);
        assert_eq!(r, [max, -max, 0.5, -0.5, 102.0 * step, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn integer_conversion_rounds_ties_to_even_clips_and_silences_every_nan() {
        let lsb = 1.0 / 8_388_608.0;
        let max = 8_388_607;
        let cases = [
            (0.5 * lsb, 0),
            (1.5 * lsb, 2),
            (-2.5 * lsb, -2),
            (-0.0, 0),
            (1e-40, 0),
            (0.999_999_9, 8_388_607),
            (1.0, max),
            (-1.0, -max),
            (f32::INFINITY, max),
            (f32::NEG_INFINITY, -max),
        ];
        for (x, expected) in cases {
            assert_eq!(to_int(x, 23), expected, "{x:e}");
        }
        // NaNs with payload bits in every position, which the bit trick must not let through.
        for bits in [0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0x7F80_0007, 0xFFBF_FFFF] {
            assert_eq!(to_int(f32::from_bits(bits), 23), 0, "{bits:#x}");
            assert_eq!(to_int(f32::from_bits(bits), 15), 0, "{bits:#x}");
        }
    }

    #[test]
    fn integer_conversion_matches_rounding_in_double_precision_across_the_float_range() {
        // A million bit patterns spread over every sign, exponent and mantissa.
        for bits in (0..=u32::MAX).step_by(4093) {
            let x = f32::from_bits(bits);
            for shift in [15, 23] {
                let full = f64::from(1_u32 << shift);
                let scaled = f64::from(x) * full;
                let expected = if scaled.is_nan() {
                    0
                } else {
                    scaled.clamp(1.0 - full, full - 1.0).round_ties_even() as i32
                };
                assert_eq!(to_int(x, shift), expected, "{x:e} with {shift} fractional bits");
            }
        }
    }

    #[test]
    fn float_files_store_every_sample_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let left: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin() * 1.7).collect();
        let right: Vec<f32> = left.iter().map(|x| -x * 1e-7).collect();
        write(&path, WavFormat::Float32, &left, &right);
        let (_, l, r) = decode_all(&path);
        assert_eq!(l, left);
        assert_eq!(r, right);
    }

    #[test]
    fn a_writer_dropped_before_finish_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let mut w = WavWriter::create(&path, 44_100, WavFormat::Pcm24).unwrap();
        w.write(&[0.5; 100], &[0.5; 100]).unwrap();
        drop(w);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_unfinished_write_keeps_the_previous_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        write(&path, WavFormat::Float32, &[0.25; 10], &[0.5; 10]);
        let before = fs::read(&path).unwrap();
        let mut w = WavWriter::create(&path, 48_000, WavFormat::Float32).unwrap();
        w.write(&[0.75; 100], &[0.75; 100]).unwrap();
        drop(w);
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn audio_past_the_wav_size_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let mut w = WavWriter::create(&path, 48_000, WavFormat::Pcm24).unwrap();
        // Pretend the file is nearly full rather than writing 4 GiB.
        w.frames = MAX_DATA_BYTES / 6 - 10;
        let e = w.write(&[0.0; 11], &[0.0; 11]).unwrap_err();
        assert!(matches!(e, AudioError::Write { .. }), "{e}");
        w.write(&[0.0; 10], &[0.0; 10]).unwrap();
    }

    #[test]
    fn integer_files_count_the_samples_at_full_scale_and_the_peak_before_clipping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let mut w = WavWriter::create(&path, 48_000, WavFormat::Pcm24).unwrap();
        // +12 dBFS on the left in frames 100..200, and one sample exactly at full scale.
        let mut left = vec![0.5_f32; 1000];
        left[100..200].fill(3.981);
        left[999] = -1.0;
        let right = vec![-0.25_f32; 1000];
        for (l, r) in left.chunks(300).zip(right.chunks(300)) {
            w.write(l, r).unwrap();
        }
        let clipping = w.clipping();
        assert_eq!(clipping.samples, 101);
        assert_eq!(clipping.peak, 3.981);
        w.finish().unwrap();
    }

    #[test]
    fn float_files_never_clip() {
        let dir = tempfile::tempdir().unwrap();
        let mut w =
            WavWriter::create(dir.path().join("a.wav"), 48_000, WavFormat::Float32).unwrap();
        w.write(&[4.0; 100], &[-4.0; 100]).unwrap();
        assert_eq!(w.clipping(), Clipping::default());
    }

    #[test]
    fn the_same_samples_always_give_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.wav"), dir.path().join("b.wav"));
        let left: Vec<f32> = (0..500).map(|i| (i as f32 * 0.1).cos()).collect();
        write(&a, WavFormat::Pcm24, &left, &left);
        let mut w = WavWriter::create(&b, 48_000, WavFormat::Pcm24).unwrap();
        w.write(&left, &left).unwrap();
        w.finish().unwrap();
        assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
    }
}
