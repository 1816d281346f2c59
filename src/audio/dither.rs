//! Word-length reduction: planar `f32` blocks to 16- or 24-bit integers, with dither.
//!
//! This is the last step before an integer file is encoded, and the only place a
//! deliverable's samples lose precision. Three modes:
//!
//! - [`Dither::None`] rounds to nearest (ties to even), as the WAV writer does.
//! - [`Dither::Tpdf`] adds triangular noise of ±1 LSB (the difference of two independent
//!   uniform values in [0, 1) LSB, variance 1/6 LSB²) before rounding. The total error is
//!   then white with variance 1/4 LSB² (1/6 of dither plus 1/12 of rounding) and its mean
//!   and variance do not depend on the signal: no distortion, no noise modulation.
//! - [`Dither::Shaped`] puts the same TPDF quantizer inside an error-feedback loop with the
//!   5-coefficient "E-weighted" filter of Lipshitz, Vanderkooy and Wannamaker, "Minimally
//!   Audible Noise Shaping", J. Audio Eng. Soc. 39(11), 836–852 (1991): coefficients
//!   [`LIPSHITZ_E_WEIGHTED`]. The output error is the white TPDF error filtered by
//!   `1 − Σ hₖ z^−(k+1)`, whose power response (at 44.1 kHz, relative to plain TPDF) is
//!   about −16 dB from DC to 3 kHz, −27 dB at 4 kHz where hearing is most sensitive, 0 dB
//!   near 9–10 kHz and rising to +19.4 dB at Nyquist; the total noise power is 16.6 times
//!   (12.2 dB) that of TPDF, moved to where it is least audible. The filter was designed
//!   for 44.1 kHz; at other rates the same curve scales with the rate.
//!
//! Clipping is symmetric, to ±(2ⁿ⁻¹ − 1) as in the WAV writer, and NaN becomes silence.
//!
//! Determinism: the noise is counter-based (`SplitMix64` at position `frame` from the
//! seed, one output per frame), so it depends only on the seed and the frame's position in
//! the file, never on block sizes, threads or timing. The caller derives the seed from a
//! stable identity (a deliverable's target name and the song), never from upstream keys,
//! so that a fader move changes the signal under the dither and not its noise.
//!
//! This module knows nothing of files or encoders; it names no outside library.

/// How a float signal becomes integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dither {
    /// Round to nearest, ties to even; no added noise.
    None,
    /// Triangular (TPDF) dither of ±1 LSB, then rounding.
    Tpdf,
    /// TPDF dither in an error-feedback loop with [`LIPSHITZ_E_WEIGHTED`].
    Shaped,
}

/// The error-feedback coefficients h₁…h₅ of the 5-tap E-weighted noise-shaping filter
/// published by Lipshitz, Vanderkooy and Wannamaker (JAES 1991) for 44.1 kHz.
pub const LIPSHITZ_E_WEIGHTED: [f64; 5] = [2.033, -2.165, 1.959, -1.590, 0.6149];

/// The largest error fed back, in LSB. In normal operation the error lies within ±1.5 LSB
/// (±1 of dither, ±½ of rounding); only a clipped sample goes beyond, and feeding its
/// whole error back would make the loop ring, so it is bounded here.
const MAX_FEEDBACK_LSB: f64 = 1.5;

/// Reduces a stereo stream to integers of a fixed word length, block by block.
#[derive(Debug, Clone)]
pub struct Quantizer {
    dither: Dither,
    /// 2ⁿ⁻¹: full scale in LSB.
    full_scale: f64,
    /// 2ⁿ⁻¹ − 1: the largest integer written, for symmetric clipping.
    max: f64,
    seed: u64,
    /// Frames quantized so far: the position of the next frame in the noise sequence.
    frame: u64,
    /// The last errors of each channel, newest first, for [`Dither::Shaped`].
    errors: [[f64; LIPSHITZ_E_WEIGHTED.len()]; 2],
}

impl Quantizer {
    /// A quantizer to `bits`-bit integers (16 or 24), its noise drawn from `seed`.
    ///
    /// # Panics
    /// When `bits` is neither 16 nor 24: the caller chooses among the supported depths.
    pub fn new(bits: u32, dither: Dither, seed: u64) -> Self {
        assert!(bits == 16 || bits == 24, "word length {bits} is neither 16 nor 24 bits");
        let full_scale = f64::from(1_u32 << (bits - 1));
        Self {
            dither,
            full_scale,
            max: full_scale - 1.0,
            seed,
            frame: 0,
            errors: [[0.0; LIPSHITZ_E_WEIGHTED.len()]; 2],
        }
    }

