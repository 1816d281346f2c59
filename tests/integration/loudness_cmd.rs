//! `mixdown loudness`: the table and the JSON lines it prints, silence and short files, mono
//! files, and files it cannot read.

use std::f64::consts::TAU;
use std::path::Path;

use mixdown::audio::wav::{WavFormat, WavWriter};
use serde_json::Value;

use crate::snapshot;
use crate::support::{WavLayout, mixdown, raw_wav, scratch, stderr};

const RATE: u32 = 48_000;

/// A stereo float WAV: a 1 kHz sine at `level` dBFS in both channels, or silence.
fn write_tone(path: &Path, rate: u32, seconds: f64, level: Option<f64>) {
    let amplitude = level.map_or(0.0, |db| 10_f64.powf(db / 20.0));
    let frames = (seconds * f64::from(rate)) as usize;
    let step = TAU * 1000.0 / f64::from(rate);
    let tone: Vec<f32> =
        (0..frames).map(|i| (amplitude * (step * i as f64).sin()) as f32).collect();
    let mut writer = WavWriter::create(path, rate, WavFormat::Float32).unwrap();
    writer.write(&tone, &tone).unwrap();
    writer.finish().unwrap();
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    text.lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect()
}

#[test]
fn the_table_shows_each_file_with_units_and_marks_what_cannot_be_measured() {
    let dir = scratch();
    write_tone(&dir.path().join("tone.wav"), RATE, 4.0, Some(-18.0));
    write_tone(&dir.path().join("silence.wav"), RATE, 4.0, None);
    write_tone(&dir.path().join("short.wav"), RATE, 1.0, Some(-20.0));
    let out = mixdown(dir.path(), &["loudness", "tone.wav", "silence.wav", "short.wav"]);
    assert!(out.status.success(), "{}", stderr(&out));
    snapshot!("loudness-table", String::from_utf8(out.stdout).unwrap());
}

#[test]
fn json_lines_carry_every_figure_and_null_where_there_is_none() {
    let dir = scratch();
    write_tone(&dir.path().join("tone.wav"), RATE, 4.0, Some(-18.0));
    write_tone(&dir.path().join("silence.wav"), RATE, 4.0, None);
    let out = mixdown(dir.path(), &["loudness", "--json", "tone.wav", "silence.wav"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out.stdout);
    let keys = [
        "duration",
        "file",
        "integrated",
        "loudness_range",
        "momentary_max",
        "plr",
        "sample_peak",
        "short_term_max",
        "true_peak",
    ];
    for line in &lines {
        let mut found: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
        found.sort_unstable();
        assert_eq!(found, keys);
    }
    let (tone, silence) = (&lines[0], &lines[1]);
    assert_eq!(tone["file"], "tone.wav");
    assert!((tone["integrated"].as_f64().unwrap() + 18.0).abs() < 0.1, "{tone}");
    assert!((tone["plr"].as_f64().unwrap()).abs() < 0.1, "{tone}");
    for key in keys.iter().filter(|k| !["file", "duration"].contains(k)) {
        assert!(silence[key].is_null(), "{key} of silence: {silence}");
    }
    assert_eq!(silence["duration"], 4.0);
}

#[test]
fn a_mono_file_is_measured_as_it_sounds_on_both_speakers() {
    // The decoder puts mono in both channels, as the engine hears it; a stereo file with
    // the same signal in both reads the same.
    let dir = scratch();
    let amplitude = 10_f64.powf(-20.0 / 20.0) * 32_767.0;
    let step = TAU * 1000.0 / f64::from(RATE);
    let samples: Vec<u8> = (0..4 * RATE as usize)
        .flat_map(|i| ((amplitude * (step * i as f64).sin()).round() as i16).to_le_bytes())
        .collect();
    std::fs::write(
        dir.path().join("mono.wav"),
        raw_wav(WavLayout { format_tag: 1, channels: 1, bits: 16, rate: RATE }, &samples),
    )
    .unwrap();
    write_tone(&dir.path().join("stereo.wav"), RATE, 4.0, Some(-20.0));
    let out = mixdown(dir.path(), &["loudness", "--json", "mono.wav", "stereo.wav"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = json_lines(&out.stdout);
    let (mono, stereo) = (lines[0]["integrated"].as_f64(), lines[1]["integrated"].as_f64());
    assert!((mono.unwrap() - stereo.unwrap()).abs() < 0.01, "{mono:?} vs {stereo:?}");
}

#[test]
fn files_that_cannot_be_read_are_named_and_the_others_still_measured() {
    let dir = scratch();
    write_tone(&dir.path().join("a.wav"), RATE, 1.0, Some(-20.0));
    std::fs::write(dir.path().join("garbage.wav"), b"not audio at all, just text".repeat(100))
        .unwrap();
    write_tone(&dir.path().join("b.wav"), RATE, 1.0, Some(-30.0));
    // A file cut short is only found out at its end, after most of it was measured.
    write_tone(&dir.path().join("cut.wav"), RATE, 1.0, Some(-20.0));
    let whole = std::fs::read(dir.path().join("cut.wav")).unwrap();
    std::fs::write(dir.path().join("cut.wav"), &whole[..whole.len() * 3 / 4]).unwrap();
    let files = ["a.wav", "missing.wav", "garbage.wav", "cut.wav", "b.wav"];
    let mut args = vec!["loudness", "--json"];
    args.extend(files);
    let out = mixdown(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let measured: Vec<Value> =
        json_lines(&out.stdout).into_iter().map(|l| l["file"].clone()).collect();
    assert_eq!(measured, ["a.wav", "b.wav"]);
    let message = stderr(&out);
    for file in ["missing.wav", "garbage.wav", "cut.wav"] {
        assert!(message.contains(file), "{file} is named: {message}");
    }
    assert_eq!(message.lines().count(), 3, "one line per unreadable file: {message}");
}

#[test]
fn a_rate_the_meter_cannot_take_is_an_error_naming_the_file() {
    let dir = scratch();
    write_tone(&dir.path().join("slow.wav"), 8, 2.0, Some(-20.0));
    let out = mixdown(dir.path(), &["loudness", "slow.wav"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("slow.wav") && message.contains("8 Hz"), "{message}");
}
