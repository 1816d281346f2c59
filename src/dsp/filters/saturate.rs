//! `saturate`: drive into a soft nonlinearity at eight times the sample rate, with the
//! level compensated so that quiet signals pass at unity.

use crate::dsp::primitives::curve::{Curve, Timeline};
use crate::dsp::primitives::one_pole::OnePole;
use crate::dsp::primitives::oversample::Oversampler;
use crate::dsp::primitives::ring::Ring;
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};

/// The bias that makes `tape` asymmetric, before the drive.
const TAPE_BIAS: f64 = 0.3;

/// Where the DC blocker after `tape` sits, in Hz.
const DC_BLOCK_HZ: f64 = 5.0;

/// The shape of the nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saturation {
    /// Hyperbolic tangent: smooth, symmetric, odd harmonics.
    Tanh,
    /// Arctangent: a gentler knee than `tanh`, nearing its ceiling more slowly.
    Soft,
    /// Asymmetric like magnetic tape: adds even harmonics too; the DC this creates is
    /// removed afterwards.
    Tape,
}

impl Saturation {
    /// The curve, with slope 1 and value 0 at the origin.
    #[inline]
    fn shape(self, x: f64) -> f64 {
        match self {
            Self::Tanh => x.tanh(),
            Self::Soft => std::f64::consts::FRAC_2_PI * (std::f64::consts::FRAC_PI_2 * x).atan(),
            Self::Tape => {
                let t = TAPE_BIAS.tanh();
                ((x + TAPE_BIAS).tanh() - t) / (1.0 - t * t)
            }
        }
    }
}

/// A saturator's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SaturateSettings {
    /// Gain into the nonlinearity in dB, taken back out after it.
    pub drive_db: Timeline,
    /// The nonlinearity.
    pub kind: Saturation,
    /// The share of saturated signal in the output, 0 to 1.
    pub mix: Timeline,
}

impl SaturateSettings {
    /// The drive range the processor honours, in dB. Less, down to `-inf dB`, is taken as
    /// the least; more is refused when the file loads.
    pub const DRIVE_RANGE_DB: (f64, f64) = (-40.0, 60.0);
}

impl Spec for SaturateSettings {
    const VERSION: u32 = 1;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Saturate::new(self, env.sample_rate))
    }
}

/// The running saturator.
pub struct Saturate {
    kind: Saturation,
    drive: Curve,
    mix: Curve,
    oversamplers: [Oversampler; 2],
    dry: [Ring; 2],
    dc_block: Option<[OnePole; 2]>,
    latency: usize,
}

impl Saturate {
    /// A saturator for `spec` at `sample_rate`.
    #[must_use]
    pub fn new(spec: &SaturateSettings, sample_rate: f64) -> Self {
        let (least, _) = SaturateSettings::DRIVE_RANGE_DB;
        let drive = Curve::from_seconds(&spec.drive_db.0, sample_rate)
            .map(|db| 10f64.powf(db.max(least) / 20.0));
        let mix = Curve::from_seconds(&spec.mix.0, sample_rate);
        let oversampler = Oversampler::new();
        let latency = oversampler.latency();
        let dc_block = (spec.kind == Saturation::Tape)
            .then(|| [0, 1].map(|_| OnePole::highpass(DC_BLOCK_HZ, sample_rate)));
        Self {
            kind: spec.kind,
            drive,
            mix,
            oversamplers: [oversampler.clone(), oversampler],
            dry: [Ring::new(latency), Ring::new(latency)],
            dc_block,
            latency,
        }
    }

    #[inline]
    fn channel(&mut self, side: usize, x: f64, gain: f64, mix: f64) -> f64 {
        let kind = self.kind;
        let mut wet = self.oversamplers[side].process(x, |v| kind.shape(v * gain) / gain);
        if let Some(filters) = &mut self.dc_block {
            wet = filters[side].process(wet);
        }
        let dry = f64::from(self.dry[side].read(self.latency));
        self.dry[side].push(x as f32);
        sanitize((1.0 - mix) * dry + mix * wet)
    }
}

