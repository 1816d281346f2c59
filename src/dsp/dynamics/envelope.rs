//! Level detection for the dynamics processors: which signal a detector listens to, the
//! one-pole peak and RMS followers with stereo link, the sliding-window peak hold, and the
//! absolute grid on which automated detector settings are re-read.
//!
//! Everything here turns a detector signal into a level; what a level does to the gain is the
//! business of [`super::gain_computer`] and of each processor.

use std::ops::Range;

use crate::dsp::{Context, Sidechain, sanitize};

/// How a detector measures level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detector {
    /// Follows the rectified signal: fast and faithful to transients.
    Peak,
    /// Follows the mean square and reports its square root: closer to loudness.
    Rms,
}

impl Detector {
    /// The level, as linear amplitude, that a follower state stands for.
    #[inline]
    fn level(self, state: f64) -> f64 {
        match self {
            Self::Peak => state,
            Self::Rms => state.sqrt(),
        }
    }
}

/// Where a detector listens during one block.
#[derive(Debug, Clone, Copy)]
pub enum DetectorInput<'a> {
    /// The processor's own input.
    Own,
    /// A sidechain signal.
    Sidechain(Sidechain<'a>),
    /// Nothing: a named sidechain that the block does not carry.
    Silence,
}

impl<'a> DetectorInput<'a> {
    /// What the detector hears in a processor that listens to `sidechain` (its own input when `None`).
    #[must_use]
    pub fn find(sidechain: Option<&str>, ctx: &Context<'a>) -> Self {
        match sidechain {
            None => Self::Own,
            Some(name) => ctx.sidechain(name).map_or(Self::Silence, Self::Sidechain),
        }
    }

    /// Copies the detector signal's frames `frames` of the block into `left` and `right` (each as long
    /// as the range), given the block's input. A sidechain shorter than the block reads as
    /// silence past its end.
    #[inline]
    pub fn read(
        self,
        frames: Range<usize>,
        input: (&[f32], &[f32]),
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let part = |channel: &[f32], into: &mut [f32]| {
            let from = frames.start.min(channel.len());
            let to = frames.end.min(channel.len());
            into[..to - from].copy_from_slice(&channel[from..to]);
            into[to - from..].fill(0.0);
        };
        match self {
            Self::Own => {
                left.copy_from_slice(&input.0[frames.clone()]);
                right.copy_from_slice(&input.1[frames]);
            }
            Self::Sidechain(signal) => {
                part(signal.left, left);
                part(signal.right, right);
            }
            Self::Silence => {
                left.fill(0.0);
                right.fill(0.0);
            }
        }
    }
}

/// The one-pole coefficient for time constant `tau_seconds`: a step reaches 1 − 1/e (63%)
/// of its height after `tau_seconds`. Zero time means an instant follower.
#[must_use]
pub fn one_pole_coefficient(tau_seconds: f64, sample_rate: f64) -> f64 {
    let frames = tau_seconds * sample_rate;
    if frames > 0.0 { (-1.0 / frames).exp() } else { 0.0 }
}

/// Attack and release one-pole coefficients: a follower rises with the first and falls
/// with the second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ballistics {
    attack: f64,
    release: f64,
    /// 1 − attack and 1 − release, the weights of the target.
    attack_step: f64,
    release_step: f64,
}

impl Ballistics {
    /// Ballistics with the given attack and release time constants.
    #[must_use]
    pub fn new(attack_seconds: f64, release_seconds: f64, sample_rate: f64) -> Self {
        let attack = one_pole_coefficient(attack_seconds, sample_rate);
        let release = one_pole_coefficient(release_seconds, sample_rate);
        Self { attack, release, attack_step: 1.0 - attack, release_step: 1.0 - release }
    }

    /// One step of the follower from `state` towards `target`.
    ///
    /// Both candidate steps are computed and one is selected: the target's share does not
    /// depend on the state, so each frame's serial work is one multiply-add and a select.
    #[inline]
    #[must_use]
    pub fn follow(&self, state: f64, target: f64) -> f64 {
        let rise = self.attack * state + self.attack_step * target;
        let fall = self.release * state + self.release_step * target;
        if target > state { rise } else { fall }
    }
}

/// A stereo level follower.
///
/// The detector input of each channel is `link · linked + (1 − link) · own`, where `own` is
/// the channel's rectified (peak) or squared (RMS) sample and `linked` the larger of the two
/// channels'. At full link both channels share one follower, so the stereo image never moves.
#[derive(Debug, Clone)]
pub struct Envelope {
    mode: Detector,
    link: f64,
    state: [f64; 2],
}

