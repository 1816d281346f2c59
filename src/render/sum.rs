//! A sum node (a bus or the master): each input weighted by its fader or send level and
//! panned, summed in declaration order, then the bus chain.

use rayon::prelude::*;

use super::NodeError;
use super::inputs::{Lent, Spare, Stream};
use super::job::Job;
use crate::dsp::BLOCK_FRAMES;
use crate::dsp::curve::{Curve, GainCurve};
use crate::dsp::gain::{apply_gain, gain_into};
use crate::dsp::step::Step;
use crate::graph::Feed;
use crate::units::{Decibels, Param};

/// One input of the sum, ready to read.
struct Weighted {
    stream: Box<dyn Stream>,
    gains: Vec<GainCurve>,
    pan: Option<Curve>,
    /// Where the stream puts a block it cannot lend.
    spare: Spare,
}

/// An input's block as lent, with how to weigh it.
struct Loaded<'a> {
    block: Lent<'a>,
    gains: &'a [GainCurve],
    pan: Option<&'a Curve>,
}

impl Weighted {
    /// Borrows this input's next `n` frames.
    fn load(&mut self, n: usize) -> Result<Loaded<'_>, NodeError> {
        let Self { stream, gains, pan, spare } = self;
        Ok(Loaded { block: stream.lend(n, spare)?, gains, pan: pan.as_ref() })
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
    sidechains: &[String],
) -> Result<(), NodeError> {
    let node = &job.graph.graph[job.node];
    let rate = f64::from(job.sample_rate());
    let mut inputs = Vec::with_capacity(feeds.len());
    let mut input_frames = 0u64;
    let mut content_frames = 0u64;
    for (feed, &input) in feeds.iter().zip(&node.inputs) {
        let stream = job.open_input(input)?;
        input_frames = input_frames.max(stream.frames().unwrap_or(0));
        content_frames = content_frames.max(stream.content_frames().unwrap_or(0));
        inputs.push(Weighted {
            stream,
            gains: feed.gains.iter().map(|g| GainCurve::from_seconds(&g.points(), rate)).collect(),
            pan: feed.pan.as_ref().map(|p| Curve::from_seconds(&p.points(), rate)),
            spare: [vec![0.0; BLOCK_FRAMES], vec![0.0; BLOCK_FRAMES]],
        });
    }
    let master_gain = GainCurve::from_seconds(&gain.points(), rate);
    let mut weighed: Spare = [vec![0.0; BLOCK_FRAMES], vec![0.0; BLOCK_FRAMES]];
    job.render_chain(
        chain,
        sidechains,
        feeds.len(),
        (input_frames, content_frames),
        |position, left, right| {
            left.fill(0.0);
            right.fill(0.0);
            let n = left.len();
            // Reading (and checking) the inputs is most of a sum's work and each input is
            // independent, so they load on idle cores; the sum itself stays in declaration
            // order, which keeps the result bit-identical. A sum running on a pipeline's
            // own thread (outside the pool) reads them in turn: a pool task must never
            // wait on a pipe. Inputs lend their blocks (a cache entry's loaded block), and
            // the usual input is weighed and added straight from it.
            let loaded: Vec<Loaded<'_>> = if rayon::current_thread_index().is_some() {
                inputs.par_iter_mut().map(|input| input.load(n)).collect::<Result<_, _>>()?
            } else {
                inputs.iter_mut().map(|input| input.load(n)).collect::<Result<_, _>>()?
            };
            for input in loaded.iter().filter(|input| input.block.filled > 0) {
                if !add_constant(input, left, right) {
                    let (l, r) = weigh(input, position, &mut weighed);
                    accumulate(input.pan, position, l, r, left, right);
                }
            }
            apply_gain(&master_gain, position, left, right);
            Ok(())
        },
    )
}

/// Adds an input whose gain (at most one) and pan are constant, the usual case, in one
/// pass: `(x × gain) × pan`, rounded step by step exactly as [`weigh`] and [`accumulate`]
/// do (a missing gain or pan is a factor of 1, which changes no bits). False, having added
/// nothing, for any other input.
fn add_constant(input: &Loaded<'_>, out_l: &mut [f32], out_r: &mut [f32]) -> bool {
    let gain = match input.gains {
        [] => Some(1.0),
        [only] => only.constant().map(|g| g as f32),
        _ => None,
    };
    let pan = match input.pan {
        None => Some((1.0, 1.0)),
        Some(curve) if curve.is_constant() => {
            let (l, r) = pan_gains(curve.at(0));
            Some((l as f32, r as f32))
        }
        Some(_) => None,
    };
    let (Some(gain), Some((pan_l, pan_r))) = (gain, pan) else { return false };
    let Lent { left, right, .. } = input.block;
    out_l.iter_mut().zip(left).for_each(|(o, x)| *o += (*x * gain) * pan_l);
    out_r.iter_mut().zip(right).for_each(|(o, x)| *o += (*x * gain) * pan_r);
    true
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

    #[test]
    fn the_one_pass_add_gives_the_bits_of_the_general_path() {
        let left: Vec<f32> = (0..512).map(|i| (i as f32 * 0.31).sin() * 0.7).collect();
        let right: Vec<f32> = (0..512).map(|i| (i as f32 * 0.17).cos() * 0.4).collect();
        let fader = [GainCurve::from_seconds(&[(0.0, -4.7)], 48_000.0)];
        let pan = Curve::constant(-0.35);
        for (gains, pan) in [(&fader[..], Some(&pan)), (&fader[..], None), (&[][..], Some(&pan))] {
            let input =
                Loaded { block: Lent { left: &left, right: &right, filled: 512 }, gains, pan };
            let start: Vec<f32> = (0..512).map(|i| i as f32 * 1e-3).collect();
            let (mut one_l, mut one_r) = (start.clone(), start.clone());
            assert!(add_constant(&input, &mut one_l, &mut one_r));
            let (mut two_l, mut two_r) = (start.clone(), start);
            let mut scratch = [vec![0.0; 512], vec![0.0; 512]];
            let (l, r) = weigh(&input, 0, &mut scratch);
            accumulate(pan, 0, l, r, &mut two_l, &mut two_r);
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!((bits(&one_l), bits(&one_r)), (bits(&two_l), bits(&two_r)));
        }
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
