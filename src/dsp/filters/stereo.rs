//! `stereo`: the mastering stereo tools: width, balance, and `mono_below`, which folds the
//! bass to mono (for vinyl, where out-of-phase bass throws the stylus).
//!
//! `mono_below` splits the side signal S = (L − R)/2 with a Linkwitz–Riley 4th-order
//! crossover and removes its low half, passing the mid through the crossover's all-pass
//! so that both keep the same phase: L' = AP(L) − LP(S) and R' = AP(R) + LP(S). Then
//! L' − R' = HP(L − R), 24 dB/oct below the corner, and L' + R' = AP(L + R): the mid keeps
//! its magnitude at every frequency, and far above the corner each channel is its input
//! through the same all-pass, so the image is untouched. The lowpass runs on both
//! channels and LP(S) is taken as (LP(L) − LP(R))/2, which is the same by linearity.
//!
//! Width scales the side: M ± width·S. Balance turns the far channel down linearly, the
//! near one staying at unity: at +50% the left channel is at half gain, at +100% silent.
//! The order is `mono_below`, width, balance.

use crate::dsp::primitives::biquad::{BiquadCascade, to_sample};
use crate::dsp::primitives::crossover::Crossover;
use crate::dsp::{BuildEnv, Context, Processor, Spec, sanitize};

/// The range of `mono_below`, in Hz: vinyl needs 100 to 300 Hz; above 1 kHz the image
/// itself would go.
pub const MONO_BELOW_RANGE_HZ: (f64, f64) = (20.0, 1000.0);

/// The widest width, as a fraction: 200%.
pub const MAX_WIDTH: f64 = 2.0;

/// The settings of the stereo tools, in plain units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StereoSettings {
    /// The side's scale: 1 leaves the image, 0 is mono, up to [`MAX_WIDTH`].
    pub width: f64,
    /// −1 (left only) to +1 (right only); 0 leaves both channels at unity.
    pub balance: f64,
    /// The corner in Hz below which the image is folded to mono, if any.
    pub mono_below_hz: Option<f64>,
}

impl Spec for StereoSettings {
    const VERSION: u32 = 1;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Stereo::new(self, env))
    }
}

/// The bass folder of `mono_below`.
struct MonoBass {
    lowpass: BiquadCascade,
    allpass: BiquadCascade,
    low: [Vec<f32>; 2],
    tail: usize,
}

impl MonoBass {
    fn new(corner: f64, env: &BuildEnv) -> Self {
        let split = Crossover::new(env.sample_rate, corner);
        Self {
            tail: split.tail(),
            lowpass: split.low,
            allpass: Crossover::phase_match(env.sample_rate, corner),
            low: [vec![0.0; env.max_block], vec![0.0; env.max_block]],
        }
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32], start: u64) {
        let n = left.len();
        let [low_l, low_r] = &mut self.low;
        let (low_l, low_r) = (&mut low_l[..n], &mut low_r[..n]);
        low_l.copy_from_slice(left);
        low_r.copy_from_slice(right);
        self.lowpass.process(low_l, low_r, start);
        self.allpass.process(left, right, start);
        for (((l, r), a), b) in left.iter_mut().zip(right.iter_mut()).zip(&*low_l).zip(&*low_r) {
            let low_side = 0.5 * (f64::from(*a) - f64::from(*b));
            *l = to_sample(f64::from(*l) - low_side);
            *r = to_sample(f64::from(*r) + low_side);
        }
    }
}

/// The running stereo tools.
pub struct Stereo {
    mono_bass: Option<MonoBass>,
    width: f64,
    gains: (f64, f64),
}

impl Stereo {
    /// The stereo tools for `settings`, checked to lie in their ranges.
    #[must_use]
    pub fn new(settings: &StereoSettings, env: &BuildEnv) -> Self {
        let balance = settings.balance.clamp(-1.0, 1.0);
        Self {
            mono_bass: settings.mono_below_hz.map(|corner| MonoBass::new(corner, env)),
            width: settings.width.clamp(0.0, MAX_WIDTH),
            gains: (1.0 - balance.max(0.0), 1.0 + balance.min(0.0)),
        }
    }
}

