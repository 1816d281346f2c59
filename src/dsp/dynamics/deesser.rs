//! `deesser`: turns down the top of the spectrum while it is too loud, for sibilance.
//!
//! A Linkwitz–Riley crossover (two Butterworth 12 dB/oct sections per band) splits the
//! signal at `frequency`. Its two bands are in phase at every frequency and sum to an
//! allpass, so with no reduction the output has the input's magnitude response exactly.
//! A peak detector with attack and release follows the louder channel of the high band,
//! and a compressor curve turns the high band alone down while the detector is above the
//! threshold; the low band is never touched.

use std::f64::consts::FRAC_1_SQRT_2;

use crate::dsp::primitives::biquad::{BiquadCascade, BiquadCoefficients, to_sample};
use crate::dsp::primitives::curve::{Curve, Timeline};
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};
use crate::units::db_to_gain;

/// The lowest threshold the detector compares against, in dB; `-inf dB` means this.
const THRESHOLD_FLOOR_DB: f64 = -200.0;

/// A de-esser's settings, in plain units.
#[derive(Debug, Clone, PartialEq)]
pub struct DeesserSettings {
    /// The crossover frequency in Hz, where the treated band begins.
    pub frequency_hz: f64,
    /// The peak level of the band above the crossover beyond which it is turned down, in dB.
    pub threshold_db: Timeline,
    /// dB of the band's excess over the threshold per dB left; infinite holds it there.
    pub ratio: f64,
    /// How fast the reduction follows a rise in level: a time constant in seconds.
    pub attack_seconds: f64,
    /// How fast the reduction lets go once the level falls: a time constant in seconds.
    pub release_seconds: f64,
}

impl Spec for DeesserSettings {
    const VERSION: u32 = 2;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        let fs = env.sample_rate;
        let f = self.frequency_hz;
        let low = BiquadCascade::new(&[BiquadCoefficients::lowpass(fs, f, FRAC_1_SQRT_2); 2]);
        let high = BiquadCascade::new(&[BiquadCoefficients::highpass(fs, f, FRAC_1_SQRT_2); 2]);
        let smoothing = |seconds: f64| (-1.0 / (seconds * fs)).exp();
        let floor = |db: f64| db.max(THRESHOLD_FLOOR_DB);
        let threshold_db = if self.threshold_db.is_automated() {
            Threshold::Automated(Curve::from_seconds(&self.threshold_db.0, fs).map(floor))
        } else {
            Threshold::Constant(floor(self.threshold_db.initial()))
        };
        let buffer = || vec![0.0; env.max_block];
        Box::new(Deesser {
            tail: low.tail().max(high.tail()),
            low,
            high,
            bands: [buffer(), buffer(), buffer(), buffer()],
            threshold_db,
            // The gain-reduction slope in dB per dB over: 1 - 1/ratio, 1 for `inf`.
            slope: 1.0 - 1.0 / self.ratio,
            attack: smoothing(self.attack_seconds),
            release: smoothing(self.release_seconds),
            envelope: 0.0,
        })
    }
}

/// The threshold in dB, over the song.
enum Threshold {
    Constant(f64),
    Automated(Curve),
}

/// A split-band de-esser on a stereo pair.
pub struct Deesser {
    low: BiquadCascade,
    high: BiquadCascade,
    /// Low left, low right, high left, high right, for one block.
    bands: [Vec<f32>; 4],
    threshold_db: Threshold,
    slope: f64,
    attack: f64,
    release: f64,
    /// The detector's level, linear.
    envelope: f64,
    tail: usize,
}

