//! `compressor`: downward compression above a threshold, detecting on its own input or on a
//! sidechain, with makeup gain and a dry/wet mix for parallel compression.
//!
//! The topology is feed-forward: detector signal → level follower ([`super::envelope`]) → static curve
//! ([`super::gain_computer`]) → gain. Frames go through in chunks: the follower's serial
//! recursion first, then the static curve, which is independent per frame and branch-free,
//! so it runs on several frames at once. Below the knee the gain is exactly the makeup.

use super::envelope::{Ballistics, Detector, DetectorInput, Envelope, grid_runs};
use super::gain_computer::{CompressorCurve, db_to_level};
use crate::dsp::primitives::biquad::{BiquadCascade, BiquadCoefficients};
use crate::dsp::primitives::curve::{Curve, Timeline};
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};

/// A compressor's settings, in plain units.
#[derive(Debug, Clone, PartialEq)]
pub struct CompressorSettings {
    /// The level above which the gain comes down, in dB.
    pub threshold_db: Timeline,
    /// dB of level over the threshold per dB left after compression; infinite holds the
    /// level at the threshold.
    pub ratio: Timeline,
    /// The time constant of the detector's rise, in seconds.
    pub attack_seconds: Timeline,
    /// The time constant of the detector's fall, in seconds.
    pub release_seconds: Timeline,
    /// The width of the soft knee centred on the threshold, in dB; 0 is a hard knee.
    pub knee_db: f64,
    /// The gain added after compression, in dB.
    pub makeup_db: Timeline,
    /// How the level is measured.
    pub detector: Detector,
    /// How much the louder channel drives both, 0 (each on its own) to 1 (both alike).
    pub link: f64,
    /// The share of compressed signal in the output, 0 to 1.
    pub mix: Timeline,
    /// The track or bus whose signal drives the detector instead of the input.
    pub sidechain: Option<String>,
    /// The corner in Hz of a 12 dB/oct high-pass on what the detector hears, if any.
    pub sidechain_highpass_hz: Option<f64>,
}

