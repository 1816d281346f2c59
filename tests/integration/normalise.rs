//! `master.loudness`: a mix brought to a loudness target under a true-peak ceiling,
//! checked on the written files, decoded by our decoder and measured by our meter.

use std::path::Path;

use serde_json::Value;

use crate::snapshot;
use crate::support::{mixdown, ran, root, scratch, stderr, write_stem};

/// How far over a ceiling the meter may read a limited file: f32 rounding of samples held
/// exactly at the ceiling, 1e-5 dB being about ten steps of an f32 near full scale.
const ROUNDING_DB: f64 = 1e-5;

/// Copies `examples/songs/tidewater.yaml` into `dir` as `mix.yaml`, its stems named by
/// absolute path, with `loudness` as the master's block.
fn tidewater_with(dir: &Path, loudness: &str) {
    let stems = root().join("examples/stems");
    let text = std::fs::read_to_string(root().join("examples/songs/tidewater.yaml")).unwrap();
    let text = text.replace("../stems/", &format!("{}/", stems.display()));
    let text =
        text.replace("tail: 3 s\n", &format!("tail: 3 s\nmaster:\n  loudness: {loudness}\n"));
    std::fs::write(dir.join("mix.yaml"), text).unwrap();
}

/// A two-track mix of synthetic stems with `master` as the master's section.
fn synthetic_with(dir: &Path, master: &str) {
    write_stem(&dir.join("a.wav"), 48_000, 4.0, 1);
    write_stem(&dir.join("b.wav"), 48_000, 4.0, 2);
    let mix = format!(
        "mix: Levels\ntracks:\n  a: {{ source: a.wav }}\n  b: {{ source: b.wav, gain: -3 dB }}\n\
         master:\n{master}\n"
    );
    std::fs::write(dir.join("mix.yaml"), mix).unwrap();
}

