//! The static curves of the dynamics processors: the gain a steady level gets from a
//! compressor or an expander, with the quadratic soft knee of Giannoulis, Massberg and
//! Reiss (2012), and the level ↔ dB conversions.
//!
//! The curves come twice. [`compression_gain_db`] and [`expansion_gain_db`] are the exact
//! f64 definitions, in dB. [`CompressorCurve`] and [`ExpanderCurve`] are the same curves
//! for the per-sample paths: f32, levels in octaves (log2), with polynomial [`log2_approx`]
//! and [`exp2_approx`] instead of libm calls and selects instead of branches, so that a
//! block of levels vectorises. Their gain is within 1e-5 dB of the exact curve.
//!
//! These are pure functions; timing (attack, release, hold) lives in the processors.

use std::f32::consts::LN_2;

/// dB per octave of amplitude: 20·log10(2).
pub const DB_PER_LOG2: f64 = 6.020_599_913_279_624;

/// The gain in dB (never above 0) that a compressor gives a steady level `level_db`.
///
/// Below `threshold_db − knee_db/2` the gain is 0 dB; above `threshold_db + knee_db/2` the
/// output level is `threshold + (level − threshold) / ratio`; in between the curve is the
/// quadratic that joins both with matching slope. `ratio` may be infinite (a limiter's
/// flat top); a knee of 0 dB or less is hard.
#[must_use]
pub fn compression_gain_db(level_db: f64, threshold_db: f64, ratio: f64, knee_db: f64) -> f64 {
    let knee = knee_db.max(0.0);
    let over = level_db - threshold_db;
    let slope = 1.0 / ratio - 1.0;
    if 2.0 * over <= -knee {
        0.0
    } else if 2.0 * over >= knee {
        slope * over
    } else {
        let into = over + knee / 2.0;
        slope * into * into / (2.0 * knee)
    }
}

/// The gain in dB (never above 0, never below `range_db`) that a downward expander gives
/// a steady level `level_db`.
///
/// Above `threshold_db + knee_db/2` the gain is 0 dB; below `threshold_db − knee_db/2` the
/// output level is `threshold + (level − threshold) · ratio`; in between the quadratic that
/// joins both with matching slope. The gain never falls below `range_db`, the attenuation
/// of a fully closed gate. An infinite `ratio` is a hard gate: `range_db` below the knee;
/// a ratio of 1 leaves every level alone, silence included.
#[must_use]
pub fn expansion_gain_db(
    level_db: f64,
    threshold_db: f64,
    ratio: f64,
    knee_db: f64,
    range_db: f64,
) -> f64 {
    let knee = knee_db.max(0.0);
    let over = level_db - threshold_db;
    let gain = if 2.0 * over >= knee || ratio <= 1.0 {
        return 0.0;
    } else if 2.0 * over <= -knee {
        (ratio - 1.0) * over
    } else {
        // `under` is strictly negative here, so an infinite ratio gives −∞, never NaN.
        let under = over - knee / 2.0;
        (1.0 - ratio) * under * under / (2.0 * knee)
    };
    gain.max(range_db)
}

/// A linear level in dB (0 is −∞ dB).
#[inline]
#[must_use]
pub fn level_to_db(level: f64) -> f64 {
    DB_PER_LOG2 * level.log2()
}

/// A gain in dB as a linear factor; 0 dB is exactly 1 and −∞ dB exactly 0.
#[inline]
#[must_use]
pub fn db_to_level(db: f64) -> f64 {
    (db / DB_PER_LOG2).exp2()
}

/// The bits of √½ as an f32: subtracting them from a float's bits leaves, in the exponent
/// field, the power of two that brings the float into [√½, √2).
const SQRT_HALF_BITS: i32 = 0x3f35_04f3;

/// Coefficients of log2(m) ≈ s·(L0 + L1·s² + L2·s⁴) with s = (m − 1)/(m + 1), a minimax fit
/// over m in [√½, √2) (|s| ≤ 0.1716) with an absolute error of 3e-8.
const L0: f32 = 2.885_391_2;
const L1: f32 = 0.961_470_8;
const L2: f32 = 0.598_973_9;