impl Processor for Deesser {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        let n = left.len();
        let [low_l, low_r, high_l, high_r] = &mut self.bands;
        let (low_l, low_r) = (&mut low_l[..n], &mut low_r[..n]);
        let (high_l, high_r) = (&mut high_l[..n], &mut high_r[..n]);
        low_l.copy_from_slice(left);
        low_r.copy_from_slice(right);
        high_l.copy_from_slice(left);
        high_r.copy_from_slice(right);
        self.low.process(low_l, low_r, ctx.start);
        self.high.process(high_l, high_r, ctx.start);
        let bands = low_l.iter().zip(low_r.iter()).zip(high_l.iter().zip(high_r.iter()));
        for (i, ((l, r), ((ll, lr), (hl, hr)))) in
            left.iter_mut().zip(right.iter_mut()).zip(bands).enumerate()
        {
            let (hl, hr) = (f64::from(*hl), f64::from(*hr));
            let level = hl.abs().max(hr.abs());
            let smoothing = if level > self.envelope { self.attack } else { self.release };
            self.envelope = sanitize(level + (self.envelope - level) * smoothing);
            let threshold_db = match &self.threshold_db {
                Threshold::Constant(db) => *db,
                Threshold::Automated(curve) => curve.at(ctx.start + i as u64),
            };
            let over_db = 20.0 * self.envelope.max(1e-12).log10() - threshold_db;
            let gain = if over_db > 0.0 { db_to_gain(-over_db * self.slope) } else { 1.0 };
            *l = to_sample(f64::from(*ll) + gain * hl);
            *r = to_sample(f64::from(*lr) + gain * hr);
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

    const FS: f64 = 48_000.0;

    /// A de-esser at `threshold_db` with the step's defaults: 6 kHz, 4:1, 1 ms and 60 ms.
    fn spec(threshold_db: f64) -> DeesserSettings {
        DeesserSettings {
            frequency_hz: 6_000.0,
            threshold_db: Timeline::constant(threshold_db),
            ratio: 4.0,
            attack_seconds: 0.001,
            release_seconds: 0.060,
        }
    }

    fn run(spec: &DeesserSettings, input: &[f32]) -> Vec<f32> {
        let env = BuildEnv { sample_rate: FS, max_block: measure::MAX_BLOCK };
        let mut p = spec.build(&env);
        let (l, _) = measure::run_blocks(
            &mut |l: &mut [f32], r: &mut [f32], start| {
                p.process(l, r, &Context { start, sidechains: &[] });
            },
            (input, input),
            0,
            measure::MAX_BLOCK,
        );
        l
    }

    fn tone(freq: f64, db: f64, frames: usize) -> Vec<f32> {
        let a = db_to_gain(db);
        (0..frames).map(|n| (a * (2.0 * PI * freq * n as f64 / FS).sin()) as f32).collect()
    }

    fn rms_db(x: &[f32]) -> f64 {
        let power = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64;
        10.0 * power.log10()
    }

    /// |HP|² of one Butterworth section at `f`, for a corner at `fc`: Ω⁴ / (1 + Ω⁴) after
    /// prewarping; the crossover's high band is two sections, its low band is 1 - that.
    fn high_band_power(f: f64, fc: f64) -> f64 {
        let omega4 = ((PI * f / FS).tan() / (PI * fc / FS).tan()).powi(4);
        omega4 / (1.0 + omega4)
    }

    #[test]
    fn a_loud_7_khz_burst_is_reduced_by_the_static_curve_within_1_db() {
        // The bands of a Linkwitz–Riley split are in phase, with amplitudes |HP2|² and
        // |LP2|² = 1 - |HP2|²: the output amplitude is A·(low + g·high), where g follows
        // from the high band's peak level through the compressor curve. The 1 dB bound
        // covers the peak detector reading a sampled sine slightly low and its release
        // ripple, which together move the reduction by a few tenths of a dB.
        let (input_db, threshold_db, ratio) = (-10.0, -30.0, 4.0);
        let high = high_band_power(7_000.0, 6_000.0);
        let over = input_db + 20.0 * high.log10() - threshold_db;
        let g = db_to_gain(-over * (1.0 - 1.0 / ratio));
        // A sine's RMS is its amplitude over √2.
        let want_db = input_db - 10.0 * 2f64.log10() + 20.0 * ((1.0 - high) + g * high).log10();
        let burst = tone(7_000.0, input_db, 12_000);
        let out = run(&spec(threshold_db), &burst);
        let got_db = rms_db(&out[6_000..]);
        assert!((got_db - want_db).abs() < 1.0, "{got_db} dB, want {want_db} dB");
        assert!(got_db < rms_db(&burst[6_000..]) - 6.0, "the burst was hardly reduced");
    }

    #[test]
    fn a_500_hz_tone_at_the_same_level_is_untouched_within_a_tenth_of_a_db() {
        // At 500 Hz the high band is 86 dB down, far under the threshold, and the bands
        // sum to an allpass: the level is the input's, to f32 rounding.
        let input = tone(500.0, -10.0, 12_000);
        let out = run(&spec(-30.0), &input);
        let (got, want) = (rms_db(&out[6_000..]), rms_db(&input[6_000..]));
        assert!((got - want).abs() < 0.1, "{got} dB vs {want} dB");
    }

    #[test]
    fn with_no_reduction_the_bands_sum_flat_within_a_tenth_of_a_db() {
        // A threshold no impulse reaches; the measured response is then the crossover's
        // allpass sum, 0 dB at every frequency up to the f32 rounding of the bands.
        let env = BuildEnv { sample_rate: FS, max_block: measure::MAX_BLOCK };
        for frequency in [3_000.0, 6_000.0, 10_000.0] {
            let spec = DeesserSettings { frequency_hz: frequency, ..spec(24.0) };
            let mut p = spec.build(&env);
            let frames = p.tail();
            let measured = measure::measured_db(
                &mut |l: &mut [f32], r: &mut [f32], start| {
                    p.process(l, r, &Context { start, sidechains: &[] });
                },
                FS,
                frames,
                &audio_band(),
            );
            for (f, db) in audio_band().iter().zip(measured) {
                assert!(db.abs() < 0.1, "split at {frequency}: {f} Hz is {db} dB");
            }
        }
    }

    #[test]
    fn block_size_does_not_change_a_word_even_with_an_automated_threshold() {
        let t = 1_000_003.0 / FS;
        let automated = DeesserSettings {
            threshold_db: Timeline(vec![(t, -40.0), (t + 0.1, -10.0)]),
            ..spec(0.0)
        };
        for spec in [automated, spec(-30.0)] {
            measure::assert_block_size_independent(
                &|| {
                    let env = BuildEnv { sample_rate: FS, max_block: 4_096 };
                    let mut p = spec.build(&env);
                    Box::new(move |l, r, start| {
                        p.process(l, r, &Context { start, sidechains: &[] });
                    })
                },
                9_000,
            );
        }
    }

    #[test]
    fn extreme_settings_and_huge_input_stay_finite() {
        let huge: Vec<f32> = measure::noise(8_192, 13).into_iter().map(|x| x * 1e38).collect();
        for spec in [
            DeesserSettings {
                ratio: f64::INFINITY,
                attack_seconds: 0.0,
                release_seconds: 0.0,
                ..spec(f64::NEG_INFINITY)
            },
            DeesserSettings { ratio: 1.0, frequency_hz: 23_000.0, ..spec(-60.0) },
            DeesserSettings {
                frequency_hz: 10.0,
                attack_seconds: 1.0,
                release_seconds: 5.0,
                ..spec(-20.0)
            },
        ] {
            for input in [&huge, &measure::noise(8_192, 14)] {
                let out = run(&spec, input);
                assert!(out.iter().all(|x| x.is_finite() && !x.is_subnormal()), "{spec:?}");
            }
        }
    }
}
