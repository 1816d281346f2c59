//! Second-order IIR sections: the RBJ-cookbook designs, their analytic response, and the
//! stereo kernel that runs a cascade of them over a block.
//!
//! Every design is the bilinear transform of an analog prototype, prewarped so that its
//! frequency lands exactly where it was asked for. Coefficients and state are `f64`; the
//! sections are direct form I (`StereoState` says why). This is the hot path of every
//! render, so the kernel runs both channels and every section in one pass, keeps the state
//! in registers, and leaves nothing in the per-frame loop but arithmetic: no bounds checks,
//! no calls and no branches. The output is clamped and flushed in a pass of its own.
//!
//! This module only filters: when to retune and what a parameter means belong to the
//! processors that use it.

use std::f64::consts::PI;
use std::ops::Range;

use crate::dsp::sanitize;

/// Frames between coefficient updates of automated filters. Updates happen at absolute
/// frames that are multiples of this, so the output never depends on the block size.
pub const RETUNE_FRAMES: u64 = 32;

/// Frames between flushes of vanishing filter state to zero, on the absolute frame grid.
/// A multiple of [`RETUNE_FRAMES`], so that both grids split a block at the same points.
const FLUSH_FRAMES: u64 = 1024;

/// Lowest frequency a design accepts; lower requests are raised to it, because the poles
/// would otherwise sit so close to the unit circle that the filter rings for minutes.
const MIN_FREQ_HZ: f64 = 1.0;

/// Highest design frequency as a fraction of the sample rate. At Nyquist the bilinear
/// transform folds every frequency onto one point and the designs degenerate.
const MAX_FREQ_RATIO: f64 = 0.49;

/// How far below the excitation a section's ringing must fall before [`BiquadCoefficients::tail`]
/// calls it silent: the -90 dB of the render's tail rule, plus 30 dB of headroom for the
/// resonance of a high-Q section or the boost of a peak, which start the decay above the
/// input level.
const TAIL_DECAY_DB: f64 = 120.0;

/// The largest finite `f32`, as `f64`.
const F32_MAX: f64 = f32::MAX as f64;

/// Output magnitudes at or below this are written as exact zeros: far below hearing, and
/// above the `f32` denormal range (1.2e-38).
const SILENCE: f64 = 1e-30;

/// One biquad, normalised so that `a0 = 1`:
/// `H(z) = (b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiquadCoefficients {
    /// Feed-forward coefficient of the current input.
    pub b0: f64,
    /// Feed-forward coefficient of the input one frame back.
    pub b1: f64,
    /// Feed-forward coefficient of the input two frames back.
    pub b2: f64,
    /// Feedback coefficient of the output one frame back.
    pub a1: f64,
    /// Feedback coefficient of the output two frames back.
    pub a2: f64,
}

/// The prewarped angular quantities every cookbook design starts from.
struct Warp {
    cos: f64,
    /// `1 - cos(w0)`, computed as `2 sin²(w0/2)` so that it keeps its precision when the
    /// frequency is a tiny fraction of the sample rate.
    one_minus_cos: f64,
    alpha: f64,
}

impl Warp {
    fn new(sample_rate: f64, freq: f64, q: f64) -> Self {
        let w0 = 2.0 * PI * clamp_freq(sample_rate, freq) / sample_rate;
        let half_sin = (0.5 * w0).sin();
        Self {
            cos: w0.cos(),
            one_minus_cos: 2.0 * half_sin * half_sin,
            alpha: w0.sin() / (2.0 * q),
        }
    }
}

/// Keeps a design frequency inside the range where the bilinear transform is well behaved.
fn clamp_freq(sample_rate: f64, freq: f64) -> f64 {
    freq.clamp(MIN_FREQ_HZ, MAX_FREQ_RATIO * sample_rate)
}

impl BiquadCoefficients {
    /// The section that passes its input unchanged.
    pub const IDENTITY: Self = Self { b0: 1.0, b1: 0.0, b2: 0.0, a1: 0.0, a2: 0.0 };

    /// Divides through by `a0`.
    fn normalized(b: [f64; 3], a: [f64; 3]) -> Self {
        let inv = 1.0 / a[0];
        Self { b0: b[0] * inv, b1: b[1] * inv, b2: b[2] * inv, a1: a[1] * inv, a2: a[2] * inv }
    }

    /// A bell: `gain_db` at `freq`, with bandwidth set by `q`.
    #[must_use]
    pub fn peak(sample_rate: f64, freq: f64, q: f64, gain_db: f64) -> Self {
        let w = Warp::new(sample_rate, freq, q);
        let a = 10f64.powf(gain_db / 40.0);
        Self::normalized(
            [1.0 + w.alpha * a, -2.0 * w.cos, 1.0 - w.alpha * a],
            [1.0 + w.alpha / a, -2.0 * w.cos, 1.0 - w.alpha / a],
        )
    }

