//! Level detection for the dynamics processors: which signal a detector listens to, the
//! one-pole peak and RMS followers with stereo link, the sliding-window peak hold, and the
//! absolute grid on which automated detector settings are re-read.
//!
//! Everything here turns a key signal into a level; what a level does to the gain is the
//! business of [`super::gain_computer`] and of each processor.

use std::ops::Range;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Context, Sidechain, sanitize};

/// How a detector measures level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Detector {
    /// Follows the rectified signal: fast and faithful to transients.
    #[default]
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
pub enum Key<'a> {
    /// The processor's own input.
    Input,
    /// A sidechain signal.
    External(Sidechain<'a>),
    /// Nothing: a named sidechain that the block does not carry.
    Silence,
}

impl<'a> Key<'a> {
    /// The key for a processor that listens to `sidechain` (its own input when `None`).
    #[must_use]
    pub fn find(sidechain: Option<&str>, ctx: &Context<'a>) -> Self {
        match sidechain {
            None => Self::Input,
            Some(name) => ctx.sidechain(name).map_or(Self::Silence, Self::External),
        }
    }

    /// Key frame `i`, given the input frame there. A key shorter than the block reads as
    /// silence past its end.
    #[inline]
    #[must_use]
    pub fn at(self, i: usize, left: f32, right: f32) -> (f32, f32) {
        match self {
            Self::Input => (left, right),
            Self::External(key) => {
                (key.left.get(i).copied().unwrap_or(0.0), key.right.get(i).copied().unwrap_or(0.0))
            }
            Self::Silence => (0.0, 0.0),
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
}

impl Ballistics {
    /// Ballistics with the given attack and release time constants.
    #[must_use]
    pub fn new(attack_seconds: f64, release_seconds: f64, sample_rate: f64) -> Self {
        Self {
            attack: one_pole_coefficient(attack_seconds, sample_rate),
            release: one_pole_coefficient(release_seconds, sample_rate),
        }
    }

    /// One step of the follower from `state` towards `target`.
    #[inline]
    #[must_use]
    pub fn follow(&self, state: f64, target: f64) -> f64 {
        let coefficient = if target > state { self.attack } else { self.release };
        target + coefficient * (state - target)
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

    /// Feeds one key frame and returns the level of each channel as linear amplitude.
    #[inline]
    pub fn next(&mut self, left: f32, right: f32, ballistics: &Ballistics) -> (f64, f64) {
        let (l, r) = (sanitize(f64::from(left)), sanitize(f64::from(right)));
        let (l, r) = match self.mode {
            Detector::Peak => (l.abs(), r.abs()),
            Detector::Rms => (l * l, r * r),
        };
        let linked = l.max(r);
        if self.link >= 1.0 {
            let level = self.mode.level(follow(&mut self.state[0], linked, ballistics));
            return (level, level);
        }
        let unlinked = 1.0 - self.link;
        let l = follow(&mut self.state[0], self.link * linked + unlinked * l, ballistics);
        let r = follow(&mut self.state[1], self.link * linked + unlinked * r, ballistics);
        (self.mode.level(l), self.mode.level(r))
    }
}

/// One follower step; flushes the state to zero once it is far below hearing, so that a
/// long silence never leaves it in the slow denormal range.
#[inline]
fn follow(state: &mut f64, input: f64, ballistics: &Ballistics) -> f64 {
    *state = sanitize(ballistics.follow(*state, input));
    *state
}

/// The largest level over the last `window` frames (the current one included), in O(1)
/// time per frame and without a data-dependent branch (van Herk / Gil–Werman): frames are
/// grouped in blocks of `window`, so the window is the tail of the previous block, whose
/// suffix maxima are computed once when it completes, and the head of the current one,
/// whose running maximum is kept.
#[derive(Debug, Clone)]
pub struct PeakHold {
    /// The levels of the current block so far.
    block: Vec<f64>,
    /// `suffix[i]`: the largest level of the previous block from its frame `i` on.
    suffix: Vec<f64>,
    /// Frames of the current block so far.
    filled: usize,
    /// The largest level of the current block so far.
    running: f64,
}

impl PeakHold {
    /// A hold over `window` frames (at least 1).
    #[must_use]
    pub fn new(window: usize) -> Self {
        let window = window.max(1);
        Self {
            block: vec![0.0; window],
            // Before the first frame there is nothing, which no level is below.
            suffix: vec![f64::NEG_INFINITY; window],
            filled: 0,
            running: f64::NEG_INFINITY,
        }
    }

    /// Feeds the next frame's level (never NaN) and returns the largest level in the
    /// window.
    #[inline]
    pub fn push(&mut self, level: f64) -> f64 {
        let window = self.block.len();
        self.block[self.filled] = level;
        self.running = larger(self.running, level);
        self.filled += 1;
        // The window reaches back into the previous block from its frame `filled` on.
        let held = match self.suffix.get(self.filled) {
            Some(&older) => larger(self.running, older),
            None => self.running,
        };
        if self.filled == window {
            let mut max = f64::NEG_INFINITY;
            for (s, &b) in self.suffix.iter_mut().zip(&self.block).rev() {
                max = larger(max, b);
                *s = max;
            }
            self.filled = 0;
            self.running = f64::NEG_INFINITY;
        }
        held
    }
}

/// The larger of two levels that are never NaN: one comparison, where `f64::max` also
/// has to look for NaN.
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
    fn nan_and_infinite_keys_read_as_silence() {
        let b = Ballistics::new(0.001, 0.001, RATE);
        let mut env = Envelope::new(Detector::Rms, 0.3);
        let (l, r) = env.next(f32::NAN, f32::INFINITY, &b);
        assert_eq!((l, r), (0.0, 0.0));
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
