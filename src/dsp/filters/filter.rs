//! `highpass` and `lowpass`: Butterworth filters from 6 to 48 dB/oct with an automatable
//! corner frequency.
//!
//! A constant corner is designed once. An automated one is redesigned from the corner's
//! value at every [`RETUNE_FRAMES`](crate::dsp::primitives::biquad::RETUNE_FRAMES)-frame
//! boundary of the song, so the output is the same whatever the block size.

use super::butterworth::{self, Pass};
use crate::dsp::primitives::biquad::BiquadCascade;
use crate::dsp::primitives::curve::{Curve, Timeline};
use crate::dsp::{BuildEnv, Context, Processor, Spec};

/// The settings of a `highpass` or a `lowpass`.
#[derive(Debug, Clone, PartialEq)]
pub struct PassFilterSettings {
    /// Which side of the corner passes.
    pub pass: Pass,
    /// The corner frequency in Hz, where the response is 3 dB down.
    pub freq_hz: Timeline,
    /// The Butterworth order, 1 to 8: 6 dB/oct per order.
    pub order: usize,
}

impl Spec for PassFilterSettings {
    const VERSION: u32 = 2;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(PassFilter::new(self, env.sample_rate))
    }
}

/// A Butterworth highpass or lowpass on both channels.
pub struct PassFilter {
    pass: Pass,
    order: usize,
    sample_rate: f64,
    /// The corner in Hz, when it is automated.
    automation: Option<Curve>,
    cascade: BiquadCascade,
    tail: usize,
}

impl PassFilter {
    /// A filter with `settings` at `sample_rate`.
    #[must_use]
    pub fn new(settings: &PassFilterSettings, sample_rate: f64) -> Self {
        let PassFilterSettings { pass, freq_hz: freq, order } = settings;
        let (pass, order) = (*pass, *order);
        let points = &freq.0;
        let design = |freq: f64| butterworth::sections(pass, order, sample_rate, freq);
        // The lowest corner rings longest, and automation stays between its points.
        let tail = points.iter().map(|&(_, f)| BiquadCascade::new(&design(f)).tail()).max();
        Self {
            pass,
            order,
            sample_rate,
            automation: freq.is_automated().then(|| Curve::from_seconds(points, sample_rate)),
            cascade: BiquadCascade::new(&design(freq.initial())),
            tail: tail.unwrap_or(0),
        }
    }
}