    /// Starts the noise again from rest with `seed`, as a new quantizer would: the album
    /// restarts its dither at every segment, so a segment's bytes do not depend on the
    /// segments before it.
    pub fn restart(&mut self, seed: u64) {
        self.seed = seed;
        self.frame = 0;
        self.errors = [[0.0; LIPSHITZ_E_WEIGHTED.len()]; 2];
    }

    /// Quantizes one block and appends it to `out` interleaved (left, right, left, …);
    /// `left` and `right` must have the same length.
    pub fn quantize(&mut self, left: &[f32], right: &[f32], out: &mut Vec<i32>) {
        debug_assert_eq!(left.len(), right.len());
        let start = out.len();
        out.resize(start + 2 * left.len(), 0);
        let frames = out[start..].chunks_exact_mut(2).zip(left.iter().zip(right));
        let first = self.frame;
        // One loop per mode, so that the plain and TPDF loops carry no state from sample to
        // sample and the compiler can schedule them freely.
        match self.dither {
            Dither::None => {
                for (pair, (&l, &r)) in frames {
                    pair[0] = self.round_and_clip(self.scaled(l));
                    pair[1] = self.round_and_clip(self.scaled(r));
                }
            }
            Dither::Tpdf => {
                for (frame, (pair, (&l, &r))) in (first..).zip(frames) {
                    let noise = tpdf_pair(self.seed, frame);
                    pair[0] = self.round_and_clip(self.scaled(l) + noise[0]);
                    pair[1] = self.round_and_clip(self.scaled(r) + noise[1]);
                }
            }
            Dither::Shaped => {
                for (frame, (pair, (&l, &r))) in (first..).zip(frames) {
                    let noise = tpdf_pair(self.seed, frame);
                    pair[0] = self.shaped(l, 0, noise[0]);
                    pair[1] = self.shaped(r, 1, noise[1]);
                }
            }
        }
        self.frame += left.len() as u64;
    }

    /// `x` in LSB; NaN becomes silence.
    #[inline]
    fn scaled(&self, x: f32) -> f64 {
        if x.is_nan() { 0.0 } else { f64::from(x) * self.full_scale }
    }

    /// `x` clipped symmetrically and rounded to the nearest integer, ties to even.
    ///
    /// Adding 1.5 · 2⁵² leaves a number whose last place is 1, so the addition itself
    /// rounds, ties to even, and the integer is the low bits of the sum: the same result
    /// as `round_ties_even` and a cast, for any clipped value, in two instructions that
    /// vectorise. `x` is never a NaN: [`Self::scaled`] silences those.
    #[inline]
    fn round_and_clip(&self, x: f64) -> i32 {
        const ROUNDER: f64 = 6_755_399_441_055_744.0;
        // The low 32 bits of the sum's pattern: the integer in two's complement.
        (x.clamp(-self.max, self.max) + ROUNDER).to_bits() as u32 as i32
    }

    /// One sample through the noise-shaping loop of `channel`, with TPDF noise `d`.
    fn shaped(&mut self, x: f32, channel: usize, d: f64) -> i32 {
        let scaled = self.scaled(x);
        let history = &mut self.errors[channel];
        let feedback: f64 =
            LIPSHITZ_E_WEIGHTED.iter().zip(history.iter()).map(|(h, e)| h * e).sum();
        let wanted = scaled - feedback;
        let q = (wanted + d).round_ties_even().clamp(-self.max, self.max);
        history.rotate_right(1);
        history[0] = (q - wanted).clamp(-MAX_FEEDBACK_LSB, MAX_FEEDBACK_LSB);
        q as i32
    }
}

/// Triangular noise in (−1, 1) LSB for the left and the right sample of one frame: each
/// the difference of two uniform values, the four of them the 16-bit quarters of one
/// `SplitMix64` output. In steps of 2⁻¹⁶ LSB the noise's mean is still zero and its
/// variance within one part in 2³² of a continuous triangle's; one output per frame
/// instead of one per sample nearly halves the dither's cost.
#[inline]
fn tpdf_pair(seed: u64, frame: u64) -> [f64; 2] {
    let bits = splitmix64(seed, frame);
    let unit = |shift: u32| f64::from((bits >> shift) as u16) / 65_536.0;
    [unit(0) - unit(16), unit(32) - unit(48)]
}