impl Processor for Saturate {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
            let frame = ctx.start + i as u64;
            let (gain, mix) = (self.drive.at(frame), self.mix.at(frame));
            *l = self.channel(0, sanitize(f64::from(*l)), gain, mix) as f32;
            *r = self.channel(1, sanitize(f64::from(*r)), gain, mix) as f32;
        }
    }

    fn latency(&self) -> usize {
        self.latency
    }

    fn tail(&self) -> usize {
        self.dc_block.as_ref().map_or(0, |f| f[0].ring_frames())
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;
    use crate::dsp::probe::{
        assert_block_size_independent, assert_non_finite_input_is_silence, noise, render_spec, sine,
    };
    use crate::dsp::spectrum::{loudest_non_harmonic, spectrum_dbfs};

    const FS: f64 = 48000.0;
    const KINDS: [Saturation; 3] = [Saturation::Tanh, Saturation::Soft, Saturation::Tape];

    fn spec(drive_db: f64, kind: Saturation, mix: f64) -> SaturateSettings {
        SaturateSettings {
            drive_db: Timeline::constant(drive_db),
            kind,
            mix: Timeline::constant(mix),
        }
    }

    fn run(spec: &SaturateSettings, x: &[f32]) -> Vec<f64> {
        render_spec(spec, FS, x, x).0.into_iter().map(f64::from).collect()
    }

    /// The amplitude of `freq` in `y`, which must hold a whole number of its periods.
    fn amplitude(y: &[f64], freq: f64) -> f64 {
        let (s, c) = y.iter().enumerate().fold((0.0, 0.0), |(s, c), (n, v)| {
            let phase = 2.0 * PI * freq * n as f64 / FS;
            (s + v * phase.sin(), c + v * phase.cos())
        });
        2.0 * s.hypot(c) / y.len() as f64
    }

    #[test]
    fn distortion_of_a_1_khz_sine_rises_with_every_step_of_drive() {
        let x = sine(6800, 1000.0, 0.5, FS);
        for kind in KINDS {
            let thd: Vec<f64> = [0.0, 3.0, 6.0, 12.0, 24.0]
                .iter()
                .map(|&drive| {
                    // 100 whole periods after the filters settle: every harmonic below
                    // Nyquist falls on its own exact DFT bin.
                    let y = run(&spec(drive, kind, 1.0), &x);
                    let y = &y[2000..6800];
                    let harmonics: f64 =
                        (2..24).map(|k| amplitude(y, 1000.0 * f64::from(k)).powi(2)).sum();
                    harmonics.sqrt() / amplitude(y, 1000.0)
                })
                .collect();
            assert!(thd.windows(2).all(|w| w[1] > w[0] * 1.05), "{kind:?}: {thd:?}");
        }
    }

    #[test]
    fn the_analysis_window_shows_nothing_but_the_sine_of_a_clean_tone() {
        let n = 16384;
        let x: Vec<f64> = (0..n).map(|i| (2.0 * PI * 10000.0 * i as f64 / FS).sin()).collect();
        let (floor, _) = loudest_non_harmonic(&spectrum_dbfs(&x), 10000.0, n, FS);
        assert!(floor < -150.0, "{floor}");
    }

    #[test]
    fn a_full_scale_10_khz_sine_driven_12_db_aliases_below_minus_80_dbfs() {
        let n = 16384;
        let settle = 2048;
        let x = sine(settle + n, 10000.0, 1.0, FS);
        for kind in KINDS {
            let y = run(&spec(12.0, kind, 1.0), &x);
            let db = spectrum_dbfs(&y[settle..]);
            let (worst, at) = loudest_non_harmonic(&db, 10000.0, n, FS);
            assert!(worst < -80.0, "{kind:?}: {worst} dBFS at {at} Hz");
        }
    }

    #[test]
    fn quiet_signals_pass_at_unity_gain_whatever_the_drive() {
        let x = sine(6800, 1000.0, 0.001, FS);
        for kind in KINDS {
            let y = run(&spec(24.0, kind, 1.0), &x);
            // At -60 dBFS into +24 dB the curves are linear to within 0.01 dB; the
            // tolerance is the brief's 0.1 dB.
            let db = 20.0 * (amplitude(&y[2000..6800], 1000.0) / 0.001).log10();
            assert!(db.abs() < 0.1, "{kind:?}: {db} dB");
        }
    }

    #[test]
    fn the_reported_latency_lines_the_output_up_with_the_input() {
        let env = BuildEnv { sample_rate: FS, max_block: 4096 };
        let s = spec(0.0, Saturation::Tanh, 0.5);
        let latency = s.build(&env).latency();
        let x = sine(4000, 1234.0, 0.001, FS);
        let y = run(&s, &x);
        // A -60 dBFS tone meets a cubic term 120 dB down and filters flat to 1e-3 dB, so
        // wet and dry both match the delayed input to 1e-3 of its amplitude.
        let worst = (latency + 500..4000)
            .map(|n| (y[n] - f64::from(x[n - latency])).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "{worst}");
    }

    #[test]
    fn mix_blends_the_delayed_dry_signal_and_the_saturated_one() {
        let x = noise(3000, 4);
        let env = BuildEnv { sample_rate: FS, max_block: 4096 };
        let latency = spec(6.0, Saturation::Tape, 1.0).build(&env).latency();
        let wet = run(&spec(6.0, Saturation::Tape, 1.0), &x);
        let mixed = run(&spec(6.0, Saturation::Tape, 0.3), &x);
        // One f32 rounding of each: 1e-6 at these levels.
        for n in latency..3000 {
            let want = 0.7 * f64::from(x[n - latency]) + 0.3 * wet[n];
            assert!((mixed[n] - want).abs() < 1e-6, "{n}");
        }
    }

    #[test]
    fn output_is_the_same_for_any_block_size_with_automation() {
        let s = SaturateSettings {
            drive_db: Timeline(vec![(0.0, 0.0), (0.1, 18.0)]),
            kind: Saturation::Tape,
            mix: Timeline(vec![(0.0, 1.0), (0.1, 0.4)]),
        };
        let x: Vec<f32> = noise(8000, 6).iter().map(|v| v * 1.5).collect();
        assert_block_size_independent(&s, FS, &x, &noise(8000, 7));
    }

    #[test]
    fn a_nan_or_infinite_input_sample_is_treated_as_silence() {
        for kind in KINDS {
            assert_non_finite_input_is_silence(&spec(6.0, kind, 0.5), FS);
        }
    }
}
