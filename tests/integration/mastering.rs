//! The mastering processors as chain steps of a mix file, rendered by the binary:
//! mid/side `eq` bands, `multiband`, `stereo` and `clipper` in one master chain.

use std::f64::consts::PI;

use mixdown::audio::wav::{WavFormat, WavWriter};

use crate::support::{mixdown, read_audio, scratch, stderr};

const RATE: f64 = 48_000.0;

/// The amplitude of `freq` in `x`, which holds a whole number of its periods.
fn amplitude(x: &[f32], freq: f64) -> f64 {
    let (s, c) = x.iter().enumerate().fold((0.0, 0.0), |(s, c), (n, v)| {
        let phase = 2.0 * PI * freq * n as f64 / RATE;
        (s + f64::from(*v) * phase.sin(), c + f64::from(*v) * phase.cos())
    });
    2.0 * s.hypot(c) / x.len() as f64
}

/// Renders `chain` as the master chain of a mix of `tones.wav` panned hard left, in `dir`.
fn render_master(dir: &std::path::Path, chain: &str) -> (Vec<f32>, Vec<f32>) {
    let yaml = format!(
        "mix: Master\nlength: 2 s\ntracks:\n  a:\n    source: tones.wav\n    pan: 100% left\n\
         master:\n  chain:\n{chain}"
    );
    std::fs::write(dir.join("master.yaml"), yaml).unwrap();
    let out = mixdown(dir, &["render", "master.yaml", "--format", "float32"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, l, r) = read_audio(&dir.join("out/master.wav"));
    (l, r)
}

#[test]
fn a_master_chain_of_the_mastering_steps_folds_the_bass_keeps_the_image_and_holds_the_ceiling() {
    // A 30 Hz and a 2 kHz tone, hard left. `mono_below: 120 Hz` leaves the side at 30 Hz
    // 48 dB down (the LR4 highpass a quarter of the corner away), so the channels agree
    // there; at 2 kHz the side passes (a side low shelf at 60 Hz and the multiband's flat
    // sum do not touch it), so the right channel stays silent. The clipper runs before
    // `stereo`: it clips each channel on its own, which would part the bass again.
    let work = scratch();
    let tones: Vec<f32> = (0..96_000)
        .map(|n| {
            let t = f64::from(n) / RATE;
            (0.45 * (2.0 * PI * 30.0 * t).sin() + 0.45 * (2.0 * PI * 2000.0 * t).sin()) as f32
        })
        .collect();
    let mut w =
        WavWriter::create(work.path().join("tones.wav"), 48_000, WavFormat::Float32).unwrap();
    w.write(&tones, &tones).unwrap();
    w.finish().unwrap();
    let (l, r) = render_master(
        work.path(),
        "    - eq: [ { type: low_shelf, freq: 60 Hz, gain: -3 dB, channel: side } ]\n\
         \x20   - multiband:\n        crossovers: [200 Hz, 5 kHz]\n        bands:\n\
         \x20         - {}\n          - { compressor: { threshold: -40 dB, ratio: 1 } }\n\
         \x20         - { gain: -2 dB }\n\
         \x20   - clipper: { ceiling: -1 dB, softness: 30% }\n\
         \x20   - stereo: { mono_below: 120 Hz }\n",
    );
    // One second of whole periods of both tones, after the filters settle.
    let (l, r) = (&l[48_000..96_000], &r[48_000..96_000]);
    let difference: Vec<f32> = l.iter().zip(r).map(|(a, b)| a - b).collect();
    let folded = 20.0 * (amplitude(&difference, 30.0) / amplitude(l, 30.0)).log10();
    assert!(folded < -40.0, "L - R at 30 Hz is {folded} dB");
    let image = 20.0 * (amplitude(r, 2000.0) / amplitude(l, 2000.0)).log10();
    assert!(image < -40.0, "R at 2 kHz is {image} dB under L");

    // Driven 6 dB, the peaks run deep into the clipper's curve, which flattens them just
    // under its ceiling of -3 dB. The decimation filter may ring a little past a flat top
    // (here it measured 0.007 dB over), so 0.1 dB over is allowed.
    let (l, _) = render_master(
        work.path(),
        "    - clipper: { drive: 6 dB, ceiling: -3 dB, softness: 30% }\n",
    );
    let peak = l.iter().fold(0.0f32, |a, x| a.max(x.abs()));
    let peak_db = 20.0 * f64::from(peak).log10();
    println!("clipped peak: {peak_db:.3} dBFS against a -3 dB ceiling");
    assert!(peak_db < -2.9 && peak_db > -3.3, "the clipped peak is {peak_db} dBFS");
}