/// Coefficients of 2^f ≈ 1 + f·(ln 2 + E1·f + E2·f² + E3·f³ + E4·f⁴), a minimax fit of the
/// relative error over f in [−½, ½] (1.1e-7) with the first two terms held at their Taylor
/// values, so that 2^0 is exactly 1.
const E1: f32 = 0.240_222_83;
const E2: f32 = 0.055_505_585;
const E3: f32 = 0.009_669_691;
const E4: f32 = 0.001_330_060_7;

/// Adding 1.5·2²³ to a float of magnitude below 2²² rounds it to an integer, which then
/// sits in the low bits of the sum: a round that vectorises, unlike `f32::round`.
const ROUNDER: f32 = 12_582_912.0;

/// log2 of `x ≥ 0`, within 1.5e-7 + 6e-8·|log2 x| (the polynomial's 3e-8 plus f32
/// rounding; the bound holds over every normal f32). Exactly 0 at 1. Zero and subnormals
/// give about −127, infinity 128: never NaN.
#[inline]
#[must_use]
pub fn log2_approx(x: f32) -> f32 {
    let bits = x.to_bits() as i32;
    let exponent = bits.wrapping_sub(SQRT_HALF_BITS) >> 23;
    let mantissa = f32::from_bits(bits.wrapping_sub(exponent << 23) as u32);
    let s = (mantissa - 1.0) / (mantissa + 1.0);
    let s2 = s * s;
    exponent as f32 + s * (L0 + s2 * (L1 + s2 * L2))
}

/// 2^`x`, within 2e-7 relative (the polynomial's 1.1e-7 plus f32 rounding; the bound holds
/// for every f32 in range), for `x` clamped to −126..=127 (NaN reads as −126), so the
/// result is always a normal float. Exactly 1 at 0.
#[inline]
#[must_use]
pub fn exp2_approx(x: f32) -> f32 {
    #[allow(clippy::manual_clamp)] // `clamp` would pass NaN on; this reads it as −126.
    let x = x.max(-126.0).min(127.0);
    let shifted = x + ROUNDER;
    let whole = (shifted.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    let fraction = x - (shifted - ROUNDER);
    let p = 1.0
        + fraction * (LN_2 + fraction * (E1 + fraction * (E2 + fraction * (E3 + fraction * E4))));
    f32::from_bits(((whole + 127) << 23) as u32) * p
}

/// A dB value in octaves of amplitude (log2 units), as the per-sample curves use.
fn octaves(db: f64) -> f32 {
    (db / DB_PER_LOG2) as f32
}

/// 1/(2·knee) for a knee of `half_knee` octaves either side, or 0 for a hard knee, whose
/// quadratic part is empty: the 0 keeps it finite where it is computed but not selected.
fn inverse_double_knee(half_knee: f32) -> f32 {
    if half_knee > 0.0 { 0.25 / half_knee } else { 0.0 }
}

/// [`compression_gain_db`] for the per-sample path: gains as linear factors, within 1e-5 dB
/// of the exact curve, and exactly 1 for levels up to the start of the knee.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompressorCurve {
    /// The linear level up to which the gain is exactly 1.
    knee_start: f32,
    threshold: f32,
    half_knee: f32,
    inverse_double_knee: f32,
    /// Octaves of gain per octave of level over the threshold: 1/ratio − 1.
    slope: f32,
}

impl CompressorCurve {
    /// The curve of [`compression_gain_db`] with these settings.
    #[must_use]
    pub fn new(threshold_db: f64, ratio: f64, knee_db: f64) -> Self {
        let knee_db = knee_db.max(0.0);
        let half_knee = octaves(knee_db / 2.0);
        Self {
            knee_start: db_to_level(threshold_db - knee_db / 2.0) as f32,
            threshold: octaves(threshold_db),
            half_knee,
            inverse_double_knee: inverse_double_knee(half_knee),
            slope: (1.0 / ratio - 1.0) as f32,
        }
    }

