//! A sum node (a bus or the master): each input weighted by its fader or send level and
//! panned, summed in declaration order, then the bus chain.

use rayon::prelude::*;

use super::NodeError;
use super::inputs::{Lent, Spare, Stream};
use super::job::Job;
use crate::dsp::BLOCK_FRAMES;
use crate::dsp::chain::gain::{apply_gain, gain_into};
use crate::dsp::primitives::curve::{Curve, GainCurve};
use crate::graph::Feed;
use crate::ir::Step;
use crate::units::{Decibels, Param};

/// Inputs added in one pass over the sum, at most: each input that shares a pass saves a
/// load and a store of every sample of the sum.
const FUSED_INPUTS: usize = 4;

/// One input of the sum, ready to read.
struct Weighted {
    stream: Box<dyn Stream>,
    gains: Vec<GainCurve>,
    pan: Option<Curve>,
    /// The input's weights when they never change, the usual case.
    constant: Option<ConstantWeights>,
    /// Where the stream puts a block it cannot lend.
    spare: Spare,
}

/// An input's block as lent, with how to weigh it.
struct Loaded<'a> {
    block: Lent<'a>,
    gains: &'a [GainCurve],
    pan: Option<&'a Curve>,
    constant: Option<ConstantWeights>,
}

impl Weighted {
    /// Borrows this input's next `n` frames.
    fn load(&mut self, n: usize) -> Result<Loaded<'_>, NodeError> {
        let Self { stream, gains, pan, constant, spare } = self;
        Ok(Loaded { block: stream.lend(n, spare)?, gains, pan: pan.as_ref(), constant: *constant })
    }
}

/// Weights that stay the same for the whole input: a sample `x` adds `(x × gain) × pan`
/// to its channel, rounded step by step exactly as [`weigh`] and [`accumulate`] do (a
/// missing gain or pan is a factor of 1, which changes no bits).
#[derive(Debug, Clone, Copy)]
struct ConstantWeights {
    gain: f32,
    pan: [f32; 2],
}

impl ConstantWeights {
    /// The weights of an input with at most one gain, constant, and a constant pan or none.
    fn of(gains: &[GainCurve], pan: Option<&Curve>) -> Option<Self> {
        let gain = match gains {
            [] => 1.0,
            [only] => only.constant()? as f32,
            _ => return None,
        };
        let pan = match pan {
            None => [1.0, 1.0],
            Some(curve) if curve.is_constant() => {
                let (l, r) = pan_gains(curve.at(0));
                [l as f32, r as f32]
            }
            Some(_) => return None,
        };
        Some(Self { gain, pan })
    }
}

/// Constant-power pan gains for a position in -1..1: (left, right), -3 dB each at centre.
#[must_use]
pub fn pan_gains(position: f64) -> (f64, f64) {
    let theta = (position + 1.0) * std::f64::consts::FRAC_PI_4;
    (theta.cos(), theta.sin())
}

