//! EBU conformance of `mixdown loudness`: the "minimum requirements" test signals of EBU
//! Tech 3341 v3 (cases 1-6 and 9-23) and Tech 3342 (cases 1-4), synthesised here from the
//! specifications' written definitions at 48 kHz, written as float WAV files, measured by
//! the binary with `--json`, and held to the specifications' tolerances: ±0.1 LU for
//! integrated, momentary and short-term loudness, +0.2/-0.4 dB for true peak and ±1 LU for
//! loudness range. Cases 7 and 8 (3341) and 5 and 6 (3342) are recordings of programmes,
//! which cannot be synthesised.
//!
//! Every tone is a 1 kHz sine from one oscillator that starts at phase 0 and runs on
//! through level changes and silences, so each segment starts where the last ended; levels
//! are per-channel peak levels, the same in both channels.

use std::collections::BTreeMap;
use std::f64::consts::TAU;
use std::path::Path;

use mixdown::audio::wav::{WavFormat, WavWriter};
use serde_json::Value;

use crate::support::{WavLayout, mixdown, raw_wav, scratch, stderr};

/// The rate the EBU's own test files use.
const RATE: u32 = 48_000;
/// Tech 3341's tolerance for integrated, momentary and short-term loudness.
const LOUDNESS_LU: f64 = 0.1;
/// Tech 3342's tolerance for loudness range.
const RANGE_LU: f64 = 1.0;

/// Writes a stereo float WAV of `frames` frames at `rate`, both channels `sample(i)`.
fn write_wav(path: &Path, rate: u32, frames: usize, sample: impl Fn(usize) -> f64) {
    let mut writer = WavWriter::create(path, rate, WavFormat::Float32).expect("create");
    let mut block = Vec::with_capacity(4096);
    for start in (0..frames).step_by(4096) {
        block.clear();
        block.extend((start..frames.min(start + 4096)).map(|i| sample(i) as f32));
        writer.write(&block, &block).expect("write");
    }
    writer.finish().expect("finish");
}

/// A part of a test signal: seconds of the 1 kHz tone at a per-channel peak level in dBFS,
/// or of silence (`None`).
type Segment = (f64, Option<f64>);

/// A 1 kHz tone in segments.
fn write_tones(path: &Path, segments: &[Segment]) {
    let mut ends = Vec::new();
    let mut seconds = 0.0;
    for &(length, level) in segments {
        seconds += length;
        let amplitude = level.map_or(0.0, |db| 10_f64.powf(db / 20.0));
        ends.push(((seconds * f64::from(RATE)).round() as usize, amplitude));
    }
    let frames = ends.last().map_or(0, |e| e.0);
    let step = TAU * 1000.0 / f64::from(RATE);
    write_wav(path, RATE, frames, |i| {
        let amplitude = ends.iter().find(|(end, _)| i < *end).map_or(0.0, |e| e.1);
        amplitude * (step * i as f64).sin()
    });
}