fn render(dir: &Path, args: &[&str]) -> (Vec<String>, String) {
    let out = mixdown(dir, &[&["render", "-v", "mix.yaml"], args].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    (ran(&out), stderr(&out))
}

/// What `mixdown loudness --json` (our decoder, our meter) reads in `file`.
fn measured(dir: &Path, file: &str) -> (f64, f64) {
    let out = mixdown(dir, &["loudness", "--json", file]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    (json["integrated"].as_f64().unwrap(), json["true_peak"].as_f64().unwrap())
}

/// The gain and limiting the closing line reports for target `name`.
fn closing_gain_and_limiting(log: &str, name: &str) -> (f64, f64) {
    let line = log.lines().rfind(|l| l.starts_with("rendered ")).expect("a closing line");
    let figures = line.split(&format!("; {name}: ")).nth(1).expect("the target's figures");
    let number = |after: &str| -> f64 {
        let rest = figures.split(after).nth(1).expect("the figure is printed");
        rest.split(" dB").next().unwrap().parse().unwrap()
    };
    (number("gain "), number("limiting "))
}

#[test]
fn tidewater_normalised_to_minus_14_lufs_lands_within_0_3_lu_under_the_ceiling_in_every_format() {
    let work = scratch();
    tidewater_with(work.path(), "{ target: -14 LUFS, ceiling: -1 dBTP }");
    let (cold, log) = render(work.path(), &[]);
    assert!(cold.contains(&"mix/loudness".to_owned()), "{log}");
    let (gain, limiting) = closing_gain_and_limiting(&log, "mix");
    assert!(gain > 0.0 && limiting >= 0.0, "{log}");
    for format in ["pcm24", "pcm16", "float32"] {
        let (ran, log) = render(work.path(), &["--format", format]);
        if format != "pcm24" {
            assert_eq!(ran, ["mix/output"], "another format only writes the file again");
        }
        let (lufs, true_peak) = measured(work.path(), "out/mix.wav");
        assert!((lufs + 14.0).abs() <= 0.3, "{format}: {lufs} LUFS\n{log}");
        assert!(true_peak <= -1.0 + ROUNDING_DB, "{format}: {true_peak} dBTP over the ceiling");
    }
    let (warm, log) = render(work.path(), &["--format", "float32"]);
    assert!(warm.is_empty(), "an unchanged normalised mix renders and measures nothing:\n{log}");
    assert!(!log.contains("measured "), "{log}");
    assert_eq!(closing_gain_and_limiting(&log, "mix"), (gain, limiting), "read back");
}

#[test]
fn profiles_bring_a_mix_to_their_targets_and_cd_adds_no_gain_and_no_overs() {
    let work = scratch();
    synthetic_with(work.path(), "  gain: 12 dB\n  loudness: apple");
    let (_, log) = render(work.path(), &["--format", "float32"]);
    let (lufs, true_peak) = measured(work.path(), "out/mix.wav");
    assert!((lufs + 16.0).abs() <= 0.3, "apple: {lufs} LUFS\n{log}");
    assert!(true_peak <= -1.0 + ROUNDING_DB, "apple: {true_peak} dBTP");

    synthetic_with(work.path(), "  gain: 12 dB\n  loudness: cd");
    let (ran, log) = render(work.path(), &["--format", "float32"]);
    assert_eq!(ran, ["mix/loudness", "mix/output"], "a profile change runs no mix node");
    let (gain, limiting) = closing_gain_and_limiting(&log, "mix");
    assert_eq!(gain, 0.0, "cd applies no gain\n{log}");
    assert!(limiting > 0.0, "the hot master is limited\n{log}");
    let (_, true_peak) = measured(work.path(), "out/mix.wav");
    assert!(true_peak <= 0.0 + ROUNDING_DB, "cd: {true_peak} dBTP, an over");
}

#[test]
fn a_ceiling_edit_renders_only_the_normalisation_and_the_file() {
    let work = scratch();
    synthetic_with(work.path(), "  loudness: { target: -18 LUFS, ceiling: -1 dBTP }");
    render(work.path(), &[]);
    let records_before = records(work.path());
    assert_eq!(records_before.len(), 3, "the master, the normalisation and the file");
    synthetic_with(work.path(), "  loudness: { target: -18 LUFS, ceiling: -2 dBTP }");
    let plan = mixdown(work.path(), &["render", "--dry-run", "mix.yaml"]);
    let plan = format!("{}{}", String::from_utf8_lossy(&plan.stdout), stderr(&plan));
    assert!(plan.contains("master.loudness.ceiling: -1 dBTP → -2 dBTP"), "{plan}");
    let (ran, log) = render(work.path(), &[]);
    assert_eq!(ran, ["mix/loudness", "mix/output"], "{log}");
    let (_, true_peak) = measured(work.path(), "out/mix.wav");
    assert!(true_peak <= -2.0 + ROUNDING_DB, "{true_peak} dBTP");
    let records_after = records(work.path());
    assert_eq!(records_after.len(), 5, "a new normalisation and file, the same master");
    let kept = records_before.iter().filter(|r| records_after.contains(r)).count();
    assert_eq!(kept, 3, "the master's measurement was read back, not written again");
}

/// Each measurement record in the cache, by name and inode: a record written again is
/// renamed into place, so it comes back under a new inode.
fn records(dir: &Path) -> Vec<(std::ffi::OsString, u64)> {
    use std::os::unix::fs::MetadataExt;
    let folder = std::fs::read_dir(dir.join("cache/measurements")).unwrap();
    folder.map(|e| e.unwrap()).map(|e| (e.file_name(), e.metadata().unwrap().ino())).collect()
}

/// Renders the mix expecting a failure; returns what the user is told, with no file left.
fn failure(dir: &Path) -> String {
    let out = mixdown(dir, &["render", "mix.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!dir.join("out/mix.wav").exists(), "no file is written");
    stderr(&out)
}

#[test]
fn a_target_needing_more_than_max_limiting_fails_with_the_figures_at_the_loudness_block() {
    let work = scratch();
    synthetic_with(work.path(), "  loudness: { target: -6 LUFS, max_limiting: 3 dB }");
    snapshot!("normalise-too-much-limiting", failure(work.path()));
}

#[test]
fn a_silent_master_with_a_target_fails_at_the_loudness_block() {
    let work = scratch();
    synthetic_with(work.path(), "  gain: -inf dB\n  loudness: youtube");
    snapshot!("normalise-silent-master", failure(work.path()));
}

#[test]
fn deliverables_take_the_normalised_master_within_0_3_lu_and_under_the_ceiling() {
    let work = scratch();
    tidewater_with(work.path(), "spotify");
    let mix = std::fs::read_to_string(work.path().join("mix.yaml")).unwrap();
    let targets = "deliver:\n  hires: { format: flac, sample_rate: 48 kHz, bit_depth: 24 }\n  \
                   cd: { format: wav, sample_rate: 44.1 kHz, bit_depth: 16, dither: tpdf }\n";
    std::fs::write(work.path().join("mix.yaml"), mix + targets).unwrap();
    let (ran, log) = render(work.path(), &[]);
    assert!(ran.contains(&"mix/loudness".to_owned()), "{log}");
    // The limiter holds the ceiling at the master's rate; rate conversion to 44.1 kHz and
    // TPDF dither passed it by 0.008 dB before the files were held to it too.
    for file in ["out/hires/Tidewater.flac", "out/cd/Tidewater.wav"] {
        let (lufs, true_peak) = measured(work.path(), file);
        assert!((lufs + 14.0).abs() <= 0.3, "{file}: {lufs} LUFS\n{log}");
        assert!(true_peak <= -1.0, "{file}: {true_peak} dBTP over the ceiling");
    }
    let trimmed = "out/cd/Tidewater.wav` was lowered by 0.";
    assert!(log.contains(trimmed) && log.contains("stays under -1 dBTP"), "{log}");
    let (gain, _) = closing_gain_and_limiting(&log, "hires");
    assert_eq!(closing_gain_and_limiting(&log, "cd").0, gain, "one normalisation feeds both");
}
