//! `gate` and `expander`: downward expansion below a threshold, from a hard noise gate
//! (infinite ratio) to a gentle expander, with hold, hysteresis and an optional sidechain.
//!
//! The detector signal's stereo-linked peak is held for `hold` (a sliding-window maximum), the held
//! level picks a target gain on the expansion curve ([`super::gain_computer`]), and the
//! gain follows the target with one-pole attack and release. Frames go through in chunks,
//! so that the curve, independent per frame and branch-free, runs on several at once
//! between the serial hold and the serial follower. Both names build the same processor;
//! they differ only in their defaults.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::envelope::{Ballistics, DetectorInput, PeakHold, grid_runs};
use super::gain_computer::{ExpanderCurve, db_to_level};
use crate::dsp::primitives::curve::Curve;
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};
use crate::units::{Decibels, Param, Ratio, TimeMs, tidy, within};

/// Declares a spec with the gate's fields; `$ratio`, `$range` and `$hysteresis` name the
/// functions that give its defaults.
macro_rules! gate_spec {
    ($(#[$doc:meta])* $name:ident, $ratio:literal, $range:literal, $hysteresis:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Level below which the gain comes down, e.g. `-38 dB`.
            pub threshold: Param<Decibels>,
            /// Attenuation when fully closed (default `-80 dB` for `gate`, `-40 dB` for
            /// `expander`).
            #[serde(default = $range)]
            pub range: Param<Decibels>,
            /// dB of output drop per dB of level below the threshold (default `inf`, a hard
            /// gate, for `gate`; `2` for `expander`). Automation interpolates 1/ratio.
            #[serde(default = $ratio)]
            pub ratio: Param<Ratio>,
            /// Width of the soft knee centred on the threshold; `0 dB` is a hard knee.
            #[serde(default = "hard_knee")]
            pub knee: Decibels,
            /// How far below the threshold the level must fall before an open gate starts
            /// to close (default `3 dB` for `gate`, `0 dB` for `expander`); stops chatter on
            /// levels that hover at the threshold.
            #[serde(default = $hysteresis)]
            pub hysteresis: Decibels,
            /// Time constant of the opening: 63% of the way open after this long.
            #[serde(default = "default_attack")]
            pub attack: Param<TimeMs>,
            /// How long the gate stays open after the level was last above the threshold
            /// (at most 1 s).
            #[serde(default = "default_hold", deserialize_with = "hold_in_range")]
            pub hold: TimeMs,
            /// Time constant of the closing, once the hold has run out: 63% of the way
            /// closed after this long.
            #[serde(default = "default_release")]
            pub release: Param<TimeMs>,
            /// A track or bus whose signal opens the gate instead of this input.
            #[serde(default)]
            pub sidechain: Option<String>,
        }

        impl Spec for $name {
            const VERSION: u32 = 2;

            fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
                let fields = Fields {
                    threshold: &self.threshold,
                    range: &self.range,
                    ratio: &self.ratio,
                    knee: self.knee,
                    hysteresis: self.hysteresis,
                    attack: &self.attack,
                    hold: self.hold,
                    release: &self.release,
                    sidechain: self.sidechain.as_deref(),
                };
                Box::new(Gate::new(&fields, env.sample_rate))
            }

            fn sidechain(&self) -> Option<&str> {
                self.sidechain.as_deref()
            }
        }
    };
}

gate_spec!(
    /// `- gate: { threshold: -38 dB, range: -20 dB, attack: 0.5 ms, hold: 40 ms, release: 80 ms }`
    GateSpec,
    "gate_ratio",
    "gate_range",
    "gate_hysteresis"
);

gate_spec!(
    /// `- expander: { threshold: -45 dB, ratio: 2, range: -30 dB }`
    ExpanderSpec,
    "expander_ratio",
    "expander_range",
    "expander_hysteresis"
);

fn gate_ratio() -> Param<Ratio> {
    Param::Constant(Ratio(f64::INFINITY))
}

fn gate_range() -> Param<Decibels> {
    Param::Constant(Decibels(-80.0))
}

fn gate_hysteresis() -> Decibels {
    Decibels(3.0)
}

fn expander_ratio() -> Param<Ratio> {
    Param::Constant(Ratio(2.0))
}

fn expander_range() -> Param<Decibels> {
    Param::Constant(Decibels(-40.0))
}

fn expander_hysteresis() -> Decibels {
    Decibels(0.0)
}

