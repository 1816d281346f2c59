//! Butterworth highpass and lowpass filters of order 1 to 8, as cascades of biquads.
//!
//! An order-n Butterworth has its poles evenly spaced on a half circle. Each conjugate pair
//! becomes one 12 dB/oct section with the Q of that pair, and an odd order adds a 6 dB/oct
//! first-order section for the real pole. All sections are prewarped at the same corner,
//! so the cascade is exactly the bilinear transform of the analog filter: maximally flat,
//! -3.01 dB at the corner, and 6·n dB/oct beyond it.
//!
//! This module only designs; [`crate::dsp::primitives::biquad`] runs the sections.

use std::f64::consts::PI;

use crate::dsp::primitives::biquad::BiquadCoefficients;

/// The highest order designed: 48 dB/oct.
pub const MAX_ORDER: usize = 8;

/// Which side of the corner a filter keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Keeps what is above the corner.
    High,
    /// Keeps what is below the corner.
    Low,
}

/// The number of biquad sections an order-`order` filter needs.
#[must_use]
pub fn section_count(order: usize) -> usize {
    order.div_ceil(2)
}

/// The Q of the `k`-th conjugate pole pair of an order-`order` Butterworth, for `k` in
/// `0..order / 2`, rising with `k`: the pair sits at `π(2k + 1 + order mod 2) / (2·order)`
/// from the negative real axis, and a pole pair at angle ψ has Q = 1 / (2 cos ψ).
fn pair_q(order: usize, k: usize) -> f64 {
    let angle = PI * (2 * k + 1 + order % 2) as f64 / (2 * order) as f64;
    1.0 / (2.0 * angle.cos())
}

/// Designs an order-`order` Butterworth into `sections`, which must hold exactly
/// [`section_count`]`(order)` entries: the first-order section first when the order is
/// odd, then the pole pairs from the lowest Q to the highest, so that no intermediate
/// signal carries the resonance of the sharpest pair.
///
/// # Panics
///
/// If `order` is not in `1..=MAX_ORDER` or `sections` has the wrong length; both are bugs
/// in the caller, since [`crate::units::Slope`] only allows valid orders.
pub fn design(
    pass: Pass,
    order: usize,
    sample_rate: f64,
    freq: f64,
    sections: &mut [BiquadCoefficients],
) {
    assert!((1..=MAX_ORDER).contains(&order), "Butterworth order {order} is not designed");
    assert_eq!(sections.len(), section_count(order), "sections for order {order}");
    let (first_order, pairs) = sections.split_at_mut(order % 2);
    if let Some(section) = first_order.first_mut() {
        *section = match pass {
            Pass::High => BiquadCoefficients::first_order_highpass(sample_rate, freq),
            Pass::Low => BiquadCoefficients::first_order_lowpass(sample_rate, freq),
        };
    }
    for (k, section) in pairs.iter_mut().enumerate() {
        let q = pair_q(order, k);
        *section = match pass {
            Pass::High => BiquadCoefficients::highpass(sample_rate, freq, q),
            Pass::Low => BiquadCoefficients::lowpass(sample_rate, freq, q),
        };
    }
}

/// The sections of an order-`order` Butterworth, as a new vector.
///
/// # Panics
///
/// If `order` is not in `1..=MAX_ORDER`.
#[must_use]
pub fn sections(pass: Pass, order: usize, sample_rate: f64, freq: f64) -> Vec<BiquadCoefficients> {
    let mut out = vec![BiquadCoefficients::IDENTITY; section_count(order)];
    design(pass, order, sample_rate, freq, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use std::f64::consts::FRAC_1_SQRT_2;

    use super::*;

    #[test]
    fn pair_qs_are_the_textbook_values() {
        // Tabulated Butterworth Qs (e.g. any active-filter handbook), to 4 decimals.
        let table: [(usize, &[f64]); 6] = [
            (2, &[FRAC_1_SQRT_2]),
            (3, &[1.0]),
            (4, &[0.5412, 1.3066]),
            (5, &[0.6180, 1.6180]),
            (6, &[0.5176, FRAC_1_SQRT_2, 1.9319]),
            (8, &[0.5098, 0.6013, 0.9000, 2.5629]),
        ];
        for (order, qs) in table {
            for (k, want) in qs.iter().enumerate() {
                let got = pair_q(order, k);
                assert!((got - want).abs() < 5e-5, "order {order} pair {k}: {got}");
            }
        }
    }

    #[test]
    fn every_order_is_the_warped_butterworth_curve() {
        // |H|² = 1 / (1 + Ω^2n) with Ω = tan(πf/fs) / tan(πfc/fs) (inverted for a
        // highpass) is the bilinear transform of the analog Butterworth; the cascade must
        // match it to f64 rounding, 1e-6 dB where it is above -120 dB.
        for fs in [44_100.0, 48_000.0, 96_000.0] {
            for fc in [25.0, 1_000.0, 15_000.0] {
                for order in 1..=MAX_ORDER {
                    for pass in [Pass::High, Pass::Low] {
                        let cascade = sections(pass, order, fs, fc);
                        for k in 0..=30 {
                            let f = 20.0 * 2f64.powf(f64::from(k) / 3.0);
                            let omega = (PI * f / fs).tan() / (PI * fc / fs).tan();
                            let ratio = if pass == Pass::Low { omega } else { 1.0 / omega };
                            let want = -10.0 * ratio.powi(2 * order as i32).ln_1p() / 10f64.ln();
                            if want < -120.0 {
                                continue;
                            }
                            let got: f64 = cascade.iter().map(|c| c.magnitude_db(fs, f)).sum();
                            assert!((got - want).abs() < 1e-6, "{pass:?} {order} {fc} at {f}");
                        }
                    }
                }
            }
        }
    }
}
