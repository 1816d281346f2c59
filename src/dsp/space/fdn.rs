//! A 16-line feedback delay network: the late reverberation of `reverb`. It owns the
//! delay lines, their loss filters, the Hadamard mixing and the slow modulation of the line
//! lengths; it knows nothing of predelay, diffusion or dry/wet.
//!
//! The feedback matrix is an orthonormal Hadamard matrix, so with every line attenuated by
//! `γ^length` all modes decay at the same rate and the RT60 follows from `γ` exactly. The
//! loss filters make that rate depend on frequency. Line lengths glide by a fraction of a
//! millisecond through all-pass interpolation, which is lossless, so modulation smooths the
//! modal pattern without shortening the decay.

use std::f64::consts::TAU;
use std::ops::{Add, Mul, Sub};

use crate::dsp::primitives::one_pole::OnePole;

/// The number of delay lines.
pub const LINES: usize = 16;

/// Frames between two computed points of the modulation; in between, each line reads at a
/// fixed whole delay and its interpolation coefficient moves linearly.
const MODULATION_GRID: u64 = 32;

/// Peak change of each line length, in seconds.
const MODULATION_DEPTH_S: f64 = 0.000_25;

/// The range of the modulation rates, in Hz.
const MODULATION_RATES: (f64, f64) = (0.15, 0.85);

/// The sign with which each line takes its input: left feeds the even lines, right the
/// odd ones.
const SIGNS: [f64; LINES] =
    [1., 1., -1., 1., -1., -1., 1., -1., 1., -1., -1., 1., 1., 1., -1., -1.];

/// Zero-sum, mutually orthogonal sign patterns over eight lines (Walsh functions).
const WALSH: [[f64; 8]; 4] = [
    [1., -1., 1., -1., 1., -1., 1., -1.],
    [1., 1., -1., -1., 1., 1., -1., -1.],
    [1., -1., -1., 1., 1., -1., -1., 1.],
    [1., 1., 1., 1., -1., -1., -1., -1.],
];

/// How the reverb's decay depends on frequency, given per line.
#[derive(Debug, Clone, Copy)]
pub struct Decay {
    /// RT60 at DC, in seconds.
    pub rt60_dc: f64,
    /// RT60 at `omega`, in seconds, at most `rt60_dc`.
    pub rt60_at: f64,
    /// The angular frequency (radians per frame) where `rt60_at` holds.
    pub omega: f64,
}

impl Decay {
    /// The loss filter for a line of `length` frames: its gain at each frequency is the
    /// level the decay allows to be lost in one pass, `10^(-3·length / (fs·RT60))`.
    #[must_use]
    pub fn loss_filter(&self, length: f64, sample_rate: f64) -> OnePole {
        let pass = |rt60: f64| 10f64.powf(-3.0 * length / (sample_rate * rt60));
        OnePole::damping(pass(self.rt60_dc), pass(self.rt60_at), self.omega)
    }
}

/// Where the modulation rates and phases are drawn from. One fixed seed, as a hardware or
/// plug-in reverb has one fixed modulation: the room stays the same whatever changes
/// upstream of it, so a fader move before a reverb scales its return and nothing else.
const MODULATION_SEED: u64 = 0x6d69_7864_6f77_6e21;

/// A 64-bit splitmix generator: a deterministic stream from [`MODULATION_SEED`].
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One sine LFO per line, evaluated on an absolute grid of frames so that the output is
/// the same whatever the block size.
struct Modulation {
    /// Cycles per frame.
    rates: [f64; LINES],
    /// Phases in cycles.
    phases: [f64; LINES],
    depth: f64,
}

impl Modulation {
    fn new(sample_rate: f64) -> Self {
        let mut rng = SplitMix(MODULATION_SEED);
        let (low, high) = MODULATION_RATES;
        let rates = std::array::from_fn(|_| (low + (high - low) * rng.unit()) / sample_rate);
        let phases = std::array::from_fn(|_| rng.unit());
        Self { rates, phases, depth: MODULATION_DEPTH_S * sample_rate }
    }

    /// The length offset of every line at `frame`, in frames.
    fn offsets(&self, frame: u64) -> [f64; LINES] {
        std::array::from_fn(|i| {
            let cycles = self.rates[i] * frame as f64 + self.phases[i];
            self.depth * sine(cycles - (cycles as u64) as f64)
        })
    }
}

