//! The Kaiser window that the FIR filters here are designed with: its shape follows from
//! the stopband attenuation asked for, by Kaiser's estimate.

/// The window's shape parameter for a stopband `attenuation_db` down, by Kaiser's estimate
/// for more than 50 dB.
#[must_use]
pub fn beta(attenuation_db: f64) -> f64 {
    0.1102 * (attenuation_db - 8.7)
}

/// The window at `ratio` of its half-length from its centre (−1 to 1), for shape `beta`.
#[must_use]
pub fn window(ratio: f64, beta: f64) -> f64 {
    bessel_i0(beta * (1.0 - ratio * ratio).sqrt()) / bessel_i0(beta)
}

/// The modified Bessel function of the first kind, order zero, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-17 * sum {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}
