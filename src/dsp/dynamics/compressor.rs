//! `compressor`: downward compression above a threshold, detecting on its own input or on a
//! sidechain, with makeup gain and a dry/wet mix for parallel compression.
//!
//! The topology is feed-forward: detector signal → level follower ([`super::envelope`]) → static curve
//! ([`super::gain_computer`]) → gain. Frames go through in chunks: the follower's serial
//! recursion first, then the static curve, which is independent per frame and branch-free,
//! so it runs on several frames at once. Below the knee the gain is exactly the makeup.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::envelope::{Ballistics, Detector, DetectorInput, Envelope, grid_runs};
use super::gain_computer::{CompressorCurve, db_to_level};
use crate::dsp::primitives::biquad::{BiquadCascade, BiquadCoefficients};
use crate::dsp::primitives::curve::Curve;
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};
use crate::units::{Decibels, Hertz, Param, Ratio, Share, TimeMs};

/// `- compressor: { threshold: -16 dB, ratio: 4, attack: 8 ms, release: 90 ms, makeup: 2 dB }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompressorSpec {
    /// Level above which the gain comes down, e.g. `-18 dB`.
    pub threshold: Param<Decibels>,
    /// dB of level over the threshold per dB left after compression: `4` or `4:1`; `inf`
    /// holds the level at the threshold. Automation interpolates 1/ratio.
    pub ratio: Param<Ratio>,
    /// Time constant of the detector's rise: a step reaches 63% of its level after this long.
    #[serde(default = "default_attack")]
    pub attack: Param<TimeMs>,
    /// Time constant of the detector's fall: 63% of the way down after this long.
    #[serde(default = "default_release")]
    pub release: Param<TimeMs>,
    /// Width of the soft knee centred on the threshold; `0 dB` is a hard knee.
    #[serde(default = "hard_knee")]
    pub knee: Decibels,
    /// Gain added after compression.
    #[serde(default = "unity")]
    pub makeup: Param<Decibels>,
    /// How the level is measured: `peak` (rectified) or `rms`.
    #[serde(default)]
    pub detector: Detector,
    /// How much the louder channel drives both: `100%` compresses both channels alike, `0%`
    /// compresses each on its own level.
    #[serde(default = "fully_linked")]
    pub link: Share,
    /// Share of compressed signal in the output; the rest is the unprocessed input
    /// (parallel compression).
    #[serde(default = "fully_wet")]
    pub mix: Param<Share>,
    /// A track or bus whose signal drives the detector instead of this input (ducking).
    #[serde(default)]
    pub sidechain: Option<String>,
    /// A high-pass on what the detector hears (the input or the sidechain), so that bass
    /// does not pump the compressor, e.g. `100 Hz` (12 dB/oct Butterworth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidechain_highpass: Option<Hertz>,
}

fn default_attack() -> Param<TimeMs> {
    Param::Constant(TimeMs(0.010))
}

fn default_release() -> Param<TimeMs> {
    Param::Constant(TimeMs(0.100))
}

fn hard_knee() -> Decibels {
    Decibels(0.0)
}

fn unity() -> Param<Decibels> {
    Param::Constant(Decibels(0.0))
}

fn fully_linked() -> Share {
    Share(1.0)
}

fn fully_wet() -> Param<Share> {
    Param::Constant(Share(1.0))
}

impl Spec for CompressorSpec {
    const VERSION: u32 = 3;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Compressor::new(self, env.sample_rate))
    }

    fn sidechain(&self) -> Option<&str> {
        self.sidechain.as_deref()
    }
}

/// The lowest level in dB a curve takes: `-inf dB`, and automation from it, read as this,
/// so that the curve math and interpolation stay finite.
const FLOOR_DB: f64 = -200.0;

/// Frames whose levels are detected before their gains are computed: splitting the
/// follower's serial recursion from the independent per-frame gain lets the gain math of
/// many frames run together.
const CHUNK: usize = 64;

/// The spec's automatable values as curves over frames.
struct Curves {
    threshold: Curve,
    inverse_ratio: Curve,
    attack: Curve,
    release: Curve,
    /// The ballistics when neither time is automated, worked out once.
    ballistics: Option<Ballistics>,
    makeup: Curve,
    mix: Curve,
    knee_db: f64,
    sample_rate: f64,
}