fn hard_knee() -> Decibels {
    Decibels(0.0)
}

fn default_attack() -> Param<TimeMs> {
    Param::Constant(TimeMs(0.0005))
}

/// Reads `hold`, refusing more than [`MAX_HOLD_SECONDS`].
fn hold_in_range<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TimeMs, D::Error> {
    within(deserializer, (0.0, MAX_HOLD_SECONDS), |s| {
        format!("a gate holds for 0 to {MAX_HOLD_SECONDS} s, not {} s", tidy(s))
    })
}

fn default_hold() -> TimeMs {
    TimeMs(0.020)
}

fn default_release() -> Param<TimeMs> {
    Param::Constant(TimeMs(0.080))
}

/// The longest hold, which bounds the memory the hold window takes.
const MAX_HOLD_SECONDS: f64 = 1.0;

/// The lowest level in dB a curve takes: `-inf dB`, and automation from it, read as this,
/// so that the curve math and interpolation stay finite.
const FLOOR_DB: f64 = -200.0;

/// The fields of either spec, borrowed.
struct Fields<'a> {
    threshold: &'a Param<Decibels>,
    range: &'a Param<Decibels>,
    ratio: &'a Param<Ratio>,
    knee: Decibels,
    hysteresis: Decibels,
    attack: &'a Param<TimeMs>,
    hold: TimeMs,
    release: &'a Param<TimeMs>,
    sidechain: Option<&'a str>,
}

/// The automatable values as curves over frames.
struct Curves {
    threshold: Curve,
    range: Curve,
    inverse_ratio: Curve,
    attack: Curve,
    release: Curve,
    /// The ballistics when neither time is automated, worked out once.
    ballistics: Option<Ballistics>,
    knee_db: f64,
    hysteresis_db: f64,
    sample_rate: f64,
}

impl Curves {
    fn new(fields: &Fields<'_>, sample_rate: f64) -> Self {
        let curve = |points: Vec<(f64, f64)>| Curve::from_seconds(&points, sample_rate);
        // Interpolating 1/ratio keeps a ramp to `inf` finite all the way.
        let inverse_ratio = fields.ratio.points().into_iter().map(|(t, r)| (t, 1.0 / r)).collect();
        let attack = curve(fields.attack.points());
        let release = curve(fields.release.points());
        let ballistics = (attack.is_constant() && release.is_constant())
            .then(|| Ballistics::new(attack.at(0), release.at(0), sample_rate));
        Self {
            threshold: curve(fields.threshold.points()).map(|db| db.max(FLOOR_DB)),
            range: curve(fields.range.points()).map(|db| db.max(FLOOR_DB)),
            inverse_ratio: curve(inverse_ratio),
            attack,
            release,
            ballistics,
            knee_db: fields.knee.0.max(0.0),
            hysteresis_db: fields.hysteresis.0.max(0.0),
            sample_rate,
        }
    }

    fn settings_at(&self, frame: u64) -> Settings {
        let threshold_db = self.threshold.at(frame);
        Settings {
            opening: db_to_level(threshold_db),
            closing: db_to_level(threshold_db - self.hysteresis_db),
            curve: ExpanderCurve::new(
                threshold_db,
                self.hysteresis_db,
                1.0 / self.inverse_ratio.at(frame),
                self.knee_db,
                self.range.at(frame),
            ),
            ballistics: self.ballistics.unwrap_or_else(|| {
                Ballistics::new(self.attack.at(frame), self.release.at(frame), self.sample_rate)
            }),
        }
    }
}

/// The values in force for a stretch of frames.
#[derive(Debug, Clone, Copy)]
struct Settings {
    /// The level at which a closed gate opens.
    opening: f64,
    /// The level below which an open gate closes.
    closing: f64,
    curve: ExpanderCurve,
    ballistics: Ballistics,
}

/// Frames whose held levels are found before their gains: splitting the two serial
/// recursions (hold, follower) from the independent per-frame curve lets the curve math
/// of many frames run together.
const CHUNK: usize = 64;

/// A running gate or expander.
pub struct Gate {
    curves: Curves,
    automated: bool,
    settings: Settings,
    hold: PeakHold,
    open: bool,
    /// The gain, always between the range and 1.
    gain: f64,
    sidechain: Option<String>,
}