    /// A low shelf: `gain_db` below `freq`, half of it (in dB) at `freq`. A `q` of
    /// `1/√2` is the cookbook's shelf slope S = 1, the steepest without overshoot.
    #[must_use]
    pub fn low_shelf(sample_rate: f64, freq: f64, q: f64, gain_db: f64) -> Self {
        let w = Warp::new(sample_rate, freq, q);
        let a = 10f64.powf(gain_db / 40.0);
        let k = 2.0 * a.sqrt() * w.alpha;
        let (ap1, am1) = (a + 1.0, a - 1.0);
        Self::normalized(
            [
                a * (ap1 - am1 * w.cos + k),
                2.0 * a * (am1 - ap1 * w.cos),
                a * (ap1 - am1 * w.cos - k),
            ],
            [ap1 + am1 * w.cos + k, -2.0 * (am1 + ap1 * w.cos), ap1 + am1 * w.cos - k],
        )
    }

    /// A high shelf: `gain_db` above `freq`, half of it (in dB) at `freq`. A `q` of
    /// `1/√2` is the cookbook's shelf slope S = 1.
    #[must_use]
    pub fn high_shelf(sample_rate: f64, freq: f64, q: f64, gain_db: f64) -> Self {
        let w = Warp::new(sample_rate, freq, q);
        let a = 10f64.powf(gain_db / 40.0);
        let k = 2.0 * a.sqrt() * w.alpha;
        let (ap1, am1) = (a + 1.0, a - 1.0);
        Self::normalized(
            [
                a * (ap1 + am1 * w.cos + k),
                -2.0 * a * (am1 + ap1 * w.cos),
                a * (ap1 + am1 * w.cos - k),
            ],
            [ap1 - am1 * w.cos + k, 2.0 * (am1 - ap1 * w.cos), ap1 - am1 * w.cos - k],
        )
    }

    /// A 12 dB/oct highpass with corner `freq` and resonance `q` (`1/√2` is Butterworth).
    #[must_use]
    pub fn highpass(sample_rate: f64, freq: f64, q: f64) -> Self {
        let w = Warp::new(sample_rate, freq, q);
        let b = 2.0 - w.one_minus_cos;
        Self::normalized([0.5 * b, -b, 0.5 * b], [1.0 + w.alpha, -2.0 * w.cos, 1.0 - w.alpha])
    }

    /// A 12 dB/oct lowpass with corner `freq` and resonance `q` (`1/√2` is Butterworth).
    #[must_use]
    pub fn lowpass(sample_rate: f64, freq: f64, q: f64) -> Self {
        let w = Warp::new(sample_rate, freq, q);
        let b = w.one_minus_cos;
        Self::normalized([0.5 * b, b, 0.5 * b], [1.0 + w.alpha, -2.0 * w.cos, 1.0 - w.alpha])
    }

    /// A notch that removes `freq` completely; `q` sets how narrow it is.
    #[must_use]
    pub fn notch(sample_rate: f64, freq: f64, q: f64) -> Self {
        let w = Warp::new(sample_rate, freq, q);
        Self::normalized([1.0, -2.0 * w.cos, 1.0], [1.0 + w.alpha, -2.0 * w.cos, 1.0 - w.alpha])
    }

    /// A bandpass with 0 dB at `freq`; `q` sets how narrow it is.
    #[must_use]
    pub fn bandpass(sample_rate: f64, freq: f64, q: f64) -> Self {
        let w = Warp::new(sample_rate, freq, q);
        Self::normalized([w.alpha, 0.0, -w.alpha], [1.0 + w.alpha, -2.0 * w.cos, 1.0 - w.alpha])
    }

    /// A 6 dB/oct highpass with its -3 dB corner at `freq`.
    #[must_use]
    pub fn first_order_highpass(sample_rate: f64, freq: f64) -> Self {
        let k = (PI * clamp_freq(sample_rate, freq) / sample_rate).tan();
        Self::normalized([1.0, -1.0, 0.0], [1.0 + k, k - 1.0, 0.0])
    }

    /// A 6 dB/oct lowpass with its -3 dB corner at `freq`.
    #[must_use]
    pub fn first_order_lowpass(sample_rate: f64, freq: f64) -> Self {
        let k = (PI * clamp_freq(sample_rate, freq) / sample_rate).tan();
        Self::normalized([k, k, 0.0], [1.0 + k, k - 1.0, 0.0])
    }

