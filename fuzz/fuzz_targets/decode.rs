//! Bytes → samples or an error: the header probe and the decoder must refuse or decode
//! every file, never panic, allocate by a header's word, or hand out a non-finite sample.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixdown::audio::Source;
use mixdown::audio::decode::Decoder;
use mixdown::audio::probe::probe;

/// Enough frames to reach past any header into the data, bounded so one input stays fast.
const MAX_FRAMES: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let extension =
        ["wav", "flac", "aiff", "mp3", "ogg"][data.first().map_or(0, |b| *b as usize % 5)];
    let dir = tempfile::tempdir().expect("a scratch folder");
    let path = dir.path().join(format!("input.{extension}"));
    std::fs::write(&path, data).expect("the scratch file is written");
    let _ = probe(&path);
    let Ok(mut decoder) = Decoder::open(&path) else { return };
    let (mut left, mut right) = (vec![0.0f32; 4096], vec![0.0f32; 4096]);
    let mut frames = 0;
    while frames < MAX_FRAMES {
        match decoder.read(&mut left, &mut right) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                assert!(left[..n].iter().chain(&right[..n]).all(|x| x.is_finite()));
                frames += n;
            }
        }
    }
});
