//! Sample-rate conversion of a stereo [`Source`], streamed.
//!
//! The converter is synchronous (a fixed rational ratio), built on overlap-add FFT
//! filtering: each chunk is filtered by a Blackman-Harris windowed sinc as long as the
//! chunk, about 1024 input frames, and its spectrum is cut or extended to the new rate.
//! Chunks hold an even number of the smallest whole-ratio units, which makes the filter's
//! delay a whole number of output frames; that many leading frames are dropped, so output
//! frame `m` sits at input time `m · from / to` exactly and an impulse lands where it
//! should. The stream is flushed with silence at the end and cut to exactly
//! `round(frames · to / from)` frames. Equal rates pass the source through untouched.
//!
//! The output does not depend on how callers size their reads: the converter always pulls
//! whole chunks from the source and buffers what it has not handed out yet.
//!
//! This is the only file that names rubato.

use rubato::{FftFixedInOut, Resampler};

use super::guard::guarded;
use super::{AudioError, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Source};

/// Names the conversion algorithm and its settings; part of every resampled source's cache
/// key. Change it whenever anything here changes the output samples.
pub const RESAMPLER_QUALITY: &str = "fft-1024-blackmanharris2-v1";

/// Input frames per chunk the converter aims for; the real chunk is the nearest even
/// multiple of the ratio's unit at or above it.
const TARGET_CHUNK_FRAMES: usize = 1024;

/// A source converted to another sample rate.
pub struct Resampled<S> {
    source: S,
    from: u32,
    to: u32,
    /// `None` when the rates are equal.
    converter: Option<Converter>,
}

struct Converter {
    resampler: FftFixedInOut<f32>,
    input: [Vec<f32>; 2],
    output: [Vec<f32>; 2],
    /// The frames of `output` from `out_pos` to `out_len` are not handed out yet.
    out_pos: usize,
    out_len: usize,
    /// Leading output frames still to drop to compensate the filter delay.
    delay_left: usize,
    consumed: u64,
    emitted: u64,
    /// Output frames due in all, known once the source has ended.
    total: Option<u64>,
}

impl<S> std::fmt::Debug for Resampled<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampled")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl<S: Source> Resampled<S> {
    /// Converts `source` to `to_rate` frames per second.
    ///
    /// # Errors
    /// When either rate lies outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] (the
    /// converter's buffers grow with the rates' ratio) or the converter cannot be built.
    pub fn new(source: S, to_rate: u32) -> Result<Self, AudioError> {
        let from = source.sample_rate();
        let to = to_rate;
        let fail = |reason: String| AudioError::Resample { from, to, reason };
        let supported = MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE;
        if !supported.contains(&from) || !supported.contains(&to) {
            return Err(fail(format!(
                "rates from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz are supported"
            )));
        }
        let converter = if from == to {
            None
        } else {
            let unit_in = (from / gcd(from, to)) as usize;
            let units = 2 * TARGET_CHUNK_FRAMES.div_ceil(2 * unit_in);
            let resampler =
                guarded(|| FftFixedInOut::new(from as usize, to as usize, units * unit_in, 2))
                    .map_err(|panic| fail(format!("the resampler failed: {panic}")))?
                    .map_err(|e| fail(e.to_string()))?;
            let chunk_in = resampler.input_frames_next();
            let chunk_out = resampler.output_frames_next();
            Some(Converter {
                delay_left: resampler.output_delay(),
                resampler,
                input: [vec![0.0; chunk_in], vec![0.0; chunk_in]],
                output: [vec![0.0; chunk_out], vec![0.0; chunk_out]],
                out_pos: 0,
                out_len: 0,
                consumed: 0,
                emitted: 0,
                total: None,
            })
        };
        Ok(Self { source, from, to, converter })
    }

    /// The wrapped source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The wrapped source, to change.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// The wrapped source, given back.
    pub fn into_source(self) -> S {
        self.source
    }
}

impl<S: Source> Source for Resampled<S> {
    fn sample_rate(&self) -> u32 {
        self.to
    }