impl Processor for Stereo {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        if let Some(mono_bass) = &mut self.mono_bass {
            // A NaN or infinity would stay in the filters' state for good.
            left.iter_mut()
                .chain(right.iter_mut())
                .for_each(|x| *x = sanitize(f64::from(*x)) as f32);
            mono_bass.process(left, right, ctx.start);
        }
        let (same, cross) = (0.5 * (1.0 + self.width), 0.5 * (1.0 - self.width));
        let (gain_l, gain_r) = self.gains;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let (x, y) = (sanitize(f64::from(*l)), sanitize(f64::from(*r)));
            // At width 1 the cross term is exactly 0 and the same term exactly 1.
            *l = to_sample(gain_l * (same * x + cross * y));
            *r = to_sample(gain_r * (cross * x + same * y));
        }
    }

    fn tail(&self) -> usize {
        self.mono_bass.as_ref().map_or(0, |m| m.tail)
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;
    use crate::dsp::primitives::crossover::half_db;
    use crate::dsp::probe::{self, bits};

    const FS: f64 = 48_000.0;

    fn settings(width: f64, balance: f64, mono_below_hz: Option<f64>) -> StereoSettings {
        StereoSettings { width, balance, mono_below_hz }
    }

    fn run(s: StereoSettings, left: &[f32], right: &[f32]) -> (Vec<f32>, Vec<f32>) {
        probe::render_with(&|env| Box::new(Stereo::new(&s, env)), FS, left, right)
    }

    /// The complex DFT of `h` at `freq`.
    fn dft(h: &[f64], freq: f64) -> (f64, f64) {
        h.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, x)| {
            let phase = 2.0 * PI * freq * n as f64 / FS;
            (re + x * phase.cos(), im - x * phase.sin())
        })
    }

    /// The responses of L − R and L + R to an impulse in the left channel only, which is
    /// an impulse of both mid and side.
    fn side_and_mid(corner: f64) -> (Vec<f64>, Vec<f64>) {
        let n = 48_000;
        let (l, r) = run(settings(1.0, 0.0, Some(corner)), &probe::impulse(n), &vec![0.0; n]);
        let side = l.iter().zip(&r).map(|(a, b)| f64::from(*a) - f64::from(*b)).collect();
        let mid = l.iter().zip(&r).map(|(a, b)| f64::from(*a) + f64::from(*b)).collect();
        (side, mid)
    }

    #[test]
    fn mono_below_takes_the_side_down_as_the_crossover_lowpass_says_and_leaves_the_mid() {
        // The side's response is the LR4 highpass (6.02 dB down at the corner, 24 dB/oct
        // below it) within 0.01 dB where it is above −80 dB; the mid's is flat to 0.001 dB.
        for corner in [120.0, 300.0] {
            let (side, mid) = side_and_mid(corner);
            for f in [corner / 8.0, corner / 4.0, corner / 2.0, corner, 2.0 * corner, 1000.0] {
                let (re, im) = dft(&side, f);
                let side_db = 10.0 * (re * re + im * im).log10();
                let want = half_db(FS, corner, f, true);
                assert!((side_db - want).abs() < 0.01, "{corner} Hz corner, {f} Hz: {side_db}");
                let (re, im) = dft(&mid, f);
                let mid_db = 10.0 * (re * re + im * im).log10();
                assert!(mid_db.abs() < 1e-3, "{f} Hz: mid {mid_db} dB");
            }
        }
    }

    #[test]
    fn well_above_the_corner_the_image_is_untouched() {
        // From eight times the corner up, side and mid go through the same all-pass to
        // within |LP| = 1/(1 + 8⁴) of it: the side differs from the mid's response by
        // less than −60 dB, so the channels keep their balance and phase.
        let corner = 120.0;
        let (side, mid) = side_and_mid(corner);
        for f in [8.0 * corner, 2000.0, 5000.0, 10_000.0, 19_000.0] {
            let (s_re, s_im) = dft(&side, f);
            let (m_re, m_im) = dft(&mid, f);
            let difference = (s_re - m_re).hypot(s_im - m_im);
            assert!(difference < 1e-3, "{f} Hz: {difference}");
        }
    }

    #[test]
    fn below_a_quarter_of_the_corner_left_and_right_agree_once_the_filter_settles() {
        // A 30 Hz tone in the left channel only, corner 120 Hz: L − R is the side through
        // the highpass, 48.2 dB down at a quarter of the corner; 47 dB is asked.
        let n = 48_000;
        let tone = probe::sine(n, 30.0, 0.5, FS);
        let (l, r) = run(settings(1.0, 0.0, Some(120.0)), &tone, &vec![0.0; n]);
        let worst = (9600..n).map(|i| (l[i] - r[i]).abs()).fold(0.0f32, f32::max);
        assert!(f64::from(worst) < 0.5 * 10f64.powf(-47.0 / 20.0), "{worst}");
        let level = l[9600..].iter().fold(0.0f32, |a, v| a.max(v.abs()));
        assert!(level > 0.24, "the bass stays, in both channels: {level}");
    }

    #[test]
    fn a_mono_signal_comes_out_identical_in_both_channels() {
        let x = probe::noise(6000, 11);
        for s in [settings(1.0, 0.0, Some(120.0)), settings(1.7, 0.0, Some(80.0))] {
            let (l, r) = run(s, &x, &x);
            assert_eq!(bits(&l), bits(&r));
        }
    }

    #[test]
    fn width_scales_the_side_and_leaves_the_mid() {
        // One f64 product each, rounded to f32: 1e-7 at these levels.
        let (a, b) = (0.6f32, -0.2f32);
        for width in [0.0, 0.5, 1.0, 1.5, 2.0] {
            let (l, r) = run(settings(width, 0.0, None), &[a; 8], &[b; 8]);
            let (mid, side) = (0.5 * f64::from(a + b), 0.5 * f64::from(a - b));
            assert!((f64::from(l[7]) - (mid + width * side)).abs() < 1e-7, "{width}");
            assert!((f64::from(r[7]) - (mid - width * side)).abs() < 1e-7, "{width}");
        }
        let (l, r) = run(settings(1.0, 0.0, None), &[a; 8], &[b; 8]);
        assert_eq!((l[7], r[7]), (a, b), "width 100% passes bit for bit");
    }

    #[test]
    fn balance_turns_the_far_channel_down_linearly() {
        for (balance, gains) in [(0.5, (0.5, 1.0)), (-0.25, (1.0, 0.75)), (1.0, (0.0, 1.0))] {
            let (l, r) = run(settings(1.0, balance, None), &[0.5; 4], &[0.25; 4]);
            assert_eq!((f64::from(l[3]), f64::from(r[3])), (0.5 * gains.0, 0.25 * gains.1));
        }
    }

    #[test]
    fn output_is_the_same_for_any_block_size_and_bad_samples_are_silence() {
        let s = settings(1.4, -0.2, Some(150.0));
        let build = |env: &BuildEnv| -> Box<dyn Processor> { Box::new(Stereo::new(&s, env)) };
        probe::assert_blocks_agree(&build, FS, &probe::noise(7000, 1), &probe::noise(7000, 2));
        probe::assert_non_finite_is_silence_with(&build, FS);
    }
}
