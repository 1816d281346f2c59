//! Album files as `check` reads them: the contract album checks, and each bad album is a
//! located error (or, for a song file that is converted, a warning) with a snapshot.

use crate::snapshot;
use crate::support::{mixdown, root, scratch, stderr};

/// Checks the album fixture `name`; returns the exit code and what the user is told.
fn check(name: &str) -> (Option<i32>, String) {
    let file = format!("tests/fixtures/album/{name}.yaml");
    let out = mixdown(&root(), &["check", &file]);
    (out.status.code(), stderr(&out))
}

macro_rules! bad_albums {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                let (code, told) = check($name);
                assert_eq!(code, Some(2), "an invalid album exits with 2:\n{told}");
                assert!(told.contains(&format!("--> tests/fixtures/album/{}.yaml:", $name)), "{told}");
                snapshot!(concat!("album-", $name), told);
            }
        )*
    };
}

bad_albums! {
    an_invalid_isrc_is_located_at_its_song => "invalid-isrc",
    a_catalog_number_that_is_no_barcode_is_refused => "invalid-catalog",
    a_barcode_with_the_wrong_check_digit_names_the_right_one => "wrong-check-digit",
    an_isrc_used_twice_is_an_error_at_the_second_naming_the_first => "duplicate-isrc",
    a_song_naming_a_missing_mix_suggests_the_nearest_file => "missing-mix",
    a_song_with_a_gap_and_a_crossfade_is_refused => "gap-and-crossfade",
    an_unknown_song_field_suggests_the_nearest_one => "unknown-field",
    assertion_bounds_that_make_no_sense_are_refused_on_a_song_and_the_album => "assert-bounds-reversed",
}

#[test]
fn a_mono_song_file_at_another_rate_is_converted_with_a_warning_not_an_error() {
    let (code, told) = check("converted-file");
    assert_eq!(code, Some(0), "{told}");
    assert!(told.contains("warning[song-converted]"), "{told}");
    snapshot!("album-converted-file", told);
}

#[test]
fn the_example_album_checks_and_counts_its_songs_and_targets() {
    let out = mixdown(&root(), &["check", "examples/album.yaml"]);
    let told = stderr(&out);
    assert!(out.status.success(), "{told}");
    assert!(told.contains("examples/album.yaml: ok (3 songs, 3 targets)"), "{told}");
}

#[test]
fn a_broken_mix_in_an_album_is_reported_in_the_mix_file_beside_the_albums_own_errors() {
    let work = scratch();
    let dir = work.path();
    std::fs::write(dir.join("song.yaml"), "mix: Song\ntracks:\n  a: { source: a.wav, gian: 1 }\n")
        .unwrap();
    std::fs::write(
        dir.join("album.yaml"),
        "album: A\nartist: B\nsongs:\n  - mix: song.yaml\n    title: Song\n    isrc: nope\n",
    )
    .unwrap();
    let out = mixdown(dir, &["check", "album.yaml"]);
    let told = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{told}");
    let album_error = told.find("--> album.yaml:6:11").expect("the ISRC is located in the album");
    let mix_error = told.find("--> song.yaml:3:").expect("the key is located in the mix");
    assert!(album_error < mix_error, "the album's own errors come first:\n{told}");
}