impl Spec for CompressorSettings {
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

/// The settings' automatable values as curves over frames.
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
    fn new(settings: &CompressorSettings, sample_rate: f64) -> Self {
        let curve = |points: &[(f64, f64)]| Curve::from_seconds(points, sample_rate);
        // Interpolating 1/ratio keeps a ramp to `inf` finite all the way.
        let inverse_ratio: Vec<_> = settings.ratio.0.iter().map(|&(t, r)| (t, 1.0 / r)).collect();
        let attack = curve(&settings.attack_seconds.0);
        let release = curve(&settings.release_seconds.0);
        let ballistics = (attack.is_constant() && release.is_constant())
            .then(|| Ballistics::new(attack.at(0), release.at(0), sample_rate));
        Self {
            threshold: curve(&settings.threshold_db.0).map(|db| db.max(FLOOR_DB)),
            inverse_ratio: curve(&inverse_ratio),
            attack,
            release,
            ballistics,
            makeup: curve(&settings.makeup_db.0).map(|db| db.max(FLOOR_DB)),
            mix: curve(&settings.mix.0),
            knee_db: settings.knee_db.max(0.0),
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
    /// A compressor for `settings` at `sample_rate`.
    #[must_use]
    pub fn new(settings: &CompressorSettings, sample_rate: f64) -> Self {
        let curves = Curves::new(settings, sample_rate);
        let automated = [
            &settings.threshold_db,
            &settings.ratio,
            &settings.attack_seconds,
            &settings.release_seconds,
            &settings.makeup_db,
            &settings.mix,
        ]
        .iter()
        .any(|t| t.is_automated());
        Self {
            settings: curves.settings_at(0),
            curves,
            automated,
            envelope: Envelope::new(settings.detector, settings.link),
            linked: settings.link >= 1.0,
            sidechain: settings.sidechain.clone(),
            detector_filter: settings.sidechain_highpass_hz.map(|f| {
                BiquadCascade::new(&[BiquadCoefficients::highpass(
                    sample_rate,
                    f,
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

/// A compressor at `threshold_db` and `ratio`, with the step's defaults otherwise: 10 ms
/// attack, 100 ms release, hard knee, no makeup, peak detector, fully linked and wet.
#[cfg(test)]
pub(crate) fn test_settings(threshold_db: f64, ratio: f64) -> CompressorSettings {
    CompressorSettings {
        threshold_db: Timeline::constant(threshold_db),
        ratio: Timeline::constant(ratio),
        attack_seconds: Timeline::constant(0.010),
        release_seconds: Timeline::constant(0.100),
        knee_db: 0.0,
        makeup_db: Timeline::constant(0.0),
        detector: Detector::Peak,
        link: 1.0,
        mix: Timeline::constant(1.0),
        sidechain: None,
        sidechain_highpass_hz: None,
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact equality is the property these tests check.
mod tests {
    use super::*;
    use crate::dsp::Sidechain;

    const RATE: f64 = 48000.0;

    use super::test_settings as compressor;

    fn seconds(s: f64) -> Timeline {
        Timeline::constant(s)
    }

    /// The contract's ducking compressor: 6:1 over -30 dB, 1 ms attack and 60 ms release,
    /// listening to the sidechain `kick`.
    fn keyed_by_a_kick() -> CompressorSettings {
        CompressorSettings {
            attack_seconds: seconds(0.001),
            release_seconds: seconds(0.060),
            sidechain: Some("kick".into()),
            ..compressor(-30.0, 6.0)
        }
    }

    /// Runs `spec` over a stereo signal in blocks of `block` frames, with an optional sidechain
    /// named `kick`.
    fn run(
        spec: &CompressorSettings,
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

    fn mono(spec: &CompressorSettings, input: &[f32], sidechain: Option<&[f32]>) -> Vec<f32> {
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
    fn settled_gain_on_dc_follows_the_static_curve_from_minus_60_to_0_db() {
        // DC settles a peak detector exactly on its level (after 2000 frames of a 1 ms attack
        // the residue is e^-41). What remains is the per-sample curve's approximation
        // (1e-5 dB, see gain_computer) and the f32 output (5e-7 dB), so 1e-3 dB is a strict
        // bound; the requirement is 0.1 dB.
        let cases =
            [(-20.0, 3.0, 6.0, 4.0), (-12.0, 2.0, 0.0, 0.0), (-30.0, f64::INFINITY, 10.0, 0.0)];
        for (t, r, w, makeup) in cases {
            let s = CompressorSettings {
                attack_seconds: seconds(0.001),
                knee_db: w,
                makeup_db: Timeline::constant(makeup),
                ..compressor(t, r)
            };
            for step in 0..=24 {
                let level_db = -60.0 + 2.5 * f64::from(step);
                let amplitude = 10f64.powf(level_db / 20.0) as f32;
                let out = mono(&s, &[amplitude; 2000], None);
                let measured = db(f64::from(out[1999]) / f64::from(amplitude));
                let level_db = db(f64::from(amplitude));
                let expected = reference_output_db(level_db, t, r, w) - level_db + makeup;
                assert!(
                    (measured - expected).abs() < 1e-3,
                    "{t} dB {r}:1 at {level_db} dB: {measured} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn an_rms_detector_reads_a_sine_at_its_rms_level() {
        // 50 ms attack and release against 1 kHz leave a mean-square ripple of about
        // 1/(2ωτ) = 0.16%, i.e. 0.007 dB of level and 0.005 dB of gain at 3:1; 0.02 dB
        // bounds it. The gain is read at a crest, where the sine is far from zero.
        let s = CompressorSettings {
            attack_seconds: seconds(0.050),
            release_seconds: seconds(0.050),
            detector: Detector::Rms,
            ..compressor(-30.0, 3.0)
        };
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
        let s = CompressorSettings { sidechain: Some("kick".into()), ..compressor(-20.0, 4.0) };
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
        let s = keyed_by_a_kick();
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
        let with_highpass = CompressorSettings {
            attack_seconds: seconds(0.001),
            sidechain: Some("kick".into()),
            sidechain_highpass_hz: Some(1000.0),
            ..compressor(-30.0, 6.0)
        };
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
        let wet_spec = CompressorSettings {
            attack_seconds: seconds(0.002),
            makeup_db: Timeline::constant(3.0),
            ..compressor(-30.0, 4.0)
        };
        let half_spec = CompressorSettings { mix: Timeline::constant(0.5), ..wet_spec.clone() };
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
        let s = CompressorSettings {
            threshold_db: Timeline(vec![(0.0, -20.0), (0.050, -20.0), (0.060, -30.0)]),
            attack_seconds: seconds(0.001),
            ..compressor(-20.0, 2.0)
        };
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
            CompressorSettings {
                threshold_db: Timeline(vec![(0.0, -10.0), (0.1, -40.0)]),
                ratio: Timeline(vec![(0.0, 2.0), (0.15, f64::INFINITY)]),
                attack_seconds: Timeline(vec![(0.0, 0.001), (0.1, 0.020)]),
                makeup_db: Timeline(vec![(0.0, 0.0), (0.18, 6.0)]),
                mix: Timeline(vec![(0.0, 1.0), (0.18, 0.4)]),
                ..compressor(-10.0, 2.0)
            },
            CompressorSettings {
                knee_db: 6.0,
                detector: Detector::Rms,
                link: 0.3,
                ..compressor(-24.0, 3.0)
            },
            keyed_by_a_kick(),
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
        let s = CompressorSettings {
            detector: Detector::Rms,
            link: 0.5,
            makeup_db: Timeline::constant(6.0),
            ..compressor(-20.0, 4.0)
        };
        let (mut l, mut r) = test_signal(2000);
        l[100] = f32::NAN;
        r[101] = f32::INFINITY;
        l[102] = f32::NEG_INFINITY;
        let (out_l, out_r) = run(&s, (&l, &r), None, 64);
        assert!(out_l.iter().chain(&out_r).all(|x| x.is_finite()));
        assert!(out_l[1000..].iter().any(|&x| x != 0.0), "the detector must not be poisoned");
    }
}