/// `sin(2π·cycles)` for `cycles` in `[0, 1)`, from a polynomial within 4e-6 of it: plain
/// arithmetic, so the modulation is the same on every platform, unlike a libm call.
fn sine(cycles: f64) -> f64 {
    // sin(2π·c) = sin(2π·(1/2 − c)); folded onto a quarter period around zero, where the
    // odd Taylor series to θ⁹ is within (π/2)¹¹/11! of the sine.
    let mut x = 0.5 - cycles;
    if x > 0.25 {
        x = 0.5 - x;
    } else if x < -0.25 {
        x = -0.5 - x;
    }
    let theta = TAU * x;
    let t2 = theta * theta;
    let series = 1.0 - t2 / 6.0 * (1.0 - t2 / 20.0 * (1.0 - t2 / 42.0 * (1.0 - t2 / 72.0)));
    theta * series
}

/// The coefficient of a first-order all-pass whose delay at low frequencies is `fraction`.
fn allpass_coefficient(fraction: f64) -> f64 {
    (1.0 - fraction) / (1.0 + fraction)
}

/// Flushes a value far below hearing to zero, so that a decaying loop never reaches the
/// slow denormal range.
#[inline]
fn flush(x: f32) -> f32 {
    if x.abs() > 1e-30 { x } else { 0.0 }
}

/// The network: stereo in, stereo out, one frame at a time.
///
/// Its state is `f32`: the lines store `f32` anyway, and neither the loss filters (poles
/// far from the unit circle) nor the interpolators need more. Every per-line quantity is a
/// fixed array of `LINES`, so the arithmetic runs on all lines at once.
pub struct Fdn {
    /// Every line's ring, one after another, each `span` frames long.
    lines: Vec<f32>,
    /// `span - 1`, with `span` a power of two that holds the longest modulated line.
    mask: usize,
    /// Where the next frame goes in each ring.
    write: usize,
    lengths: [f64; LINES],
    modulation: Modulation,
    /// The grid cell the read positions below belong to.
    cell: u64,
    /// Each line's offsets at the start of the next cell, kept for when it comes.
    next_offsets: [f64; LINES],
    /// The whole part of each line's delay during the cell.
    whole: [usize; LINES],
    /// The interpolating all-pass coefficient at the start of the cell, and its change per
    /// frame: linear in between, within 3e-4 of the exact coefficient, which moves by less
    /// than 0.05 frames of delay per cell.
    coefficient: [f32; LINES],
    coefficient_step: [f32; LINES],
    /// Each line's sample one frame older than the one it reads next.
    older: [f32; LINES],
    interpolator: [f32; LINES],
    loss_gain: [f32; LINES],
    loss_pole: [f32; LINES],
    loss_state: [f32; LINES],
    /// The gain with which each line takes its input channel, sign included.
    input_gains: [f32; LINES],
    taps: [[f32; LINES]; 2],
}

impl Fdn {
    /// A network with the given line `lengths` (frames, each well above the modulation
    /// depth), decaying as `decay`.
    #[must_use]
    pub fn new(lengths: [usize; LINES], decay: &Decay, sample_rate: f64) -> Self {
        let modulation = Modulation::new(sample_rate);
        let reach = modulation.depth.ceil() as usize + 2;
        let span = (lengths.iter().max().copied().unwrap_or(0) + reach + 3).next_power_of_two();
        let lengths = lengths.map(|n| n as f64);
        let loss = lengths.map(|n| decay.loss_filter(n, sample_rate).coefficients());
        debug_assert!(loss.iter().all(|&(_, b1, _)| b1 == 0.0), "loss filters are all-pole");
        let input_gain = (2.0 / LINES as f64).sqrt();
        Self {
            lines: vec![0.0; LINES * span],
            mask: span - 1,
            write: 0,
            lengths,
            modulation,
            cell: u64::MAX,
            next_offsets: [0.0; LINES],
            whole: [0; LINES],
            coefficient: [0.0; LINES],
            coefficient_step: [0.0; LINES],
            older: [0.0; LINES],
            interpolator: [0.0; LINES],
            loss_gain: loss.map(|(b0, _, _)| b0 as f32),
            loss_pole: loss.map(|(_, _, pole)| pole as f32),
            loss_state: [0.0; LINES],
            input_gains: SIGNS.map(|s| (input_gain * s) as f32),
            taps: output_taps().map(|side| side.map(|t| t as f32)),
        }
    }

    /// The longest line, in frames.
    #[must_use]
    pub fn longest(&self) -> usize {
        self.lengths.iter().fold(0.0, |a: f64, &b| a.max(b)) as usize
    }

