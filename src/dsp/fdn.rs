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

use super::one_pole::OnePole;
use super::ring::Ring;

/// The number of delay lines.
pub const LINES: usize = 16;

/// Frames between two computed points of the modulation; values in between are linear.
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

/// A 64-bit splitmix generator: a deterministic stream from the node's seed.
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
    cell: u64,
    at_cell_start: [f64; LINES],
    slope: [f64; LINES],
}

impl Modulation {
    fn new(sample_rate: f64, seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let (low, high) = MODULATION_RATES;
        let rates = std::array::from_fn(|_| (low + (high - low) * rng.unit()) / sample_rate);
        let phases = std::array::from_fn(|_| rng.unit());
        Self {
            rates,
            phases,
            depth: MODULATION_DEPTH_S * sample_rate,
            cell: u64::MAX,
            at_cell_start: [0.0; LINES],
            slope: [0.0; LINES],
        }
    }

    fn value(&self, line: usize, frame: u64) -> f64 {
        let cycles = (self.rates[line] * frame as f64 + self.phases[line]).fract();
        self.depth * (TAU * cycles).sin()
    }

    /// The length offset of every line at `frame`, in frames.
    #[inline]
    fn offsets(&mut self, frame: u64) -> [f64; LINES] {
        let cell = frame / MODULATION_GRID;
        if cell != self.cell {
            let (a, b) = (cell * MODULATION_GRID, (cell + 1) * MODULATION_GRID);
            for i in 0..LINES {
                self.at_cell_start[i] = self.value(i, a);
                self.slope[i] = (self.value(i, b) - self.at_cell_start[i]) / MODULATION_GRID as f64;
            }
            self.cell = cell;
        }
        let t = (frame % MODULATION_GRID) as f64;
        std::array::from_fn(|i| self.at_cell_start[i] + self.slope[i] * t)
    }

    fn depth(&self) -> f64 {
        self.depth
    }
}

/// The network: stereo in, stereo out, one frame at a time.
pub struct Fdn {
    lines: Vec<Ring>,
    lengths: [f64; LINES],
    loss: Vec<OnePole>,
    interpolator: [f64; LINES],
    modulation: Modulation,
    input_gain: f64,
    taps: [[f64; LINES]; 2],
}

impl Fdn {
    /// A network with the given line `lengths` (frames, each well above the modulation
    /// depth), decaying as `decay`, its modulation drawn from `seed`.
    #[must_use]
    pub fn new(lengths: [usize; LINES], decay: &Decay, sample_rate: f64, seed: u64) -> Self {
        let modulation = Modulation::new(sample_rate, seed);
        let reach = modulation.depth().ceil() as usize + 2;
        let lengths = lengths.map(|n| n as f64);
        Self {
            lines: lengths.iter().map(|&n| Ring::new(n as usize + reach)).collect(),
            loss: lengths.iter().map(|&n| decay.loss_filter(n, sample_rate)).collect(),
            lengths,
            interpolator: [0.0; LINES],
            modulation,
            input_gain: (2.0 / LINES as f64).sqrt(),
            taps: output_taps(),
        }
    }

    /// The longest line, in frames.
    #[must_use]
    pub fn longest(&self) -> usize {
        self.lengths.iter().fold(0.0, |a: f64, &b| a.max(b)) as usize
    }

    /// Runs one frame: takes the diffused input, returns the two output channels.
    #[inline]
    pub fn tick(&mut self, frame: u64, left: f64, right: f64) -> (f64, f64) {
        let offsets = self.modulation.offsets(frame);
        let mut x = [0.0; LINES];
        for (i, x) in x.iter_mut().enumerate() {
            // First-order all-pass interpolation with the fraction kept in [0.5, 1.5),
            // where its coefficient stays small and its phase delay is well behaved.
            let delay = self.lengths[i] + offsets[i];
            let whole = (delay - 0.5).floor();
            let fraction = delay - whole;
            let a = (1.0 - fraction) / (1.0 + fraction);
            let n = whole as usize;
            let line = &self.lines[i];
            let y = a * f64::from(line.read(n)) + f64::from(line.read(n + 1))
                - a * self.interpolator[i];
            self.interpolator[i] = y;
            *x = self.loss[i].process(y);
        }
        hadamard(&mut x);
        let (mut out_l, mut out_r) = (0.0, 0.0);
        for (i, &fed_back) in x.iter().enumerate() {
            let input = if i % 2 == 0 { left } else { right };
            let u = fed_back + self.input_gain * SIGNS[i] * input;
            self.lines[i].push(if u.abs() > 1e-30 { u as f32 } else { 0.0 });
            out_l += self.taps[0][i] * fed_back;
            out_r += self.taps[1][i] * fed_back;
        }
        (out_l, out_r)
    }
}

/// The weight of each line in the left and the right output. Each output is a unit vector
/// of ±1/4 built from Walsh patterns times the input signs, so the two outputs are
/// orthogonal (decorrelated tails) and both are orthogonal to the input vectors: the input
/// reaches the outputs only after it has been through the lines.
fn output_taps() -> [[f64; LINES]; 2] {
    let tap = |i: usize, even: usize, odd: usize| {
        let pattern = if i % 2 == 0 { WALSH[even] } else { WALSH[odd] };
        0.25 * SIGNS[i] * pattern[i / 2]
    };
    [std::array::from_fn(|i| tap(i, 0, 1)), std::array::from_fn(|i| tap(i, 2, 3))]
}

/// The orthonormal 16×16 Hadamard transform in place (a fast Walsh–Hadamard butterfly).
#[inline]
fn hadamard(x: &mut [f64; LINES]) {
    let mut h = 1;
    while h < LINES {
        for start in (0..LINES).step_by(2 * h) {
            for j in start..start + h {
                let (a, b) = (x[j], x[j + h]);
                x[j] = a + b;
                x[j + h] = a - b;
            }
        }
        h *= 2;
    }
    for v in x.iter_mut() {
        *v *= 0.25;
    }
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
        let mut fdn = Fdn::new(lengths, &decay, 48000.0, 3);
        // Modulation moves a line by up to 12 frames at 48 kHz; interpolation adds two.
        let out: Vec<(f64, f64)> =
            (0..200).map(|n| fdn.tick(n, f64::from(u8::from(n == 0)), 0.0)).collect();
        let first = out.iter().position(|&(l, r)| l != 0.0 || r != 0.0).unwrap();
        assert!((101 - 14..=101 + 14).contains(&first), "{first}");
    }
}