impl Curves {
    fn new(spec: &CompressorSpec, sample_rate: f64) -> Self {
        let curve = |points: Vec<(f64, f64)>| Curve::from_seconds(&points, sample_rate);
        // Interpolating 1/ratio keeps a ramp to `inf` finite all the way.
        let inverse_ratio = spec.ratio.points().into_iter().map(|(t, r)| (t, 1.0 / r)).collect();
        let attack = curve(spec.attack.points());
        let release = curve(spec.release.points());
        let ballistics = (attack.is_constant() && release.is_constant())
            .then(|| Ballistics::new(attack.at(0), release.at(0), sample_rate));
        Self {
            threshold: curve(spec.threshold.points()).map(|db| db.max(FLOOR_DB)),
            inverse_ratio: curve(inverse_ratio),
            attack,
            release,
            ballistics,
            makeup: curve(spec.makeup.points()).map(|db| db.max(FLOOR_DB)),
            mix: curve(spec.mix.points()),
            knee_db: spec.knee.0.max(0.0),
            sample_rate,
        }
    }

    fn settings_at(&self, frame: u64) -> Settings {
        let wet = self.mix.at(frame);
        Settings {
            curve: CompressorCurve::new(
                self.threshold.at(frame),
                1.0 / self.inverse_ratio.at(frame),
                self.knee_db,
            ),
            ballistics: self.ballistics.unwrap_or_else(|| {
                Ballistics::new(self.attack.at(frame), self.release.at(frame), self.sample_rate)
            }),
            dry: (1.0 - wet) as f32,
            wet: (wet * db_to_level(self.makeup.at(frame))) as f32,
        }
    }
}

/// The values in force for a stretch of frames.
#[derive(Debug, Clone, Copy)]
struct Settings {
    curve: CompressorCurve,
    ballistics: Ballistics,
    /// The share of unprocessed input.
    dry: f32,
    /// The share of compressed signal, makeup included.
    wet: f32,
}

impl Settings {
    /// Applies the curve's `gains` to `samples`.
    #[inline]
    fn apply(&self, samples: &mut [f32], gains: &[f32]) {
        for (x, &gain) in samples.iter_mut().zip(gains) {
            *x = sanitize(f64::from(*x * (self.dry + self.wet * gain))) as f32;
        }
    }
}

/// A running compressor.
pub struct Compressor {
    curves: Curves,
    automated: bool,
    settings: Settings,
    envelope: Envelope,
    linked: bool,
    sidechain: Option<String>,
    detector_filter: Option<BiquadCascade>,
}

impl Compressor {
    /// A compressor for `spec` at `sample_rate`.
    #[must_use]
    pub fn new(spec: &CompressorSpec, sample_rate: f64) -> Self {
        let curves = Curves::new(spec, sample_rate);
        let automated = spec.threshold.is_automated()
            || spec.ratio.is_automated()
            || spec.attack.is_automated()
            || spec.release.is_automated()
            || spec.makeup.is_automated()
            || spec.mix.is_automated();
        Self {
            settings: curves.settings_at(0),
            curves,
            automated,
            envelope: Envelope::new(spec.detector, spec.link.0),
            linked: spec.link.0 >= 1.0,
            sidechain: spec.sidechain.clone(),
            detector_filter: spec.sidechain_highpass.map(|f| {
                BiquadCascade::new(&[BiquadCoefficients::highpass(
                    sample_rate,
                    f.0,
                    std::f64::consts::FRAC_1_SQRT_2,
                )])
            }),
        }
    }
}