    /// The gain for each steady linear level in `levels`, into `gains` (the shorter
    /// length of the two).
    #[inline]
    pub fn gains(&self, levels: &[f32], gains: &mut [f32]) {
        // Mostly quiet passages skip the curve; the result is the same either way.
        if levels.iter().all(|&level| level <= self.knee_start) {
            gains.iter_mut().zip(levels).for_each(|(gain, _)| *gain = 1.0);
            return;
        }
        for (gain, &level) in gains.iter_mut().zip(levels) {
            *gain = self.gain(level);
        }
    }

    #[inline]
    fn gain(&self, level: f32) -> f32 {
        let over = log2_approx(level) - self.threshold;
        let into = (over + self.half_knee).max(0.0);
        // Grouped so that a huge knee gives a large product rather than an infinite one.
        let knee = self.slope * into * (into * self.inverse_double_knee);
        let gain = exp2_approx(if over >= self.half_knee { self.slope * over } else { knee });
        if level <= self.knee_start { 1.0 } else { gain }
    }
}

/// [`expansion_gain_db`] for the per-sample path of a gate or expander whose threshold
/// drops by a hysteresis while it is open: gains as linear factors, within 1e-5 dB of the
/// exact curve, exactly 1 from the top of the knee up, and for an infinite ratio (a hard
/// gate) exactly the range below it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpanderCurve {
    /// The linear level from which the gain is exactly 1: closed, open.
    fully_open: [f32; 2],
    /// The threshold: closed, open.
    threshold: [f32; 2],
    half_knee: f32,
    inverse_double_knee: f32,
    /// Octaves of gain per octave of level under the threshold: ratio − 1.
    rising: f32,
    /// The range in octaves, and as a linear factor.
    range_octaves: f32,
    range_gain: f32,
    hard: bool,
}

/// The steepest expansion the f32 curve computes: a steeper one could overflow f32, and at
/// this one the range (at most 200 dB) is reached 1e-28 octaves under the threshold.
const MAX_RISING: f64 = 1e30;

impl ExpanderCurve {
    /// The curve of [`expansion_gain_db`], with the threshold `hysteresis_db` lower while
    /// the gate is open.
    #[must_use]
    pub fn new(
        threshold_db: f64,
        hysteresis_db: f64,
        ratio: f64,
        knee_db: f64,
        range_db: f64,
    ) -> Self {
        let knee_db = knee_db.max(0.0);
        let range_db = range_db.min(0.0);
        let thresholds = [threshold_db, threshold_db - hysteresis_db];
        let half_knee = octaves(knee_db / 2.0);
        Self {
            fully_open: thresholds.map(|t| db_to_level(t + knee_db / 2.0) as f32),
            threshold: thresholds.map(octaves),
            half_knee,
            inverse_double_knee: inverse_double_knee(half_knee),
            rising: (ratio - 1.0).clamp(0.0, MAX_RISING) as f32,
            range_octaves: octaves(range_db),
            range_gain: db_to_level(range_db) as f32,
            hard: ratio.is_infinite(),
        }
    }

    /// The gain of a fully closed gate: the range as a linear factor.
    #[must_use]
    pub fn range_gain(&self) -> f32 {
        self.range_gain
    }

    /// The gain for each steady linear level in `levels`, with the gate open where `open`
    /// says so, into `gains` (the shortest length of the three).
    #[inline]
    pub fn gains(&self, levels: &[f32], open: &[bool], gains: &mut [f32]) {
        let frames = gains.iter_mut().zip(levels.iter().zip(open));
        if self.hard {
            for (gain, (&level, &open)) in frames {
                *gain = if level >= self.fully_open(open) { 1.0 } else { self.range_gain };
            }
        } else if levels.iter().zip(open).all(|(&level, &open)| level >= self.fully_open(open)) {
            // Mostly loud passages skip the curve; the result is the same either way.
            frames.for_each(|(gain, _)| *gain = 1.0);
        } else {
            for (gain, (&level, &open)) in frames {
                *gain = self.soft_gain(level, open);
            }
        }
    }