/// Runs `mixdown loudness --json` on `files` in `dir` and returns each file's object.
fn measure(dir: &Path, files: &[String]) -> BTreeMap<String, Value> {
    let mut args = vec!["loudness", "--json"];
    args.extend(files.iter().map(String::as_str));
    let out = mixdown(dir, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = String::from_utf8(out.stdout).expect("utf-8");
    let objects: BTreeMap<String, Value> = lines
        .lines()
        .map(|line| {
            let object: Value = serde_json::from_str(line).expect("one JSON object a line");
            println!("{object}");
            (object["file"].as_str().expect("a file name").to_owned(), object)
        })
        .collect();
    assert_eq!(objects.len(), files.len(), "one line per file: {lines}");
    objects
}

/// Asserts that `object[key]` lies within `expected - below ..= expected + above`.
fn assert_within(object: &Value, key: &str, expected: f64, below: f64, above: f64) {
    let value = object[key].as_f64().unwrap_or_else(|| panic!("{key} is a number: {object}"));
    assert!(
        (expected - below..=expected + above).contains(&value),
        "{key} = {value}, expected {expected} -{below}/+{above}, in {object}"
    );
}

/// Asserts that `object[key]` lies within `expected ± tolerance`.
fn assert_near(object: &Value, key: &str, expected: f64, tolerance: f64) {
    assert_within(object, key, expected, tolerance, tolerance);
}

#[test]
fn tech_3341_cases_1_and_2_steady_tones_read_their_level_on_every_time_scale() {
    let dir = scratch();
    write_tones(&dir.path().join("1.wav"), &[(20.0, Some(-23.0))]);
    write_tones(&dir.path().join("2.wav"), &[(20.0, Some(-33.0))]);
    let results = measure(dir.path(), &["1.wav".into(), "2.wav".into()]);
    for (file, level) in [("1.wav", -23.0), ("2.wav", -33.0)] {
        for key in ["integrated", "momentary_max", "short_term_max"] {
            assert_near(&results[file], key, level, LOUDNESS_LU);
        }
    }
}

#[test]
fn tech_3341_cases_3_to_5_integrated_loudness_gates_out_quiet_passages() {
    let dir = scratch();
    let loud = Some(-23.0);
    let cases: [(&str, &[Segment]); 3] = [
        ("3.wav", &[(10.0, Some(-36.0)), (60.0, loud), (10.0, Some(-36.0))]),
        (
            "4.wav",
            &[
                (10.0, Some(-72.0)),
                (10.0, Some(-36.0)),
                (60.0, loud),
                (10.0, Some(-36.0)),
                (10.0, Some(-72.0)),
            ],
        ),
        // 20.1 s: the loud part's extra 0.1 s is what brings the gated mean to -23.0.
        ("5.wav", &[(20.0, Some(-26.0)), (20.1, Some(-20.0)), (20.0, Some(-26.0))]),
    ];
    for (file, segments) in cases {
        write_tones(&dir.path().join(file), segments);
    }
    let files: Vec<String> = cases.iter().map(|c| c.0.to_owned()).collect();
    let results = measure(dir.path(), &files);
    for file in &files {
        assert_near(&results[file], "integrated", -23.0, LOUDNESS_LU);
    }
}

#[test]
fn tech_3341_case_6_five_channel_audio_is_refused_naming_the_file() {
    // Case 6 checks the surround channel weights of BS.1770 on a 5.0 signal. mixdown reads
    // mono and stereo only, so instead of a reading the case must give a clear refusal.
    let dir = scratch();
    let path = dir.path().join("6.wav");
    // L, R, C, Ls, Rs per-channel peak levels, as the case defines them.
    let levels_db = [-28.0, -28.0, -24.0, -30.0, -30.0_f64];
    let frames = 20 * RATE as usize;
    let step = TAU * 1000.0 / f64::from(RATE);
    let mut samples = Vec::with_capacity(frames * 5 * 4);
    for i in 0..frames {
        for db in levels_db {
            let x = 10_f64.powf(db / 20.0) * (step * i as f64).sin();
            samples.extend_from_slice(&(x as f32).to_le_bytes());
        }
    }
    std::fs::write(
        &path,
        raw_wav(WavLayout { format_tag: 3, channels: 5, bits: 32, rate: RATE }, &samples),
    )
    .unwrap();
    let out = mixdown(dir.path(), &["loudness", "6.wav"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("6.wav") && message.contains("5 channels"), "{message}");
}

#[test]
fn tech_3341_case_9_short_term_loudness_of_alternating_tones_is_their_mean() {
    // S is constant at -23.0 after 3 s, so its maximum is -23.0 too.
    let dir = scratch();
    let pair = [(1.34, Some(-20.0)), (1.66, Some(-30.0))];
    write_tones(&dir.path().join("9.wav"), &pair.repeat(5));
    let results = measure(dir.path(), &["9.wav".into()]);
    assert_near(&results["9.wav"], "short_term_max", -23.0, LOUDNESS_LU);
}

#[test]
fn tech_3341_case_10_a_3_s_burst_reads_its_short_term_level_wherever_it_starts() {
    let dir = scratch();
    let files: Vec<String> = (0..20)
        .map(|i| {
            let file = format!("10-{i:02}.wav");
            let silence = f64::from(i) * 0.15;
            write_tones(
                &dir.path().join(&file),
                &[(silence, None), (3.0, Some(-23.0)), (1.0, None)],
            );
            file
        })
        .collect();
    let results = measure(dir.path(), &files);
    for file in &files {
        assert_near(&results[file], "short_term_max", -23.0, LOUDNESS_LU);
    }
}

#[test]
fn tech_3341_case_12_momentary_loudness_of_alternating_tones_is_their_mean() {
    // M is constant at -23.0 after 1 s, so its maximum is -23.0 too.
    let dir = scratch();
    let pair = [(0.18, Some(-20.0)), (0.22, Some(-30.0))];
    write_tones(&dir.path().join("12.wav"), &pair.repeat(25));
    let results = measure(dir.path(), &["12.wav".into()]);
    assert_near(&results["12.wav"], "momentary_max", -23.0, LOUDNESS_LU);
}

#[test]
fn tech_3341_case_13_a_400_ms_burst_reads_its_momentary_level_wherever_it_starts() {
    let dir = scratch();
    let files: Vec<String> = (0..20)
        .map(|i| {
            let file = format!("13-{i:02}.wav");
            let silence = f64::from(i) * 0.02;
            write_tones(
                &dir.path().join(&file),
                &[(silence, None), (0.4, Some(-23.0)), (1.0, None)],
            );
            file
        })
        .collect();
    let results = measure(dir.path(), &files);
    for file in &files {
        assert_near(&results[file], "momentary_max", -23.0, LOUDNESS_LU);
    }
}

/// Multiplies a signal by a linear fade-in and fade-out of `fade` frames at each end.
fn taper(i: usize, frames: usize, fade: usize) -> f64 {
    let from_edge = i.min(frames - 1 - i);
    (from_edge as f64 / fade as f64).min(1.0)
}

#[test]
fn tech_3341_cases_15_to_19_true_peak_of_sines_peaking_between_samples() {
    // (case, frequency as a fraction of the rate, amplitude, phase in degrees, dBTP). The
    // duration does not matter; 1 s, tapered by 10 ms fades as the cases ask.
    let cases = [
        (15, 4.0, 0.5, 0.0, -6.0),
        (16, 4.0, 0.5, 45.0, -6.0),
        (17, 6.0, 0.5, 60.0, -6.0),
        (18, 8.0, 0.5, 67.5, -6.0),
        (19, 4.0, 1.41, 45.0, 3.0),
    ];
    let dir = scratch();
    let frames = RATE as usize;
    let fade = RATE as usize / 100;
    for (case, divisor, amplitude, phase_degrees, _) in cases {
        let phase = f64::to_radians(phase_degrees);
        write_wav(&dir.path().join(format!("{case}.wav")), RATE, frames, |i| {
            let x = amplitude * (TAU * i as f64 / divisor + phase).sin();
            x * taper(i, frames, fade)
        });
    }
    let files: Vec<String> = cases.iter().map(|c| format!("{}.wav", c.0)).collect();
    let results = measure(dir.path(), &files);
    for ((_, _, _, _, expected), file) in cases.iter().zip(&files) {
        assert_within(&results[file], "true_peak", *expected, 0.4, 0.2);
    }
}

#[test]
fn tech_3341_cases_20_to_23_true_peak_of_a_band_limited_burst_at_every_offset() {
    // Synthesised at 4 × 48 kHz: a sine at fs/6 (8 kHz), amplitude 0.5, with one period
    // of a sine at fs/4 (12 kHz), amplitude 1.0, in its middle. "Continuous in phase at
    // both sides" is read as: the period starts and ends at a rising zero crossing of the
    // 8 kHz tone, so the waveform has no step. Then a low-pass filter and every fourth
    // sample, from offset 0, 1, 2 and 3 (cases 20 to 23).
    let dir = scratch();
    let fast = 4 * RATE as usize;
    let tone_period = fast / 8000;
    let burst_period = fast / 12_000;
    // Half a second of tone before the burst, a whole number of its periods.
    let burst_start = fast / 2 / tone_period * tone_period;
    let frames = fast + burst_period;
    let fade = fast / 100;
    let synthesised: Vec<f64> = (0..frames)
        .map(|i| {
            let x = if (burst_start..burst_start + burst_period).contains(&i) {
                (TAU * (i - burst_start) as f64 / burst_period as f64).sin()
            } else {
                let tone_i = if i < burst_start { i } else { i - burst_period };
                0.5 * (TAU * tone_i as f64 / tone_period as f64).sin()
            };
            x * taper(i, frames, fade)
        })
        .collect();
    let lowpass = anti_alias_filter(fast as f64);
    let files: Vec<String> = (0..4)
        .map(|offset| {
            let file = format!("{}.wav", 20 + offset);
            let out_frames = (frames - offset) / 4;
            write_wav(&dir.path().join(&file), RATE, out_frames, |n| {
                filtered_at(&synthesised, &lowpass, 4 * n + offset)
            });
            file
        })
        .collect();
    let results = measure(dir.path(), &files);
    for file in &files {
        assert_within(&results[file], "true_peak", 0.0, 0.4, 0.2);
    }
}

/// The anti-aliasing filter for the 4× to 1× downsampling of cases 20-23, which the spec
/// leaves to the implementer: a Blackman-windowed sinc of 191 taps, cut off at 21 kHz, so
/// that it passes the 12 kHz burst's fundamental flat and stops by 24 kHz (the Blackman
/// window's transition is 5.5 × rate / taps wide, about 5.5 kHz here). DC gain is 1.
fn anti_alias_filter(rate: f64) -> Vec<f64> {
    const TAPS: usize = 191;
    let cutoff = 21_000.0 / rate;
    let middle = (TAPS / 2) as f64;
    let taps: Vec<f64> = (0..TAPS)
        .map(|k| {
            let t = k as f64 - middle;
            let sinc = if t == 0.0 {
                2.0 * cutoff
            } else {
                (TAU * cutoff * t).sin() / (std::f64::consts::PI * t)
            };
            let w = TAU * k as f64 / (TAPS - 1) as f64;
            sinc * (0.42 - 0.5 * w.cos() + 0.08 * (2.0 * w).cos())
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.into_iter().map(|t| t / sum).collect()
}

/// The filtered signal at `index`, with the filter centred there (zero-phase).
fn filtered_at(signal: &[f64], taps: &[f64], index: usize) -> f64 {
    let half = taps.len() / 2;
    taps.iter()
        .enumerate()
        .filter_map(|(k, t)| {
            (index + k).checked_sub(half).and_then(|j| signal.get(j)).map(|x| x * t)
        })
        .sum()
}

#[test]
fn tech_3342_cases_1_to_4_loudness_range_of_tone_steps() {
    // (file, levels of the 20 s steps, expected LRA).
    let cases: [(&str, &[f64], f64); 4] = [
        ("3342-1.wav", &[-20.0, -30.0], 10.0),
        ("3342-2.wav", &[-20.0, -15.0], 5.0),
        ("3342-3.wav", &[-40.0, -20.0], 20.0),
        ("3342-4.wav", &[-50.0, -35.0, -20.0, -35.0, -50.0], 15.0),
    ];
    let dir = scratch();
    for (file, levels, _) in cases {
        let segments: Vec<Segment> = levels.iter().map(|&db| (20.0, Some(db))).collect();
        write_tones(&dir.path().join(file), &segments);
    }
    let files: Vec<String> = cases.iter().map(|c| c.0.to_owned()).collect();
    let results = measure(dir.path(), &files);
    for (file, _, expected) in cases {
        assert_near(&results[file], "loudness_range", expected, RANGE_LU);
    }
}
