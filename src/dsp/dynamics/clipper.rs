//! `clipper`: a soft clipper that holds peaks under a ceiling, run at eight times the
//! sample rate so that the harmonics it makes do not fold back into the audio band.
//!
//! The static curve is linear up to a knee below the ceiling and then bends into it along a
//! hyperbolic tangent: with ceiling `c` and knee start `t = c·(1 − softness)`,
//! `y = x` for `|x| ≤ t` and `y = sign(x)·(t + (c − t)·tanh((|x| − t)/(c − t)))` above.
//! Value, slope and curvature are continuous at `t` (tanh has no second-order term), so
//! the harmonics fall off fast; `softness: 0%` is a hard clip. A hard or short knee on a
//! loud high tone still makes harmonics past the oversampled Nyquist (see the aliasing
//! test for the figures). The curve never reaches the
//! ceiling at the oversampled rate; the decimation filter can ring a little past it on
//! hard-clipped material, which a following true-peak limiter catches.
//!
//! Unlike `saturate`, the clipper does not compensate its drive: it is there to make peaks
//! shorter and the master louder.

use crate::dsp::primitives::oversample::Oversampler;
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};

/// The drive range, in dB.
pub const DRIVE_RANGE_DB: (f64, f64) = (0.0, 24.0);

/// The ceiling range, in dBFS.
pub const CEILING_RANGE_DB: (f64, f64) = (-24.0, 0.0);

/// The settings of a clipper, in plain units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipperSettings {
    /// Gain before the curve, in dB.
    pub drive_db: f64,
    /// The level the curve approaches and never passes, in dBFS.
    pub ceiling_db: f64,
    /// The share of the ceiling over which the curve bends, 0 (hard) to 1 (from silence).
    pub softness: f64,
}

impl Spec for ClipperSettings {
    const VERSION: u32 = 1;

    fn build(&self, _: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Clipper::new(self))
    }
}

/// The clipper's static curve at one ceiling and softness, as linear values.
#[derive(Debug, Clone, Copy)]
pub struct ClipCurve {
    /// Where the curve leaves the straight line.
    knee: f64,
    /// The ceiling minus the knee: how far the curve still rises.
    room: f64,
}

impl ClipCurve {
    /// The curve for a linear `ceiling` and a `softness` in 0..=1.
    #[must_use]
    pub fn new(ceiling: f64, softness: f64) -> Self {
        let knee = ceiling * (1.0 - softness.clamp(0.0, 1.0));
        Self { knee, room: ceiling - knee }
    }

    /// The output for input `x`.
    #[inline]
    #[must_use]
    pub fn apply(&self, x: f64) -> f64 {
        let over = x.abs() - self.knee;
        if over <= 0.0 {
            return x;
        }
        let bent = if self.room > 0.0 {
            self.knee + self.room * (over / self.room).tanh()
        } else {
            self.knee
        };
        bent.copysign(x)
    }
}

/// The running clipper.
pub struct Clipper {
    drive: f64,
    curve: ClipCurve,
    oversamplers: [Oversampler; 2],
}

impl Clipper {
    /// A clipper with `settings`; the curve does not depend on the sample rate.
    #[must_use]
    pub fn new(settings: &ClipperSettings) -> Self {
        let level = |db: f64| 10f64.powf(db / 20.0);
        let oversampler = Oversampler::new();
        Self {
            drive: level(settings.drive_db),
            curve: ClipCurve::new(level(settings.ceiling_db), settings.softness),
            oversamplers: [oversampler.clone(), oversampler],
        }
    }
}