/// Renders a sum node.
///
/// # Errors
/// When an input cannot be read or the entry cannot be written.
pub fn run_sum(
    job: &Job<'_>,
    feeds: &[Feed],
    gain: &Param<Decibels>,
    chain: &[Step],
) -> Result<(), NodeError> {
    let rate = f64::from(job.sample_rate());
    let mut inputs = Vec::with_capacity(feeds.len());
    let mut input_frames = 0u64;
    let mut content_frames = 0u64;
    for (feed, &input) in feeds.iter().zip(job.graph.graph[job.node].main_inputs()) {
        let stream = job.open_input(input)?;
        input_frames = input_frames.max(stream.frames().unwrap_or(0));
        content_frames = content_frames.max(stream.content_frames().unwrap_or(0));
        let gains: Vec<GainCurve> =
            feed.gains.iter().map(|g| GainCurve::from_seconds(&g.points(), rate)).collect();
        let pan = feed.pan.as_ref().map(|p| Curve::from_seconds(&p.points(), rate));
        inputs.push(Weighted {
            stream,
            constant: ConstantWeights::of(&gains, pan.as_ref()),
            gains,
            pan,
            spare: [vec![0.0; BLOCK_FRAMES], vec![0.0; BLOCK_FRAMES]],
        });
    }
    let master_gain = GainCurve::from_seconds(&gain.points(), rate);
    let mut weighed: Spare = [vec![0.0; BLOCK_FRAMES], vec![0.0; BLOCK_FRAMES]];
    job.render_chain(chain, (input_frames, content_frames), |position, left, right| {
        let n = left.len();
        // Reading (and checking) the inputs is most of a sum's work and each input is
        // independent, so they load on idle cores; the sum itself stays in declaration
        // order, which keeps the result bit-identical. A sum running on a pipeline's
        // own thread (outside the pool) reads them in turn: a pool task must never
        // wait on a pipe. Inputs lend their blocks (a cache entry's loaded block), and
        // the usual input is weighed and added straight from it, several in a pass.
        let mut loaded: Vec<Loaded<'_>> = if rayon::current_thread_index().is_some() {
            inputs.par_iter_mut().map(|input| input.load(n)).collect::<Result<_, _>>()?
        } else {
            inputs.iter_mut().map(|input| input.load(n)).collect::<Result<_, _>>()?
        };
        loaded.retain(|input| input.block.filled > 0);
        // A first group of constant inputs starts the sum itself; otherwise it starts
        // from a cleared buffer.
        let mut fresh = loaded.first().is_some_and(|input| input.constant.is_some());
        if !fresh {
            left.fill(0.0);
            right.fill(0.0);
        }
        for run in loaded.chunk_by(|a, b| a.constant.is_some() == b.constant.is_some()) {
            if run[0].constant.is_some() {
                for group in run.chunks(FUSED_INPUTS) {
                    add_constant(group, fresh, left, right);
                    fresh = false;
                }
            } else {
                for input in run {
                    let (l, r) = weigh(input, position, &mut weighed);
                    accumulate(input.pan, position, l, r, left, right);
                }
            }
        }
        apply_gain(&master_gain, position, left, right);
        Ok(())
    })
}

