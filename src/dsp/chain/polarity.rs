//! `polarity`: flips the sign of both channels.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dsp::{BuildEnv, Context, Processor, Spec};
use crate::units::Polarity;

/// `- polarity: inverted` (or `normal`, which does nothing).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct PolaritySpec(pub Polarity);

impl Spec for PolaritySpec {
    const VERSION: u32 = 1;

    fn build(&self, _env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(PolarityFlip { inverted: self.0 == Polarity::Inverted })
    }
}

/// Multiplies by -1 when inverted.
pub struct PolarityFlip {
    inverted: bool,
}

impl Processor for PolarityFlip {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], _ctx: &Context<'_>) {
        if self.inverted {
            left.iter_mut().chain(right.iter_mut()).for_each(|x| *x = -*x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverted_negates_every_sample_and_normal_leaves_it() {
        let env = BuildEnv { sample_rate: 48000.0, max_block: 4 };
        for (polarity, sign) in [(Polarity::Inverted, -1.0), (Polarity::Normal, 1.0)] {
            let mut p = PolaritySpec(polarity).build(&env);
            let (mut l, mut r) = (vec![0.5f32, -0.25], vec![0.1f32, 0.2]);
            p.process(&mut l, &mut r, &Context::default());
            assert_eq!(l, vec![0.5 * sign, -0.25 * sign]);
            assert_eq!(r, vec![0.1 * sign, 0.2 * sign]);
        }
    }
}
