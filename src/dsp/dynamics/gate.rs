//! `gate` and `expander`: downward expansion below a threshold, from a hard noise gate
//! (infinite ratio) to a gentle expander, with hold, hysteresis and an optional sidechain.
//!
//! The detector signal's stereo-linked peak is held for `hold` (a sliding-window maximum), the held
//! level picks a target gain on the expansion curve ([`super::gain_computer`]), and the
//! gain follows the target with one-pole attack and release. Frames go through in chunks,
//! so that the curve, independent per frame and branch-free, runs on several at once
//! between the serial hold and the serial follower. Both names build the same processor
//! from the same settings; their raw steps differ only in their defaults.

use super::envelope::{Ballistics, DetectorInput, PeakHold, grid_runs};
use super::gain_computer::{ExpanderCurve, db_to_level};
use crate::dsp::primitives::curve::{Curve, Timeline};
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};

/// The longest hold, which bounds the memory the hold window takes.
pub const MAX_HOLD_SECONDS: f64 = 1.0;

/// The lowest level in dB a curve takes: `-inf dB`, and automation from it, read as this,
/// so that the curve math and interpolation stay finite.
const FLOOR_DB: f64 = -200.0;

/// A gate's or an expander's settings, in plain units.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    /// The level below which the gain comes down, in dB.
    pub threshold_db: Timeline,
    /// The attenuation when fully closed, in dB.
    pub range_db: Timeline,
    /// dB of output drop per dB of level below the threshold; infinite is a hard gate.
    pub ratio: Timeline,
    /// The width of the soft knee centred on the threshold, in dB; 0 is a hard knee.
    pub knee_db: f64,
    /// How far below the threshold, in dB, the level must fall before an open gate closes.
    pub hysteresis_db: f64,
    /// The time constant of the opening, in seconds.
    pub attack_seconds: Timeline,
    /// How long the gate stays open after the level was last above the threshold, in
    /// seconds, up to [`MAX_HOLD_SECONDS`].
    pub hold_seconds: f64,
    /// The time constant of the closing once the hold has run out, in seconds.
    pub release_seconds: Timeline,
    /// The track or bus whose signal opens the gate instead of the input.
    pub sidechain: Option<String>,
}

