//! Processors run in series, and `parallel` branches summed.

use crate::dsp::primitives::delay_line::DelayLine;
use crate::dsp::{BuildEnv, Context, Processor};

/// Processors applied in order, block by block, in place.
pub struct Chain {
    processors: Vec<Box<dyn Processor>>,
}

impl Chain {
    /// The processors, to run in this order.
    #[must_use]
    pub fn new(processors: Vec<Box<dyn Processor>>) -> Self {
        Self { processors }
    }
}

impl Processor for Chain {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        for p in &mut self.processors {
            p.process(left, right, ctx);
        }
    }

    fn latency(&self) -> usize {
        self.processors.iter().map(|p| p.latency()).sum()
    }

    fn tail(&self) -> usize {
        self.processors.iter().map(|p| p.tail()).sum()
    }
}

/// Branches that each process a copy of the input; their outputs are summed. Each branch
/// is delayed to the latency of the slowest, so the sum never combs.
pub struct Parallel {
    branches: Vec<(Chain, DelayLine)>,
    latency: usize,
    input: [Vec<f32>; 2],
    scratch: [Vec<f32>; 2],
}

impl Parallel {
    /// Bumped when the way branches are combined changes.
    pub const VERSION: u32 = 1;

    /// The branches `chains`, each delayed to the latency of the slowest.
    #[must_use]
    pub fn new(chains: Vec<Chain>, env: &BuildEnv) -> Self {
        let latency = chains.iter().map(Processor::latency).max().unwrap_or(0);
        let branches = chains
            .into_iter()
            .map(|c| {
                let lag = latency - c.latency();
                (c, DelayLine::new(lag))
            })
            .collect();
        let buffer = || [vec![0.0; env.max_block], vec![0.0; env.max_block]];
        Self { branches, latency, input: buffer(), scratch: buffer() }
    }
}

impl Processor for Parallel {
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        let n = left.len();
        let [in_l, in_r] = &mut self.input;
        in_l[..n].copy_from_slice(left);
        in_r[..n].copy_from_slice(right);
        left.fill(0.0);
        right.fill(0.0);
        let [s_l, s_r] = &mut self.scratch;
        for (chain, align) in &mut self.branches {
            let (bl, br) = (&mut s_l[..n], &mut s_r[..n]);
            bl.copy_from_slice(&in_l[..n]);
            br.copy_from_slice(&in_r[..n]);
            chain.process(bl, br, ctx);
            align.process(bl, br);
            for (o, x) in left.iter_mut().zip(bl.iter()) {
                *o += *x;
            }
            for (o, x) in right.iter_mut().zip(br.iter()) {
                *o += *x;
            }
        }
    }

    fn latency(&self) -> usize {
        self.latency
    }

    fn tail(&self) -> usize {
        self.branches.iter().map(|(c, _)| c.tail()).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::Spec;
    use crate::dsp::chain::gain::GainSettings;
    use crate::dsp::primitives::curve::Timeline;

    fn env() -> BuildEnv {
        BuildEnv { sample_rate: 48000.0, max_block: 8 }
    }

    #[test]
    fn a_dry_branch_plus_a_silenced_branch_is_the_input() {
        let silence = GainSettings { gain_db: Timeline(vec![(0.0, f64::NEG_INFINITY)]) };
        let silence = silence.build(&env());
        let branches = vec![Chain::new(vec![]), Chain::new(vec![silence])];
        let mut p = Parallel::new(branches, &env());
        let (mut l, mut r) = (vec![0.5f32; 8], vec![-0.5f32; 8]);
        p.process(&mut l, &mut r, &Context::default());
        assert_eq!(l, vec![0.5; 8]);
        assert_eq!(r, vec![-0.5; 8]);
    }

    #[test]
    fn two_dry_branches_double_the_input() {
        let mut p = Parallel::new(vec![Chain::new(vec![]), Chain::new(vec![])], &env());
        let (mut l, mut r) = (vec![0.25f32; 8], vec![0.125f32; 8]);
        p.process(&mut l, &mut r, &Context::default());
        assert_eq!(l, vec![0.5; 8]);
        assert_eq!(r, vec![0.25; 8]);
    }
}
