//! `polarity`: flips the sign of both channels.

use crate::dsp::{BuildEnv, Context, Processor, Spec};

/// A polarity step's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PolaritySettings {
    /// Whether it flips the sign.
    pub inverted: bool,
}

impl Spec for PolaritySettings {
    const VERSION: u32 = 1;

    fn build(&self, _env: &BuildEnv) -> Box<dyn Processor> {
        Box::new(PolarityFlip { inverted: self.inverted })
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
        for (inverted, sign) in [(true, -1.0), (false, 1.0)] {
            let mut p = PolaritySettings { inverted }.build(&env);
            let (mut l, mut r) = (vec![0.5f32, -0.25], vec![0.1f32, 0.2]);
            p.process(&mut l, &mut r, &Context::default());
            assert_eq!(l, vec![0.5 * sign, -0.25 * sign]);
            assert_eq!(r, vec![0.1 * sign, 0.2 * sign]);
        }
    }
}