impl Processor for PassFilter {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        let Self { pass, order, sample_rate, automation, cascade, .. } = self;
        match automation {
            None => cascade.process(left, right, ctx.start),
            Some(freq) => cascade.process_retuned(left, right, ctx.start, |frame, sections| {
                butterworth::design(*pass, *order, *sample_rate, freq.at(frame), sections);
            }),
        }
    }

    fn tail(&self) -> usize {
        self.tail
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;
    use crate::dsp::primitives::biquad::measure::{self, audio_band};

    /// A corner in Hz and a slope in dB/oct, as a mix writes them.
    struct Corner {
        freq: Timeline,
        slope: u32,
    }

    fn params(freq: f64, slope: u32) -> Corner {
        Corner { freq: Timeline::constant(freq), slope }
    }

    fn build(pass: Pass, params: &Corner, sample_rate: f64) -> Box<dyn Processor> {
        let env = BuildEnv { sample_rate, max_block: measure::MAX_BLOCK };
        let order = (params.slope / 6) as usize;
        PassFilterSettings { pass, freq_hz: params.freq.clone(), order }.build(&env)
    }

    /// The bilinear-transformed Butterworth: 1 / (1 + Ω^2n) in power.
    fn butterworth_db(pass: Pass, order: usize, fs: f64, fc: f64, f: f64) -> f64 {
        let omega = (PI * f / fs).tan() / (PI * fc / fs).tan();
        let ratio = if pass == Pass::Low { omega } else { 1.0 / omega };
        -10.0 * ratio.powi(2 * order as i32).ln_1p() / 10f64.ln()
    }

    #[test]
    fn every_slope_measures_as_the_butterworth_curve_within_a_tenth_of_a_db() {
        // Measured from the processor's impulse response against the closed-form curve,
        // 20 Hz to 20 kHz wherever it is above -60 dB. 0.1 dB is the stated bound; the
        // actual error is the f32 rounding of the output and the truncated tail.
        for fs in [44_100.0, 48_000.0, 96_000.0] {
            for fc in [60.0, 2_500.0] {
                for slope in [6, 12, 24, 36, 48] {
                    for pass in [Pass::High, Pass::Low] {
                        let mut p = build(pass, &params(fc, slope), fs);
                        let mut freqs = audio_band();
                        freqs.push(fc);
                        let measured = measure::processor_db(&mut *p, fs, &freqs);
                        let order = (slope / 6) as usize;
                        for (f, got) in freqs.iter().zip(measured) {
                            let want = butterworth_db(pass, order, fs, fc, *f);
                            if want > -60.0 {
                                assert!(
                                    (got - want).abs() < 0.1,
                                    "{pass:?} {slope} dB/oct at {fc} Hz, {fs} Hz: {f} Hz is \
                                     {got} dB, want {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_corner_is_3_01_db_down_and_an_octave_past_it_is_6_db_per_order_down() {
        // The analog value an octave out is -10·log10(1 + 4^n), about 6·n dB. With the
        // corner at 200 Hz and 48 kHz, bilinear warping moves the octave points by under
        // 0.02%, at most 0.012 dB at order 8, and measurement adds a few thousandths: 0.1 dB
        // bounds both. The corner itself is exact, so 0.01 dB there.
        let (fs, fc) = (48_000.0, 200.0);
        for slope in [6, 12, 24, 36, 48] {
            let order = (slope / 6) as i32;
            let octave_down = -10.0 * (1.0 + 4f64.powi(order)).log10();
            let mut hp = build(Pass::High, &params(fc, slope), fs);
            let mut lp = build(Pass::Low, &params(fc, slope), fs);
            let hp_db = measure::processor_db(&mut *hp, fs, &[fc, 0.5 * fc]);
            let lp_db = measure::processor_db(&mut *lp, fs, &[fc, 2.0 * fc]);
            for corner in [hp_db[0], lp_db[0]] {
                assert!((corner + 3.0103).abs() < 0.01, "{slope}: corner at {corner} dB");
            }
            for octave in [hp_db[1], lp_db[1]] {
                assert!((octave - octave_down).abs() < 0.1, "{slope}: octave at {octave} dB");
            }
        }
    }

    fn sweep(points: &[(f64, f64)]) -> Timeline {
        Timeline(points.to_vec())
    }

    #[test]
    fn block_size_does_not_change_a_word_even_with_an_automated_corner() {
        let fs = 48_000.0;
        for pass in [Pass::High, Pass::Low] {
            for slope in [6, 12, 48] {
                let automated =
                    Corner { freq: sweep(&[(20.8, 100.0), (20.9, 8_000.0), (21.0, 300.0)]), slope };
                for params in [automated, params(700.0, slope)] {
                    measure::assert_block_size_independent(
                        &|| {
                            let mut p = build(pass, &params, fs);
                            Box::new(move |l, r, start| {
                                p.process(l, r, &Context { start, sidechains: &[] });
                            })
                        },
                        9_000,
                    );
                }
            }
        }
    }

    #[test]
    fn an_automated_corner_follows_its_curve() {
        // After a sweep settles at its last point, the filter is the constant filter at
        // that point: once the sweep's own ringing has died the two outputs agree to f32
        // rounding of a sample (1e-6 of full scale at these levels).
        let fs = 48_000.0;
        let automated = Corner { freq: sweep(&[(0.0, 200.0), (0.05, 2_000.0)]), slope: 24 };
        let input = measure::noise(12_000, 9);
        let run = |params: &Corner| {
            let mut p = build(Pass::Low, params, fs);
            measure::run_blocks(
                &mut |l, r, start| p.process(l, r, &Context { start, sidechains: &[] }),
                (&input, &input),
                0,
                512,
            )
        };
        let (swept, _) = run(&automated);
        let (fixed, _) = run(&params(2_000.0, 24));
        for (a, b) in swept[10_000..].iter().zip(&fixed[10_000..]) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // And before the sweep moved, it was the 200 Hz filter.
        let (low, _) = run(&params(200.0, 24));
        assert_eq!(swept[..32], low[..32]);
    }

    #[test]
    fn extreme_corners_and_huge_input_stay_finite() {
        let huge: Vec<f32> = measure::noise(8_192, 4).into_iter().map(|x| x * 1e38).collect();
        for fs in [44_100.0, 48_000.0, 96_000.0] {
            for fc in [10.0, 0.45 * fs, 0.5 * fs, 30_000.0] {
                for slope in [6, 12, 24, 36, 48] {
                    for pass in [Pass::High, Pass::Low] {
                        let mut p = build(pass, &params(fc, slope), fs);
                        let (mut l, mut r) = (huge.clone(), huge.clone());
                        for (bl, br) in l.chunks_mut(4_096).zip(r.chunks_mut(4_096)) {
                            p.process(bl, br, &Context::default());
                        }
                        assert!(
                            l.iter().chain(&r).all(|x| x.is_finite() && !x.is_subnormal()),
                            "{pass:?} {slope} at {fc} Hz"
                        );
                    }
                }
            }
        }
    }
}