    fn frames(&self) -> Option<u64> {
        self.source.frames().map(|n| converted_len(n, self.from, self.to))
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, AudioError> {
        let Some(c) = self.converter.as_mut() else {
            return self.source.read(left, right);
        };
        let want = left.len().min(right.len());
        let mut done = 0;
        while done < want {
            if c.total.is_some_and(|total| c.emitted >= total) {
                break;
            }
            if c.out_pos == c.out_len {
                c.refill(&mut self.source, self.from, self.to)?;
                continue;
            }
            let mut n = (c.out_len - c.out_pos).min(want - done);
            if let Some(total) = c.total {
                n = n.min((total - c.emitted) as usize);
            }
            let span = c.out_pos..c.out_pos + n;
            left[done..done + n].copy_from_slice(&c.output[0][span.clone()]);
            right[done..done + n].copy_from_slice(&c.output[1][span]);
            c.out_pos += n;
            c.emitted += n as u64;
            done += n;
        }
        Ok(done)
    }
}

impl Converter {
    /// Converts the next whole chunk of input, padding with silence once the source ends.
    fn refill(&mut self, source: &mut impl Source, from: u32, to: u32) -> Result<(), AudioError> {
        let chunk_in = self.input[0].len();
        let mut filled = 0;
        while self.total.is_none() && filled < chunk_in {
            let [l, r] = &mut self.input;
            let n = source.read(&mut l[filled..], &mut r[filled..])?;
            if n == 0 {
                self.total = Some(converted_len(self.consumed, from, to));
            }
            filled += n;
            self.consumed += n as u64;
        }
        for channel in &mut self.input {
            channel[filled..].fill(0.0);
        }
        let fail = |reason| AudioError::Resample { from, to, reason };
        let (_, produced) =
            guarded(|| self.resampler.process_into_buffer(&self.input, &mut self.output, None))
                .map_err(|panic| fail(format!("the resampler failed: {panic}")))?
                .map_err(|e| fail(e.to_string()))?;
        let dropped = self.delay_left.min(produced);
        self.delay_left -= dropped;
        self.out_pos = dropped;
        self.out_len = produced;
        Ok(())
    }
}

/// `round(frames · to / from)`, halves rounded up, without overflow.
fn converted_len(frames: u64, from: u32, to: u32) -> u64 {
    let (from, to) = (u128::from(from), u128::from(to));
    ((u128::from(frames) * to + from / 2) / from) as u64
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory source that hands out at most `chunk` frames per read, to show that the
    /// converter copes with sources that return less than asked.
    struct Memory {
        rate: u32,
        left: Vec<f32>,
        right: Vec<f32>,
        pos: usize,
        chunk: usize,
    }

    impl Memory {
        fn new(rate: u32, left: Vec<f32>) -> Self {
            let right = left.iter().map(|x| -x).collect();
            Self { rate, left, right, pos: 0, chunk: 777 }
        }
    }

    impl Source for Memory {
        fn sample_rate(&self) -> u32 {
            self.rate
        }

        fn frames(&self) -> Option<u64> {
            Some(self.left.len() as u64)
        }

        fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, AudioError> {
            let n = left.len().min(self.chunk).min(self.left.len() - self.pos);
            left[..n].copy_from_slice(&self.left[self.pos..self.pos + n]);
            right[..n].copy_from_slice(&self.right[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn convert(input: Vec<f32>, from: u32, to: u32, block: usize) -> (Vec<f32>, Vec<f32>) {
        let mut r = Resampled::new(Memory::new(from, input), to).unwrap();
        let (mut l, mut rr) = (vec![0.0; block], vec![0.0; block]);
        let (mut left, mut right) = (Vec::new(), Vec::new());
        loop {
            let n = r.read(&mut l, &mut rr).unwrap();
            if n == 0 {
                return (left, right);
            }
            left.extend_from_slice(&l[..n]);
            right.extend_from_slice(&rr[..n]);
        }
    }

    fn sine(hz: f64, rate: u32, frames: usize, amplitude: f64) -> Vec<f32> {
        let w = std::f64::consts::TAU * hz / f64::from(rate);
        (0..frames).map(|i| (amplitude * (w * i as f64).sin()) as f32).collect()
    }

    /// Amplitude of the `hz` component of `x`, by correlation with a sine and a cosine over
    /// the longest span of whole periods (to the nearest frame), where the two are
    /// orthogonal and leakage from a partial period cannot bias the level.
    fn amplitude_at(x: &[f32], hz: f64, rate: u32) -> f64 {
        let period = f64::from(rate) / hz;
        let x = &x[..((x.len() as f64 / period).floor() * period).round() as usize];
        let w = std::f64::consts::TAU * hz / f64::from(rate);
        let (mut s, mut c) = (0.0, 0.0);
        for (i, &v) in x.iter().enumerate() {
            s += f64::from(v) * (w * i as f64).sin();
            c += f64::from(v) * (w * i as f64).cos();
        }
        2.0 * s.hypot(c) / x.len() as f64
    }

    #[test]
    fn a_sine_keeps_its_frequency_phase_and_level_from_44_1_to_48_khz() {
        let input = sine(1000.0, 44_100, 22_050, 0.5);
        let (left, right) = convert(input, 44_100, 48_000, 4096);
        let expected = sine(1000.0, 48_000, left.len(), 0.5);
        // Away from the edges, where the stream starts and stops abruptly.
        let middle = 4800..left.len() - 4800;
        let worst = middle.clone().map(|i| (left[i] - expected[i]).abs()).fold(0.0_f32, f32::max);
        // 1e-5 is -94 dB below the 0.5 sine (the measured error is about 5e-7, near f32
        // rounding), while a wrong frequency or a one-frame misalignment would leave an error
        // of order 0.06.
        assert!(worst < 1e-5, "worst error {worst}");
        assert_eq!(right[10_000].to_bits(), (-left[10_000]).to_bits());
    }

    #[test]
    fn the_passband_is_flat_within_five_hundredths_of_a_db() {
        for (from, to) in [(44_100, 48_000), (48_000, 44_100)] {
            for hz in [50.0, 1000.0, 10_000.0, 20_000.0] {
                let (left, _) = convert(sine(hz, from, 24_000, 0.5), from, to, 4096);
                let level = amplitude_at(&left[4000..left.len() - 4000], hz, to);
                let db = 20.0 * (level / 0.5).log10();
                // 0.05 dB: the passband flatness a transparent converter must meet.
                assert!(db.abs() < 0.05, "{hz} Hz from {from} to {to}: {db} dB");
            }
        }
    }

    #[test]
    fn a_tone_above_the_new_nyquist_frequency_is_removed_not_aliased() {
        // 23 kHz fits at 48 kHz but not at 44.1 kHz, where it would alias to 21.1 kHz.
        let (left, _) = convert(sine(23_000.0, 48_000, 24_000, 0.5), 48_000, 44_100, 4096);
        let middle = &left[4000..left.len() - 4000];
        let rms = (middle.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / middle.len() as f64)
            .sqrt();
        let db = 20.0 * (rms / (0.5 / 2.0_f64.sqrt())).log10();
        // -90 dB: below the 16-bit noise floor, so no alias survives into a delivery.
        assert!(db < -90.0, "{db} dB left");
    }

    #[test]
    fn an_impulse_lands_at_its_time_in_the_new_rate() {
        for (from, to, at_in, at_out) in
            [(44_100, 48_000, 4410, 4800), (48_000, 44_100, 4800, 4410)]
        {
            let mut input = vec![0.0; 10_000];
            input[at_in] = 1.0;
            let (left, _) = convert(input, from, to, 4096);
            let peak = (0..left.len()).max_by(|&a, &b| left[a].total_cmp(&left[b])).unwrap();
            assert_eq!(peak, at_out, "{from} to {to}");
            // The frames either side sit symmetrically around the impulse's time, so a
            // linear-phase filter gives them equal values; a parabola through the three
            // places the peak within a hundredth of a frame of the exact time.
            let (a, b, c) = (left[peak - 1], left[peak], left[peak + 1]);
            let offset = 0.5 * (a - c) / (a - 2.0 * b + c);
            assert!(offset.abs() < 0.01, "{from} to {to}: peak off by {offset} frames");
        }
    }

    #[test]
    fn the_output_has_exactly_the_rounded_converted_length() {
        for (from, to) in [(44_100, 48_000), (48_000, 44_100), (44_100, 96_000), (96_000, 22_050)] {
            for frames in [0, 1, 2, 1000, 12_345] {
                let r = Resampled::new(Memory::new(from, vec![0.25; frames]), to).unwrap();
                let expected = (frames as f64 * f64::from(to) / f64::from(from)).round() as u64;
                assert_eq!(r.frames(), Some(expected));
                let (left, _) = convert(vec![0.25; frames], from, to, 1000);
                assert_eq!(left.len() as u64, expected, "{frames} frames from {from} to {to}");
            }
        }
    }

    #[test]
    fn the_output_does_not_depend_on_the_read_size() {
        let input = sine(440.0, 44_100, 9000, 0.8);
        let one = convert(input.clone(), 44_100, 48_000, 1);
        let some = convert(input.clone(), 44_100, 48_000, 64);
        let many = convert(input, 44_100, 48_000, 4096);
        assert_eq!(one, some);
        assert_eq!(one, many);
    }

    #[test]
    fn equal_rates_pass_the_samples_through_untouched() {
        let input = sine(440.0, 48_000, 3000, 0.8);
        let (left, right) = convert(input.clone(), 48_000, 48_000, 100);
        assert_eq!(left, input);
        assert_eq!(right, input.iter().map(|x| -x).collect::<Vec<_>>());
    }

    #[test]
    fn a_rate_outside_the_supported_range_is_an_error_before_anything_is_allocated() {
        let e = Resampled::new(Memory::new(44_100, vec![]), 0).unwrap_err();
        assert!(matches!(e, AudioError::Resample { from: 44_100, to: 0, .. }), "{e}");
        // A prime rate this high would ask the converter for a chunk of two billion frames.
        let e = Resampled::new(Memory::new(2_147_483_647, vec![0.5; 10]), 48_000).unwrap_err();
        assert!(matches!(e, AudioError::Resample { .. }), "{e}");
        assert!(e.to_string().contains("768000"), "{e}");
    }
}