impl Spec for GateSettings {
    const VERSION: u32 = 2;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Gate::new(self, env.sample_rate))
    }

    fn sidechain(&self) -> Option<&str> {
        self.sidechain.as_deref()
    }
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
    fn new(settings: &GateSettings, sample_rate: f64) -> Self {
        let curve = |points: &[(f64, f64)]| Curve::from_seconds(points, sample_rate);
        // Interpolating 1/ratio keeps a ramp to `inf` finite all the way.
        let inverse_ratio: Vec<_> = settings.ratio.0.iter().map(|&(t, r)| (t, 1.0 / r)).collect();
        let attack = curve(&settings.attack_seconds.0);
        let release = curve(&settings.release_seconds.0);
        let ballistics = (attack.is_constant() && release.is_constant())
            .then(|| Ballistics::new(attack.at(0), release.at(0), sample_rate));
        Self {
            threshold: curve(&settings.threshold_db.0).map(|db| db.max(FLOOR_DB)),
            range: curve(&settings.range_db.0).map(|db| db.max(FLOOR_DB)),
            inverse_ratio: curve(&inverse_ratio),
            attack,
            release,
            ballistics,
            knee_db: settings.knee_db.max(0.0),
            hysteresis_db: settings.hysteresis_db.max(0.0),
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
    fn new(gate: &GateSettings, sample_rate: f64) -> Self {
        let curves = Curves::new(gate, sample_rate);
        let automated = [
            &gate.threshold_db,
            &gate.range_db,
            &gate.ratio,
            &gate.attack_seconds,
            &gate.release_seconds,
        ]
        .iter()
        .any(|t| t.is_automated());
        let settings = curves.settings_at(0);
        let hold_frames = (gate.hold_seconds * sample_rate).round();
        Self {
            curves,
            automated,
            // The song starts in silence, so the gate starts closed.
            gain: f64::from(settings.curve.range_gain()),
            settings,
            // The window covers the hold after the current frame.
            hold: PeakHold::new(hold_frames as usize + 1),
            open: false,
            sidechain: gate.sidechain.clone(),
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

    /// A hard gate at `threshold_db` with the `gate` step's defaults: down 80 dB, 3 dB of
    /// hysteresis, 0.5 ms attack, 20 ms hold and 80 ms release.
    fn gate(threshold_db: f64) -> GateSettings {
        GateSettings {
            threshold_db: Timeline::constant(threshold_db),
            range_db: Timeline::constant(-80.0),
            ratio: Timeline::constant(f64::INFINITY),
            knee_db: 0.0,
            hysteresis_db: 3.0,
            attack_seconds: Timeline::constant(0.0005),
            hold_seconds: 0.020,
            release_seconds: Timeline::constant(0.080),
            sidechain: None,
        }
    }

    /// An expander at `threshold_db` with the `expander` step's defaults: 2:1, down 40 dB
    /// at most, no hysteresis.
    fn expander(threshold_db: f64) -> GateSettings {
        GateSettings {
            range_db: Timeline::constant(-40.0),
            ratio: Timeline::constant(2.0),
            hysteresis_db: 0.0,
            ..gate(threshold_db)
        }
    }

    fn triggered(settings: GateSettings) -> GateSettings {
        GateSettings { sidechain: Some("trigger".into()), ..settings }
    }

    /// Runs `spec` in blocks of `block` frames; with `sidechain`, the gate listens to it as its sidechain.
    fn run(
        spec: &GateSettings,
        input: (&[f32], &[f32]),
        sidechain: Option<&[f32]>,
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

    /// The gain over time: DC 1 through the processor, driven by the sidechain `sidechain`.
    fn gain_trace(spec: &GateSettings, sidechain: &[f32]) -> Vec<f32> {
        let ones = vec![1.0; sidechain.len()];
        run(spec, (&ones, &ones), Some(sidechain), 4096).0
    }

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    fn amplitude(db: f64) -> f32 {
        10f64.powf(db / 20.0) as f32
    }

    /// The contract's gate (`{ threshold: -38 dB, range: -20 dB, attack: 0.5 ms, hold: 40 ms,
    /// release: 80 ms }`), driven by the sidechain `trigger` so that a DC input shows the gain.
    fn sidechained_contract() -> GateSettings {
        triggered(GateSettings {
            range_db: Timeline::constant(-20.0),
            hold_seconds: 0.040,
            ..gate(-38.0)
        })
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
        let g = gain_trace(&sidechained_contract(), &sidechain);
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
        let g = gain_trace(&sidechained_contract(), &sidechain);
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
        let spec = triggered(GateSettings {
            range_db: Timeline::constant(-20.0),
            hold_seconds: 0.0,
            release_seconds: Timeline::constant(0.005),
            ..gate(-38.0)
        });
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
        let g = gain_trace(&sidechained_contract(), &sidechain);
        let bound = (1.0 - (-1.0f64 / 24.0).exp()) * 0.9;
        let steepest = g.windows(2).map(|w| f64::from((w[1] - w[0]).abs())).fold(0.0, f64::max);
        assert!(steepest <= bound + 1e-7, "{steepest} > {bound}");
        assert!(steepest > 0.9 * bound, "{steepest}");
    }

    #[test]
    fn an_expander_follows_its_static_curve_below_the_threshold() {
        // DC sidechains, settled for 1 s (release 80 ms: residue e^-12): the gain is
        // (R − 1)·(level − T) down to the range. 0.01 dB covers the residue and f32.
        let spec =
            triggered(GateSettings { range_db: Timeline::constant(-24.0), ..expander(-30.0) });
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
        let automated_gate = GateSettings {
            threshold_db: Timeline(vec![(0.0, -30.0), (0.15, -10.0)]),
            range_db: Timeline(vec![(0.0, -80.0), (0.1, -10.0)]),
            hold_seconds: 0.005,
            ..gate(-30.0)
        };
        let automated_expander = GateSettings {
            ratio: Timeline(vec![(0.0, 1.5), (0.18, 4.0)]),
            knee_db: 6.0,
            attack_seconds: Timeline(vec![(0.0, 0.001), (0.1, 0.0)]),
            ..expander(-25.0)
        };
        for spec in &[automated_gate, automated_expander, sidechained_contract()] {
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
        let spec = triggered(GateSettings {
            range_db: Timeline(vec![(0.0, f64::NEG_INFINITY), (0.010, -20.0)]),
            ..gate(-30.0)
        });
        let g = gain_trace(&spec, &vec![0.0; 4800]);
        assert!(g.iter().all(|x| x.is_finite()));
        assert!((db(f64::from(g[4799])) + 20.0).abs() < 1e-3, "{}", g[4799]);
    }

    #[test]
    fn nan_and_infinite_samples_come_out_as_silence() {
        let spec = expander(-30.0);
        let mut l = vec![0.3f32; 256];
        l[10] = f32::NAN;
        l[11] = f32::INFINITY;
        let (out, _) = run(&spec, (&l, &l.clone()), None, 64);
        assert!(out.iter().all(|x| x.is_finite()));
        assert_eq!((out[10], out[11]), (0.0, 0.0));
    }
}
