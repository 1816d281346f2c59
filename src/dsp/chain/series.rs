//! Processors run in series, and `parallel` branches summed.

use super::step::Step;
use crate::dsp::primitives::delay_line::DelayLine;
use crate::dsp::{BuildEnv, Context, DecodedFiles, Processor, UnloadedFile};

/// Processors applied in order, block by block, in place.
pub struct Chain {
    processors: Vec<Box<dyn Processor>>,
}

impl Chain {
    /// Builds every step of `steps`, with the decoded audio of the files they read.
    ///
    /// # Errors
    /// When `files` lacks a file a step reads.
    pub fn build(
        steps: &[Step],
        env: &BuildEnv,
        files: &dyn DecodedFiles,
    ) -> Result<Self, UnloadedFile> {
        let processors = steps.iter().map(|s| s.build(env, files)).collect::<Result<_, _>>()?;
        Ok(Self { processors })
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

    /// Builds each branch with its latency compensation.
    ///
    /// # Errors
    /// When `files` lacks a file a step reads.
    pub fn build(
        branches: &[Vec<Step>],
        env: &BuildEnv,
        files: &dyn DecodedFiles,
    ) -> Result<Self, UnloadedFile> {
        let chains: Vec<Chain> =
            branches.iter().map(|b| Chain::build(b, env, files)).collect::<Result<_, _>>()?;
        let latency = chains.iter().map(Processor::latency).max().unwrap_or(0);
        let branches = chains
            .into_iter()
            .map(|c| {
                let lag = latency - c.latency();
                (c, DelayLine::new(lag))
            })
            .collect();
        let buffer = || [vec![0.0; env.max_block], vec![0.0; env.max_block]];
        Ok(Self { branches, latency, input: buffer(), scratch: buffer() })
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
    use crate::dsp::NoFiles;
    use crate::dsp::chain::gain::GainSpec;
    use crate::units::{Decibels, Param};

    fn env() -> BuildEnv {
        BuildEnv { sample_rate: 48000.0, max_block: 8 }
    }

    #[test]
    fn a_dry_branch_plus_a_silenced_branch_is_the_input() {
        let silence = Step::Gain(GainSpec(Param::Constant(Decibels(f64::NEG_INFINITY))));
        let mut p = Parallel::build(&[vec![], vec![silence]], &env(), &NoFiles).unwrap();
        let (mut l, mut r) = (vec![0.5f32; 8], vec![-0.5f32; 8]);
        p.process(&mut l, &mut r, &Context::default());
        assert_eq!(l, vec![0.5; 8]);
        assert_eq!(r, vec![-0.5; 8]);
    }

    #[test]
    fn two_dry_branches_double_the_input() {
        let mut p = Parallel::build(&[vec![], vec![]], &env(), &NoFiles).unwrap();
        let (mut l, mut r) = (vec![0.25f32; 8], vec![0.125f32; 8]);
        p.process(&mut l, &mut r, &Context::default());
        assert_eq!(l, vec![0.5; 8]);
        assert_eq!(r, vec![0.25; 8]);
    }
}
