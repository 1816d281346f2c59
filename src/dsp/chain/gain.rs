//! `gain`: a level change in dB, automatable.

use crate::dsp::primitives::curve::{GainCurve, Timeline};
use crate::dsp::{BuildEnv, Context, Processor, Spec};

/// A gain's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GainSettings {
    /// The gain in dB over time.
    pub gain_db: Timeline,
}

impl Spec for GainSettings {
    const VERSION: u32 = 1;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Gain { curve: GainCurve::from_seconds(&self.gain_db.0, env.sample_rate) })
    }
}

/// Multiplies both channels by a gain curve.
pub struct Gain {
    curve: GainCurve,
}

impl Gain {
    /// A processor that applies `curve`.
    #[must_use]
    pub fn new(curve: GainCurve) -> Self {
        Self { curve }
    }
}

impl Processor for Gain {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        apply_gain(&self.curve, ctx.start, left, right);
    }
}

/// Multiplies a stereo block starting at absolute frame `start` by `curve`.
pub fn apply_gain(curve: &GainCurve, start: u64, left: &mut [f32], right: &mut [f32]) {
    if let Some(g) = curve.constant() {
        let g = g as f32;
        left.iter_mut().chain(right.iter_mut()).for_each(|x| *x *= g);
        return;
    }
    for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
        let g = curve.at(start + i as u64) as f32;
        *l *= g;
        *r *= g;
    }
}

/// [`apply_gain`] from `from` into `to`: a copy and the gain in one pass.
pub fn gain_into(
    curve: &GainCurve,
    start: u64,
    (from_left, from_right): (&[f32], &[f32]),
    (left, right): (&mut [f32], &mut [f32]),
) {
    if let Some(g) = curve.constant() {
        let g = g as f32;
        left.iter_mut().zip(from_left).for_each(|(y, x)| *y = *x * g);
        right.iter_mut().zip(from_right).for_each(|(y, x)| *y = *x * g);
        return;
    }
    for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
        let g = curve.at(start + i as u64) as f32;
        *l = from_left[i] * g;
        *r = from_right[i] * g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::probe::bits;

    #[test]
    fn gain_into_another_buffer_equals_gain_in_place_bit_for_bit() {
        let from: Vec<f32> = (0..300).map(|i| (i as f32 * 0.37).sin()).collect();
        let automated = GainCurve::from_seconds(&[(0.0, -12.0), (0.004, 3.0)], 48_000.0);
        let constant = GainCurve::from_seconds(&[(0.0, -7.3)], 48_000.0);
        for curve in [&automated, &constant] {
            let (mut l, mut r) = (from.clone(), from.clone());
            apply_gain(curve, 100, &mut l, &mut r);
            let (mut into_l, mut into_r) = (vec![0.0; 300], vec![0.0; 300]);
            gain_into(curve, 100, (&from, &from), (&mut into_l, &mut into_r));
            assert_eq!(bits(&into_l), bits(&l));
            assert_eq!(bits(&into_r), bits(&r));
        }
    }

    #[test]
    fn minus_six_db_halves_the_amplitude_within_a_thousandth_of_a_db() {
        let spec = GainSettings { gain_db: Timeline(vec![(0.0, -6.0)]) };
        let env = BuildEnv { sample_rate: 48000.0, max_block: 64 };
        let mut p = spec.build(&env);
        let (mut l, mut r) = (vec![1.0f32; 64], vec![-1.0f32; 64]);
        p.process(&mut l, &mut r, &Context::default());
        let db = 20.0 * f64::from(l[10]).log10();
        assert!((db + 6.0).abs() < 1e-3, "{db}");
        assert_eq!(r[10], -l[10]);
    }
}
