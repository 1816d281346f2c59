//! `assert:` blocks on an album's songs and on the album: checked after every album render
//! and by `mixdown test`, each song measured as the album delivers it and the album as its
//! whole timeline, with the same figures as the album's report; and a song's own mix's
//! assertions, checked in the album as the mix alone checks them.

use std::path::Path;
use std::process::Output;

use crate::support::{mixdown, ran, scratch, stderr, write_stem};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An album of two 4 s songs from files, brought to -14 LUFS and delivered as WAVs, with
/// `song_assert` on the second song and `album_assert` on the album.
fn write_album(dir: &Path, song_assert: &str, album_assert: &str) {
    write_stem(&dir.join("one.wav"), 48_000, 4.0, 1);
    write_stem(&dir.join("two.wav"), 48_000, 4.0, 2);
    let text = format!(
        "album: Low Tide\nartist: The Example Ensemble\nsongs:\n  - file: one.wav\n    title: First Light\n  - file: two.wav\n    title: Tidewater\n    assert:\n{song_assert}\nmastering:\n  loudness: {{ target: -14 LUFS }}\ndeliver:\n  web: {{ format: wav }}\nassert:\n{album_assert}\n"
    );
    std::fs::write(dir.join("album.yaml"), text).unwrap();
}

/// The figure `field` of song `index` (or of the album when `None`) in `out/report.json`.
fn reported(dir: &Path, index: Option<usize>, field: &str) -> f64 {
    let text = std::fs::read_to_string(dir.join("out/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let figures = match index {
        Some(i) => &report["songs"][i],
        None => &report["album"],
    };
    figures[field].as_f64().unwrap_or_else(|| panic!("no `{field}` in {figures}"))
}

#[test]
fn mixdown_test_on_an_album_with_one_passing_and_one_failing_assertion_exits_1() {
    let work = scratch();
    write_album(work.path(), "      true_peak: { max: -1 dBTP }", "  loudness: { max: -20 LUFS }");
    let run = mixdown(work.path(), &["test", "album.yaml"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let (out, err) = (stdout(&run), stderr(&run));
    assert!(out.ends_with("1 passed, 1 failed\n"), "{out}");
    assert!(out.contains("ok     album.yaml songs[1].assert.true_peak"), "{out}");
    assert!(out.contains("FAILED album.yaml assert.loudness"), "{out}");
    assert!(
        err.contains("error[assertion-failed]: the album's integrated loudness is -14.0")
            && err.contains("above the maximum of -20.00 LUFS"),
        "{err}"
    );
    assert!(err.contains("  --> album.yaml:15:20"), "the failure points at its maximum:\n{err}");
    assert!(work.path().join("out/web/02 Tidewater.wav").is_file(), "the files are written");

    let render = mixdown(work.path(), &["render", "album.yaml"]);
    assert_eq!(render.status.code(), Some(1), "render fails on it too: {}", stderr(&render));
    assert!(stderr(&render).contains("assertions: 1 passed, 1 failed"), "{}", stderr(&render));
}

#[test]
fn a_song_is_held_to_its_bounds_with_the_figures_of_the_albums_report() {
    let work = scratch();
    let song = "      loudness: { min: -10 LUFS }\n      short_term_max: { max: 0 LUFS }\n      loudness_range: { max: 30 LU }\n      no_clipping: true";
    write_album(work.path(), song, "  true_peak: { max: -1 dBTP }\n  no_clipping: true");
    let run = mixdown(work.path(), &["test", "album.yaml"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let out = stdout(&run);
    assert!(out.ends_with("5 passed, 1 failed\n"), "{out}");
    let loudness = reported(work.path(), Some(1), "integrated");
    let expected = format!(
        "the integrated loudness of song 2 \"Tidewater\" is {loudness:.2} LUFS, below the \
         minimum of -10.00 LUFS"
    );
    assert!(out.contains(&expected), "{out}");
}

#[test]
fn the_album_is_measured_as_its_whole_timeline_for_a_correlation_and_a_null_test() {
    let work = scratch();
    // The stems' channels carry one tone, the right at 0.8 of the left, under independent
    // noise: strongly correlated, and not mono.
    write_album(work.path(), "      correlation: { min: 0.5 }", "  correlation: { min: 0.999 }");
    let run = mixdown(work.path(), &["test", "album.yaml"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let out = stdout(&run);
    assert!(out.ends_with("1 passed, 1 failed\n"), "{out}");
    assert!(
        out.contains(
            "FAILED album.yaml assert.correlation: the album's left-right correlation is 0.9"
        ),
        "{out}"
    );

    // The album rendered once as one float file at its rate is the reference it nulls
    // against; the first song alone is not.
    let text = std::fs::read_to_string(work.path().join("album.yaml")).unwrap();
    let whole = "  whole: { format: wav, bit_depth: 32f, split: album }\n";
    let text =
        text.replace("  web: { format: wav }\n", &format!("  web: {{ format: wav }}\n{whole}"));
    std::fs::write(work.path().join("album.yaml"), &text).unwrap();
    let render = mixdown(work.path(), &["render", "album.yaml"]);
    assert_eq!(render.status.code(), Some(1), "{}", stderr(&render));
    std::fs::rename(work.path().join("out/whole/Low Tide.wav"), work.path().join("approved.wav"))
        .unwrap();
    let text = text
        .replace("      correlation: { min: 0.5 }", "      matches: { file: approved.wav }")
        .replace(
            "  correlation: { min: 0.999 }",
            "  matches: { file: approved.wav, tolerance: -140 dB }",
        );
    std::fs::write(work.path().join("album.yaml"), text).unwrap();
    let run = mixdown(work.path(), &["test", "album.yaml"]);
    let out = stdout(&run);
    assert_eq!(run.status.code(), Some(1), "{out}{}", stderr(&run));
    assert!(out.contains("ok     album.yaml assert.matches"), "{out}");
    assert!(
        out.contains("FAILED album.yaml songs[1].assert.matches: the difference from"),
        "the second song alone is not the album:\n{out}"
    );
}

#[test]
fn an_album_without_assertions_renders_and_reports_none() {
    let work = scratch();
    write_stem(&work.path().join("one.wav"), 48_000, 4.0, 1);
    let text = "album: A\nartist: B\nsongs:\n  - { file: one.wav, title: One }\ndeliver:\n  web: { format: wav }\n";
    std::fs::write(work.path().join("album.yaml"), text).unwrap();
    let run = mixdown(work.path(), &["test", "album.yaml"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(stdout(&run).ends_with("0 passed, 0 failed\n"), "{}", stdout(&run));
    assert!(!stderr(&run).contains("assertions:"), "{}", stderr(&run));
}

/// An album of a song from `song.yaml` (a two-track mix asserting `mix_assert` on its
/// master and a true peak on its kick) and a song from a file, with `album_assert` on the
/// album.
fn write_album_of_a_mix(dir: &Path, mix_assert: &str, album_assert: &str) {
    write_stem(&dir.join("kick.wav"), 48_000, 5.0, 1);
    write_stem(&dir.join("bass.wav"), 48_000, 5.0, 2);
    write_stem(&dir.join("two.wav"), 48_000, 4.0, 3);
    let mix = format!(
        "mix: song\nlength: 4.5 s\ntracks:\n  kick:\n    source: kick.wav\n    assert:\n      true_peak: {{ max: 0 dBTP }}\n  bass:\n    source: bass.wav\nmaster:\n  assert:\n{mix_assert}\n"
    );
    std::fs::write(dir.join("song.yaml"), mix).unwrap();
    let album = format!(
        "album: Low Tide\nartist: The Example Ensemble\nsongs:\n  - mix: song.yaml\n    title: First Light\n  - file: two.wav\n    title: Tidewater\ndeliver:\n  web: {{ format: wav }}\n  cd: {{ format: wav, sample_rate: 44.1 kHz, bit_depth: 16 }}\n{album_assert}"
    );
    std::fs::write(dir.join("album.yaml"), album).unwrap();
}

/// The `assertion` message of `yaml_path` in a JSON run's stdout.
fn assertion_result(output: &Output, yaml_path: &str) -> serde_json::Value {
    let out = stdout(output);
    let found = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["reason"] == "assertion" && v["yaml_path"] == yaml_path);
    found.unwrap_or_else(|| panic!("no assertion {yaml_path}:\n{out}"))
}

#[test]
fn a_songs_own_mix_assertions_are_checked_by_the_album_and_located_in_the_mix_file() {
    let work = scratch();
    write_album_of_a_mix(work.path(), "    loudness: { min: -6 LUFS }", "");
    let run = mixdown(work.path(), &["test", "album.yaml"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let (out, err) = (stdout(&run), stderr(&run));
    assert!(out.ends_with("1 passed, 1 failed\n"), "{out}");
    assert!(out.contains("ok     song.yaml tracks.kick.assert.true_peak"), "{out}");
    assert!(out.contains("FAILED song.yaml master.assert.loudness: the master's"), "{out}");
    assert!(err.contains("error[assertion-failed]: the master's integrated loudness is"), "{err}");
    assert!(err.contains("  --> song.yaml:12:22"), "the failure points at its minimum:\n{err}");
    assert!(err.contains("master.assert.loudness.min"), "{err}");

    let render = mixdown(work.path(), &["render", "album.yaml"]);
    assert_eq!(render.status.code(), Some(1), "render fails on it too: {}", stderr(&render));
    assert!(stderr(&render).contains("assertions: 1 passed, 1 failed"), "{}", stderr(&render));
}

#[test]
fn a_songs_master_in_an_album_measures_as_the_mix_rendered_alone() {
    let work = scratch();
    let asserts = "    loudness: { min: -6 LUFS }\n    true_peak: { max: -20 dBTP }\n    correlation: { min: 0.99 }";
    write_album_of_a_mix(work.path(), asserts, "");
    let json = ["--message-format", "json"];
    let album = mixdown(work.path(), &[&["test", "album.yaml"][..], &json].concat());
    let alone =
        mixdown(work.path(), &[&["test", "song.yaml", "--out", "alone"][..], &json].concat());
    for path in ["master.assert.loudness", "master.assert.true_peak", "master.assert.correlation"] {
        let (in_album, by_itself) =
            (assertion_result(&album, path), assertion_result(&alone, path));
        let (a, b) =
            (in_album["measured"].as_f64().unwrap(), by_itself["measured"].as_f64().unwrap());
        // The mix alone is measured from its 24-bit file, the album's song from its floats.
        assert!((a - b).abs() < 0.01, "{path}: {a} in the album, {b} alone");
        assert_eq!(in_album["passed"], by_itself["passed"], "{path}");
        assert_eq!(in_album["file"], "song.yaml");
        assert_eq!(in_album["project"], "album.yaml");
    }
}

#[test]
fn a_render_of_one_target_checks_every_assertion_of_the_album_and_its_songs_mixes() {
    let work = scratch();
    let album_assert = "assert:\n  loudness: { max: -30 LUFS }\n";
    write_album_of_a_mix(work.path(), "    true_peak: { max: 0 dBTP }", album_assert);
    // The CD target is at 44.1 kHz: the album-rate audio the assertions measure is not
    // upstream of it, and is rendered for them.
    let run = mixdown(work.path(), &["render", "album.yaml", "--target", "cd"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(err.contains("assertions: 2 passed, 1 failed"), "{err}");
    assert!(err.contains("error[assertion-failed]: the album's integrated loudness is"), "{err}");
    assert!(work.path().join("out/cd/01 First Light.wav").is_file(), "{err}");
    assert!(!work.path().join("out/web").exists(), "only the named target is delivered");

    let run = mixdown(work.path(), &["test", "album.yaml", "--target", "cd"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stdout(&run).ends_with("2 passed, 1 failed\n"), "{}", stdout(&run));
}

#[test]
fn a_shard_checks_no_assertion_and_says_how_many_it_left_unchecked() {
    let work = scratch();
    let album_assert = "assert:\n  loudness: { max: -30 LUFS }\n";
    write_album_of_a_mix(work.path(), "    true_peak: { max: 0 dBTP }", album_assert);
    let run = mixdown(work.path(), &["render", "album.yaml", "--shard", "1/2"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(
        err.contains(
            "note: 3 assertions not checked: shard 1/2 renders a share of the work, not the audio"
        ),
        "{err}"
    );
    assert!(!err.contains("assertions:"), "{err}");
    let mix = mixdown(work.path(), &["render", "song.yaml", "--shard", "1/2"]);
    assert_eq!(mix.status.code(), Some(0), "{}", stderr(&mix));
    assert!(stderr(&mix).contains("note: 2 assertions not checked: shard 1/2"), "{}", stderr(&mix));
    let gathered = mixdown(work.path(), &["render", "album.yaml"]);
    assert_eq!(gathered.status.code(), Some(1), "the full render checks them");
    assert!(stderr(&gathered).contains("assertions: 2 passed, 1 failed"), "{}", stderr(&gathered));
}

#[test]
fn a_songs_mix_master_missing_from_the_cache_under_a_cached_song_is_rendered_to_be_measured() {
    let work = scratch();
    write_album_of_a_mix(work.path(), "    loudness: { min: -60 LUFS }", "");
    let first = mixdown(work.path(), &["test", "album.yaml"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    // The entry of the mix's master, which the mix song's node record names as its input.
    let cache = work.path().join("cache");
    let mut records = std::fs::read_dir(cache.join("nodes")).unwrap().map(|e| e.unwrap().path());
    let master_key = records
        .find_map(|path| {
            let record: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
            let material = &record["material"];
            // Only the mix song is cut to an exact length.
            let is_mix_song =
                material["kind"] == "song" && material["params"]["length"]["exact"] == 4.5;
            is_mix_song.then(|| material["inputs"][0].as_str().unwrap().to_owned())
        })
        .expect("a record of the mix song's node");
    let entry =
        cache.join("entries").join(&master_key[..2]).join(&master_key[2..4]).join(&master_key);
    std::fs::remove_file(&entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));

    let run = mixdown(work.path(), &["test", "album.yaml", "-v"]);
    assert_eq!(run.status.code(), Some(0), "{}{}", stdout(&run), stderr(&run));
    assert!(stdout(&run).contains("ok     song.yaml master.assert.loudness"), "{}", stdout(&run));
    assert_eq!(ran(&run), ["song/master"], "only the missing master renders again");
}

#[test]
fn no_clipping_on_a_song_reads_the_loudest_sample_of_its_delivered_files() {
    let work = scratch();
    write_album(work.path(), "      no_clipping: true", "  no_clipping: true");
    // Two files of each song, at the album's rate and converted to 44.1 kHz.
    let text = std::fs::read_to_string(work.path().join("album.yaml")).unwrap();
    let cd = "  cd: { format: wav, sample_rate: 44.1 kHz, bit_depth: 16 }\n";
    let text = text.replace("  web: { format: wav }\n", &format!("  web: {{ format: wav }}\n{cd}"));
    std::fs::write(work.path().join("album.yaml"), &text).unwrap();
    let run = mixdown(work.path(), &["test", "album.yaml"]);
    assert_eq!(run.status.code(), Some(0), "{}{}", stdout(&run), stderr(&run));
    let out = stdout(&run);
    assert!(out.ends_with("2 passed, 0 failed\n"), "{out}");
    let loudest = ["web/02 Tidewater.wav", "cd/02 Tidewater.wav"]
        .iter()
        .map(|file| {
            let (_, left, right) = crate::support::read_audio(&work.path().join("out").join(file));
            left.iter().chain(&right).fold(0.0f32, |m, x| m.max(x.abs()))
        })
        .fold(0.0f32, f32::max);
    let figure = out
        .lines()
        .find(|l| l.contains("songs[1].assert.no_clipping"))
        .and_then(|l| l.split(" is ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no figure for the song's clipping: {out}"));
    let expected = 20.0 * f64::from(loudest).log10();
    assert!((figure - expected).abs() < 0.01, "{figure} dBFS against the files' {expected}");
    // The album-rate audio, converted for neither file, peaks elsewhere.
    assert!((figure - reported(work.path(), Some(1), "sample_peak")).abs() > 0.05);
}