    /// Sets the read positions and interpolation for grid cell `cell` from the modulation
    /// at its two ends.
    fn enter_cell(&mut self, cell: u64) {
        let start = if cell == self.cell.wrapping_add(1) {
            self.next_offsets
        } else {
            self.modulation.offsets(cell * MODULATION_GRID)
        };
        self.next_offsets = self.modulation.offsets((cell + 1) * MODULATION_GRID);
        let span = self.mask + 1;
        for (i, (&from, &to)) in start.iter().zip(&self.next_offsets).enumerate() {
            let (from, to) = (self.lengths[i] + from, self.lengths[i] + to);
            // First-order all-pass interpolation with the fraction starting the cell in
            // [0.5, 1.5), where its coefficient stays small and its phase delay is well
            // behaved; within the cell it strays by under 0.05.
            let whole = (from - 0.5) as usize;
            let a = allpass_coefficient(from - whole as f64);
            let b = allpass_coefficient(to - whole as f64);
            self.whole[i] = whole;
            self.coefficient[i] = a as f32;
            self.coefficient_step[i] = ((b - a) / MODULATION_GRID as f64) as f32;
            self.older[i] = self.lines[i * span + (self.write.wrapping_sub(whole + 1) & self.mask)];
        }
        self.cell = cell;
    }

    /// Runs one frame: takes the diffused input, returns the two output channels.
    #[inline]
    pub fn tick(&mut self, frame: u64, left: f64, right: f64) -> (f64, f64) {
        let cell = frame / MODULATION_GRID;
        if cell != self.cell {
            self.enter_cell(cell);
        }
        let span = self.mask + 1;
        // Built lane by lane in registers: a wide read of sixteen narrow stores would stall.
        let newer: [f32; LINES] = std::array::from_fn(|i| {
            self.lines[i * span + (self.write.wrapping_sub(self.whole[i]) & self.mask)]
        });
        let older = std::mem::replace(&mut self.older, newer);
        let t = (frame % MODULATION_GRID) as f32;
        let mut x = [0.0f32; LINES];
        for i in 0..LINES {
            let a = self.coefficient[i] + self.coefficient_step[i] * t;
            let y = flush(a * (newer[i] - self.interpolator[i]) + older[i]);
            self.interpolator[i] = y;
            let z = flush(self.loss_gain[i] * y + self.loss_pole[i] * self.loss_state[i]);
            self.loss_state[i] = z;
            x[i] = z;
        }
        hadamard(&mut x);
        let (left, right) = (left as f32, right as f32);
        let fed: [f32; LINES] = std::array::from_fn(|i| {
            let input = if i % 2 == 0 { left } else { right };
            flush(x[i] + self.input_gains[i] * input)
        });
        for (line, &u) in self.lines.chunks_exact_mut(span).zip(&fed) {
            line[self.write] = u;
        }
        self.write = (self.write + 1) & self.mask;
        let (out_l, out_r) = tap_outputs(&self.taps, &x);
        (f64::from(out_l), f64::from(out_r))
    }
}

/// The two output channels: each is the sum of the lines weighted by its taps, added in
/// four interleaved partial sums so that the additions run side by side.
#[inline]
fn tap_outputs(taps: &[[f32; LINES]; 2], x: &[f32; LINES]) -> (f32, f32) {
    let mut sums = [[0.0f32; 4]; 2];
    for (side, sum) in sums.iter_mut().enumerate() {
        for k in 0..LINES / 4 {
            for j in 0..4 {
                sum[j] += taps[side][4 * k + j] * x[4 * k + j];
            }
        }
    }
    let total = |s: [f32; 4]| (s[0] + s[2]) + (s[1] + s[3]);
    (total(sums[0]), total(sums[1]))
}

/// The weight of each line in the left and the right output. Each output is a unit vector
/// of ±1/4 built from Walsh patterns times the input signs, so the two outputs are
/// orthogonal (decorrelated tails) and both are orthogonal to the input vectors: the input
/// reaches the outputs only after it has been through the lines.
fn output_taps() -> [[f64; LINES]; 2] {
    let tap = |i: usize, even: usize, odd: usize| {
        let pattern = if i.is_multiple_of(2) { WALSH[even] } else { WALSH[odd] };
        0.25 * SIGNS[i] * pattern[i / 2]
    };
    [std::array::from_fn(|i| tap(i, 0, 1)), std::array::from_fn(|i| tap(i, 2, 3))]
}

