//! The loudness a render closes with: measured as the master's file is written, kept under
//! the output node's key, and read back, not measured, when nothing changed.

use std::path::Path;

use serde_json::Value;

use crate::support::{mixdown, ran, scratch, stderr, write_stem};

const MIX: &str =
    "mix: Measured\ntracks:\n  a: { source: a.wav }\n  b: { source: b.wav, gain: -3 dB }\n";

/// The closing line of a render's log.
fn closing_line(log: &str) -> String {
    log.lines().rfind(|l| l.starts_with("rendered ")).expect("a closing line").to_owned()
}

/// The integrated loudness and true peak the closing line gives for `name`.
fn closing_figures(log: &str, name: &str) -> (f64, f64) {
    let line = closing_line(log);
    let figures = line.split(&format!("; {name}: ")).nth(1).expect("the target's figures");
    let (lufs, dbtp) = figures.split_once(", ").unwrap();
    (
        lufs.trim_end_matches(" LUFS").parse().unwrap(),
        dbtp.trim_end_matches(" dBTP").parse().unwrap(),
    )
}

/// What `mixdown loudness --json` measures on `file`.
fn measured(dir: &Path, file: &str) -> Value {
    let out = mixdown(dir, &["loudness", "--json", file]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn render(dir: &Path) -> String {
    let out = mixdown(dir, &["render", "-v", "mix.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert_eq!(ran(&out).is_empty(), !log.contains("measured "), "{log}");
    log
}

/// A scratch folder with two stems and [`MIX`], which mixes them.
fn two_stem_mix() -> tempfile::TempDir {
    let work = scratch();
    write_stem(&work.path().join("a.wav"), 48_000, 3.0, 1);
    write_stem(&work.path().join("b.wav"), 48_000, 3.0, 2);
    std::fs::write(work.path().join("mix.yaml"), MIX).unwrap();
    work
}

#[test]
fn a_render_closes_with_the_loudness_of_the_file_it_wrote_and_a_warm_one_measures_nothing() {
    let work = two_stem_mix();
    let cold = render(work.path());
    assert!(cold.lines().any(|l| l == "measured mix/output"), "{cold}");
    let (lufs, dbtp) = closing_figures(&cold, "mix");
    // The closing line rounds to 0.1, and the meter read the samples before the 24-bit
    // file rounded them, which moves no figure by 0.001.
    let file = measured(work.path(), "out/mix.wav");
    assert!((file["integrated"].as_f64().unwrap() - lufs).abs() <= 0.05, "{file} vs {lufs}");
    assert!((file["true_peak"].as_f64().unwrap() - dbtp).abs() <= 0.05, "{file} vs {dbtp}");
    let record = std::fs::read_dir(work.path().join("cache/measurements")).unwrap().count();
    assert_eq!(record, 1, "one measurement, of the one target");

    let warm = render(work.path());
    assert!(!warm.contains("measured "), "a warm render measures nothing:\n{warm}");
    assert!(!warm.contains("ran "), "{warm}");
    assert_eq!(closing_figures(&warm, "mix"), (lufs, dbtp), "read back as measured");
}

#[test]
fn a_file_written_again_keeps_the_measurement_of_its_audio_and_measures_nothing() {
    let work = two_stem_mix();
    let figures = closing_figures(&render(work.path()), "mix");
    let file = work.path().join("out/mix.wav");
    let written = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();

    let out = mixdown(work.path(), &["render", "-v", "mix.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(ran(&out).contains(&"mix/output".to_string()), "the file is written again:\n{log}");
    assert!(!log.contains("measured "), "its audio was measured before:\n{log}");
    assert_eq!(closing_figures(&log, "mix"), figures, "the measurement kept under its key");
    assert!(std::fs::read(&file).unwrap() == written, "the same bytes");
}

#[test]
fn a_fader_move_is_measured_again_and_moves_the_loudness_by_as_much() {
    let work = scratch();
    write_stem(&work.path().join("a.wav"), 48_000, 3.0, 1);
    write_stem(&work.path().join("b.wav"), 48_000, 3.0, 2);
    let mix = MIX.replace("b.wav, gain: -3 dB", "b.wav, mute: true");
    std::fs::write(work.path().join("mix.yaml"), &mix).unwrap();
    let (before, _) = closing_figures(&render(work.path()), "mix");
    let quieter = mix.replace("a.wav }", "a.wav, gain: -6 dB }");
    std::fs::write(work.path().join("mix.yaml"), quieter).unwrap();
    let log = render(work.path());
    assert!(log.lines().any(|l| l == "measured mix/output"), "{log}");
    let (after, _) = closing_figures(&log, "mix");
    // One track alone, 6 dB down: BS.1770 is linear in energy, so -6.0 to the closing
    // line's rounding (±0.1).
    assert!((before - after - 6.0).abs() <= 0.1, "{before} then {after}");
}

#[test]
fn a_silent_master_closes_saying_so() {
    let work = scratch();
    write_stem(&work.path().join("a.wav"), 48_000, 1.0, 1);
    let mix = "mix: Hush\ntracks:\n  a: { source: a.wav, mute: true }\n";
    std::fs::write(work.path().join("mix.yaml"), mix).unwrap();
    let out = mixdown(work.path(), &["render", "mix.yaml"]);
    let line = closing_line(&stderr(&out));
    assert!(
        line.ends_with("; mix: no integrated loudness (silent or under 0.4 s), silent"),
        "{line}"
    );
}

#[test]
fn a_master_limited_in_true_peak_mode_delivers_no_true_peak_over_its_ceiling() {
    // The stems peak near -8 dBFS; 20 dB of master gain drives the limiter about 12 dB.
    // The brief's bound is the ceiling + 0.1 dB on `mixdown loudness`, read here from the
    // float file, so that no word-length rounding helps. The sample-peak mode reads
    // -0.87 dBTP here, and fails.
    let work = scratch();
    write_stem(&work.path().join("a.wav"), 48_000, 3.0, 1);
    write_stem(&work.path().join("b.wav"), 48_000, 3.0, 2);
    let master =
        "master:\n  gain: 20 dB\n  chain:\n    - limiter: { ceiling: -1 dB, true_peak: true }\n";
    std::fs::write(work.path().join("mix.yaml"), format!("{MIX}{master}")).unwrap();
    let out = mixdown(work.path(), &["render", "mix.yaml", "--format", "float32"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = measured(work.path(), "out/mix.wav");
    let (true_peak, sample_peak) =
        (file["true_peak"].as_f64().unwrap(), file["sample_peak"].as_f64().unwrap());
    assert!(true_peak <= -0.9, "{file}");
    assert!(sample_peak > -1.5, "the limiter was driven to its ceiling: {file}");
    assert_eq!(closing_figures(&stderr(&out), "mix").1, (true_peak * 10.0).round() / 10.0);
}
