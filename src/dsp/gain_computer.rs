//! The static curves of the dynamics processors, in dB: the gain a steady level gets from
//! a compressor or an expander, with the quadratic soft knee of Giannoulis, Massberg and
//! Reiss (2012). Also the fast level ↔ dB conversions the per-sample paths use.
//!
//! These are pure functions; timing (attack, release, hold) lives in the processors.

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
/// of a fully closed gate. An infinite `ratio` is a hard gate: `range_db` below the knee.
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
    let gain = if 2.0 * over >= knee {
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

/// log2(x) for positive normal `x`, to within 2e-9 absolute (1e-8 dB): the exponent from
/// the bits, and the logarithm of the mantissa (folded into [√½, √2]) from the series
/// ln m = 2·atanh(s) = 2·(s + s³/3 + … + s⁹/9) with s = (m − 1)/(m + 1), |s| ≤ 0.172, whose
/// remainder is about 2·s¹¹/11.
#[inline]
#[must_use]
pub fn fast_log2(x: f64) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    let bits = x.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as f64 - 1023.0;
    let mut m = f64::from_bits((bits & MANTISSA) | 1.0f64.to_bits());
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        exponent += 1.0;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 / 9.0)));
    exponent + 2.0 * s * series * std::f64::consts::LOG2_E
}

/// 2^y to within 1e-8 relative (1e-7 dB), for `y` clamped to ±1020 (so −∞ gives about
/// 1e-307, which is silence in f32): the nearest integer goes into the exponent bits, and
/// the rest, r = f·ln 2 with |r| ≤ 0.347, through the Taylor series of e^r to r⁷, whose
/// remainder is about r⁸/8!.
#[inline]
#[must_use]
pub fn fast_exp2(y: f64) -> f64 {
    // Adding and subtracting 1.5·2^52 rounds to the nearest integer in IEEE arithmetic.
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    let y = y.clamp(-1020.0, 1020.0);
    let whole = (y + ROUNDER) - ROUNDER;
    let r = (y - whole) * std::f64::consts::LN_2;
    let tail = 1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)));
    let series = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * tail)));
    series * f64::from_bits(((whole as i64 + 1023) as u64) << 52)
}

/// A linear level (positive, normal) in dB.
#[inline]
#[must_use]
pub fn level_to_db(level: f64) -> f64 {
    DB_PER_LOG2 * fast_log2(level)
}

/// A gain in dB as a linear factor; 0 dB is exactly 1.
#[inline]
#[must_use]
pub fn db_to_level(db: f64) -> f64 {
    fast_exp2(db / DB_PER_LOG2)
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
    fn the_fast_log_and_exp_agree_with_the_standard_library() {
        // The bounds the docs claim from the series remainders (1.1e-9 for log2, 7e-9 for
        // exp2), checked every 0.01 dB from -300 dB to +60 dB.
        let mut worst_log: f64 = 0.0;
        let mut worst_exp: f64 = 0.0;
        for i in 0..=36_000 {
            let db = -300.0 + f64::from(i) * 0.01;
            let x = 10f64.powf(db / 20.0);
            worst_log = worst_log.max((fast_log2(x) - x.log2()).abs());
            let y = db / DB_PER_LOG2;
            worst_exp = worst_exp.max((fast_exp2(y) / y.exp2() - 1.0).abs());
        }
        assert!(worst_log < 2e-9, "{worst_log}");
        assert!(worst_exp < 1e-8, "{worst_exp}");
        assert_eq!(db_to_level(0.0), 1.0);
        assert_eq!(fast_log2(1.0), 0.0);
        assert!(db_to_level(f64::NEG_INFINITY) < 1e-300);
    }
}