/// An orthonormal 16×16 Hadamard transform in place: every output is ±1/4 times every
/// input. With the lines as the rows of a 4×4 matrix `M`, the Sylvester transform is
/// `H₄·M·H₄`; this computes its transpose, `H₄·Mᵀ·H₄`, which is the same matrix with its
/// rows reordered and takes only butterflies between whole rows and one transposition, so
/// it runs on four lines at a time.
#[inline]
fn hadamard<T>(x: &mut [T; LINES])
where
    T: Copy + From<f32> + Add<Output = T> + Sub<Output = T> + Mul<Output = T>,
{
    let rows: [[T; 4]; 4] = std::array::from_fn(|r| std::array::from_fn(|c| x[4 * r + c]));
    let mixed = mix_rows(rows);
    let columns: [[T; 4]; 4] = std::array::from_fn(|r| std::array::from_fn(|c| mixed[c][r]));
    let out = mix_rows(columns);
    let scale = T::from(0.25);
    for (r, row) in out.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            x[4 * r + c] = v * scale;
        }
    }
}

/// `H₄·M`: the 4-point Walsh–Hadamard butterflies between the rows of `m`.
#[inline]
fn mix_rows<T>(m: [[T; 4]; 4]) -> [[T; 4]; 4]
where
    T: Copy + Add<Output = T> + Sub<Output = T>,
{
    let sum = |a: [T; 4], b: [T; 4]| -> [T; 4] { std::array::from_fn(|k| a[k] + b[k]) };
    let diff = |a: [T; 4], b: [T; 4]| -> [T; 4] { std::array::from_fn(|k| a[k] - b[k]) };
    let (s01, d01, s23, d23) =
        (sum(m[0], m[1]), diff(m[0], m[1]), sum(m[2], m[3]), diff(m[2], m[3]));
    [sum(s01, s23), sum(d01, d23), diff(s01, s23), diff(d01, d23)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mixing_matrix_keeps_energy() {
        // An orthonormal matrix preserves the sum of squares; rounding is below 1e-12.
        let mut x: [f64; LINES] = std::array::from_fn(|i| (i as f64 * 0.37).sin());
        let before: f64 = x.iter().map(|v| v * v).sum();
        hadamard(&mut x);
        let after: f64 = x.iter().map(|v| v * v).sum();
        assert!((before - after).abs() < 1e-12, "{before} {after}");
    }

    #[test]
    fn every_line_feeds_every_line_with_a_quarter_of_its_level() {
        // Each column of the mixing matrix is ±1/4 everywhere: exact in binary.
        for k in 0..LINES {
            let mut x = [0.0f64; LINES];
            x[k] = 1.0;
            hadamard(&mut x);
            assert!(x.iter().all(|v| v.abs() == 0.25), "line {k}: {x:?}");
        }
    }

    #[test]
    fn the_modulation_sine_is_within_4e_6_of_the_sine() {
        // The Taylor remainder on the folded quarter period is (π/2)¹¹/11! = 3.6e-6.
        for k in 0..10_000 {
            let cycles = f64::from(k) / 10_000.0;
            let error = (sine(cycles) - (TAU * cycles).sin()).abs();
            assert!(error < 4e-6, "{cycles}: {error}");
        }
    }

    #[test]
    fn the_output_taps_are_orthogonal_unit_vectors_and_miss_the_inputs() {
        // Sums of ±1/16 are exact in binary.
        let [l, r] = output_taps();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        assert!(dot(&l, &r).abs() < 1e-15);
        assert!((dot(&l, &l) - 1.0).abs() < 1e-15 && (dot(&r, &r) - 1.0).abs() < 1e-15);
        for side in 0..2 {
            let input: [f64; LINES] =
                std::array::from_fn(|i| if i % 2 == side { SIGNS[i] } else { 0.0 });
            assert!(dot(&l, &input).abs() < 1e-15 && dot(&r, &input).abs() < 1e-15);
        }
    }

    #[test]
    fn an_impulse_reaches_the_output_only_after_the_shortest_line() {
        let decay = Decay { rt60_dc: 1.0, rt60_at: 1.0, omega: 1.0 };
        let lengths: [usize; LINES] = std::array::from_fn(|i| 101 + 2 * i);
        let mut fdn = Fdn::new(lengths, &decay, 48000.0);
        // Modulation moves a line by up to 12 frames at 48 kHz; interpolation adds two.
        let out: Vec<(f64, f64)> =
            (0..200).map(|n| fdn.tick(n, f64::from(u8::from(n == 0)), 0.0)).collect();
        let first = out.iter().position(|&(l, r)| l != 0.0 || r != 0.0).unwrap();
        assert!((101 - 14..=101 + 14).contains(&first), "{first}");
    }
}
