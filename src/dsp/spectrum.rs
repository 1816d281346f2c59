//! Spectrum measurements shared by the tests of nonlinear processors: a windowed spectrum
//! in dBFS and the loudest component that is not a harmonic, which is what aliasing
//! leaves. Compiled for tests only.

use std::f64::consts::PI;

use realfft::RealFftPlanner;

/// Spectrum in dBFS per bin: a 7-term Blackman-Harris window (sidelobes near -180 dB),
/// scaled so that a full-scale sine on a bin reads 0 dBFS.
pub fn spectrum_dbfs(y: &[f64]) -> Vec<f64> {
    const A: [f64; 7] = [
        0.271_051_400_693_42,
        0.433_297_939_234_48,
        0.218_122_999_543_11,
        0.065_925_446_388_03,
        0.010_811_742_098_37,
        0.000_776_584_825_22,
        0.000_013_887_217_35,
    ];
    let n = y.len();
    let mut input: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let t = 2.0 * PI * i as f64 / n as f64;
            let w: f64 = A
                .iter()
                .enumerate()
                .map(|(k, &a)| if k % 2 == 0 { a } else { -a } * (k as f64 * t).cos())
                .sum();
            v * w
        })
        .collect();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut out = fft.make_output_vec();
    fft.process(&mut input, &mut out).expect("the buffers come from the plan");
    out.iter().map(|c| 20.0 * (2.0 * c.norm() / (n as f64 * A[0])).log10()).collect()
}

/// The loudest bin (level, frequency) more than eight bins (the window's main lobe) away
/// from DC and from every harmonic of `fundamental` below Nyquist, in a spectrum of an
/// `n`-frame signal at `sample_rate`.
pub fn loudest_non_harmonic(
    db: &[f64],
    fundamental: f64,
    n: usize,
    sample_rate: f64,
) -> (f64, f64) {
    let bin_hz = sample_rate / n as f64;
    db.iter()
        .enumerate()
        .filter(|&(k, _)| {
            let f = k as f64 * bin_hz;
            let nearest = (f / fundamental).round() * fundamental;
            (f - nearest).abs() > 8.0 * bin_hz
        })
        .map(|(k, &v)| (v, k as f64 * bin_hz))
        .fold((f64::NEG_INFINITY, 0.0), |a, b| if b.0 > a.0 { b } else { a })
}
