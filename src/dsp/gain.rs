//! `gain`: a level change in dB, automatable.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::curve::GainCurve;
use super::{BuildEnv, Context, Processor, Spec};
use crate::units::{Decibels, Param};

/// `- gain: -8 dB`, or automation `- gain: [[0:00, -inf dB], [0:02, 0 dB]]`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct GainSpec(pub Param<Decibels>);

impl Spec for GainSpec {
    const VERSION: u32 = 1;

    fn build(&self, env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(Gain { curve: GainCurve::from_seconds(&self.0.points(), env.sample_rate) })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_six_db_halves_the_amplitude_within_a_thousandth_of_a_db() {
        let spec = GainSpec(Param::Constant(Decibels(-6.0)));
        let env = BuildEnv { sample_rate: 48000.0, max_block: 64, seed: 0 };
        let mut p = spec.build(&env);
        let (mut l, mut r) = (vec![1.0f32; 64], vec![-1.0f32; 64]);
        p.process(&mut l, &mut r, &Context::default());
        let db = 20.0 * f64::from(l[10]).log10();
        assert!((db + 6.0).abs() < 1e-3, "{db}");
        assert_eq!(r[10], -l[10]);
    }
}
