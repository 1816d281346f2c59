//! `assert:` blocks: checked after every render, and by `mixdown test` with a runner line.

use std::path::Path;
use std::process::Output;

use mixdown::audio::wav::{WavFormat, WavWriter};

use crate::support::{files_under, mixdown, scratch, stderr};

/// Writes `seconds` of a 997 Hz sine at `amplitude` in both channels, as 32-bit float.
fn write_sine(path: &Path, amplitude: f32, seconds: f64) {
    let rate = 48_000;
    let frames = (seconds * f64::from(rate)) as usize;
    let w = 2.0 * std::f64::consts::PI * 997.0 / f64::from(rate);
    let tone: Vec<f32> = (0..frames).map(|i| amplitude * (w * i as f64).sin() as f32).collect();
    let mut writer = WavWriter::create(path, rate, WavFormat::Float32).unwrap();
    writer.write(&tone, &tone).unwrap();
    writer.finish().unwrap();
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A mix of one sine at -6.02 dBFS on track `tone`, whose fader is at -20 dB, with the
/// assertion blocks given.
fn sine_mix(dir: &Path, track_assert: &str, master_assert: &str) {
    write_sine(&dir.join("tone.wav"), 0.5, 4.0);
    let text = format!(
        "mix: sine\nlength: 4 s\ntracks:\n  tone:\n    source: tone.wav\n    gain: -20 dB\n    assert:\n{track_assert}\nmaster:\n  assert:\n{master_assert}\n"
    );
    std::fs::write(dir.join("mix.yaml"), text).unwrap();
}

#[test]
fn mixdown_test_with_one_passing_and_one_failing_assertion_prints_the_failure_and_exits_1() {
    let work = scratch();
    sine_mix(work.path(), "      true_peak: { max: -3 dBTP }", "      loudness: { min: -12 LUFS }");
    let run = mixdown(work.path(), &["test", "mix.yaml"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let out = stdout(&run);
    assert!(out.ends_with("1 passed, 1 failed\n"), "{out}");
    let err = stderr(&run);
    // A full-scale sine in both channels reads 0 LUFS; this one is at -6.02 dBFS, 20 dB
    // down on its fader and 3.01 dB down on each side at the pan's centre: -29.03 LUFS.
    assert!(
        err.contains("error[assertion-failed]: the master's integrated loudness is -29.03 LUFS")
            && err.contains("below the minimum of -12.00 LUFS"),
        "{err}"
    );
    assert!(err.contains("  --> mix.yaml:11:24"), "the failure points at its minimum:\n{err}");
    assert!(out.contains("ok     mix.yaml tracks.tone.assert.true_peak"), "{out}");
    assert!(work.path().join("out/mix.wav").is_file(), "the file is written all the same");
}

#[test]
fn a_track_is_measured_before_its_fader_and_the_master_as_delivered() {
    let work = scratch();
    // The track's sine peaks at -6.02 dBFS before its fader; the master 20 dB and the
    // pan's 3.01 dB lower, at -29.03.
    let track = "      true_peak: { max: -5.9 dBTP }\n      no_clipping: true";
    let master = "      true_peak: { max: -28.9 dBTP }\n      correlation: { min: 0.99 }";
    sine_mix(work.path(), track, master);
    let run = mixdown(work.path(), &["test"]);
    assert_eq!(run.status.code(), Some(0), "{}{}", stdout(&run), stderr(&run));
    assert!(stdout(&run).ends_with("4 passed, 0 failed\n"), "{}", stdout(&run));

    let tighter = "      true_peak: { max: -6.1 dBTP }";
    sine_mix(work.path(), tighter, "      true_peak: { max: -29.1 dBTP }");
    let run = mixdown(work.path(), &["test"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stdout(&run).ends_with("0 passed, 2 failed\n"), "{}", stdout(&run));
    assert!(stdout(&run).contains("track `tone`'s true peak is -6.02 dBTP"), "{}", stdout(&run));
}

#[test]
fn render_checks_assertions_after_every_render_and_fails_the_build_on_one() {
    let work = scratch();
    sine_mix(work.path(), "      no_clipping: true", "      short_term_max: { max: -30 LUFS }");
    let first = mixdown(work.path(), &["render"]);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(stderr(&first).contains("assertions: 1 passed, 1 failed"), "{}", stderr(&first));
    // Up to date, nothing renders, and the assertion still fails.
    let again = mixdown(work.path(), &["render"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("loudest short-term window is -29.03 LUFS"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_render_matches_a_reference_of_itself_and_not_of_another_sound() {
    let work = scratch();
    sine_mix(work.path(), "      no_clipping: true", "      no_clipping: true");
    let first = mixdown(work.path(), &["render", "--format", "float32"]);
    assert!(first.status.success(), "{}", stderr(&first));
    std::fs::rename(work.path().join("out/mix.wav"), work.path().join("reference.wav")).unwrap();
    write_sine(&work.path().join("louder.wav"), 0.6, 4.0);

    let matches = "      matches: { file: reference.wav, tolerance: -100 dB }";
    sine_mix(work.path(), "      no_clipping: true", matches);
    let same = mixdown(work.path(), &["test"]);
    assert_eq!(same.status.code(), Some(0), "{}{}", stdout(&same), stderr(&same));

    sine_mix(work.path(), "      matches: { file: louder.wav }", matches);
    let other = mixdown(work.path(), &["test"]);
    assert_eq!(other.status.code(), Some(1));
    // The track is the 0.5 sine, the reference 0.6: the difference peaks at 0.1, -20 dBFS.
    assert!(
        stdout(&other).contains("difference from") && stdout(&other).contains("is -20.00 dBFS"),
        "{}",
        stdout(&other)
    );
}

#[test]
fn bounds_that_make_no_sense_are_errors_at_their_line() {
    let work = scratch();
    let track = "      loudness: { min: -8 LUFS, max: -20 LUFS }\n      correlation: { min: 2 }";
    sine_mix(work.path(), track, "      true_peak: { max: -1 dB }");
    let check = mixdown(work.path(), &["check"]);
    assert_eq!(check.status.code(), Some(2));
    let err = stderr(&check);
    assert!(err.contains("error[bounds-reversed]") && err.contains("mix.yaml:8:24"), "{err}");
    assert!(
        err.contains("error[correlation-out-of-range]") && err.contains("mix.yaml:9:27"),
        "{err}"
    );
    assert!(err.contains("unknown unit `dB` for a true peak; expected one of: dBTP"), "{err}");
}

#[test]
fn a_mix_with_deliverables_asserts_on_its_master_as_they_encode_it() {
    let work = scratch();
    let master = "      loudness: { min: -29.2 LUFS, max: -28.9 LUFS }\n      true_peak: { max: -28.9 dBTP }\n      correlation: { min: 0.99 }\n      no_clipping: true";
    sine_mix(work.path(), "      true_peak: { max: -5.9 dBTP }", master);
    let mut text = std::fs::read_to_string(work.path().join("mix.yaml")).unwrap();
    text.push_str("deliver:\n  cd: { format: wav, sample_rate: 44.1 kHz, bit_depth: 16 }\n");
    std::fs::write(work.path().join("mix.yaml"), text).unwrap();
    let run = mixdown(work.path(), &["test", "mix.yaml"]);
    assert_eq!(run.status.code(), Some(0), "{}{}", stdout(&run), stderr(&run));
    assert!(stdout(&run).ends_with("5 passed, 0 failed\n"), "{}", stdout(&run));
    assert!(
        stdout(&run).contains("the master's integrated loudness is -29.03 LUFS"),
        "the same figure as the mix's own file: {}",
        stdout(&run)
    );
    assert!(!work.path().join("out/mix.wav").exists(), "a mix with deliverables writes only them");
}

#[test]
fn a_tracks_assertion_holds_after_the_cache_lost_that_tracks_entry_but_kept_the_master() {
    let work = scratch();
    sine_mix(work.path(), "      true_peak: { max: -3 dBTP }", "      loudness: { max: 0 LUFS }");
    let first = mixdown(work.path(), &["render", "mix.yaml", "--cache", "cache"]);
    assert!(first.status.success(), "{}", stderr(&first));
    // As `cache gc` leaves it when the track's entry was the least recently used.
    let track = files_under(&work.path().join("cache/entries"))
        .into_iter()
        .find(|f| {
            let bytes = std::fs::read(f).unwrap();
            bytes.windows(23).any(|w| w == br#""node":"mix/track/tone""#)
        })
        .expect("the track's entry");
    std::fs::remove_file(track).unwrap();
    std::fs::remove_file(work.path().join("out/mix.wav")).unwrap();
    let second = mixdown(work.path(), &["render", "mix.yaml", "--cache", "cache", "-v"]);
    let err = stderr(&second);
    assert!(second.status.success(), "{err}");
    assert!(err.contains("assertions: 2 passed, 0 failed"), "{err}");
    assert!(err.contains("ran      mix/track/tone"), "the track renders again: {err}");
}