impl Envelope {
    /// A silent follower; `link` is clamped to 0..=1.
    #[must_use]
    pub fn new(mode: Detector, link: f64) -> Self {
        Self { mode, link: link.clamp(0.0, 1.0), state: [0.0; 2] }
    }

    /// Feeds one detector frame and returns the level of each channel as linear amplitude.
    /// [`Envelope::run`] gives the same levels, rounded to f32, a block at a time.
    #[inline]
    pub fn next(&mut self, left: f32, right: f32, ballistics: &Ballistics) -> (f64, f64) {
        let levels = self.step(left, right, ballistics);
        self.flush();
        levels
    }

    /// Feeds a block of detector frames and writes the level of each channel, as linear
    /// amplitude, into `levels` (the shortest length of the four slices).
    #[inline]
    pub fn run(
        &mut self,
        heard: (&[f32], &[f32]),
        ballistics: &Ballistics,
        levels: (&mut [f32], &mut [f32]),
    ) {
        let frames = heard.0.iter().zip(heard.1).zip(levels.0.iter_mut().zip(levels.1));
        for ((&l, &r), (level_l, level_r)) in frames {
            let (a, b) = self.step(l, r, ballistics);
            (*level_l, *level_r) = (a as f32, b as f32);
        }
        self.flush();
    }

    /// One frame of both followers, without the flush.
    #[inline]
    fn step(&mut self, left: f32, right: f32, ballistics: &Ballistics) -> (f64, f64) {
        let (l, r) = (sanitize(f64::from(left)), sanitize(f64::from(right)));
        let (l, r) = match self.mode {
            Detector::Peak => (l.abs(), r.abs()),
            Detector::Rms => (l * l, r * r),
        };
        let linked = larger(l, r);
        if self.link >= 1.0 {
            let state = ballistics.follow(self.state[0], audible(linked));
            self.state[0] = state;
            let level = self.mode.level(state);
            return (level, level);
        }
        let unlinked = 1.0 - self.link;
        let l = ballistics.follow(self.state[0], audible(self.link * linked + unlinked * l));
        let r = ballistics.follow(self.state[1], audible(self.link * linked + unlinked * r));
        self.state = [l, r];
        (self.mode.level(l), self.mode.level(r))
    }

    /// Sets states below [`NEGLIGIBLE`] to zero, so that a long silence never leaves them
    /// in the slow denormal range.
    ///
    /// When this happens never changes the output, so it need not happen every frame,
    /// where its test would lengthen the serial path from one frame to the next. Any state
    /// below 1e-100 gives a level that rounds to 0 in f32 (its square root too), and decays
    /// while the input is silent. The first input that is not, above [`QUIETEST_INPUT`],
    /// adds (1 − attack)·input: either nothing (an attack of 1), or at least 2⁻⁵³·1e-60, a
    /// number whose half ulp exceeds 1e-100. Either way a zeroed state and a tiny one end
    /// up equal or both tiny.
    #[inline]
    fn flush(&mut self) {
        for state in &mut self.state {
            if *state < NEGLIGIBLE {
                *state = 0.0;
            }
        }
    }
}

/// See [`Envelope::flush`].
const NEGLIGIBLE: f64 = 1e-100;

/// Detector inputs at or below this count as silence (a detector sample at [`sanitize`]'s
/// 1e-30, squared), which bounds how little a follower can rise.
const QUIETEST_INPUT: f64 = 1e-60;

#[inline]
fn audible(input: f64) -> f64 {
    if input > QUIETEST_INPUT { input } else { 0.0 }
}

/// The largest level over the last `window` frames (the current one included), in O(1)
/// amortised time per frame and without data-dependent branches (van Herk and
/// Gil-Werman): the frames go in blocks of `window`, and the window is the tail of the
/// previous block, whose suffix maxima are worked out once when it completes, plus the
/// head of the current block, whose running maximum is kept as it fills.
#[derive(Debug, Clone)]
pub struct PeakHold {
    /// The current block's levels so far.
    block: Vec<f64>,
    /// `suffix[i]`: the largest level of the previous block from its frame `i` on;
    /// `suffix[window]` stands for none of it.
    suffix: Vec<f64>,
    /// The largest level of the current block so far.
    prefix: f64,
    /// Where the next level goes in the current block.
    position: usize,
}