impl Processor for Clipper {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], _: &Context<'_>) {
        let (drive, curve) = (self.drive, self.curve);
        for (channel, oversampler) in [left, right].into_iter().zip(&mut self.oversamplers) {
            for x in channel.iter_mut() {
                let y = oversampler.process(sanitize(f64::from(*x)) * drive, |v| curve.apply(v));
                *x = sanitize(y) as f32;
            }
        }
    }

    fn latency(&self) -> usize {
        self.oversamplers[0].latency()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::probe::{self, sine};
    use crate::dsp::spectrum::{loudest_non_harmonic, spectrum_dbfs};

    const FS: f64 = 48_000.0;

    fn settings(drive_db: f64, ceiling_db: f64, softness: f64) -> ClipperSettings {
        ClipperSettings { drive_db, ceiling_db, softness }
    }

    fn build(s: ClipperSettings) -> impl Fn(&BuildEnv) -> Box<dyn Processor> {
        move |_| Box::new(Clipper::new(&s))
    }

    fn run(s: ClipperSettings, x: &[f32]) -> Vec<f32> {
        probe::render_with(&build(s), FS, x, x).0
    }

    #[test]
    fn a_steady_level_comes_out_as_the_static_curve_says() {
        // DC passes the oversampler's half-band filters within 1e-3 dB each (six of them),
        // so the settled output is the curve within 0.01 dB; the curve itself is written
        // out here again from the module's formula.
        let reference = |x: f64, c: f64, s: f64| {
            let t = c * (1.0 - s);
            if x <= t {
                x
            } else if s == 0.0 {
                c
            } else {
                t + (c - t) * ((x - t) / (c - t)).tanh()
            }
        };
        for (ceiling_db, softness) in [(-1.0, 0.3), (0.0, 1.0), (-6.0, 0.0), (-0.3, 0.6)] {
            let c = 10f64.powf(ceiling_db / 20.0);
            for step in 0..=20 {
                let level_db = -30.0 + 2.0 * f64::from(step);
                let x = 10f64.powf(level_db / 20.0);
                let y = run(settings(0.0, ceiling_db, softness), &vec![x as f32; 1500]);
                let got = f64::from(y[1499]);
                let want = reference(x, c, softness);
                let error_db = 20.0 * (got / want).log10();
                assert!(error_db.abs() < 0.01, "{ceiling_db} dB {softness}: {x} → {got} vs {want}");
                assert!(got <= c * 1.001, "over the ceiling: {got} > {c}");
            }
        }
    }

    #[test]
    fn drive_moves_the_input_up_the_curve() {
        let y = run(settings(6.0, 0.0, 0.5), &[0.25f32; 1500]);
        let want = ClipCurve::new(1.0, 0.5).apply(0.25 * 10f64.powf(6.0 / 20.0));
        assert!((f64::from(y[1499]) / want - 1.0).abs() < 2e-3, "{} vs {want}", y[1499]);
    }

    #[test]
    fn a_full_scale_sine_driven_12_db_aliases_below_minus_80_dbfs_unless_the_knee_is_short() {
        // The same measurement as `saturate`'s: whatever is not a harmonic of the tone,
        // which is what folds back. A 10 kHz tone driven 12 dB into a 30% knee is nearly a
        // square wave, whose 37th harmonic (370 kHz) folds at the oversampled rate's
        // Nyquist onto 14 kHz; it measured -56.5 dBFS, so that case is held to -54 dBFS.
        // A 1 kHz tone's folding harmonics are ten times higher and far quieter.
        let n = 16384;
        let settle = 2048;
        for (freq, softness, bound) in
            [(10_000.0, 1.0, -80.0), (1000.0, 0.3, -80.0), (10_000.0, 0.3, -54.0)]
        {
            let x = sine(settle + n, freq, 1.0, FS);
            let y: Vec<f64> =
                run(settings(12.0, -1.0, softness), &x).into_iter().map(f64::from).collect();
            let db = spectrum_dbfs(&y[settle..]);
            let (worst, at) = loudest_non_harmonic(&db, freq, n, FS);
            assert!(worst < bound, "{freq} Hz, softness {softness}: {worst} dBFS at {at} Hz");
        }
    }

    #[test]
    fn the_reported_latency_lines_the_output_up_with_a_quiet_input() {
        let clipper = Clipper::new(&settings(0.0, 0.0, 0.5));
        let latency = clipper.latency();
        assert!(latency > 0);
        let x = sine(4000, 1234.0, 0.1, FS);
        let y = run(settings(0.0, 0.0, 0.5), &x);
        // Below the knee the curve is the identity, so only the filters' 1e-3 dB remains.
        let worst = (latency + 500..4000)
            .map(|n| (f64::from(y[n]) - f64::from(x[n - latency])).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "{worst}");
    }

    #[test]
    fn output_is_the_same_for_any_block_size_and_bad_samples_are_silence() {
        let x: Vec<f32> = probe::noise(6000, 3).iter().map(|v| v * 2.0).collect();
        probe::assert_blocks_agree(
            &build(settings(3.0, -1.0, 0.4)),
            FS,
            &x,
            &probe::noise(6000, 4),
        );
        probe::assert_non_finite_is_silence_with(&build(settings(3.0, -1.0, 0.4)), FS);
    }
}