    /// The level from which the gain is exactly 1.
    #[inline]
    fn fully_open(&self, open: bool) -> f32 {
        if open { self.fully_open[1] } else { self.fully_open[0] }
    }

    #[inline]
    fn soft_gain(&self, level: f32, open: bool) -> f32 {
        let threshold = if open { self.threshold[1] } else { self.threshold[0] };
        let over = log2_approx(level) - threshold;
        let under = (over - self.half_knee).min(0.0);
        let knee = -self.rising * under * (under * self.inverse_double_knee);
        let below = if over <= -self.half_knee { self.rising * over } else { knee };
        let gain = exp2_approx(below.max(self.range_octaves));
        if level >= self.fully_open(open) { 1.0 } else { gain }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // Exact equality is the property these tests check.
mod tests {
    use super::*;

    /// The knee formulas are closed-form, so the only error is f64 rounding: 1e-12 dB.
    const EXACT: f64 = 1e-12;

    #[test]
    fn a_hard_knee_compressor_is_unity_below_and_one_over_ratio_above() {
        for level in [-60.0, -30.0, -20.0] {
            assert_eq!(compression_gain_db(level, -20.0, 4.0, 0.0), 0.0);
        }
        for level in [-19.0, -10.0, 0.0, 12.0] {
            let output = level + compression_gain_db(level, -20.0, 4.0, 0.0);
            assert!((output - (-20.0 + (level + 20.0) / 4.0)).abs() < EXACT, "{level}");
        }
    }

    #[test]
    fn a_soft_knee_joins_both_lines_with_matching_value_and_slope() {
        let (t, r, w) = (-20.0, 3.0, 6.0);
        let y = |x: f64| x + compression_gain_db(x, t, r, w);
        // Outside the knee: unity below, the ratio line above.
        assert_eq!(y(-23.5), -23.5);
        assert!((y(-16.5) - (t + (-16.5 - t) / r)).abs() < EXACT);
        // At the threshold the quadratic sits (1/R − 1)·W/8 below the input.
        assert!((y(t) - (t + (1.0 / r - 1.0) * w / 8.0)).abs() < EXACT);
        // At the edges the value and the slope (by central difference, step 1e-6 dB, so a
        // 1e-6 tolerance) match the straight lines.
        let h = 1e-6;
        let slope = |x: f64| (y(x + h) - y(x - h)) / (2.0 * h);
        assert!((y(t - w / 2.0) - (t - w / 2.0)).abs() < EXACT);
        assert!((y(t + w / 2.0) - (t + w / 2.0 / r)).abs() < EXACT);
        assert!((slope(t - w / 2.0) - 1.0).abs() < 1e-6);
        assert!((slope(t + w / 2.0) - 1.0 / r).abs() < 1e-6);
    }

    #[test]
    fn an_infinite_ratio_holds_the_output_at_the_threshold() {
        assert_eq!(-6.0 + compression_gain_db(-6.0, -10.0, f64::INFINITY, 0.0), -10.0);
        let knee = -9.0 + compression_gain_db(-9.0, -10.0, f64::INFINITY, 4.0);
        assert!(knee.is_finite() && knee < -9.0);
    }

    #[test]
    fn an_expander_is_unity_above_and_ratio_steep_below_down_to_its_range() {
        let (t, r, range) = (-40.0, 2.0, -20.0);
        assert_eq!(expansion_gain_db(-30.0, t, r, 0.0, range), 0.0);
        assert_eq!(expansion_gain_db(t, t, r, 0.0, range), 0.0);
        // 5 dB under the threshold at 2:1 comes out 10 dB under it: a gain of -5 dB.
        assert!((expansion_gain_db(-45.0, t, r, 0.0, range) + 5.0).abs() < EXACT);
        // 30 dB under would be -30 dB of gain; the range stops it at -20 dB.
        assert_eq!(expansion_gain_db(-70.0, t, r, 0.0, range), range);
        assert_eq!(expansion_gain_db(f64::NEG_INFINITY, t, r, 0.0, range), range);
        assert_eq!(expansion_gain_db(f64::NEG_INFINITY, t, 1.0, 6.0, range), 0.0);
    }

    #[test]
    fn an_expander_knee_is_continuous_and_a_hard_gate_jumps_to_its_range() {
        let (t, r, w) = (-40.0, 3.0, 8.0);
        let g = |x: f64| expansion_gain_db(x, t, r, w, -80.0);
        assert_eq!(g(t + w / 2.0), 0.0);
        assert!((g(t - w / 2.0) - (r - 1.0) * (-w / 2.0)).abs() < EXACT);
        // At the threshold the quadratic gives (1 − R)·W/8.
        assert!((g(t) - (1.0 - r) * w / 8.0).abs() < EXACT);
        let gate = |x: f64| expansion_gain_db(x, t, f64::INFINITY, w, -80.0);
        assert_eq!(gate(t + w / 2.0), 0.0);
        assert_eq!(gate(t + w / 2.0 - 1e-9), -80.0);
        assert_eq!(expansion_gain_db(t - 1e-9, t, f64::INFINITY, 0.0, -80.0), -80.0);
    }

    #[test]
    fn level_and_db_conversions_are_inverse_and_exact_at_unity() {
        // log2/exp2 are accurate to an ulp or two; over ±300 dB that is below 1e-12 relative.
        for i in -300..=60 {
            let db = f64::from(i);
            let level = 10f64.powf(db / 20.0);
            assert!((db_to_level(db) / level - 1.0).abs() < 1e-12, "{db}");
            assert!((level_to_db(level) - db).abs() < 1e-12, "{db}");
        }
        assert_eq!(db_to_level(0.0), 1.0);
        assert_eq!(db_to_level(f64::NEG_INFINITY), 0.0);
        assert_eq!(level_to_db(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn the_fast_log2_stays_within_its_bound_over_the_normal_floats() {
        // Every 1009th normal f32 against the f64 log2; the bound (1.5e-7 + 6e-8·|log2 x|)
        // is the one documented, which an exhaustive run over all normal floats meets
        // with a worst case of 1.19e-7 + 6e-8·|log2 x|.
        for bits in (0x0080_0000u32..0x7f80_0000).step_by(1009) {
            let x = f32::from_bits(bits);
            let exact = f64::from(x).log2();
            let error = (f64::from(log2_approx(x)) - exact).abs();
            assert!(error <= 1.5e-7 + 6e-8 * exact.abs(), "{x}: {error}");
        }
        assert_eq!(log2_approx(1.0), 0.0);
        assert_eq!(log2_approx(0.0), -127.0);
        assert!((-150.0..-126.0).contains(&log2_approx(1e-40)));
        assert_eq!(log2_approx(f32::INFINITY), 128.0);
    }

    #[test]
    fn the_fast_exp2_stays_within_2e_7_relative_and_is_exactly_1_at_0() {
        // A grid of 2^-10 plus an irrational offset, so that the fractions cover [−½, ½]
        // densely; 2e-7 is the documented bound (an exhaustive run gives 1.88e-7).
        let mut x = -126.0f64;
        while x <= 127.0 {
            let approx = exp2_approx(x as f32);
            let exact = f64::from(x as f32).exp2();
            assert!((f64::from(approx) / exact - 1.0).abs() <= 2e-7, "{x}: {approx}");
            x += 1.0 / 1024.0 + 1e-7 * std::f64::consts::PI;
        }
        assert_eq!(exp2_approx(0.0), 1.0);
        assert_eq!(exp2_approx(-0.0), 1.0);
        let smallest = f32::MIN_POSITIVE;
        assert_eq!((exp2_approx(-1000.0), exp2_approx(f32::NAN)), (smallest, smallest));
        assert!(exp2_approx(1000.0).is_finite());
    }

    /// `f32` levels from −120 to +20 dB in 0.01 dB steps, with their level in dB.
    fn level_sweep() -> impl Iterator<Item = (f32, f64)> {
        (0..=14_000).map(|i| {
            let level = 10f64.powf((-120.0 + 0.01 * f64::from(i)) / 20.0) as f32;
            (level, 20.0 * f64::from(level).log10())
        })
    }

    fn gain_db(gain: f32) -> f64 {
        20.0 * f64::from(gain).log10()
    }

    /// The per-sample curves' error budget: `log2_approx` at 20 octaves (120 dB) is off by
    /// at most 1.35e-6 octaves, 8.1e-6 dB at a slope of 1, and `exp2_approx` adds 1.7e-6 dB.
    const FAST: f64 = 1e-5;

    #[test]
    fn the_compressor_curve_is_within_1e_5_db_of_the_exact_one_and_unity_below_the_knee() {
        for (t, r, w) in [(-20.0, 3.0, 6.0), (-12.0, 2.0, 0.0), (-30.0, f64::INFINITY, 10.0)] {
            let curve = CompressorCurve::new(t, r, w);
            for (level, level_db) in level_sweep() {
                let mut gain = [0.0];
                curve.gains(&[level], &mut gain);
                let exact = compression_gain_db(level_db, t, r, w);
                assert!((gain_db(gain[0]) - exact).abs() < FAST, "{t} {r} {w} at {level_db}");
            }
            // At and below the start of the knee the gain is exactly 1, whether a block
            // skips the curve (all quiet) or not (one loud level in it).
            let knee_start = curve.knee_start;
            let quiet = [knee_start, knee_start * 0.5, 0.0, 1e-30];
            let mut gains = [0.0; 5];
            curve.gains(&quiet, &mut gains[..4]);
            assert_eq!(gains[..4], [1.0; 4]);
            let mixed = [knee_start, knee_start * 0.5, 0.0, 1e-30, 1.0];
            curve.gains(&mixed, &mut gains);
            assert_eq!(gains[..4], [1.0; 4]);
            assert!(gains[4] < 1.0);
        }
    }

    #[test]
    fn the_expander_curve_is_within_1e_5_db_of_the_exact_one_on_either_side_of_the_hysteresis() {
        let (t, h, range) = (-40.0, 4.0, -60.0);
        for (r, w) in [(2.0, 0.0), (3.0, 8.0), (1.0, 6.0)] {
            let curve = ExpanderCurve::new(t, h, r, w, range);
            for (level, level_db) in level_sweep() {
                for (open, threshold) in [(false, t), (true, t - h)] {
                    let mut gain = [0.0];
                    curve.gains(&[level], &[open], &mut gain);
                    let exact = expansion_gain_db(level_db, threshold, r, w, range);
                    assert!((gain_db(gain[0]) - exact).abs() < FAST, "{r} {w} {open} {level_db}");
                }
            }
            // From the top of the knee up the gain is exactly 1, whether a block skips the
            // curve (all loud) or not (one quiet level in it).
            let loud = [curve.fully_open[0], curve.fully_open[1], 1.0];
            let mut gains = [0.0; 4];
            curve.gains(&loud, &[false, true, false], &mut gains[..3]);
            assert_eq!(gains[..3], [1.0; 3]);
            let mixed = [curve.fully_open[0], curve.fully_open[1], 1.0, 0.0];
            curve.gains(&mixed, &[false, true, false, false], &mut gains);
            assert_eq!(gains[..3], [1.0; 3]);
            assert!(r == 1.0 || gains[3] < 1.0);
        }
    }

    #[test]
    fn a_hard_gate_curve_is_exactly_the_range_below_the_knee_and_1_from_its_top() {
        let curve = ExpanderCurve::new(-40.0, 3.0, f64::INFINITY, 2.0, -20.0);
        let range = db_to_level(-20.0) as f32;
        assert_eq!(curve.range_gain(), range);
        let closed = db_to_level(-39.0) as f32;
        let open = db_to_level(-42.0) as f32;
        let levels = [closed, closed * 0.999, open, open * 0.999, 0.0];
        let mut gains = [0.0; 5];
        curve.gains(&levels, &[false, false, true, true, true], &mut gains);
        assert_eq!(gains, [1.0, range, 1.0, range, range]);
    }
}
