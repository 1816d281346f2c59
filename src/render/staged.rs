//! A chain split in two, its back half on a thread of its own, so that a node with the
//! machine to itself (the master at the end of a render) uses two cores instead of one.
//!
//! The front processes block `n` while the back processes block `n - 1`: the output comes
//! out one block later than the plain chain's and is otherwise the same bit for bit, since
//! each half sees the same blocks, with the same start frames, as it would in one chain.
//! The extra block is reported as latency, which the engine compensates.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Scope;

use crate::dsp::chain::series::Chain;
use crate::dsp::{Context, Processor};

/// One block on its way through the back half, with the frame it starts at.
struct Block {
    start: u64,
    left: Vec<f32>,
    right: Vec<f32>,
}

/// The front half of a split chain, feeding the back half's thread.
pub struct StagedChain {
    front: Chain,
    /// Dropped with the front, which ends the back half's thread.
    to_back: SyncSender<Block>,
    from_back: Receiver<Block>,
    /// Frames per block: every block must have this many, so the lag is exactly one block.
    block: usize,
    /// Blocks back from the back half, for the next ones to travel in.
    spare: Vec<Block>,
    /// Whether a block is in the back half, so that the next call has output to collect.
    in_flight: bool,
    latency: usize,
    tail: usize,
}

impl StagedChain {
    /// Starts `back` on a thread of `scope` and returns the front, which takes blocks of
    /// exactly `block` frames. The thread ends when the front is dropped.
    pub fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        front: Chain,
        mut back: Chain,
        block: usize,
    ) -> Self {
        let latency = front.latency() + back.latency() + block;
        let tail = front.tail() + back.tail();
        // Two blocks each way: one being processed, one waiting, so neither side idles.
        let (to_back, inbox) = sync_channel::<Block>(2);
        let (outbox, from_back) = sync_channel::<Block>(2);
        scope.spawn(move || {
            for mut block in inbox {
                let ctx = Context { start: block.start, sidechains: &[] };
                back.process(&mut block.left, &mut block.right, &ctx);
                if outbox.send(block).is_err() {
                    return;
                }
            }
        });
        Self {
            front,
            to_back,
            from_back,
            block,
            spare: Vec::new(),
            in_flight: false,
            latency,
            tail,
        }
    }
}

impl Processor for StagedChain {
    /// # Panics
    /// When the block is not `block` frames long, or the back half's thread has died
    /// (a processor panicked, which is a bug).
    fn process(&mut self, left: &mut [f32], right: &mut [f32], ctx: &Context<'_>) {
        assert_eq!(left.len(), self.block, "a staged chain takes whole blocks");
        debug_assert!(ctx.sidechains.is_empty(), "a chain with a sidechain is never split");
        self.front.process(left, right, ctx);
        let mut block = self.spare.pop().unwrap_or_else(|| Block {
            start: 0,
            left: vec![0.0; self.block],
            right: vec![0.0; self.block],
        });
        block.start = ctx.start;
        block.left.copy_from_slice(left);
        block.right.copy_from_slice(right);
        self.to_back.send(block).expect("the back half of the chain stopped");
        if self.in_flight {
            let done = self.from_back.recv().expect("the back half of the chain stopped");
            left.copy_from_slice(&done.left);
            right.copy_from_slice(&done.right);
            self.spare.push(done);
        } else {
            left.fill(0.0);
            right.fill(0.0);
            self.in_flight = true;
        }
    }

    fn latency(&self) -> usize {
        self.latency
    }

    fn tail(&self) -> usize {
        self.tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::BuildEnv;
    use crate::dsp::probe::{bits, noise};
    use crate::ir::step::{NoFiles, build_chain, lowered};

    const BLOCK: usize = 256;

    fn chain(json: &str) -> Chain {
        let env = BuildEnv { sample_rate: 48_000.0, max_block: BLOCK };
        build_chain(&lowered(json), &env, &NoFiles).unwrap()
    }

    fn run(processor: &mut dyn Processor, input: &[f32]) -> Vec<f32> {
        let (mut left, mut right) = (input.to_vec(), input.iter().map(|x| -x).collect::<Vec<_>>());
        for (k, (l, r)) in left.chunks_mut(BLOCK).zip(right.chunks_mut(BLOCK)).enumerate() {
            let ctx = Context { start: (k * BLOCK) as u64, sidechains: &[] };
            processor.process(l, r, &ctx);
        }
        left.into_iter().chain(right).collect()
    }

    #[test]
    fn the_split_chain_is_the_plain_chain_one_block_later() {
        let front = r#"[{ "eq": [{ "type": "peak", "freq": "1 kHz", "gain": "3 dB" }] },
                        { "compressor": { "threshold": "-20 dB", "ratio": 4 } }]"#;
        let back = r#"[{ "reverb": { "decay": "0.5 s" } }, { "limiter": { "ceiling": "-3 dB" } }]"#;
        let both = r#"[{ "eq": [{ "type": "peak", "freq": "1 kHz", "gain": "3 dB" }] },
                       { "compressor": { "threshold": "-20 dB", "ratio": 4 } },
                       { "reverb": { "decay": "0.5 s" } }, { "limiter": { "ceiling": "-3 dB" } }]"#;
        let frames = 40 * BLOCK;
        let input = noise(frames, 3);
        let mut plain = chain(both);
        let expected = run(&mut plain, &input);
        let got = std::thread::scope(|scope| {
            let mut staged = StagedChain::start(scope, chain(front), chain(back), BLOCK);
            assert_eq!(staged.latency(), plain.latency() + BLOCK);
            assert_eq!(staged.tail(), plain.tail());
            run(&mut staged, &input)
        });
        for channel in 0..2 {
            let at = channel * frames;
            assert!(got[at..at + BLOCK].iter().all(|&x| x == 0.0));
            assert_eq!(
                bits(&got[at + BLOCK..at + frames]),
                bits(&expected[at..at + frames - BLOCK]),
                "channel {channel}"
            );
        }
    }
}
