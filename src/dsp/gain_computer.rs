//! The static curves of the dynamics processors, in dB: the gain a steady level gets from
//! a compressor or an expander, with the quadratic soft knee of Giannoulis, Massberg and
//! Reiss (2012), and the level ↔ dB conversions the per-sample paths use.
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
}