/// The `SplitMix64` generator's output at position `index` of the sequence started by
/// `seed` (Steele, Lea and Flood, OOPSLA 2014): random access, so a block can start
/// anywhere.
fn splitmix64(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use realfft::RealFftPlanner;

    use super::*;

    const SEED: u64 = 0x006d_6978_646f_776e;

    /// Quantizes a mono signal given in LSB (on both channels) and returns the left
    /// channel's integers.
    fn quantize_lsb(signal_lsb: &[f64], bits: u32, dither: Dither, seed: u64) -> Vec<i32> {
        let scale = f64::from(1_u32 << (bits - 1));
        let x: Vec<f32> = signal_lsb.iter().map(|v| (v / scale) as f32).collect();
        let mut out = Vec::new();
        Quantizer::new(bits, dither, seed).quantize(&x, &x, &mut out);
        out.iter().step_by(2).copied().collect()
    }

    /// The error of each sample in LSB: what was written minus what was meant, where the
    /// meant value is exactly representable in `f32` so that only quantization counts.
    fn errors_lsb(signal_lsb: &[f64], bits: u32, dither: Dither) -> Vec<f64> {
        let q = quantize_lsb(signal_lsb, bits, dither, SEED);
        q.iter().zip(signal_lsb).map(|(&q, s)| f64::from(q) - s).collect()
    }

    fn mean_and_variance(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        (mean, v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n)
    }

    #[test]
    fn tpdf_error_is_a_quarter_lsb_squared_and_the_same_for_any_signal_level() {
        // ±1 LSB triangular dither has variance 1/6 LSB² and the rounding after it adds an
        // independent 1/12, so the total error variance is 1/4 LSB² with zero mean, at
        // every level between two steps. 2¹⁸ samples estimate a variance within ±0.002
        // (one standard error is about 0.0005), so ±0.006 is a tight bound.
        let n = 1 << 18;
        for offset in [0.0, 0.25, 0.5, 0.75] {
            let signal = vec![100.0 + offset; n];
            let (mean, var) = mean_and_variance(&errors_lsb(&signal, 16, Dither::Tpdf));
            assert!(mean.abs() < 0.006, "offset {offset}: mean error {mean} LSB");
            assert!((var - 0.25).abs() < 0.006, "offset {offset}: error variance {var} LSB²");
            // Plain rounding's error is the signal's own fraction (100.5 rounds to the even
            // 100): it depends on the signal.
            let (mean, _) = mean_and_variance(&errors_lsb(&signal, 16, Dither::None));
            let expected = if offset > 0.5 { 1.0 - offset } else { -offset };
            assert!((mean - expected).abs() < 1e-9, "offset {offset}: rounding error {mean}");
        }
    }

    #[test]
    fn tpdf_error_is_uncorrelated_with_a_sine_under_it() {
        // A sine of 3.3 LSB: the error's correlation with the signal is zero within the
        // estimate's standard error (1/√n ≈ 0.002); plain rounding's is not.
        let n = 1 << 18;
        let signal: Vec<f64> = (0..n).map(|i| 3.3 * (f64::from(i) * 0.0123).sin()).collect();
        let correlation = |e: &[f64]| {
            let dot: f64 = e.iter().zip(&signal).map(|(a, b)| a * b).sum();
            let ee: f64 = e.iter().map(|a| a * a).sum();
            let ss: f64 = signal.iter().map(|b| b * b).sum();
            dot / (ee * ss).sqrt()
        };
        let dithered = correlation(&errors_lsb(&signal, 24, Dither::Tpdf));
        assert!(dithered.abs() < 0.01, "correlation {dithered}");
        let rounded = correlation(&errors_lsb(&signal, 24, Dither::None));
        assert!(rounded.abs() > 0.05, "rounding correlation {rounded}");
    }

    /// The power spectrum of `x`, averaged over Hann-windowed halves-overlapping segments
    /// of `len` samples, scaled so that white noise of variance σ² reads σ² in every bin.
    fn welch_psd(x: &[f64], len: usize) -> Vec<f64> {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(len);
        let window: Vec<f64> = (0..len)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / len as f64).cos())
            .collect();
        let window_power: f64 = window.iter().map(|w| w * w).sum();
        let mut psd = vec![0.0; len / 2 + 1];
        let mut segments = 0;
        let mut input = fft.make_input_vec();
        let mut spectrum = fft.make_output_vec();
        for start in (0..=x.len() - len).step_by(len / 2) {
            for ((slot, v), w) in input.iter_mut().zip(&x[start..start + len]).zip(&window) {
                *slot = v * w;
            }
            fft.process(&mut input, &mut spectrum).expect("buffer sizes come from the plan");
            for (p, c) in psd.iter_mut().zip(&spectrum) {
                *p += c.norm_sqr() / window_power;
            }
            segments += 1;
        }
        psd.iter().map(|p| p / f64::from(segments)).collect()
    }

    /// The noise-shaping filter's power response at `fraction` of the sample rate.
    fn shaping_power(fraction: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * fraction;
        let (mut re, mut im) = (1.0, 0.0);
        for (k, h) in LIPSHITZ_E_WEIGHTED.iter().enumerate() {
            let phase = w * (k + 1) as f64;
            re -= h * phase.cos();
            im += h * phase.sin();
        }
        re * re + im * im
    }

    #[test]
    fn shaped_noise_follows_the_lipshitz_e_weighted_curve() {
        // The shaped error is white TPDF error (1/4 LSB²) through the filter, so its
        // spectrum is 1/4·|H|². Measured with 2¹⁹ samples in 1024-point segments, then in
        // 32 bands of 16 bins: each band's estimate has a standard error of about 0.1 dB,
        // so ±0.5 dB holds the curve over its whole 46 dB range without allowing a
        // different filter.
        let n = 1 << 19;
        let signal: Vec<f64> = (0..n).map(|i| 0.3 + 5.0 * (f64::from(i) * 0.001).sin()).collect();
        let error = errors_lsb(&signal, 16, Dither::Shaped);
        let len = 1024;
        let psd = welch_psd(&error, len);
        for band in 0..32 {
            let bins = 1 + band * 16..1 + (band + 1) * 16;
            let measured: f64 = psd[bins.clone()].iter().sum::<f64>() / 16.0;
            let expected: f64 =
                bins.map(|k| 0.25 * shaping_power(k as f64 / len as f64)).sum::<f64>() / 16.0;
            let diff_db = 10.0 * (measured / expected).log10();
            assert!(diff_db.abs() < 0.5, "band {band}: {diff_db:+.2} dB off the curve");
        }
        // The curve itself as the module documents it.
        let db = |f: f64| 10.0 * shaping_power(f / 44_100.0).log10();
        assert!((db(0.0) + 16.6).abs() < 0.1 && (db(22_050.0) - 19.4).abs() < 0.1);
        assert!((db(4_000.0) + 27.0).abs() < 1.0, "{}", db(4_000.0));
    }

    /// The level in dB of each bin of a rectangular-window spectrum of `x`.
    fn spectrum_db(x: &[f64]) -> Vec<f64> {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(x.len());
        let mut input = x.to_vec();
        let mut spectrum = fft.make_output_vec();
        fft.process(&mut input, &mut spectrum).expect("buffer sizes come from the plan");
        spectrum.iter().map(|c| 10.0 * (c.norm_sqr() + 1e-30).log10()).collect()
    }

    #[test]
    fn tpdf_leaves_no_harmonics_on_a_minus_90_dbfs_sine_where_rounding_does() {
        // The standard test of dither: a −90 dBFS sine (about one LSB at 16 bits) whose
        // period divides the analysis length, so the fundamental and its harmonics fall on
        // exact bins. Rounding turns it into a stepped wave with strong odd harmonics;
        // with TPDF the harmonic bins are ordinary noise bins. A noise bin exceeds its mean
        // by 10 dB with probability e⁻¹⁰, so harmonics within 10 dB of the noise floor are
        // "no spike", and rounding's are 20 dB above it or more.
        let n = 1 << 16;
        let cycles = 512;
        let amplitude_lsb = 10f64.powf(-90.0 / 20.0) * 32_768.0;
        let signal: Vec<f64> = (0..n)
            .map(|i| {
                amplitude_lsb * (2.0 * std::f64::consts::PI * (cycles * i) as f64 / n as f64).sin()
            })
            .collect();
        let harmonics = |dither| {
            let q: Vec<f64> =
                quantize_lsb(&signal, 16, dither, SEED).into_iter().map(f64::from).collect();
            let spectrum = spectrum_db(&q);
            let mut sorted = spectrum[1..].to_vec();
            sorted.sort_by(f64::total_cmp);
            let floor = sorted[sorted.len() / 2];
            let fundamental = spectrum[cycles] - floor;
            let worst = (2..=9).map(|h| spectrum[h * cycles] - floor).fold(f64::MIN, f64::max);
            (fundamental, worst)
        };
        let (fundamental, worst) = harmonics(Dither::Tpdf);
        assert!(fundamental > 30.0, "the sine survives dithering: {fundamental:.1} dB");
        assert!(worst < 10.0, "TPDF harmonic {worst:.1} dB over the noise floor");
        let (_, worst) = harmonics(Dither::None);
        assert!(worst > 20.0, "rounding harmonic only {worst:.1} dB over the floor");
    }

    #[test]
    fn the_same_seed_gives_the_same_bits_and_another_seed_other_noise() {
        let signal: Vec<f64> = (0..10_000).map(|i| 40.0 * (f64::from(i) * 0.01).sin()).collect();
        for dither in [Dither::Tpdf, Dither::Shaped] {
            let a = quantize_lsb(&signal, 16, dither, 1);
            assert_eq!(a, quantize_lsb(&signal, 16, dither, 1));
            let b = quantize_lsb(&signal, 16, dither, 2);
            let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            assert!(differing > 3_000, "{dither:?}: only {differing} samples differ");
        }
    }

    #[test]
    fn blocks_of_any_size_give_the_same_integers_as_one_block() {
        let left: Vec<f32> = (0..5_000).map(|i| 0.3 * (i as f32 * 0.02).sin()).collect();
        let right: Vec<f32> = (0..5_000).map(|i| 0.2 * (i as f32 * 0.031).cos()).collect();
        for dither in [Dither::None, Dither::Tpdf, Dither::Shaped] {
            let mut whole = Vec::new();
            Quantizer::new(24, dither, SEED).quantize(&left, &right, &mut whole);
            let mut pieces = Vec::new();
            let mut q = Quantizer::new(24, dither, SEED);
            let mut start = 0;
            for size in [1, 7, 512, 1000, 3].into_iter().cycle() {
                let end = (start + size).min(left.len());
                q.quantize(&left[start..end], &right[start..end], &mut pieces);
                start = end;
                if start == left.len() {
                    break;
                }
            }
            assert_eq!(whole, pieces, "{dither:?}");
        }
    }

    #[test]
    fn the_left_and_right_channels_get_independent_noise() {
        let silence = vec![0.0_f32; 20_000];
        let mut out = Vec::new();
        Quantizer::new(16, Dither::Tpdf, SEED).quantize(&silence, &silence, &mut out);
        let same = out.chunks(2).filter(|f| f[0] == f[1]).count();
        // Independent ternary noise with P(0) = 3/4 and P(±1) = 1/8: equal about 59% of
        // the time; identical noise would be equal always.
        assert!((10_000..13_500).contains(&same), "{same} of 20000 frames equal");
    }

    #[test]
    fn rounding_by_addition_is_rounding_half_to_even_then_clipping() {
        let quantizer = Quantizer::new(16, Dither::None, SEED);
        let halves = (-70_000..70_000).map(|i| f64::from(i) / 2.0);
        let near = [0.0, -0.0, 0.499_999_999_999, -0.500_000_000_001, 32_766.5, -32_767.5];
        let beyond = [32_767.4, 32_768.0, -40_000.7, 1e12, -1e300, f64::MAX, f64::MIN];
        for x in halves.chain(near).chain(beyond) {
            let expected = x.round_ties_even().clamp(-32_767.0, 32_767.0) as i32;
            assert_eq!(quantizer.round_and_clip(x), expected, "{x}");
        }
    }

    #[test]
    fn rounding_clips_symmetrically_and_silences_nan() {
        let x = [1.0, -1.0, 2.0, -0.5 / 32_768.0, 1.5 / 32_768.0, f32::NAN];
        let mut out = Vec::new();
        Quantizer::new(16, Dither::None, SEED).quantize(&x, &x, &mut out);
        let left: Vec<i32> = out.iter().step_by(2).copied().collect();
        assert_eq!(left, [32_767, -32_767, 32_767, 0, 2, 0]);
    }

    #[test]
    fn shaped_dither_stays_bounded_after_clipping() {
        // A full-scale square wave clips on every edge; the error fed back is bounded, so
        // the signal under it comes back as soon as the clipping stops.
        let mut x: Vec<f32> =
            (0..4_000).map(|i| if (i / 50) % 2 == 0 { 1.5 } else { -1.5 }).collect();
        x.extend(std::iter::repeat_n(0.0, 1_000));
        let mut out = Vec::new();
        Quantizer::new(16, Dither::Shaped, SEED).quantize(&x, &x, &mut out);
        let tail_peak = out[2 * 4_100..].iter().map(|v| v.abs()).max().unwrap();
        assert!(tail_peak <= 15, "shaped noise after clipping peaks at {tail_peak} LSB");
    }
}