impl Gate {
    fn new(fields: &Fields<'_>, sample_rate: f64) -> Self {
        let curves = Curves::new(fields, sample_rate);
        let automated = fields.threshold.is_automated()
            || fields.range.is_automated()
            || fields.ratio.is_automated()
            || fields.attack.is_automated()
            || fields.release.is_automated();
        let settings = curves.settings_at(0);
        let hold_frames = (fields.hold.seconds() * sample_rate).round();
        Self {
            curves,
            automated,
            // The song starts in silence, so the gate starts closed.
            gain: f64::from(settings.curve.range_gain()),
            settings,
            // The window covers the hold after the current frame.
            hold: PeakHold::new(hold_frames as usize + 1),
            open: false,
            sidechain: fields.sidechain.map(str::to_owned),
        }
    }
}

impl Processor for Gate {
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
                let (mut held, mut open) = ([0.0f32; CHUNK], [false; CHUNK]);
                let (held, open) = (&mut held[..n], &mut open[..n]);
                for ((held, open), (&l, &r)) in
                    held.iter_mut().zip(open.iter_mut()).zip(heard_l.iter().zip(heard_r.iter()))
                {
                    let level = sanitize(f64::from(l)).abs().max(sanitize(f64::from(r)).abs());
                    let level = self.hold.push(level);
                    if level >= s.opening {
                        self.open = true;
                    } else if level < s.closing {
                        self.open = false;
                    }
                    // Exact: the held level is a detector sample's magnitude.
                    *held = level as f32;
                    *open = self.open;
                }
                let mut targets = [0.0f32; CHUNK];
                let targets = &mut targets[..n];
                s.curve.gains(held, open, targets);
                let mut gains = [0.0f64; CHUNK];
                let gains = &mut gains[..n];
                // The targets lie between the range (at least −200 dB) and 1, and each step
                // moves the gain part of the way to one, so it stays finite and far from the
                // denormals without a flush.
                let mut gain = self.gain;
                for (out, &target) in gains.iter_mut().zip(targets.iter()) {
                    gain = s.ballistics.follow(gain, f64::from(target));
                    *out = gain;
                }
                self.gain = gain;
                for channel in [&mut left[from..to], &mut right[from..to]] {
                    for (x, &gain) in channel.iter_mut().zip(gains.iter()) {
                        *x = sanitize(f64::from(*x) * gain) as f32;
                    }
                }
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

    fn gate(json: &str) -> GateSpec {
        serde_json::from_str(json).unwrap()
    }

    fn expander(json: &str) -> ExpanderSpec {
        serde_json::from_str(json).unwrap()
    }

