//! Album errors that only the render can find, because they need the songs' lengths or
//! loudness: each is a located error in the album file, with a snapshot, and no file is
//! delivered.

use std::path::Path;

use mixdown::audio::wav::{WavFormat, WavWriter};

use crate::snapshot;
use crate::support::{mixdown, scratch, stderr, write_stem};

/// A stereo 24-bit WAV of silence.
fn write_silence(path: &Path, seconds: f64) {
    let frames = (seconds * 48_000.0) as usize;
    let mut writer = WavWriter::create(path, 48_000, WavFormat::Pcm24).unwrap();
    writer.write(&vec![0.0; frames], &vec![0.0; frames]).unwrap();
    writer.finish().unwrap();
}

/// Renders `album` (the album file's text) in a folder holding `a.wav` (3 s), `b.wav`
/// (5 s) and `quiet.wav` (5 s of silence); returns the exit code and what the user is told.
fn render(album: &str) -> (Option<i32>, String, bool) {
    let work = scratch();
    write_stem(&work.path().join("a.wav"), 48_000, 3.0, 1);
    write_stem(&work.path().join("b.wav"), 48_000, 5.0, 2);
    write_silence(&work.path().join("quiet.wav"), 5.0);
    std::fs::write(work.path().join("album.yaml"), album).unwrap();
    let out = mixdown(work.path(), &["render", "album.yaml", "--out", "out", "-q"]);
    let delivered = std::fs::read_dir(work.path().join("out"))
        .is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.path().is_dir())));
    (out.status.code(), stderr(&out), delivered)
}

const HEAD: &str = "album: Bad\nartist: Someone\nsample_rate: 48 kHz\n";

macro_rules! bad_renders {
    ($($test:ident => $name:literal, $at:literal, $album:expr;)*) => {
        $(
            #[test]
            fn $test() {
                let (code, told, delivered) = render(&format!("{HEAD}{}", $album));
                assert_eq!(code, Some(1), "the render fails:\n{told}");
                assert!(told.contains(concat!("--> album.yaml:", $at)), "{told}");
                assert!(!delivered, "nothing is delivered:\n{told}");
                snapshot!(concat!("album-render-", $name), told);
            }
        )*
    };
}

bad_renders! {
    a_crossfade_longer_than_the_song_before_is_located_at_the_crossfade => "crossfade-too-long", "8",
        "songs:\n  - { file: a.wav, title: A }\n  - file: b.wav\n    title: B\n    crossfade: 4 s\ndeliver:\n  files: { format: flac }\n";
    a_silent_song_with_a_target_is_located_at_the_song => "silent-song", "6",
        "songs:\n  - { file: a.wav, title: A }\n  - { file: quiet.wav, title: Quiet }\nmastering:\n  loudness: { target: -14 LUFS, mode: song }\ndeliver:\n  files: { format: flac }\n";
    a_song_shorter_than_four_seconds_on_a_cd_target_is_located_at_the_song => "cd-track-too-short", "5",
        "songs:\n  - { file: a.wav, title: A }\n  - { file: b.wav, title: B, gap: 0.5 s }\ndeliver:\n  cd: { format: wav, sample_rate: 44.1 kHz, bit_depth: 16, split: album, cue: true }\n";
    a_target_needing_more_limiting_than_allowed_is_located_at_the_loudness_block => "too-much-limiting", "7",
        "songs:\n  - { file: a.wav, title: A }\nmastering:\n  loudness: { target: -5 LUFS, max_limiting: 0.5 dB }\ndeliver:\n  files: { format: flac }\n";
}