    /// The analytic gain in dB of this section at `freq`.
    #[must_use]
    pub fn magnitude_db(&self, sample_rate: f64, freq: f64) -> f64 {
        // |H|² written in φ = sin²(w/2) rather than cos(w): it keeps its precision at
        // frequencies far below the sample rate, where cos(w) is 1 minus a rounding error.
        let phi = (PI * freq / sample_rate).sin().powi(2);
        let power = |p0: f64, p1: f64, p2: f64| {
            let sum = p0 + p1 + p2;
            sum * sum - 4.0 * phi * (p0 * p1 + p1 * p2 + 4.0 * p0 * p2) + 16.0 * phi * phi * p0 * p2
        };
        let num = power(self.b0, self.b1, self.b2).max(0.0);
        let den = power(1.0, self.a1, self.a2);
        10.0 * (num / den).log10()
    }

    /// The largest magnitude among the poles; below 1 for every design in this module.
    #[must_use]
    pub fn pole_radius(&self) -> f64 {
        let disc = self.a1 * self.a1 - 4.0 * self.a2;
        if disc < 0.0 { self.a2.sqrt() } else { 0.5 * (self.a1.abs() + disc.sqrt()) }
    }

    /// Frames this section keeps ringing after its input stops, until it is 90 dB down.
    #[must_use]
    pub fn tail(&self) -> usize {
        let r = self.pole_radius();
        if r <= 0.0 {
            // Only zeros: the output ends two frames after the input.
            return 2;
        }
        // ln(1/r) through ln_1p keeps its precision for poles a hair inside the circle.
        let decay_per_frame = -(r - 1.0).ln_1p();
        let nepers = TAIL_DECAY_DB / 20.0 * std::f64::consts::LN_10;
        (nepers / decay_per_frame).ceil() as usize + 2
    }
}

/// Direct-form-I state of one section (its last two inputs and outputs), left and right
/// side by side so that the compiler can run both channels in one vector register.
///
/// Direct form I rather than transposed form II: its only recurrence is through the
/// output, one multiply and one subtraction per frame, where TDF-II chains four operations
/// through its first state; a single section runs about twice as fast. In `f64` the two
/// forms are equally quiet, and form I also copes better with coefficients that change
/// under automation, since its state is plain signal history.
#[derive(Debug, Clone, Copy, Default)]
struct StereoState {
    x1: [f64; 2],
    x2: [f64; 2],
    y1: [f64; 2],
    y2: [f64; 2],
}

impl StereoState {
    /// Runs one frame through the section. The sum is grouped so that everything but
    /// `a1 * y1` is ready before the previous output is.
    #[inline]
    fn tick(&mut self, c: &BiquadCoefficients, x: [f64; 2]) -> [f64; 2] {
        let y = std::array::from_fn(|ch| {
            let feed_forward = c.b0 * x[ch] + c.b1 * self.x1[ch] + c.b2 * self.x2[ch];
            (feed_forward - c.a2 * self.y2[ch]) - c.a1 * self.y1[ch]
        });
        self.x2 = self.x1;
        self.x1 = x;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }

    /// Zeroes state too small to hear, so that a decaying filter never computes on
    /// denormals (which cost a hundred times more on common CPUs).
    fn flush(&mut self) {
        for v in [&mut self.x1, &mut self.x2, &mut self.y1, &mut self.y2].into_iter().flatten() {
            *v = sanitize(*v);
        }
    }
}

/// Hands an `f64` result back as an `f32` sample: values beyond the `f32` range (infinities
/// included) are held at its edge, and NaN and values too small to hear become 0.
#[inline]
#[must_use]
pub fn to_sample(x: f64) -> f32 {
    let x = x.clamp(-F32_MAX, F32_MAX);
    // NaN fails this comparison too, so it becomes 0.
    (if x.abs() > SILENCE { x } else { 0.0 }) as f32
}

/// [`to_sample`] for a block that holds `f64` results already rounded to `f32`: a pass of
/// its own, so that the filter kernels carry no per-frame branches.
fn settle(samples: &mut [f32]) {
    for x in samples {
        let held = x.clamp(-f32::MAX, f32::MAX);
        // NaN fails this comparison too, so it becomes 0.
        *x = if held.abs() > SILENCE as f32 { held } else { 0.0 };
    }
}

/// Sections run one after another on both channels of a stereo signal.
#[derive(Debug, Clone)]
pub struct BiquadCascade {
    coefficients: Vec<BiquadCoefficients>,
    states: Vec<StereoState>,
    /// The first frame of the retune cell the coefficients were last designed for.
    tuned_for: Option<u64>,
}

impl BiquadCascade {
    /// A cascade of `coefficients`, in order, starting from silence.
    #[must_use]
    pub fn new(coefficients: &[BiquadCoefficients]) -> Self {
        Self {
            coefficients: coefficients.to_vec(),
            states: vec![StereoState::default(); coefficients.len()],
            tuned_for: None,
        }
    }