impl Processor for Compressor {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        let heard = DetectorInput::find(self.sidechain.as_deref(), ctx);
        for (cell, run) in grid_runs(ctx.start, left.len(), self.automated) {
            if self.automated {
                self.settings = self.curves.settings_at(cell);
            }
            let s = self.settings;
            for from in run.clone().step_by(CHUNK) {
                let to = run.end.min(from + CHUNK);
                let n = to - from;
                let (mut heard_l, mut heard_r) = ([0.0f32; CHUNK], [0.0f32; CHUNK]);
                let (heard_l, heard_r) = (&mut heard_l[..n], &mut heard_r[..n]);
                heard.read(from..to, (left, right), heard_l, heard_r);
                if let Some(filter) = &mut self.detector_filter {
                    filter.process(heard_l, heard_r, ctx.start + from as u64);
                }
                let (mut level_l, mut level_r) = ([0.0f32; CHUNK], [0.0f32; CHUNK]);
                let (level_l, level_r) = (&mut level_l[..n], &mut level_r[..n]);
                self.envelope.run((heard_l, heard_r), &s.ballistics, (level_l, level_r));
                let mut gains = [0.0f32; CHUNK];
                let gains = &mut gains[..n];
                s.curve.gains(level_l, gains);
                s.apply(&mut left[from..to], gains);
                if !self.linked {
                    s.curve.gains(level_r, gains);
                }
                s.apply(&mut right[from..to], gains);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact equality is the property these tests check.
mod tests {
    use super::*;
    use crate::dsp::Sidechain;

    const RATE: f64 = 48000.0;

    fn spec(json: &str) -> CompressorSpec {
        serde_json::from_str(json).unwrap()
    }

    /// Runs `spec` over a stereo signal in blocks of `block` frames, with an optional sidechain
    /// named `kick`.
    fn run(
        spec: &CompressorSpec,
        input: (&[f32], &[f32]),
        sidechain: Option<(&[f32], &[f32])>,
        block: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let env = BuildEnv { sample_rate: RATE, max_block: block };
        let mut p = spec.build(&env);
        let (mut left, mut right) = (input.0.to_vec(), input.1.to_vec());
        let mut start = 0;
        while start < left.len() {
            let end = (start + block).min(left.len());
            let named;
            let sidechains: &[(&str, Sidechain<'_>)] = match sidechain {
                Some((kl, kr)) => {
                    named = [("kick", Sidechain { left: &kl[start..end], right: &kr[start..end] })];
                    &named
                }
                None => &[],
            };
            let ctx = Context { start: start as u64, sidechains };
            p.process(&mut left[start..end], &mut right[start..end], &ctx);
            start = end;
        }
        (left, right)
    }

    fn mono(spec: &CompressorSpec, input: &[f32], sidechain: Option<&[f32]>) -> Vec<f32> {
        run(spec, (input, input), sidechain.map(|k| (k, k)), 4096).0
    }

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    /// The static curve of Giannoulis, Massberg and Reiss (2012), eq. 4, written out here
    /// independently of the gain computer.
    fn reference_output_db(x: f64, t: f64, r: f64, w: f64) -> f64 {
        if 2.0 * (x - t) < -w {
            x
        } else if 2.0 * (x - t) > w {
            t + (x - t) / r
        } else {
            x + (1.0 / r - 1.0) * (x - t + w / 2.0).powi(2) / (2.0 * w)
        }
    }

    #[test]
    fn the_contract_examples_read() {
        for json in [
            r#"{"threshold": "-16 dB", "ratio": 4, "attack": "8 ms", "release": "90 ms", "makeup": "2 dB"}"#,
            r#"{"threshold": "-20 dB", "ratio": 3, "attack": "5 ms", "release": "80 ms", "knee": "6 dB", "makeup": "4 dB"}"#,
            r#"{"threshold": "-30 dB", "ratio": 6, "attack": "1 ms", "release": "60 ms", "sidechain": "kick"}"#,
            r#"{"threshold": "-12 dB", "ratio": 2, "attack": "10 ms", "release": "120 ms", "knee": "0 dB", "detector": "peak"}"#,
        ] {
            let s = spec(json);
            assert!(s.attack.initial() > 0.0, "{json}");
        }
        let s = spec(r#"{"threshold": -30, "ratio": 6, "sidechain": "kick"}"#);
        assert_eq!(s.sidechain(), Some("kick"));
        assert_eq!((s.attack.initial(), s.release.initial(), s.link.0), (0.010, 0.100, 1.0));
        assert!(
            serde_json::from_str::<CompressorSpec>(r#"{"threshold": -3, "ratio": 2, "atack": 1}"#)
                .is_err()
        );
    }

    #[test]
    fn settled_gain_on_dc_follows_the_static_curve_from_minus_60_to_0_db() {
        // DC settles a peak detector exactly on its level (after 2000 frames of a 1 ms attack
        // the residue is e^-41). What remains is the per-sample curve's approximation
        // (1e-5 dB, see gain_computer) and the f32 output (5e-7 dB), so 1e-3 dB is a strict
        // bound; the requirement is 0.1 dB.
        let cases = [
            (
                r#"{"threshold": "-20 dB", "ratio": 3, "attack": "1 ms", "knee": "6 dB", "makeup": "4 dB"}"#,
                -20.0,
                3.0,
                6.0,
                4.0,
            ),
            (
                r#"{"threshold": "-12 dB", "ratio": 2, "attack": "1 ms", "knee": "0 dB"}"#,
                -12.0,
                2.0,
                0.0,
                0.0,
            ),
            (
                r#"{"threshold": "-30 dB", "ratio": "inf", "attack": "1 ms", "knee": "10 dB"}"#,
                -30.0,
                f64::INFINITY,
                10.0,
                0.0,
            ),
        ];
        for (json, t, r, w, makeup) in cases {
            let s = spec(json);
            for step in 0..=24 {
                let level_db = -60.0 + 2.5 * f64::from(step);
                let amplitude = 10f64.powf(level_db / 20.0) as f32;
                let out = mono(&s, &[amplitude; 2000], None);
                let measured = db(f64::from(out[1999]) / f64::from(amplitude));
                let level_db = db(f64::from(amplitude));
                let expected = reference_output_db(level_db, t, r, w) - level_db + makeup;
                assert!(
                    (measured - expected).abs() < 1e-3,
                    "{json} at {level_db} dB: {measured} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn an_rms_detector_reads_a_sine_at_its_rms_level() {
        // 50 ms attack and release against 1 kHz leave a mean-square ripple of about
        // 1/(2ωτ) = 0.16%, i.e. 0.007 dB of level and 0.005 dB of gain at 3:1; 0.02 dB
        // bounds it. The gain is read at a crest, where the sine is far from zero.
        let s = spec(
            r#"{"threshold": "-30 dB", "ratio": 3, "attack": "50 ms", "release": "50 ms", "detector": "rms"}"#,
        );
        let sine: Vec<f32> = (0..48000)
            .map(|n| (0.5 * (std::f64::consts::TAU * 1000.0 * f64::from(n) / RATE).sin()) as f32)
            .collect();
        let out = mono(&s, &sine, None);
        let crest = 47_532; // 1 kHz at 48 kHz peaks at frames 12 + 48k.
        assert!(sine[crest] > 0.4999, "{}", sine[crest]);
        let measured = db(f64::from(out[crest]) / f64::from(sine[crest]));
        let rms_db = db(0.5 / 2f64.sqrt());
        let expected = reference_output_db(rms_db, -30.0, 3.0, 0.0) - rms_db;
        assert!((measured - expected).abs() < 0.02, "{measured} vs {expected}");
    }

    #[test]
    fn attack_and_release_match_their_time_constants_within_5_percent() {
        // Hard knee, T = -20 dB, 4:1, sidechain at 0 dB: the final reduction is 0.75·20 = 15 dB.
        // Attack: the level after t is 1 − e^(−t/τ), so the reduction
        // 0.75·(20 + 20·log10(1 − e^(−t/τ))) comes within 1 dB of 15 dB when
        // 1 − e^(−t/τ) = 10^(−1/15), i.e. at t = −τ·ln(1 − 10^(−1/15)) = 1.9497·τ.
        // Release (sidechain to silence): the level is e^(−t/τ), the reduction falls linearly in
        // dB and reaches half (7.5 dB) when the level is −10 dB: t = τ·ln(√10) = 1.1513·τ.
        // The input is DC 1 so the output is the gain itself; the detector listens to a sidechain so that
        // it can fall silent while the input stays.
        let s = spec(
            r#"{"threshold": "-20 dB", "ratio": 4, "attack": "10 ms", "release": "100 ms", "sidechain": "kick"}"#,
        );
        let settle = 9600;
        let sidechain: Vec<f32> =
            (0..settle + 12000).map(|n| if n < settle { 1.0 } else { 0.0 }).collect();
        let out = mono(&s, &vec![1.0; sidechain.len()], Some(sidechain.as_slice()));
        let reduction = |n: usize| -db(f64::from(out[n]));
        let attack_frames = (0..settle).find(|&n| reduction(n) >= 14.0).unwrap();
        let attack_tau = (attack_frames + 1) as f64 / 1.9497 / RATE;
        assert!((attack_tau / 0.010 - 1.0).abs() < 0.05, "attack τ {attack_tau}");
        assert!((reduction(settle - 1) - 15.0).abs() < 1e-3);
        let release_frames =
            (settle..sidechain.len()).find(|&n| reduction(n) <= 7.5).unwrap() - settle;
        let release_tau = (release_frames + 1) as f64 / 1.1513 / RATE;
        assert!((release_tau / 0.100 - 1.0).abs() < 0.05, "release τ {release_tau}");
    }

    #[test]
    fn a_kick_on_the_sidechain_ducks_the_bass_by_the_curve_and_silence_leaves_it_alone() {
        // Sidechain: a kick-like burst of 50 Hz square wave at 0.5 (−6.02 dB), whose rectified
        // level is constant, so the settled duck is exactly (1 − 1/6)·(−6.02 + 30) = 19.98 dB.
        // The bass (−12 dB) is itself above the threshold, so an untouched bass proves the
        // detector listens to the sidechain. Tolerance 0.01 dB: f32 rounding of output over input
        // (1e-6 dB) and the e^-20 settling residue are far inside it.
        let s = spec(
            r#"{"threshold": "-30 dB", "ratio": 6, "attack": "1 ms", "release": "60 ms", "sidechain": "kick"}"#,
        );
        let n = 14400;
        let bass: Vec<f32> = (0..n)
            .map(|i| (0.25 * (std::f64::consts::TAU * 55.0 * i as f64 / RATE).sin()) as f32)
            .collect();
        let kick: Vec<f32> = (0..n)
            .map(|i| match i {
                4800..9600 if (i / 480) % 2 == 0 => 0.5,
                4800..9600 => -0.5,
                _ => 0.0,
            })
            .collect();
        let out = mono(&s, &bass, Some(kick.as_slice()));
        assert_eq!(out[..4800], bass[..4800]);
        let expected = -(1.0 - 1.0 / 6.0) * (db(0.5) + 30.0);
        for i in (4800 + 960..9600).filter(|&i| bass[i].abs() > 0.05) {
            let duck = db(f64::from(out[i]) / f64::from(bass[i]));
            assert!((duck - expected).abs() < 0.01, "frame {i}: {duck} vs {expected}");
        }
        assert_eq!(mono(&s, &bass, Some(vec![0.0; n].as_slice())), bass);
        assert_eq!(mono(&s, &bass, None), bass, "a sidechain missing at run time reads as silence");
    }

    #[test]
    fn a_sidechain_highpass_stops_a_low_sidechain_from_ducking_and_passes_a_high_one() {
        // A steady sidechain at -6 dB against a -30 dB threshold, ratio 6: unfiltered it ducks by
        // (1 - 1/6)·24 = 20 dB. A 12 dB/oct high-pass at 1 kHz takes a 30 Hz sidechain down by
        // 2·log2(1000/30)·6 ≈ 60 dB, below the threshold (no duck), and passes a 10 kHz sidechain
        // within 0.1 dB; the duck then stays within 0.3 dB of 20 dB, the margin being the
        // peak detector's ripple on a sine between its peaks.
        let with_highpass = spec(
            r#"{"threshold": "-30 dB", "ratio": 6, "attack": "1 ms", "sidechain": "kick", "sidechain_highpass": "1 kHz"}"#,
        );
        let n = 9600;
        let tone = |f: f64, a: f64| -> Vec<f32> {
            (0..n)
                .map(|i| (a * (std::f64::consts::TAU * f * i as f64 / RATE).sin()) as f32)
                .collect()
        };
        let bass = vec![0.1f32; n];
        let low = mono(&with_highpass, &bass, Some(tone(30.0, 0.5).as_slice()));
        let duck_low = db(f64::from(low[n - 1]) / 0.1);
        assert!(duck_low.abs() < 0.05, "a 30 Hz sidechain barely moves the gain: {duck_low} dB");
        let high = mono(&with_highpass, &bass, Some(tone(10_000.0, 0.5).as_slice()));
        let duck_high = db(f64::from(high[n - 1]) / 0.1);
        let expected = -(1.0 - 1.0 / 6.0) * (db(0.5) + 30.0);
        assert!((duck_high - expected).abs() < 0.3, "{duck_high} vs {expected}");
    }

    #[test]
    fn half_mix_is_half_dry_plus_half_wet() {
        // Both outputs are f32 roundings of f64 products of values up to 1, so they differ
        // from the exact blend by at most a few 6e-8 steps: 1e-6 bounds it.
        let wet_spec =
            spec(r#"{"threshold": "-30 dB", "ratio": 4, "attack": "2 ms", "makeup": "3 dB"}"#);
        let mut half_spec = wet_spec.clone();
        half_spec.mix = Param::Constant(Share(0.5));
        let input: Vec<f32> = (0..4800)
            .map(|i| {
                let t = f64::from(i) / RATE;
                (0.9 * (t * 40.0).sin().abs() * (std::f64::consts::TAU * 220.0 * t).sin()) as f32
            })
            .collect();
        let wet = mono(&wet_spec, &input, None);
        let half = mono(&half_spec, &input, None);
        for ((x, w), h) in input.iter().zip(&wet).zip(&half) {
            assert!((0.5 * x + 0.5 * w - h).abs() < 1e-6, "{x} {w} {h}");
        }
        assert!(
            wet.iter().zip(&input).any(|(w, x)| (w - x).abs() > 0.1),
            "the wet path must compress"
        );
    }

    #[test]
    fn threshold_automation_moves_the_curve_at_its_time() {
        // DC at −10 dB through 2:1: with T = −20 dB the gain is −5 dB, with T = −30 dB it is
        // −10 dB. The detector is settled, so only the threshold changes the gain (1e-3 dB
        // as in the static-curve test).
        let s = spec(
            r#"{"threshold": [[0, "-20 dB"], ["50 ms", "-20 dB"], ["60 ms", "-30 dB"]], "ratio": 2, "attack": "1 ms"}"#,
        );
        let amplitude = 10f64.powf(-0.5) as f32;
        let out = mono(&s, &vec![amplitude; 4800], None);
        let gain = |n: usize| db(f64::from(out[n]) / f64::from(amplitude));
        assert!((gain(2399) + 5.0).abs() < 1e-3, "{}", gain(2399));
        assert!((gain(4799) + 10.0).abs() < 1e-3, "{}", gain(4799));
    }

    fn test_signal(n: usize) -> (Vec<f32>, Vec<f32>) {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut noise = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f64 / (1u64 << 24) as f64 - 0.5
        };
        (0..n)
            .map(|i| {
                let swell = (i as f64 / 900.0).sin().abs();
                ((swell * noise()) as f32, (0.3 * swell * noise()) as f32)
            })
            .unzip()
    }

    #[test]
    fn output_is_bit_identical_for_blocks_of_1_64_and_4096_frames() {
        let (l, r) = test_signal(9000);
        let sidechain = test_signal(9000).1;
        let specs = [
            spec(
                r#"{"threshold": [[0, -10], ["0.1 s", -40]], "ratio": [[0, 2], ["0.15 s", "inf"]], "attack": [[0, 1], ["0.1 s", 20]], "makeup": [[0, 0], ["0.18 s", 6]], "mix": [[0, "100%"], ["0.18 s", "40%"]]}"#,
            ),
            spec(
                r#"{"threshold": "-24 dB", "ratio": 3, "knee": "6 dB", "detector": "rms", "link": "30%"}"#,
            ),
            spec(
                r#"{"threshold": "-30 dB", "ratio": 6, "attack": "1 ms", "release": "60 ms", "sidechain": "kick"}"#,
            ),
        ];
        for s in &specs {
            let reference = run(s, (&l, &r), Some((&sidechain, &sidechain)), 4096);
            for block in [1, 64] {
                assert_eq!(
                    run(s, (&l, &r), Some((&sidechain, &sidechain)), block),
                    reference,
                    "{s:?}"
                );
            }
            assert!(reference.0.iter().chain(&reference.1).all(|x| x.is_finite()));
        }
    }

    #[test]
    fn nan_and_infinite_input_never_reach_the_output_or_the_detector() {
        let s = spec(
            r#"{"threshold": "-20 dB", "ratio": 4, "detector": "rms", "link": "50%", "makeup": "6 dB"}"#,
        );
        let (mut l, mut r) = test_signal(2000);
        l[100] = f32::NAN;
        r[101] = f32::INFINITY;
        l[102] = f32::NEG_INFINITY;
        let (out_l, out_r) = run(&s, (&l, &r), None, 64);
        assert!(out_l.iter().chain(&out_r).all(|x| x.is_finite()));
        assert!(out_l[1000..].iter().any(|&x| x != 0.0), "the detector must not be poisoned");
    }
}
