//! A sum node (a bus or the master): each input weighted by its fader or send level and
//! panned, summed in declaration order, then the bus chain.

use rayon::prelude::*;

use super::NodeError;
use super::inputs::Stream;
use super::job::Job;
use super::stream::read_full;
use crate::dsp::BLOCK_FRAMES;
use crate::dsp::curve::{Curve, GainCurve};
use crate::dsp::gain::apply_gain;
use crate::dsp::step::Step;
use crate::graph::Feed;
use crate::units::{Decibels, Param};

/// One input of the sum, ready to read.
struct Weighted {
    stream: Box<dyn Stream>,
    gains: Vec<GainCurve>,
    pan: Option<Curve>,
    /// This input's current block, after its gains.
    block: [Vec<f32>; 2],
    /// Frames of real audio in `block` (0 once the input has ended).
    filled: usize,
}

impl Weighted {
    /// Reads this input's block at `position` and applies its gains.
    fn load(&mut self, position: u64, n: usize) -> Result<(), NodeError> {
        let [l, r] = &mut self.block;
        self.filled = read_full(self.stream.as_mut(), &mut l[..n], &mut r[..n])?;
        if self.filled > 0 {
            for g in &self.gains {
                apply_gain(g, position, &mut l[..n], &mut r[..n]);
            }
        }
        Ok(())
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
            block: [vec![0.0; BLOCK_FRAMES], vec![0.0; BLOCK_FRAMES]],
            filled: 0,
        });
    }
    let master_gain = GainCurve::from_seconds(&gain.points(), rate);
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
            // wait on a pipe.
            if rayon::current_thread_index().is_some() {
                inputs.par_iter_mut().try_for_each(|input| input.load(position, n))?;
            } else {
                inputs.iter_mut().try_for_each(|input| input.load(position, n))?;
            }
            for input in inputs.iter().filter(|i| i.filled > 0) {
                let [sl, sr] = &input.block;
                accumulate(input.pan.as_ref(), position, &sl[..n], &sr[..n], left, right);
            }
            apply_gain(&master_gain, position, left, right);
            Ok(())
        },
    )
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