    /// The sections, in processing order.
    #[must_use]
    pub fn coefficients(&self) -> &[BiquadCoefficients] {
        &self.coefficients
    }

    /// The analytic gain in dB of the whole cascade at `freq`.
    #[must_use]
    pub fn magnitude_db(&self, sample_rate: f64, freq: f64) -> f64 {
        self.coefficients.iter().map(|c| c.magnitude_db(sample_rate, freq)).sum()
    }

    /// Frames the cascade keeps ringing after its input stops, until it is 90 dB down:
    /// each section rings on from where the one before it stopped, so the tails add.
    #[must_use]
    pub fn tail(&self) -> usize {
        self.coefficients.iter().map(BiquadCoefficients::tail).sum()
    }

    /// Filters a block in place with fixed coefficients. `start` is the absolute frame of
    /// the block's first frame, which ties the state flushes to the song, not the block.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32], start: u64) {
        for_each_run(start, left.len(), FLUSH_FRAMES, |at, run| {
            if at % FLUSH_FRAMES == 0 {
                self.states.iter_mut().for_each(StereoState::flush);
            }
            run_sections(
                &self.coefficients,
                &mut self.states,
                &mut left[run.clone()],
                &mut right[run],
            );
        });
    }

    /// Filters a block in place, letting `retune(cell_start, coefficients)` redesign the
    /// sections once per [`RETUNE_FRAMES`] cell. `cell_start` is the cell's first absolute
    /// frame, so the coefficients depend on where the frame sits in the song and on
    /// nothing else. The state carries over, so a sweep does not click.
    pub fn process_retuned(
        &mut self,
        left: &mut [f32],
        right: &mut [f32],
        start: u64,
        mut retune: impl FnMut(u64, &mut [BiquadCoefficients]),
    ) {
        for_each_run(start, left.len(), RETUNE_FRAMES, |at, run| {
            let cell = at - at % RETUNE_FRAMES;
            if self.tuned_for != Some(cell) {
                retune(cell, &mut self.coefficients);
                self.tuned_for = Some(cell);
            }
            if at % FLUSH_FRAMES == 0 {
                self.states.iter_mut().for_each(StereoState::flush);
            }
            run_sections(
                &self.coefficients,
                &mut self.states,
                &mut left[run.clone()],
                &mut right[run],
            );
        });
    }
}

/// Calls `f(absolute_frame, range)` for consecutive runs of a block of `len` frames
/// starting at absolute frame `start`, split wherever the absolute frame is a multiple of
/// `grid`.
fn for_each_run(start: u64, len: usize, grid: u64, mut f: impl FnMut(u64, Range<usize>)) {
    let mut i = 0;
    while i < len {
        let at = start + i as u64;
        let to_boundary = (grid - at % grid) as usize;
        let end = len.min(i + to_boundary);
        f(at, i..end);
        i = end;
    }
}

/// Runs every section over the block, picking a kernel specialised for the section count
/// so that the state and coefficients live in registers.
fn run_sections(
    coefficients: &[BiquadCoefficients],
    states: &mut [StereoState],
    left: &mut [f32],
    right: &mut [f32],
) {
    match coefficients.len() {
        0 => {}
        1 => run_fixed::<1>(coefficients, states, left, right),
        2 => run_fixed::<2>(coefficients, states, left, right),
        3 => run_fixed::<3>(coefficients, states, left, right),
        4 => run_fixed::<4>(coefficients, states, left, right),
        5 => run_fixed::<5>(coefficients, states, left, right),
        6 => run_fixed::<6>(coefficients, states, left, right),
        7 => run_fixed::<7>(coefficients, states, left, right),
        8 => run_fixed::<8>(coefficients, states, left, right),
        _ => run_any(coefficients, states, left, right),
    }
}

/// The kernel for exactly `N` sections, with copies of state and coefficients in locals.
fn run_fixed<const N: usize>(
    coefficients: &[BiquadCoefficients],
    states: &mut [StereoState],
    left: &mut [f32],
    right: &mut [f32],
) {
    let c: [BiquadCoefficients; N] = std::array::from_fn(|k| coefficients[k]);
    let mut s: [StereoState; N] = std::array::from_fn(|k| states[k]);
    for (l, r) in left.iter_mut().zip(right.iter_mut()) {
        let mut x = [f64::from(*l), f64::from(*r)];
        for (state, coefficients) in s.iter_mut().zip(c.iter()) {
            x = state.tick(coefficients, x);
        }
        *l = x[0] as f32;
        *r = x[1] as f32;
    }
    states[..N].copy_from_slice(&s);
    settle(left);
    settle(right);
}

