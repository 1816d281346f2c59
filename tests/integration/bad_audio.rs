//! Hostile and odd audio files: each one is checked and, when the check passes, rendered,
//! and what the user sees is snapshotted. None may panic, hang, exhaust memory, pass
//! without a word, or leave an output file behind when it fails.
//!
//! The fixtures live in `tests/fixtures/bad/audio/`: each `NAME.yaml` is a one-track mix
//! of the file beside it, described in that folder's README.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::snapshot;
use crate::support::{mixdown, root, scratch, stderr};

/// The longest any of these may take: a header is refused before anything is decoded.
const FAST: Duration = Duration::from_secs(2);

/// What `check`, then `render` when the check passes, print for fixture `name`, with the
/// scratch folder and timings masked.
fn check_then_render(name: &str) -> String {
    let file = format!("tests/fixtures/bad/audio/{name}.yaml");
    let started = Instant::now();
    let check = mixdown(&root(), &["check", &file]);
    assert!(started.elapsed() < FAST, "{name}: check took {:?}", started.elapsed());
    let code = check.status.code().expect("check exits, never dies of a signal");
    let seen = format!("$ mixdown check (exit {code})\n{}", stderr(&check));
    if code != 0 {
        assert_eq!(code, 2, "{name}: an invalid project exits with 2");
        return seen;
    }
    let work = scratch();
    let (cache, out) = (work.path().join("cache"), work.path().join("out"));
    let started = Instant::now();
    let render = mixdown(
        &root(),
        &["render", &file, "--cache", cache.to_str().unwrap(), "--out", out.to_str().unwrap()],
    );
    assert!(started.elapsed() < FAST, "{name}: render took {:?}", started.elapsed());
    let code = render.status.code().expect("render exits, never dies of a signal");
    assert!(code == 0 || code == 1, "{name}: exit {code}");
    if code == 1 {
        let left = std::fs::read_dir(&out).map_or(0, Iterator::count);
        assert_eq!(left, 0, "{name}: a failed render leaves no file");
    }
    let log = mask(&stderr(&render), work.path());
    format!("{seen}$ mixdown render (exit {code})\n{log}")
}

/// Replaces the scratch folder and the render's timing, which change on every run.
fn mask(log: &str, work: &Path) -> String {
    let log = log.replace(work.to_str().unwrap(), "[work]");
    log.lines()
        .map(|line| match line.find(" in ").filter(|_| line.starts_with("rendered ")) {
            Some(at) => format!("{} in [time]", &line[..at]),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

macro_rules! bad_audio {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                snapshot!(concat!("bad-audio-", $name), check_then_render($name));
            }
        )*
    };
}

bad_audio! {
    an_infinite_sample_fails_the_render_naming_the_file_its_time_and_line => "infinite-sample",
    a_nan_in_a_file_that_needs_resampling_is_an_error_not_a_resampler_panic => "nan-sample-44k",
    a_sample_rate_of_zero_fails_the_check_without_a_panic => "rate-zero",
    a_sample_rate_of_a_billion_fails_the_check_before_allocating => "rate-huge",
    the_largest_sample_rate_a_header_can_hold_fails_the_check => "rate-max",
    an_empty_file_is_reported_in_our_words => "empty",
    a_wav_of_zero_frames_is_a_warning_naming_the_file => "zero-frames",
    a_flac_of_zero_samples_is_reported_in_our_words => "zero-samples",
    a_wav_cut_short_fails_the_check_at_its_line => "truncated",
    a_block_alignment_that_is_not_one_frame_fails_the_check => "block-align",
    a_file_with_three_channels_fails_the_check => "three-channels",
    a_chunk_claiming_four_gigabytes_fails_the_check_before_allocating => "list-4gb",
    mp3_data_in_a_wav_file_is_a_warning => "mp3-data",
    a_float_stem_at_18_dbfs_warns_that_the_integer_output_clipped => "hot-float",
    an_infinite_sample_in_an_impulse_response_fails_the_render_at_its_line => "ir-infinite-sample",
    an_impulse_response_at_zero_hertz_fails_the_check_at_its_line => "ir-rate-zero",
    an_impulse_response_cut_short_fails_the_check_at_its_line => "ir-truncated",
    mp3_data_in_an_impulse_response_named_wav_is_a_warning_at_its_line => "ir-mp3-data",
}

#[test]
fn hostile_headers_fail_within_a_gigabyte_of_memory() {
    for name in ["rate-huge", "rate-max", "list-4gb", "block-align"] {
        let work = scratch();
        let file = root().join(format!("tests/fixtures/bad/audio/{name}.yaml"));
        // The address-space limit turns any attempt at a header-sized allocation into an
        // abort, which the exit status would show.
        let script = format!(
            "ulimit -v 1048576; exec \"$0\" render \"{}\" --cache \"{}\" --out \"{}\"",
            file.display(),
            work.path().join("cache").display(),
            work.path().join("out").display()
        );
        let run = Command::new("sh")
            .args(["-c", &script, env!("CARGO_BIN_EXE_mixdown")])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{name}: {}", stderr(&run));
    }
}