/// Adds inputs with constant weights, at most [`FUSED_INPUTS`], in one pass over the sum:
/// each sample adds them one after another in their order, so the bits are those of one
/// pass an input. `fresh` when the sum holds nothing yet: it then starts from +0.0.
fn add_constant(group: &[Loaded<'_>], fresh: bool, out_l: &mut [f32], out_r: &mut [f32]) {
    match group.len() {
        1 => add_constant_n::<1>(group, fresh, out_l, out_r),
        2 => add_constant_n::<2>(group, fresh, out_l, out_r),
        3 => add_constant_n::<3>(group, fresh, out_l, out_r),
        _ => add_constant_n::<FUSED_INPUTS>(group, fresh, out_l, out_r),
    }
}

/// [`add_constant`] for exactly `N` inputs, a number the compiler unrolls.
fn add_constant_n<const N: usize>(
    group: &[Loaded<'_>],
    fresh: bool,
    out_l: &mut [f32],
    out_r: &mut [f32],
) {
    let weights: [ConstantWeights; N] =
        std::array::from_fn(|k| group[k].constant.expect("only constant inputs are fused"));
    for (channel, out) in [out_l, out_r].into_iter().enumerate() {
        let n = out.len();
        // Sliced to the sum's length, so the loop below needs no bounds checks.
        let blocks: [&[f32]; N] = std::array::from_fn(|k| {
            let Lent { left, right, .. } = group[k].block;
            &[left, right][channel][..n]
        });
        for (i, o) in out.iter_mut().enumerate() {
            let mut sum = if fresh { 0.0 } else { *o };
            for (block, w) in blocks.iter().zip(&weights) {
                sum += (block[i] * w.gain) * w.pan[channel];
            }
            *o = sum;
        }
    }
}

/// An input's block after its gains: in `scratch`, the first gain applied as it is copied
/// there, or the block itself when there are none.
fn weigh<'a>(
    input: &'a Loaded<'_>,
    position: u64,
    scratch: &'a mut Spare,
) -> (&'a [f32], &'a [f32]) {
    let Lent { left, right, .. } = input.block;
    let Some((first, rest)) = input.gains.split_first() else { return (left, right) };
    let [l, r] = scratch;
    let (l, r) = (&mut l[..left.len()], &mut r[..left.len()]);
    gain_into(first, position, (left, right), (&mut *l, &mut *r));
    for gain in rest {
        apply_gain(gain, position, l, r);
    }
    (l, r)
}

/// Adds one panned input into the sum.
fn accumulate(
    pan: Option<&Curve>,
    position: u64,
    l: &[f32],
    r: &[f32],
    out_l: &mut [f32],
    out_r: &mut [f32],
) {
    match pan {
        None => {
            out_l.iter_mut().zip(l).for_each(|(o, x)| *o += *x);
            out_r.iter_mut().zip(r).for_each(|(o, x)| *o += *x);
        }
        Some(curve) if curve.is_constant() => {
            let (gl, gr) = pan_gains(curve.at(0));
            let (gl, gr) = (gl as f32, gr as f32);
            out_l.iter_mut().zip(l).for_each(|(o, x)| *o += *x * gl);
            out_r.iter_mut().zip(r).for_each(|(o, x)| *o += *x * gr);
        }
        Some(curve) => {
            for i in 0..l.len() {
                let (gl, gr) = pan_gains(curve.at(position + i as u64));
                out_l[i] += l[i] * gl as f32;
                out_r[i] += r[i] * gr as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::probe::bits;

    /// Input `k`'s samples: different for every input, with signed zeros among them, which
    /// a sum that starts anywhere but +0.0 would keep.
    fn samples(k: usize, phase: f32) -> Vec<f32> {
        (0..512)
            .map(|i| match i % 97 {
                0 => -0.0,
                1 => 0.0,
                _ => (i as f32 * (0.31 + k as f32 * 0.07) + phase).sin() * 0.7,
            })
            .collect()
    }

    #[test]
    fn inputs_added_in_one_pass_give_the_bits_of_one_pass_an_input() {
        let faders: Vec<[GainCurve; 1]> = (0..6)
            .map(|k| [GainCurve::from_seconds(&[(0.0, -4.7 + f64::from(k))], 48_000.0)])
            .collect();
        let pans: Vec<Curve> =
            (0..6).map(|k| Curve::constant(-0.35 + 0.2 * f64::from(k))).collect();
        let blocks: Vec<(Vec<f32>, Vec<f32>)> =
            (0..6).map(|k| (samples(k, 0.0), samples(k, 1.0))).collect();
        for count in 1..=6 {
            let inputs: Vec<Loaded<'_>> = (0..count)
                .map(|k| {
                    // No fader on one input and no pan on another: a factor of 1 instead.
                    let gains = if k == 1 { &[][..] } else { &faders[k][..] };
                    let pan = (k != 2).then_some(&pans[k]);
                    Loaded {
                        block: Lent { left: &blocks[k].0, right: &blocks[k].1, filled: 512 },
                        gains,
                        pan,
                        constant: ConstantWeights::of(gains, pan),
                    }
                })
                .collect();
            let (mut one_l, mut one_r) = (vec![0.0; 512], vec![0.0; 512]);
            let mut scratch = [vec![0.0; 512], vec![0.0; 512]];
            for input in &inputs {
                let (l, r) = weigh(input, 0, &mut scratch);
                accumulate(input.pan, 0, l, r, &mut one_l, &mut one_r);
            }
            // A fresh sum ignores what its buffers held before.
            let (mut fused_l, mut fused_r) = (vec![f32::NAN; 512], vec![-0.0; 512]);
            for (n, group) in inputs.chunks(FUSED_INPUTS).enumerate() {
                add_constant(group, n == 0, &mut fused_l, &mut fused_r);
            }
            assert_eq!(bits(&fused_l), bits(&one_l), "{count} inputs, left");
            assert_eq!(bits(&fused_r), bits(&one_r), "{count} inputs, right");
        }
    }

    #[test]
    fn automated_weights_are_not_constant() {
        let ramp = [GainCurve::from_seconds(&[(0.0, -6.0), (1.0, 0.0)], 48_000.0)];
        let fader = [GainCurve::from_seconds(&[(0.0, -6.0)], 48_000.0)];
        let moving = Curve::from_seconds(&[(0.0, -1.0), (1.0, 1.0)], 48_000.0);
        assert!(ConstantWeights::of(&ramp, None).is_none());
        assert!(ConstantWeights::of(&fader, Some(&moving)).is_none());
        assert!(ConstantWeights::of(&[fader[0].clone(), fader[0].clone()], None).is_none());
        assert!(ConstantWeights::of(&fader, Some(&Curve::constant(0.3))).is_some());
    }

    #[test]
    fn the_pan_law_is_minus_three_db_at_centre_and_keeps_power_everywhere() {
        let (l, r) = pan_gains(0.0);
        assert!((20.0 * l.log10() + 3.0103).abs() < 1e-3);
        assert!((l - r).abs() < 1e-15);
        for p in [-1.0, -0.3, 0.4, 1.0] {
            let (l, r) = pan_gains(p);
            assert!((l * l + r * r - 1.0).abs() < 1e-12);
        }
        assert!(pan_gains(-1.0).1.abs() < 1e-15);
    }
}