/// The kernel for any number of sections, with the state kept in memory.
fn run_any(
    coefficients: &[BiquadCoefficients],
    states: &mut [StereoState],
    left: &mut [f32],
    right: &mut [f32],
) {
    for (l, r) in left.iter_mut().zip(right.iter_mut()) {
        let mut x = [f64::from(*l), f64::from(*r)];
        for (state, coefficients) in states.iter_mut().zip(coefficients.iter()) {
            x = state.tick(coefficients, x);
        }
        *l = x[0] as f32;
        *r = x[1] as f32;
    }
    settle(left);
    settle(right);
}

/// Measurement helpers shared by the tests of every filter processor.
#[cfg(test)]
pub(crate) mod measure {
    use std::f64::consts::PI;

    use crate::dsp::probe::bits;

    /// Largest block the helpers hand a processor.
    pub(crate) const MAX_BLOCK: usize = 4096;

    /// Something that filters a stereo block in place, given the block's absolute start.
    pub(crate) type Run<'a> = dyn FnMut(&mut [f32], &mut [f32], u64) + 'a;

    /// Test frequencies: sixth-octave steps from 20 Hz, and 20 kHz.
    pub(crate) fn audio_band() -> Vec<f64> {
        (0..60).map(|k| 20.0 * 2f64.powf(f64::from(k) / 6.0)).chain([20_000.0]).collect()
    }

