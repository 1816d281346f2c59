//! `mixdown diff A B`: two renders of a scripted edit compared as a mastering engineer
//! would: the null test, the loudness change, the band that moved, and the verdict.

use std::path::Path;
use std::process::Output;

use crate::support::{mixdown, scratch, stderr, write_stem};

/// A mix of one broadband stem with the track settings given.
fn write_mix(dir: &Path, track: &str) {
    let text = format!("mix: song\nlength: 4 s\ntracks:\n  keys:\n    source: keys.wav\n{track}\n");
    std::fs::write(dir.join("song.yaml"), text).unwrap();
}

/// Renders the mix into `out/<folder>/song.wav` as 32-bit float.
fn render(dir: &Path, folder: &str) {
    let out = format!("out/{folder}");
    let run = mixdown(dir, &["render", "song.yaml", "--format", "float32", "--out", &out]);
    assert!(run.status.success(), "{}", stderr(&run));
}

fn diff(dir: &Path, a: &str, b: &str) -> (Output, String) {
    let run = mixdown(dir, &["diff", a, b]);
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    (run, text)
}

/// The number after `name` in a line of the report.
fn figure(report: &str, name: &str) -> f64 {
    let at = report.find(name).unwrap_or_else(|| panic!("no {name} in:\n{report}")) + name.len();
    let number: String = report[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
        .collect();
    number.parse().unwrap_or_else(|_| panic!("no number after {name} in:\n{report}"))
}

#[test]
fn a_fader_move_of_one_db_shows_as_one_db_of_loudness_in_every_band() {
    let work = scratch();
    write_stem(&work.path().join("keys.wav"), 48_000, 4.0, 3);
    write_mix(work.path(), "    gain: -6 dB");
    render(work.path(), "before");
    write_mix(work.path(), "    gain: -5 dB");
    render(work.path(), "after");
    let (run, report) = diff(work.path(), "out/before/song.wav", "out/after/song.wav");
    assert!(run.status.success(), "{}", stderr(&run));
    assert!((figure(&report, "LUFS  (") - 1.0).abs() < 0.01, "{report}");
    for band in ["low", "mid", "high"] {
        assert!((figure(&report, band) - 1.0).abs() < 0.01, "{band}:\n{report}");
    }
    assert!(report.ends_with("verdict: changed\n"), "{report}");
}

#[test]
fn a_high_shelf_boost_moves_the_high_band_and_leaves_the_low_one() {
    let work = scratch();
    write_stem(&work.path().join("keys.wav"), 48_000, 4.0, 5);
    write_mix(work.path(), "");
    render(work.path(), "before");
    write_mix(
        work.path(),
        "    chain:\n      - eq: [{ type: high_shelf, freq: 6 kHz, gain: 6 dB }]",
    );
    render(work.path(), "after");
    let (_, report) = diff(work.path(), "out/before/song.wav", "out/after/song.wav");
    let (low, high) = (figure(&report, "low"), figure(&report, "high"));
    assert!(low.abs() < 0.1, "{report}");
    assert!(high > 3.0, "{report}");
    assert!(figure(&report, "peak") > -60.0, "{report}");
}

#[test]
fn the_same_render_is_identical_and_a_word_length_change_inaudible() {
    let work = scratch();
    write_stem(&work.path().join("keys.wav"), 48_000, 4.0, 7);
    write_mix(work.path(), "");
    render(work.path(), "float");
    let pcm24 = mixdown(work.path(), &["render", "song.yaml", "--out", "out/pcm24"]);
    assert!(pcm24.status.success());
    let (_, same) = diff(work.path(), "out/float/song.wav", "out/float/song.wav");
    assert!(same.contains("peak -inf dBFS") && same.ends_with("verdict: identical\n"), "{same}");
    let (_, rounded) = diff(work.path(), "out/float/song.wav", "out/pcm24/song.wav");
    assert!(rounded.ends_with("verdict: inaudible\n"), "{rounded}");
}

#[test]
fn a_file_that_is_not_audio_fails_with_its_name() {
    let work = scratch();
    std::fs::write(work.path().join("notes.wav"), b"not audio at all").unwrap();
    let (run, _) = diff(work.path(), "notes.wav", "notes.wav");
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("notes.wav"), "{}", stderr(&run));
}