impl PeakHold {
    /// A hold over `window` frames (at least 1).
    #[must_use]
    pub fn new(window: usize) -> Self {
        let window = window.max(1);
        Self {
            block: vec![f64::NEG_INFINITY; window],
            suffix: vec![f64::NEG_INFINITY; window + 1],
            prefix: f64::NEG_INFINITY,
            position: 0,
        }
    }

    /// Feeds the next frame's level (never NaN) and returns the largest level in the
    /// window.
    #[inline]
    pub fn push(&mut self, level: f64) -> f64 {
        let window = self.block.len();
        self.block[self.position] = level;
        self.prefix = larger(self.prefix, level);
        self.position += 1;
        let largest = larger(self.suffix[self.position], self.prefix);
        if self.position == window {
            let mut largest_after = f64::NEG_INFINITY;
            for (suffix, &level) in self.suffix[..window].iter_mut().zip(&self.block).rev() {
                largest_after = larger(largest_after, level);
                *suffix = largest_after;
            }
            self.prefix = f64::NEG_INFINITY;
            self.position = 0;
        }
        largest
    }
}

/// The larger of two levels that are never NaN: one instruction, where `f64::max` spends
/// several on NaN.
#[inline]
fn larger(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

/// Frames between re-reads of automated parameters. The grid is absolute (frames 0, 32,
/// 64, ...), so where a block starts never changes when a value is read.
pub const PARAM_GRID: u64 = 32;

/// Splits the block of `len` frames that starts at absolute frame `start` into runs. With
/// `automated`, each run lies within one grid cell and comes with that cell's first frame;
/// otherwise the block is one run.
pub fn grid_runs(
    start: u64,
    len: usize,
    automated: bool,
) -> impl Iterator<Item = (u64, Range<usize>)> {
    let mut offset = 0;
    std::iter::from_fn(move || {
        if offset >= len {
            return None;
        }
        let frame = start + offset as u64;
        let cell = frame - frame % PARAM_GRID;
        let end =
            if automated { len.min(offset + (cell + PARAM_GRID - frame) as usize) } else { len };
        let run = offset..end;
        offset = end;
        Some((cell, run))
    })
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact equality is the property these tests check.
mod tests {
    use super::*;

    const RATE: f64 = 48000.0;

    #[test]
    fn a_peak_step_reaches_63_percent_after_one_time_constant() {
        // 10 ms at 48 kHz is 480 frames; the discrete follower's output after n frames is
        // 1 − aⁿ with a = exp(−1/480), so frame 480 is at 1 − 1/e up to rounding (1e-12).
        let b = Ballistics::new(0.010, 0.100, RATE);
        let mut env = Envelope::new(Detector::Peak, 1.0);
        let mut level = 0.0;
        for _ in 0..480 {
            level = env.next(1.0, 1.0, &b).0;
        }
        assert!((level - (1.0 - (-1.0f64).exp())).abs() < 1e-12, "{level}");
        for _ in 0..4800 * 20 {
            env.next(1.0, 1.0, &b);
        }
        let mut released = 0.0;
        for _ in 0..4800 {
            released = env.next(0.0, 0.0, &b).0;
        }
        // From a settled 1.0 (within e^-200 of it), 4800 release frames leave 1/e.
        assert!((released - (-1.0f64).exp()).abs() < 1e-12, "{released}");
    }

    #[test]
    fn rms_of_a_sine_is_its_amplitude_over_root_two() {
        // 50 ms time constants against a 1 kHz sine: the mean-square ripple is about
        // 1/(2ωτ) = 0.16% of the mean, so 0.2% bounds the RMS error.
        let b = Ballistics::new(0.050, 0.050, RATE);
        let mut env = Envelope::new(Detector::Rms, 1.0);
        let mut level = 0.0;
        for n in 0..48000 {
            let x = (0.5 * (std::f64::consts::TAU * 1000.0 * f64::from(n) / RATE).sin()) as f32;
            level = env.next(x, x, &b).0;
        }
        let expected = 0.5 / 2f64.sqrt();
        assert!((level / expected - 1.0).abs() < 2e-3, "{level}");
    }

    #[test]
    fn link_sets_how_much_the_louder_channel_drives_the_other() {
        // Instant followers: the level is the detector input itself. The left level is exact;
        // the right one carries the f32 rounding of 0.2 (3e-9), inside 1e-7.
        let instant = Ballistics::new(0.0, 0.0, RATE);
        for (link, expected_right) in [(0.0, 0.2), (0.5, 0.6), (1.0, 1.0)] {
            let mut env = Envelope::new(Detector::Peak, link);
            let (l, r) = env.next(1.0, -0.2, &instant);
            assert_eq!(l, 1.0, "link {link}");
            assert!((r - expected_right).abs() < 1e-7, "link {link}: {r}");
        }
    }

    #[test]
    fn nan_and_infinite_detector_samples_read_as_silence() {
        let b = Ballistics::new(0.001, 0.001, RATE);
        let mut env = Envelope::new(Detector::Rms, 0.3);
        let (l, r) = env.next(f32::NAN, f32::INFINITY, &b);
        assert_eq!((l, r), (0.0, 0.0));
    }

    #[test]
    fn blocks_give_the_levels_of_single_frames_rounded_to_f32_whatever_their_size() {
        // Loud noise, then silence long enough for a fast release to take the state below
        // the flush level (1e-100), then detector signals near the quietest audible input. The
        // frame-by-frame follower flushes every frame, the block one once a block, and
        // the levels must still agree bit for bit.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let signal: Vec<f32> = (0..6000)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let noise = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                match i {
                    0..1000 => noise,
                    3000..3200 => noise * 1e-29,
                    5000.. => noise * 1e-3,
                    _ => 0.0,
                }
            })
            .collect();
        let right: Vec<f32> = signal.iter().rev().copied().collect();
        let fast = Ballistics::new(0.000_2, 0.000_01, RATE);
        for mode in [Detector::Peak, Detector::Rms] {
            for link in [0.0, 0.3, 1.0] {
                let mut single = Envelope::new(mode, link);
                let expected: Vec<(f32, f32)> = signal
                    .iter()
                    .zip(&right)
                    .map(|(&l, &r)| {
                        let (l, r) = single.next(l, r, &fast);
                        (l as f32, r as f32)
                    })
                    .collect();
                for block in [1, 7, 64, 4096] {
                    let mut envelope = Envelope::new(mode, link);
                    let (mut l, mut r) = (vec![0.0; signal.len()], vec![0.0; signal.len()]);
                    for from in (0..signal.len()).step_by(block) {
                        let to = signal.len().min(from + block);
                        let levels = (&mut l[from..to], &mut r[from..to]);
                        envelope.run((&signal[from..to], &right[from..to]), &fast, levels);
                    }
                    let levels: Vec<(f32, f32)> = l.into_iter().zip(r).collect();
                    assert!(levels == expected, "{mode:?}, link {link}, block {block}");
                }
            }
        }
    }

    #[test]
    fn a_detector_input_reads_its_frames_and_silence_past_its_end() {
        let input = ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]);
        let short = Sidechain { left: &[9.0, 10.0, 11.0], right: &[12.0, 13.0, 14.0] };
        let read = |heard: DetectorInput<'_>| {
            let (mut l, mut r) = ([f32::NAN; 3], [f32::NAN; 3]);
            heard.read(1..4, (&input.0, &input.1), &mut l, &mut r);
            (l, r)
        };
        assert_eq!(read(DetectorInput::Own), ([2.0, 3.0, 4.0], [6.0, 7.0, 8.0]));
        assert_eq!(read(DetectorInput::Sidechain(short)), ([10.0, 11.0, 0.0], [13.0, 14.0, 0.0]));
        assert_eq!(read(DetectorInput::Silence), ([0.0; 3], [0.0; 3]));
    }

    #[test]
    fn peak_hold_matches_a_brute_force_window_maximum() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let levels: Vec<f64> = (0..2000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        for window in [1, 2, 7, 64] {
            let mut hold = PeakHold::new(window);
            for (n, &level) in levels.iter().enumerate() {
                let from = (n + 1).saturating_sub(window);
                let expected = levels[from..=n].iter().copied().fold(0.0, f64::max);
                assert_eq!(hold.push(level), expected, "window {window}, frame {n}");
            }
        }
    }

    #[test]
    fn grid_runs_stop_at_absolute_multiples_of_the_grid() {
        let runs: Vec<_> = grid_runs(30, 40, true).collect();
        assert_eq!(runs, vec![(0, 0..2), (32, 2..34), (64, 34..40)]);
        let whole: Vec<_> = grid_runs(30, 40, false).collect();
        assert_eq!(whole, vec![(0, 0..40)]);
    }
}
