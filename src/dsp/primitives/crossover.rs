//! The Linkwitz–Riley 4th-order crossover: a lowpass and a highpass that are each two
//! Butterworth 12 dB/oct sections at the same corner, and the second-order all-pass their
//! sum equals. Band splitters (`multiband`, `stereo`'s `mono_below`) build on it.
//!
//! In the analog prototype LP² + HP² = (s² − √2·s + 1)/(s² + √2·s + 1), an all-pass, and
//! the bilinear transform keeps that identity, so the digital halves add up to the
//! cookbook all-pass at the same prewarped corner: the split sums flat. Each half is 6 dB
//! down at the corner and falls 24 dB per octave beyond it.
//!
//! This module designs and runs the filters; which band gets which half is the business of
//! the processors.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use super::biquad::{BiquadCascade, BiquadCoefficients};

/// The second-order all-pass with the Butterworth Q at `freq`: what the two halves of a
/// crossover at `freq` add up to.
#[must_use]
pub fn allpass(sample_rate: f64, freq: f64) -> BiquadCoefficients {
    // A lowpass and a highpass share the all-pass's poles; their design clamps the
    // frequency the same way, so the three filters always agree.
    let poles = BiquadCoefficients::lowpass(sample_rate, freq, FRAC_1_SQRT_2);
    // The all-pass's numerator is its denominator reversed.
    BiquadCoefficients { b0: poles.a2, b1: poles.a1, b2: 1.0, a1: poles.a1, a2: poles.a2 }
}

/// A crossover at one frequency: the lowpass and highpass halves. The bands it does not
/// split take [`Crossover::phase_match`], the all-pass their sum equals.
#[derive(Debug, Clone)]
pub struct Crossover {
    /// The band below the corner.
    pub low: BiquadCascade,
    /// The band above the corner.
    pub high: BiquadCascade,
}

impl Crossover {
    /// The two halves of a crossover at `freq`.
    #[must_use]
    pub fn new(sample_rate: f64, freq: f64) -> Self {
        let low = BiquadCoefficients::lowpass(sample_rate, freq, FRAC_1_SQRT_2);
        let high = BiquadCoefficients::highpass(sample_rate, freq, FRAC_1_SQRT_2);
        Self { low: BiquadCascade::new(&[low, low]), high: BiquadCascade::new(&[high, high]) }
    }

    /// The all-pass that matches this crossover's phase, for the bands it does not split.
    #[must_use]
    pub fn phase_match(sample_rate: f64, freq: f64) -> BiquadCascade {
        BiquadCascade::new(&[allpass(sample_rate, freq)])
    }

    /// Frames either half keeps ringing, until 90 dB down.
    #[must_use]
    pub fn tail(&self) -> usize {
        self.low.tail().max(self.high.tail())
    }
}

/// The analytic gain in dB of a crossover half at `freq`: 6.02 dB down at the corner,
/// from `−20·log10(1 + Ω⁴)` with Ω the prewarped frequency ratio.
#[must_use]
pub fn half_db(sample_rate: f64, corner: f64, freq: f64, high: bool) -> f64 {
    let omega = (PI * freq / sample_rate).tan() / (PI * corner / sample_rate).tan();
    let ratio = if high { 1.0 / omega } else { omega };
    -20.0 * ratio.powi(4).ln_1p() / std::f64::consts::LN_10
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::primitives::biquad::measure::{audio_band, measured_db};

    const FS: f64 = 48_000.0;

    fn response(cascade: &mut BiquadCascade, freqs: &[f64]) -> Vec<f64> {
        let frames = cascade.tail().max(4096);
        measured_db(&mut |l, r, start| cascade.process(l, r, start), FS, frames, freqs)
    }

    #[test]
    fn each_half_is_six_db_down_at_the_corner_and_follows_its_analytic_curve() {
        // The measured impulse responses against −20·log10(1 + Ω^±4): 0.01 dB covers the
        // f32 rounding of the impulse response wherever the response is above −80 dB.
        for corner in [80.0, 1000.0, 8000.0] {
            let mut split = Crossover::new(FS, corner);
            let freqs: Vec<f64> = audio_band().into_iter().chain([corner]).collect();
            for (cascade, high) in [(&mut split.low, false), (&mut split.high, true)] {
                for (f, db) in freqs.iter().zip(response(cascade, &freqs)) {
                    let want = half_db(FS, corner, *f, high);
                    if want > -80.0 {
                        assert!((db - want).abs() < 0.01, "{corner} Hz {high}: {f} Hz {db}");
                    }
                }
            }
            assert!((half_db(FS, corner, corner, true) + 6.0206).abs() < 1e-3);
        }
    }

    #[test]
    fn each_half_falls_24_db_per_octave_away_from_the_corner() {
        // Two to three octaves out the curve is within 0.1 dB of its asymptote of 24 dB
        // per octave; a low corner keeps the prewarping, which bends it near Nyquist, out.
        let corner = 100.0;
        let mut split = Crossover::new(FS, corner);
        let lows = response(&mut split.low, &[400.0, 800.0]);
        assert!((lows[0] - lows[1] - 24.0).abs() < 0.1, "{lows:?}");
        let highs = response(&mut split.high, &[25.0, 12.5]);
        assert!((highs[0] - highs[1] - 24.0).abs() < 0.1, "{highs:?}");
    }

    #[test]
    fn the_two_halves_sum_to_the_all_pass_sample_for_sample() {
        // The identity LP² + HP² = AP holds exactly in f64; the f32 outputs agree to a few
        // roundings of the unit impulse.
        let corner = 2500.0;
        let mut split = Crossover::new(FS, corner);
        let mut matched = Crossover::phase_match(FS, corner);
        let n = 2048;
        let mut impulse = vec![0.0f32; n];
        impulse[0] = 1.0;
        let run = |c: &mut BiquadCascade| {
            let (mut l, mut r) = (impulse.clone(), impulse.clone());
            c.process(&mut l, &mut r, 0);
            l
        };
        let (low, high, all) = (run(&mut split.low), run(&mut split.high), run(&mut matched));
        for i in 0..n {
            assert!((low[i] + high[i] - all[i]).abs() < 1e-6, "frame {i}");
        }
        let flat = response(&mut matched, &audio_band());
        assert!(flat.iter().all(|db| db.abs() < 1e-3), "{flat:?}");
    }
}
