//! Test helpers shared by the processor tests: render a signal through a spec in blocks of
//! any size, and the signals the tests feed in. Compiled for tests only.

use super::primitives::curve::Timeline;
use super::{BuildEnv, Context, Processor, Spec};

/// Renders `left`/`right` through `processor`, `block` frames at a time.
pub fn render(
    processor: &mut dyn Processor,
    left: &[f32],
    right: &[f32],
    block: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (mut l, mut r) = (left.to_vec(), right.to_vec());
    let mut start = 0;
    for (bl, br) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
        processor.process(bl, br, &Context { start: start as u64, sidechains: &[] });
        start += bl.len();
    }
    (l, r)
}

/// Builds `spec` at `sample_rate` and renders the signal in 4096-frame blocks.
pub fn render_spec(
    spec: &impl Spec,
    sample_rate: f64,
    left: &[f32],
    right: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let env = BuildEnv { sample_rate, max_block: 4096 };
    render(spec.build(&env).as_mut(), left, right, 4096)
}

/// Something that builds a processor ready to run.
pub type Build<'a> = dyn Fn(&BuildEnv) -> Box<dyn Processor> + 'a;

/// Builds a processor with `build` at `sample_rate` and renders the signal in 4096-frame
/// blocks.
pub fn render_with(
    build: &Build<'_>,
    sample_rate: f64,
    left: &[f32],
    right: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let env = BuildEnv { sample_rate, max_block: 4096 };
    render(build(&env).as_mut(), left, right, 4096)
}

/// Renders the signal in blocks of 1, 64 and 4096 frames and asserts that the outputs are
/// bit-identical and finite.
pub fn assert_block_size_independent(
    spec: &impl Spec,
    sample_rate: f64,
    left: &[f32],
    right: &[f32],
) {
    assert_blocks_agree(&|env| spec.build(env), sample_rate, left, right);
}

/// [`assert_block_size_independent`] for a processor that `build` makes.
pub fn assert_blocks_agree(build: &Build<'_>, sample_rate: f64, left: &[f32], right: &[f32]) {
    let outputs: Vec<_> = [1, 64, 4096]
        .into_iter()
        .map(|block| {
            let env = BuildEnv { sample_rate, max_block: block };
            render(build(&env).as_mut(), left, right, block)
        })
        .collect();
    for (l, r) in &outputs {
        assert!(l.iter().chain(r).all(|x| x.is_finite()), "non-finite output");
    }
    for other in &outputs[1..] {
        let same = bits(&other.0) == bits(&outputs[0].0) && bits(&other.1) == bits(&outputs[0].1);
        assert!(same, "output depends on the block size");
    }
}

/// Feeds noise with a NaN and infinities in it and asserts that the output is finite and
/// bit-identical to the output for the same noise with those samples silent.
pub fn assert_non_finite_input_is_silence(spec: &impl Spec, sample_rate: f64) {
    assert_non_finite_is_silence_with(&|env| spec.build(env), sample_rate);
}

/// [`assert_non_finite_input_is_silence`] for a processor that `build` makes.
pub fn assert_non_finite_is_silence_with(build: &Build<'_>, sample_rate: f64) {
    let clean = noise(6000, 77);
    let mut bad = clean.clone();
    let mut silenced = clean.clone();
    for (n, v) in [(100, f32::NAN), (200, f32::INFINITY), (300, f32::NEG_INFINITY)] {
        bad[n] = v;
        silenced[n] = 0.0;
    }
    let (l, r) = render_with(build, sample_rate, &bad, &bad);
    let (want_l, want_r) = render_with(build, sample_rate, &silenced, &silenced);
    assert!(l.iter().chain(&r).all(|v| v.is_finite()), "non-finite output");
    let same = bits(&l) == bits(&want_l) && bits(&r) == bits(&want_r);
    assert!(same, "a bad sample left a trace");
}

/// The bit patterns of `x`, to compare signals exactly (signed zeros and NaNs included).
pub fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// A unit impulse at frame 0 followed by silence.
pub fn impulse(len: usize) -> Vec<f32> {
    let mut x = vec![0.0; len];
    x[0] = 1.0;
    x
}

/// Deterministic white noise in -1..1 from a 64-bit xorshift.
pub fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

/// Automation from `from` at 0 s to `to` at `seconds`.
pub fn ramp(from: f64, to: f64, seconds: f64) -> Timeline {
    Timeline(vec![(0.0, from), (seconds, to)])
}
/// A sine of `amplitude` at `freq` Hz.
pub fn sine(len: usize, freq: f64, amplitude: f64, sample_rate: f64) -> Vec<f32> {
    (0..len)
        .map(|n| {
            (amplitude * (2.0 * std::f64::consts::PI * freq * n as f64 / sample_rate).sin()) as f32
        })
        .collect()
}