    /// Runs `frames` of (left, right) input through `run(left, right, start)` in blocks
    /// of `block` frames and returns the output.
    pub(crate) fn run_blocks(
        run: &mut Run<'_>,
        input: (&[f32], &[f32]),
        start: u64,
        block: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let (mut l, mut r) = (input.0.to_vec(), input.1.to_vec());
        let mut at = start;
        for (bl, br) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
            run(bl, br, at);
            at += bl.len() as u64;
        }
        (l, r)
    }

    /// The measured gain in dB of a processor at `freqs`, from its impulse response over
    /// its reported tail.
    pub(crate) fn processor_db(
        p: &mut dyn crate::dsp::Processor,
        sample_rate: f64,
        freqs: &[f64],
    ) -> Vec<f64> {
        let frames = p.tail();
        measured_db(
            &mut |l: &mut [f32], r: &mut [f32], start| {
                p.process(l, r, &crate::dsp::Context { start, sidechains: &[] });
            },
            sample_rate,
            frames,
            freqs,
        )
    }

    /// The gain in dB at each of `freqs`, measured as the DFT of the impulse response over
    /// `frames` frames. The right channel gets a half-size impulse and must agree.
    pub(crate) fn measured_db(
        run: &mut Run<'_>,
        sample_rate: f64,
        frames: usize,
        freqs: &[f64],
    ) -> Vec<f64> {
        let (mut l, mut r) = (vec![0.0f32; frames], vec![0.0f32; frames]);
        l[0] = 1.0;
        r[0] = 0.5;
        let (l, r) = run_blocks(run, (&l, &r), 0, MAX_BLOCK);
        freqs
            .iter()
            .map(|&f| {
                let db_l = dft_db(&l, 2.0 * PI * f / sample_rate);
                let db_r = dft_db(&r, 2.0 * PI * f / sample_rate) + 20.0 * 2f64.log10();
                // Both channels run the same f64 math; they differ only by the rounding of
                // their outputs to f32 (2^-24 relative per sample), far below 0.001 dB
                // wherever the response is within 60 dB of full scale.
                assert!((db_l - db_r).abs() < 1e-3 || db_l < -60.0, "{f} Hz: {db_l} vs {db_r}");
                db_l
            })
            .collect()
    }

    /// |Σ h[n] e^{-jwn}| in dB, with the phasor advanced by rotation.
    fn dft_db(h: &[f32], w: f64) -> f64 {
        let (step_re, step_im) = (w.cos(), -w.sin());
        let (mut re, mut im) = (0.0, 0.0);
        let (mut p_re, mut p_im) = (1.0f64, 0.0f64);
        for (n, &x) in h.iter().enumerate() {
            re += f64::from(x) * p_re;
            im += f64::from(x) * p_im;
            (p_re, p_im) = (p_re * step_re - p_im * step_im, p_re * step_im + p_im * step_re);
            if n % 4096 == 4095 {
                // Renormalise so rounding cannot grow the phasor over a long response.
                let norm = p_re.hypot(p_im);
                (p_re, p_im) = (p_re / norm, p_im / norm);
            }
        }
        10.0 * (re * re + im * im).log10()
    }

    /// A deterministic test signal: noise plus a low tone, about -6 dBFS.
    pub(crate) fn noise(frames: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..frames)
            .map(|n| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let white = f64::from(state) / f64::from(u32::MAX) - 0.5;
                (0.5 * white + 0.25 * (n as f64 * 0.01).sin()) as f32
            })
            .collect()
    }

    /// Asserts that block sizes 1, 64 and 4096 give bit-identical output, starting at an
    /// absolute frame that is not on any grid.
    pub(crate) fn assert_block_size_independent(
        build: &dyn Fn() -> Box<Run<'static>>,
        frames: usize,
    ) {
        let (l, r) = (noise(frames, 1), noise(frames, 2));
        let start = 1_000_003;
        let reference = run_blocks(&mut *build(), (&l, &r), start, MAX_BLOCK);
        for block in [1, 64] {
            let out = run_blocks(&mut *build(), (&l, &r), start, block);
            let same = bits(&out.0) == bits(&reference.0) && bits(&out.1) == bits(&reference.1);
            assert!(same, "block {block}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::FRAC_1_SQRT_2;

    use super::measure::{self, audio_band};
    use super::*;

    const RATES: [f64; 3] = [44_100.0, 48_000.0, 96_000.0];

    /// `|n2 s² + n1 s + n0| / |d2 s² + d1 s + d0|` in dB at `s = jΩ`: an analog prototype
    /// with coefficients listed from s² down.
    fn prototype_db(num: [f64; 3], den: [f64; 3], omega: f64) -> f64 {
        let power = |p: [f64; 3]| (p[2] - p[0] * omega * omega).powi(2) + (p[1] * omega).powi(2);
        10.0 * (power(num) / power(den)).log10()
    }

    /// Every design next to the analog prototype the cookbook derives it from.
    fn designs(
        fs: f64,
        f0: f64,
        q: f64,
        gain_db: f64,
    ) -> Vec<(&'static str, BiquadCoefficients, [f64; 3], [f64; 3])> {
        let a = 10f64.powf(gain_db / 40.0);
        let sa = a.sqrt();
        vec![
            (
                "lowpass",
                BiquadCoefficients::lowpass(fs, f0, q),
                [0.0, 0.0, 1.0],
                [1.0, 1.0 / q, 1.0],
            ),
            (
                "highpass",
                BiquadCoefficients::highpass(fs, f0, q),
                [1.0, 0.0, 0.0],
                [1.0, 1.0 / q, 1.0],
            ),
            (
                "bandpass",
                BiquadCoefficients::bandpass(fs, f0, q),
                [0.0, 1.0 / q, 0.0],
                [1.0, 1.0 / q, 1.0],
            ),
            ("notch", BiquadCoefficients::notch(fs, f0, q), [1.0, 0.0, 1.0], [1.0, 1.0 / q, 1.0]),
            (
                "peak",
                BiquadCoefficients::peak(fs, f0, q, gain_db),
                [1.0, a / q, 1.0],
                [1.0, 1.0 / (a * q), 1.0],
            ),
            (
                "low_shelf",
                BiquadCoefficients::low_shelf(fs, f0, q, gain_db),
                [a, a * sa / q, a * a],
                [a, sa / q, 1.0],
            ),
            (
                "high_shelf",
                BiquadCoefficients::high_shelf(fs, f0, q, gain_db),
                [a * a, a * sa / q, a],
                [1.0, sa / q, a],
            ),
            (
                "first_order_lowpass",
                BiquadCoefficients::first_order_lowpass(fs, f0),
                [0.0, 0.0, 1.0],
                [0.0, 1.0, 1.0],
            ),
            (
                "first_order_highpass",
                BiquadCoefficients::first_order_highpass(fs, f0),
                [0.0, 1.0, 0.0],
                [0.0, 1.0, 1.0],
            ),
        ]
    }

    #[test]
    fn every_design_is_its_analog_prototype_at_the_prewarped_frequency() {
        // The bilinear transform prewarped at f0 maps f to Ω = tan(πf/fs) / tan(πf0/fs)
        // exactly, so the only difference is f64 rounding: 1e-6 dB is a million times
        // the rounding of the coefficients and far below anything audible.
        for fs in RATES {
            for f0 in [20.0, 250.0, 3_000.0, 20_000.0] {
                for (q, gain) in [(FRAC_1_SQRT_2, 6.0), (4.0, -12.0), (0.3, 24.0)] {
                    for (name, c, num, den) in designs(fs, f0, q, gain) {
                        for f in audio_band() {
                            let omega = (PI * f / fs).tan() / (PI * f0 / fs).tan();
                            let want = prototype_db(num, den, omega);
                            if want < -100.0 {
                                continue;
                            }
                            let got = c.magnitude_db(fs, f);
                            assert!(
                                (got - want).abs() < 1e-6,
                                "{name} f0={f0} q={q} at {f} Hz, {fs} Hz: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn textbook_points_hold_at_the_design_frequency() {
        // Exact identities of the prototypes at Ω = 1; the tolerance is f64 rounding.
        let tol = 1e-9;
        let half_power = -10.0 * 2f64.log10();
        for fs in RATES {
            let f0 = 1_234.0;
            let at = |c: BiquadCoefficients| c.magnitude_db(fs, f0);
            assert!((at(BiquadCoefficients::peak(fs, f0, 2.0, 7.5)) - 7.5).abs() < tol);
            assert!(
                (at(BiquadCoefficients::low_shelf(fs, f0, FRAC_1_SQRT_2, -9.0)) + 4.5).abs() < tol
            );
            assert!(
                (at(BiquadCoefficients::high_shelf(fs, f0, FRAC_1_SQRT_2, 9.0)) - 4.5).abs() < tol
            );
            assert!(at(BiquadCoefficients::bandpass(fs, f0, 5.0)).abs() < tol);
            // A notch is -inf dB at its centre; cancellation in |B|² leaves about -130 dB.
            let notch = at(BiquadCoefficients::notch(fs, f0, 5.0));
            assert!(notch < -100.0, "{notch}");
            let butterworth = FRAC_1_SQRT_2;
            assert!(
                (at(BiquadCoefficients::lowpass(fs, f0, butterworth)) - half_power).abs() < tol
            );
            assert!(
                (at(BiquadCoefficients::highpass(fs, f0, butterworth)) - half_power).abs() < tol
            );
            assert!((at(BiquadCoefficients::first_order_lowpass(fs, f0)) - half_power).abs() < tol);
            assert!(
                (at(BiquadCoefficients::first_order_highpass(fs, f0)) - half_power).abs() < tol
            );
        }
    }

    #[test]
    fn the_kernel_measures_as_the_analytic_response_for_any_section_count() {
        // Cascades of 1 to 10 sections cover every specialised kernel and the general one.
        // The measured DFT of the impulse response may differ from the analytic curve by
        // the f32 rounding of the output and the truncation of the response after its
        // 120 dB tail: 0.01 dB covers both with a wide margin.
        let fs = 48_000.0;
        let pool = [
            BiquadCoefficients::peak(fs, 100.0, 1.0, 6.0),
            BiquadCoefficients::high_shelf(fs, 5_000.0, FRAC_1_SQRT_2, -4.0),
            BiquadCoefficients::highpass(fs, 30.0, 0.9),
            BiquadCoefficients::notch(fs, 700.0, 8.0),
            BiquadCoefficients::low_shelf(fs, 300.0, 0.5, 3.0),
        ];
        for n in 1..=10 {
            let sections: Vec<_> = pool.iter().cycle().take(n).copied().collect();
            let mut cascade = BiquadCascade::new(&sections);
            let frames = cascade.tail();
            let freqs = audio_band();
            let analytic: Vec<f64> = freqs.iter().map(|&f| cascade.magnitude_db(fs, f)).collect();
            let measured = measure::measured_db(
                &mut |l, r, start| cascade.process(l, r, start),
                fs,
                frames,
                &freqs,
            );
            for ((f, want), got) in freqs.iter().zip(&analytic).zip(&measured) {
                if *want > -60.0 {
                    assert!((got - want).abs() < 0.01, "{n} sections at {f} Hz: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn output_does_not_depend_on_the_block_size_even_while_retuning() {
        let fs = 48_000.0;
        measure::assert_block_size_independent(
            &|| {
                let mut c = BiquadCascade::new(&[BiquadCoefficients::IDENTITY; 3]);
                Box::new(move |l, r, start| {
                    c.process_retuned(l, r, start, |frame, sections| {
                        let f = 200.0 + frame as f64 * 0.05;
                        sections[0] = BiquadCoefficients::peak(fs, f, 2.0, 6.0);
                        sections[1] = BiquadCoefficients::lowpass(fs, 20.0 * f, 0.7);
                        sections[2] = BiquadCoefficients::highpass(fs, 0.1 * f, 3.0);
                    });
                })
            },
            9_000,
        );
        measure::assert_block_size_independent(
            &|| {
                let mut c = BiquadCascade::new(&[BiquadCoefficients::peak(fs, 500.0, 0.7, -3.0)]);
                Box::new(move |l, r, start| c.process(l, r, start))
            },
            9_000,
        );
    }

    /// Frames from the end of the input until the output last reaches -90 dBFS.
    fn measured_ring(c: BiquadCoefficients, excitation: &[f32]) -> usize {
        let silence = 2 * c.tail() + 1_000;
        let mut l: Vec<f32> =
            excitation.iter().copied().chain(std::iter::repeat_n(0.0, silence)).collect();
        let mut r = l.clone();
        BiquadCascade::new(&[c]).process(&mut l, &mut r, 0);
        let floor = 10f32.powf(-90.0 / 20.0);
        let last = l.iter().rposition(|x| x.abs() >= floor).unwrap_or(0);
        last.saturating_sub(excitation.len()) + 1
    }

    #[test]
    fn the_tail_covers_the_ringing_and_overstates_it_at_most_threefold() {
        // Each section is driven at full scale at the frequency where it rings longest,
        // then fed silence. The tail must reach the last frame above -90 dBFS; it may be
        // longer, by its 30 dB headroom for resonance (so up to 120/90 for an unboosted
        // ring) and by the shape of the decay, but not by more than three times.
        let fs = 48_000.0;
        let tone = |f: f64, frames: usize| -> Vec<f32> {
            (0..frames).map(|n| (2.0 * PI * f * n as f64 / fs).sin() as f32).collect()
        };
        let cases = [
            (BiquadCoefficients::bandpass(fs, 1_000.0, 100.0), tone(1_000.0, 40_000)),
            (BiquadCoefficients::peak(fs, 1_000.0, 100.0, 24.0), tone(1_000.0, 40_000)),
            (BiquadCoefficients::lowpass(fs, 50.0, 0.5), vec![1.0; 20_000]),
            (BiquadCoefficients::first_order_lowpass(fs, 30.0), vec![1.0; 20_000]),
            (BiquadCoefficients::highpass(fs, 20.0, FRAC_1_SQRT_2), tone(20.0, 20_000)),
        ];
        for (c, excitation) in cases {
            let ring = measured_ring(c, &excitation);
            let tail = c.tail();
            assert!(ring <= tail && tail <= 3 * ring, "{c:?}: rings {ring}, tail {tail}");
        }
    }

    #[test]
    fn extreme_designs_and_huge_input_give_finite_normal_output() {
        let huge = noise_scaled(4_096, 1e37);
        for fs in RATES {
            let extremes = [
                BiquadCoefficients::peak(fs, 0.5 * fs, 100.0, 24.0),
                BiquadCoefficients::peak(fs, 10.0, 0.025, -24.0),
                BiquadCoefficients::low_shelf(fs, 10.0, 100.0, 24.0),
                BiquadCoefficients::high_shelf(fs, fs, 0.025, 24.0),
                BiquadCoefficients::highpass(fs, 10.0, 100.0),
                BiquadCoefficients::lowpass(fs, 0.499 * fs, 100.0),
                BiquadCoefficients::bandpass(fs, 10.0, 0.025),
                BiquadCoefficients::notch(fs, 1e9, 100.0),
                BiquadCoefficients::first_order_highpass(fs, 1e-9),
            ];
            for c in extremes {
                assert!(c.pole_radius() < 1.0, "{c:?}");
                let mut cascade = BiquadCascade::new(&[c, c]);
                let (mut l, mut r) = (huge.clone(), huge.clone());
                cascade.process(&mut l, &mut r, 0);
                assert!(l.iter().chain(&r).all(|x| x.is_finite()), "{c:?}");
                let (mut l, mut r) = (vec![0.0; 4_096], vec![0.0; 4_096]);
                for block in 1..=16 {
                    cascade.process(&mut l, &mut r, block * 4_096);
                    assert!(l.iter().all(|x| x.is_finite() && !x.is_subnormal()), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn a_filter_left_in_silence_decays_to_exact_zeros() {
        // A ring from full scale takes about 1,500 dB / (120 dB per tail) = 13 tails to fall
        // to the 1e-30 flush threshold; 20 tails leave a margin, and from then on every
        // sample must be exactly zero rather than a denormal.
        let c = BiquadCoefficients::peak(48_000.0, 1_000.0, 10.0, 12.0);
        let mut cascade = BiquadCascade::new(&[c]);
        let (mut l, mut r) = (measure::noise(4_096, 5), measure::noise(4_096, 6));
        cascade.process(&mut l, &mut r, 0);
        let silence = 20 * c.tail();
        let (mut l, mut r) = (vec![0.0; silence], vec![0.0; silence]);
        cascade.process(&mut l, &mut r, 4_096);
        assert!(l.iter().chain(&r).all(|x| !x.is_subnormal()));
        assert!(l[silence - 1_000..].iter().chain(&r[silence - 1_000..]).all(|&x| x == 0.0));
    }

    fn noise_scaled(frames: usize, scale: f32) -> Vec<f32> {
        measure::noise(frames, 3).into_iter().map(|x| x * scale).collect()
    }

    #[test]
    fn to_sample_keeps_samples_finite_and_normal() {
        let cases =
            [(f64::NAN, 0.0), (1e-35, 0.0), (1e300, f32::MAX), (-1e300, -f32::MAX), (0.25, 0.25)];
        for (x, want) in cases {
            assert_eq!(to_sample(x).to_bits(), want.to_bits(), "{x}");
        }
    }
}
