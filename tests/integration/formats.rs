//! The formats a source may come in beyond WAV and FLAC (which the contract songs and most
//! tests use): MP3, Ogg Vorbis and AIFF decode to the tone they hold and render in a mix.
//!
//! The fixtures are half a second of a 1 kHz sine, 48 kHz, at ffmpeg's default eighth of
//! full scale less 12 dB (a peak of -30.06 dBFS), encoded with ffmpeg: `tone.aiff` (16-bit
//! big-endian PCM, mono), `tone.mp3` (LAME, 128 kb/s) and `tone.ogg` (libvorbis q4), the
//! last two with the tone copied to both channels.

use crate::support::{mixdown, read_audio, root, scratch, stderr};

const RATE: u32 = 48_000;
const TONE_FRAMES: usize = 24_000;
/// The fixtures' peak amplitude: 1/8 · 10^(-12/20).
const LEVEL: f64 = 0.031_398_580;

/// The frequency of a steady tone from its zero crossings (rising and falling): within
/// 2 Hz over the 0.3 s this is given, a tenth of what a wrong rate would shift it by
/// (44.1 kHz read as 48 kHz makes it 1088 Hz).
fn frequency(x: &[f32]) -> f64 {
    let crossings = x.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
    crossings as f64 / 2.0 * f64::from(RATE) / (x.len() - 1) as f64
}

/// The level of a steady sine against the fixtures' tone, in dB, from its RMS (less
/// sensitive than its peak to what a lossy codec does to single samples).
fn level_db(x: &[f32]) -> f64 {
    let power = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64;
    20.0 * ((2.0 * power).sqrt() / LEVEL).log10()
}

/// The tone's steady middle, clear of any codec's ramp at either end.
fn middle(x: &[f32]) -> &[f32] {
    &x[4_800..19_200]
}

#[test]
fn mp3_vorbis_and_aiff_decode_to_their_tone() {
    // Each file's level as ffmpeg 5.1 decodes it, over the tone's steady middle: the codecs
    // move it (LAME at 128 kb/s leaves this tone 0.45 dB low); decoding must not move it more.
    for (name, ffmpeg_db) in [("tone.aiff", -0.0026), ("tone.mp3", -0.4481), ("tone.ogg", 0.0680)] {
        let (rate, left, right) = read_audio(&root().join("tests/fixtures/audio").join(name));
        assert_eq!(rate, RATE, "{name}");
        // Exactly the encoded frames: the MP3's encoder delay and padding are trimmed (LAME
        // writes them into its header), the Vorbis stream ends at its final granule, and the
        // AIFF at its COMM chunk's count.
        assert_eq!(left.len(), TONE_FRAMES, "{name}");
        for channel in [&left, &right] {
            let f = frequency(middle(channel));
            assert!((f - 1_000.0).abs() < 2.0, "{name}: {f} Hz");
            let db = level_db(middle(channel));
            assert!(
                (db - ffmpeg_db).abs() < 0.01,
                "{name}: {db:+.4} dB, ffmpeg {ffmpeg_db:+.4} dB"
            );
        }
    }
}

#[test]
fn a_mix_of_mp3_vorbis_and_aiff_sources_renders() {
    let work = scratch();
    let audio = root().join("tests/fixtures/audio");
    let source = |name: &str| audio.join(name).display().to_string();
    let yaml = format!(
        "mix: Formats\ntracks:\n  aiff: {{ source: '{}' }}\n  mp3: {{ source: '{}', gain: -inf dB }}\n  \
         ogg: {{ source: '{}', gain: -inf dB }}\n",
        source("tone.aiff"),
        source("tone.mp3"),
        source("tone.ogg"),
    );
    std::fs::write(work.path().join("formats.yaml"), yaml).unwrap();
    let out = mixdown(work.path(), &["render", "formats.yaml", "--format", "float32"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, left, right) = read_audio(&work.path().join("out/formats.wav"));
    assert!(left.len() >= TONE_FRAMES, "{} frames", left.len());
    // The audible track is the mono AIFF, centred: -3 dB on each side.
    for channel in [&left, &right] {
        let f = frequency(middle(channel));
        assert!((f - 1_000.0).abs() < 2.0, "{f} Hz");
        let db = level_db(middle(channel)) + 3.0103;
        assert!(db.abs() < 0.02, "{db:+.4} dB");
    }
}
