//! `width`: narrows or widens the stereo image by scaling the side signal.
//!
//! With mid M = (L + R)/2 and side S = (L − R)/2, the output is M ± amount·S: 100% is the
//! input, 0% is mono, and beyond 100% the difference between the channels grows.

use crate::dsp::primitives::biquad::to_sample;
use crate::dsp::primitives::curve::{Curve, Timeline};
use crate::dsp::{BuildEnv, Context, Processor, Spec};

/// The widest setting, as a fraction: 200%.
pub const MAX_AMOUNT: f64 = 2.0;

/// A width step's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WidthSettings {
    /// The side's scale: 1 leaves the image, 0 is mono, up to [`MAX_AMOUNT`].
    pub amount: Timeline,
}

impl Spec for WidthSettings {
    const VERSION: u32 = 1;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        let amount = if self.amount == Timeline::constant(1.0) {
            Amount::Unchanged
        } else if self.amount.is_automated() {
            Amount::Automated(Curve::from_seconds(&self.amount.0, env.sample_rate))
        } else {
            Amount::Constant(self.amount.initial())
        };
        Box::new(Width { amount })
    }
}

/// How the amount behaves over the song.
enum Amount {
    /// Exactly 100%: the input passes bit for bit.
    Unchanged,
    Constant(f64),
    Automated(Curve),
}

/// Scales the side signal of a stereo pair.
pub struct Width {
    amount: Amount,
}

/// One frame at width `amount`, written as L' = g·L + h·R and R' = h·L + g·R with
/// g = (1 + amount)/2 and h = (1 − amount)/2, which is M ± amount·S multiplied out.
#[inline]
fn widen(l: &mut f32, r: &mut f32, amount: f64) {
    let (same, cross) = (0.5 * (1.0 + amount), 0.5 * (1.0 - amount));
    let (x, y) = (f64::from(*l), f64::from(*r));
    *l = to_sample(same * x + cross * y);
    *r = to_sample(cross * x + same * y);
}

impl Processor for Width {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        match &self.amount {
            Amount::Unchanged => {}
            Amount::Constant(amount) => {
                for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                    widen(l, r, *amount);
                }
            }
            Amount::Automated(curve) => {
                for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
                    widen(l, r, curve.at(ctx.start + i as u64));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::primitives::biquad::measure;
    use crate::dsp::probe::bits;

    fn run(spec: &WidthSettings, l: &[f32], r: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let env = BuildEnv { sample_rate: 48_000.0, max_block: measure::MAX_BLOCK };
        let mut p = spec.build(&env);
        measure::run_blocks(
            &mut |l: &mut [f32], r: &mut [f32], start| {
                p.process(l, r, &Context { start, sidechains: &[] });
            },
            (l, r),
            0,
            measure::MAX_BLOCK,
        )
    }

    fn width(percent: f64) -> WidthSettings {
        WidthSettings { amount: Timeline::constant(percent / 100.0) }
    }

    fn input() -> (Vec<f32>, Vec<f32>) {
        let (mut l, r) = (measure::noise(6_000, 11), measure::noise(6_000, 12));
        l[0] = -0.0;
        (l, r)
    }

    #[test]
    fn zero_percent_is_mono_with_both_channels_identical() {
        let (l, r) = input();
        let (out_l, out_r) = run(&width(0.0), &l, &r);
        assert_eq!(bits(&out_l), bits(&out_r));
        // And it is the mid signal, to the f32 rounding of one sample.
        for ((a, x), y) in out_l.iter().zip(&l).zip(&r) {
            assert!((f64::from(*a) - 0.5 * (f64::from(*x) + f64::from(*y))).abs() < 1e-7);
        }
    }

    #[test]
    fn one_hundred_percent_passes_every_bit() {
        let (l, r) = input();
        let (out_l, out_r) = run(&width(100.0), &l, &r);
        assert_eq!((bits(&out_l), bits(&out_r)), (bits(&l), bits(&r)));
    }

    #[test]
    fn side_energy_scales_by_the_amount_squared_and_mid_is_kept() {
        // Energies summed in f64 over 6,000 frames of independent noise, where side and mid
        // are of the same size: the only error is the f32 rounding of each output sample,
        // 2^-24 relative, so 1e-5 relative is a wide bound.
        let (l, r) = input();
        let energy = |l: &[f32], r: &[f32], sign: f64| -> f64 {
            l.iter()
                .zip(r)
                .map(|(x, y)| (0.5 * (f64::from(*x) + sign * f64::from(*y))).powi(2))
                .sum()
        };
        let (mid, side) = (energy(&l, &r, 1.0), energy(&l, &r, -1.0));
        for percent in [0.0, 35.0, 140.0, 200.0] {
            let (out_l, out_r) = run(&width(percent), &l, &r);
            let a = percent / 100.0;
            let side_ratio = energy(&out_l, &out_r, -1.0) / side;
            assert!((side_ratio - a * a).abs() < 1e-5, "{percent}%: side ×{side_ratio}");
            let mid_ratio = energy(&out_l, &out_r, 1.0) / mid;
            assert!((mid_ratio - 1.0).abs() < 1e-5, "{percent}%: mid ×{mid_ratio}");
        }
    }

    #[test]
    fn automated_width_does_not_depend_on_the_block_size_and_huge_input_stays_finite() {
        let t = 1_000_003.0 / 48_000.0;
        let spec = WidthSettings { amount: Timeline(vec![(t, 0.0), (t + 0.1, 2.0)]) };
        measure::assert_block_size_independent(
            &|| {
                let mut p = spec.build(&BuildEnv { sample_rate: 48_000.0, max_block: 4_096 });
                Box::new(move |l, r, start| p.process(l, r, &Context { start, sidechains: &[] }))
            },
            9_000,
        );
        let huge = vec![f32::MAX; 64];
        let (out_l, out_r) =
            run(&width(200.0), &huge, &huge.iter().map(|x| -x).collect::<Vec<_>>());
        assert!(out_l.iter().chain(&out_r).all(|x| x.is_finite()));
    }
}