    /// Runs `spec` in blocks of `block` frames; with `sidechain`, the gate listens to it as its sidechain.
    fn run(
        spec: &dyn SpecBuild,
        input: (&[f32], &[f32]),
        sidechain: Option<&[f32]>,
        block: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let env = BuildEnv { sample_rate: RATE, max_block: block };
        let mut p = spec.build_boxed(&env);
        let (mut left, mut right) = (input.0.to_vec(), input.1.to_vec());
        let mut start = 0;
        while start < left.len() {
            let end = (start + block).min(left.len());
            let named;
            let sidechains: &[(&str, Sidechain<'_>)] = match sidechain {
                Some(k) => {
                    named =
                        [("trigger", Sidechain { left: &k[start..end], right: &k[start..end] })];
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

    /// Lets the tests run either spec through one helper.
    trait SpecBuild {
        fn build_boxed(&self, env: &BuildEnv) -> Box<dyn Processor>;
    }

    impl<T: Spec> SpecBuild for T {
        fn build_boxed(&self, env: &BuildEnv) -> Box<dyn Processor> {
            self.build(env)
        }
    }

    /// The gain over time: DC 1 through the processor, driven by the sidechain `sidechain`.
    fn gain_trace(spec: &dyn SpecBuild, sidechain: &[f32]) -> Vec<f32> {
        let ones = vec![1.0; sidechain.len()];
        run(spec, (&ones, &ones), Some(sidechain), 4096).0
    }

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    fn amplitude(db: f64) -> f32 {
        10f64.powf(db / 20.0) as f32
    }

    /// The contract's gate, driven by the sidechain `trigger` so that a DC input shows the gain.
    const SIDECHAINED_CONTRACT: &str = r#"{"threshold": "-38 dB", "range": "-20 dB", "attack": "0.5 ms", "hold": "40 ms", "release": "80 ms", "sidechain": "trigger"}"#;

    #[test]
    fn the_two_names_read_the_same_fields_with_their_own_defaults() {
        let contract = r#"{"threshold": "-38 dB", "range": "-20 dB", "attack": "0.5 ms", "hold": "40 ms", "release": "80 ms"}"#;
        assert_eq!(gate(contract).hold.0, 0.040);
        let g = gate(r#"{"threshold": "-38 dB"}"#);
        let e = expander(r#"{"threshold": "-38 dB"}"#);
        assert_eq!((g.ratio.initial(), g.range.initial()), (f64::INFINITY, -80.0));
        assert_eq!((e.ratio.initial(), e.range.initial()), (2.0, -40.0));
        assert_eq!((g.attack.initial(), g.hold.0, g.release.initial()), (0.0005, 0.020, 0.080));
        assert_eq!(gate(SIDECHAINED_CONTRACT).sidechain(), Some("trigger"));
        assert!(serde_json::from_str::<GateSpec>(r#"{"threshold": -38, "hould": 1}"#).is_err());
    }

    #[test]
    fn a_closed_gate_attenuates_by_its_range_and_an_open_one_not_at_all() {
        // After 1 s below the threshold the release (80 ms) has settled to within
        // 0.9·e^-11 of the range, 0.001 dB: inside the 0.1 dB the test allows. Opening
        // settles within e^-200 (attack 0.5 ms over 100 ms), so unity is exact in f32.
        let n = 48000;
        let sidechain: Vec<f32> = (0..n + 4800)
            .map(|i| if i < 4800 { amplitude(-20.0) } else { amplitude(-50.0) })
            .collect();
        let g = gain_trace(&gate(SIDECHAINED_CONTRACT), &sidechain);
        assert_eq!(g[4799], 1.0);
        let closed = db(f64::from(g[n + 4799]));
        assert!((closed + 20.0).abs() < 0.1, "{closed}");
    }

    #[test]
    fn the_gate_holds_then_releases_with_its_time_constant() {
        // The sidechain stops at frame k. The hold window still sees it through frame k + hold − 1
        // (1920 frames of 40 ms), so the gain is exactly 1 there. From frame k + hold the
        // one-pole release gives range + (1 − range)·a^(m+1) at k + hold + m, with
        // a = exp(−1/3840) for 80 ms: after 3840 frames, range + (1 − range)/e. The
        // recursion is exact up to rounding: 1e-6 covers the f32 output.
        let k = 4800;
        let sidechain: Vec<f32> =
            (0..k + 12000).map(|i| if i < k { amplitude(-20.0) } else { 0.0 }).collect();
        let g = gain_trace(&gate(SIDECHAINED_CONTRACT), &sidechain);
        let hold = 1920;
        assert!(g[k..k + hold].iter().all(|&x| x == 1.0));
        let range = 0.1;
        let a = (-1.0f64 / 3840.0).exp();
        assert!((f64::from(g[k + hold]) - (range + (1.0 - range) * a)).abs() < 1e-6);
        let one_tau = f64::from(g[k + hold + 3839]);
        assert!(
            (one_tau - (range + (1.0 - range) / std::f64::consts::E)).abs() < 1e-6,
            "{one_tau}"
        );
    }

    #[test]
    fn hysteresis_keeps_an_open_gate_open_and_a_closed_gate_closed() {
        // Threshold −38 dB, 3 dB hysteresis: −40 dB sits between closing (−41) and opening.
        let spec = gate(
            r#"{"threshold": "-38 dB", "range": "-20 dB", "hold": 0, "release": "5 ms", "sidechain": "trigger"}"#,
        );
        // Closed at −40 dB stays closed; −20 dB opens; open at −40 dB stays open; −45 closes.
        let level = |i: usize| [-40.0, -20.0, -40.0, -45.0][i / 4800];
        let sidechain: Vec<f32> = (0..19200).map(|i| amplitude(level(i))).collect();
        let g = gain_trace(&spec, &sidechain);
        assert!((g[4799] - amplitude(-20.0)).abs() < 1e-7, "{}", g[4799]);
        assert_eq!(g[14399], 1.0);
        assert!((db(f64::from(g[19199])) + 20.0).abs() < 1e-3, "{}", g[19199]);
    }

    #[test]
    fn the_gain_never_moves_faster_than_the_attack_allows() {
        // The gain and its target both lie in [range, 1], and a step is (1 − a)·|target − g|
        // with a the coefficient in use. The attack (0.5 ms, a = e^(−1/24)) is faster than
        // the release (80 ms), so |Δg| ≤ (1 − e^(−1/24))·(1 − 0.1) = 0.0367 per frame.
        // Bursts of noise open and close the gate many times; the largest step must stay
        // under the bound (up to 1e-7, the f32 rounding of the gain trace) and come near
        // it, or the test exercised nothing.
        let mut seed = 0x853c_49e6_748f_ea9b_u64;
        let sidechain: Vec<f32> = (0..48000)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let burst = if (i / 2400) % 3 == 0 { 0.5 } else { 0.003 };
                burst * ((seed >> 40) as f32 / (1u32 << 24) as f32 - 0.5)
            })
            .collect();
        let g = gain_trace(&gate(SIDECHAINED_CONTRACT), &sidechain);
        let bound = (1.0 - (-1.0f64 / 24.0).exp()) * 0.9;
        let steepest = g.windows(2).map(|w| f64::from((w[1] - w[0]).abs())).fold(0.0, f64::max);
        assert!(steepest <= bound + 1e-7, "{steepest} > {bound}");
        assert!(steepest > 0.9 * bound, "{steepest}");
    }

    #[test]
    fn an_expander_follows_its_static_curve_below_the_threshold() {
        // DC sidechains, settled for 1 s (release 80 ms: residue e^-12): the gain is
        // (R − 1)·(level − T) down to the range. 0.01 dB covers the residue and f32.
        let spec = expander(
            r#"{"threshold": "-30 dB", "ratio": 2, "range": "-24 dB", "sidechain": "trigger"}"#,
        );
        for level_db in [-20.0, -30.0, -35.0, -42.0, -50.0, -60.0] {
            let g = gain_trace(&spec, &vec![amplitude(level_db); 48000]);
            let expected = (level_db + 30.0f64).clamp(-24.0, 0.0);
            let measured = db(f64::from(g[47999]));
            assert!((measured - expected).abs() < 0.01, "{level_db} dB: {measured} vs {expected}");
        }
    }

    #[test]
    fn output_is_bit_identical_for_blocks_of_1_64_and_4096_frames() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let (l, r): (Vec<f32>, Vec<f32>) = (0..9000)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let x = ((seed >> 40) as f32 / (1u32 << 24) as f32 - 0.5)
                    * (i as f32 / 9000.0).sin().abs();
                (x, -0.5 * x)
            })
            .unzip();
        let automated_gate = gate(
            r#"{"threshold": [[0, -30], ["0.15 s", -10]], "range": [[0, -80], ["0.1 s", -10]], "hold": "5 ms"}"#,
        );
        let automated_expander = expander(
            r#"{"threshold": "-25 dB", "ratio": [[0, 1.5], ["0.18 s", 4]], "knee": "6 dB", "attack": [[0, 1], ["0.1 s", 0]]}"#,
        );
        let keyed = gate(SIDECHAINED_CONTRACT);
        let specs: [&dyn SpecBuild; 3] = [&automated_gate, &automated_expander, &keyed];
        for spec in specs {
            let reference = run(spec, (&l, &r), Some(r.as_slice()), 4096);
            for block in [1, 64] {
                let output = run(spec, (&l, &r), Some(r.as_slice()), block);
                assert!(output == reference, "block {block}");
            }
            assert!(reference.0.iter().chain(&reference.1).all(|x| x.is_finite()));
        }
    }

    #[test]
    fn automation_from_minus_infinity_db_stays_finite() {
        // A closed gate whose range rises from −inf dB to −20 dB over 10 ms: the gain
        // follows it (attack 0.5 ms) and has settled within e^-180 by 100 ms.
        let spec = gate(
            r#"{"threshold": "-30 dB", "range": [[0, "-inf dB"], ["10 ms", "-20 dB"]], "sidechain": "trigger"}"#,
        );
        let g = gain_trace(&spec, &vec![0.0; 4800]);
        assert!(g.iter().all(|x| x.is_finite()));
        assert!((db(f64::from(g[4799])) + 20.0).abs() < 1e-3, "{}", g[4799]);
    }

    #[test]
    fn nan_and_infinite_samples_come_out_as_silence() {
        let spec = expander(r#"{"threshold": "-30 dB"}"#);
        let mut l = vec![0.3f32; 256];
        l[10] = f32::NAN;
        l[11] = f32::INFINITY;
        let (out, _) = run(&spec, (&l, &l.clone()), None, 64);
        assert!(out.iter().all(|x| x.is_finite()));
        assert_eq!((out[10], out[11]), (0.0, 0.0));
    }
}
