//! An album rendered through one graph: songs from mixes at their own rates and from a
//! finished file, sequenced with a gap and a crossfade, mastered to one album loudness
//! under a true-peak ceiling, and delivered per song and as one CD file with its CUE
//! sheet. Every file is read back with our own decoder.

use std::path::{Path, PathBuf};

use mixdown::album::sequence::CD_FRAME;
use mixdown::audio::encode::Encoding;
use mixdown::audio::loudness::LoudnessMeter;
use mixdown::audio::resample::RESAMPLER_QUALITY;
use mixdown::audio::wav::WavFormat;
use mixdown::cache::folder::CacheDir;
use mixdown::cache::keys::Keys;
use mixdown::cache::store::Store;
use mixdown::compile::resolve;
use mixdown::graph::{RenderGraph, build_album};
use mixdown::ir::{
    Album, AlbumLoudness, AlbumTarget, CrossfadeCurve, DeliverFormat, Deliverable, DitherMode,
    Join, LoudnessMode, Normalisation, SampleWidth, Song, SongInput, Split,
};
use mixdown::render::{
    Delivery, Progress, RenderError, RenderReport, Settings, render_settled, settled_value,
};

use crate::support::{read_audio, scratch, write_stem};

struct Silent;

impl Progress for Silent {
    fn planned(&self, _: usize) {}
    fn finished(&self, _: &str) {}
}

/// A mix of one stem, `seconds` long, at `rate`, with a master chain taken as the album's
/// mastering chain.
fn write_mix(dir: &Path, name: &str, rate: &str, seconds: f64, seed: u64) -> PathBuf {
    write_stem(&dir.join(format!("{name}.wav")), 44_100, seconds, seed);
    let yaml = format!(
        "mix: {name}\nsample_rate: {rate}\ntracks:\n  vox:\n    source: {name}.wav\n    gain: 6 dB\nmaster:\n  chain:\n    - eq:\n        - {{ type: highpass, freq: 25 Hz, slope: 24 }}\n    - multiband:\n        crossovers: [150 Hz, 2.5 kHz]\n        bands:\n          - {{ compressor: {{ threshold: -20 dB, ratio: 2 }} }}\n          - {{ compressor: {{ threshold: -18 dB, ratio: 1.5 }} }}\n          - {{ compressor: {{ threshold: -22 dB, ratio: 2 }} }}\n"
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, yaml).unwrap();
    path
}

fn target(name: &str, format: DeliverFormat, rate: u32, split: Split, cue: bool) -> AlbumTarget {
    let file_name = match split {
        Split::Songs => "{track:02} {title}.{ext}",
        Split::Album => "{album}.{ext}",
    };
    AlbumTarget {
        deliverable: Deliverable {
            name: name.into(),
            format,
            sample_rate: rate,
            dither: if matches!(format, DeliverFormat::Wav(SampleWidth::Float32)) {
                DitherMode::None
            } else {
                DitherMode::Tpdf
            },
            file_name: file_name.into(),
            ceiling_dbtp: -1.0,
        },
        split,
        cue,
    }
}

/// Three songs: a mix at 48 kHz, a mix at 44.1 kHz after a 2 s gap, and a mono file at
/// 44.1 kHz crossfading into it; a CD target, per-song FLACs and MP3s, and a float album
/// file at the album's rate.
pub fn album(dir: &Path) -> Album {
    let one = resolve(&write_mix(dir, "one", "48 kHz", 6.0, 1))
        .unwrap_or_else(|b| panic!("{:?}", b.diagnostics));
    let two = resolve(&write_mix(dir, "two", "44.1 kHz", 7.0, 2))
        .unwrap_or_else(|b| panic!("{:?}", b.diagnostics));
    let chain = one.mix.master.chain.clone();
    let mut one = one.mix;
    let mut two = two.mix;
    one.master.chain.clear();
    two.master.chain.clear();
    write_stem(&dir.join("three.wav"), 44_100, 5.5, 3);
    let song = |id: &str, title: &str, input: SongInput, join: Join| Song {
        id: id.into(),
        title: title.into(),
        artist: "The Example Ensemble".into(),
        isrc: Some(format!("GBXYZ260000{}", id.len())),
        input,
        join,
        fade_in: 0.0,
        fade_out: 0.0,
        trim_start: 0.0,
        trim_end: 0.0,
        chain: chain.clone(),
        gain_db: 0.0,
    };
    let mut third = song(
        "three",
        "Interlude",
        SongInput::File(dir.join("three.wav")),
        Join::Crossfade { seconds: 1.5, curve: CrossfadeCurve::EqualPower },
    );
    third.fade_out = 1.0;
    let mut first = song("one", "First Light", SongInput::Mix(Box::new(one)), Join::Gap(0.0));
    first.fade_in = 0.5;
    Album {
        title: "Low Tide".into(),
        artist: "The Example Ensemble".into(),
        catalog: Some("5012345678900".into()),
        year: Some(2026),
        sample_rate: 48_000,
        songs: vec![
            first,
            song("two", "Tidewater", SongInput::Mix(Box::new(two)), Join::Gap(2.0)),
            third,
        ],
        loudness: AlbumLoudness {
            normalisation: Normalisation {
                target_lufs: Some(-14.0),
                ceiling_dbtp: -1.0,
                max_limiting_db: 12.0,
            },
            mode: LoudnessMode::Album,
        },
        deliver: vec![
            target(
                "streaming",
                DeliverFormat::Flac(SampleWidth::Int24),
                48_000,
                Split::Songs,
                false,
            ),
            target("cd", DeliverFormat::Wav(SampleWidth::Int16), 44_100, Split::Album, true),
            target("preview", DeliverFormat::Mp3Cbr(320), 48_000, Split::Songs, false),
            target("whole", DeliverFormat::Wav(SampleWidth::Float32), 48_000, Split::Album, false),
        ],
        assertions: Vec::new(),
    }
}

fn content(path: &Path) -> Result<String, std::io::Error> {
    std::fs::read(path).map(|bytes| blake3::hash(&bytes).to_hex().to_string())
}

/// Renders `graph` into `out` with `cache`, settling its keys in stages.
pub fn render_album(
    graph: &RenderGraph,
    cache: &Path,
    out: &Path,
    jobs: usize,
) -> (Keys, RenderReport) {
    try_render_album(graph, cache, out, jobs).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`render_album`], returning the render's error.
fn try_render_album(
    graph: &RenderGraph,
    cache: &Path,
    out: &Path,
    jobs: usize,
) -> Result<(Keys, RenderReport), RenderError> {
    let cache = CacheDir::new(cache);
    let store = Store::local(&cache);
    let key = |graph: &RenderGraph| {
        Keys::compute_settled(graph, RESAMPLER_QUALITY, content, |node, analysis| {
            settled_value(graph, &cache, node, analysis)
        })
        .unwrap()
    };
    let mut keys = key(graph);
    let delivery =
        Delivery { out_dir: out.to_path_buf(), encoding: Encoding::Wav(WavFormat::Pcm24) };
    let settings = Settings { jobs, delivery };
    let mut rekey = || Ok::<_, RenderError>(key(graph));
    let report = render_settled(
        graph,
        &mut keys,
        &mut rekey,
        &store,
        &cache,
        &graph.targets,
        &settings,
        &Silent,
    )?;
    Ok((keys, report))
}

fn integrated(left: &[f32], right: &[f32], rate: u32) -> f64 {
    let mut meter = LoudnessMeter::new(rate).unwrap();
    meter.add(left, right);
    meter.record().integrated.unwrap()
}

fn true_peak(left: &[f32], right: &[f32], rate: u32) -> f64 {
    let mut meter = LoudnessMeter::new(rate).unwrap();
    meter.add(left, right);
    meter.record().true_peak.unwrap()
}

#[test]
fn an_album_renders_every_target_and_the_song_files_concatenate_to_the_album() {
    let work = scratch();
    let album = album(work.path());
    let graph = build_album(&album);
    let out = work.path().join("out");
    render_album(&graph, &work.path().join("cache"), &out, 2);
    let whole = read_audio(&out.join("whole/Low Tide.wav"));
    assert_eq!(whole.0, 48_000);
    let names = ["01 First Light", "02 Tidewater", "03 Interlude"];
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for name in names {
        let (rate, l, r) = read_audio(&out.join(format!("streaming/{name}.flac")));
        assert_eq!(rate, 48_000);
        left.extend(l);
        right.extend(r);
    }
    assert_eq!(left.len(), whole.1.len(), "the songs' files play the album gaplessly");
    let lsb = 2.0f32.powi(-23);
    let worst = left.iter().zip(&whole.1).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 2.0 * lsb, "the 24-bit files differ from the album by {worst}");
    // One gain for the album: the album measures the target, within 0.3 LU.
    let loudness = integrated(&left, &right, 48_000);
    assert!((loudness + 14.0).abs() <= 0.3, "the album measures {loudness:.2} LUFS");
    for name in names {
        let (rate, l, r) = read_audio(&out.join(format!("streaming/{name}.flac")));
        let tp = true_peak(&l, &r, rate);
        assert!(tp <= -1.0, "{name}: true peak {tp:.2} dBTP");
        let flac_frames = l.len();
        let (rate, l, r) = read_audio(&out.join(format!("preview/{name}.mp3")));
        assert_eq!(rate, 48_000);
        assert_eq!(l.len(), flac_frames, "{name}.mp3 decodes to its exact length (gapless)");
        let tp = true_peak(&l, &r, rate);
        assert!(tp <= -1.0, "{name}.mp3: true peak {tp:.2} dBTP");
    }
    let (rate, cd_left, cd_right) = read_audio(&out.join("cd/Low Tide.wav"));
    assert_eq!(rate, 44_100);
    assert_eq!(cd_left.len() as u64 % CD_FRAME, 0, "the CD file is whole CD frames");
    let tp = true_peak(&cd_left, &cd_right, rate);
    assert!(tp <= -1.0, "the CD file's true peak is {tp:.2} dBTP");
    let cue = std::fs::read_to_string(out.join("cd/Low Tide.cue")).unwrap();
    assert!(cue.contains("FILE \"Low Tide.wav\" WAVE"), "{cue}");
    assert!(cue.contains("CATALOG 5012345678900"), "{cue}");
    assert_eq!(cue.matches("INDEX 01").count(), 3, "{cue}");
    assert_eq!(cue.matches("INDEX 00").count(), 1, "only the song after the gap: {cue}");
}

#[test]
fn an_album_renders_the_same_bytes_at_any_thread_count_and_from_a_warm_cache() {
    let work = scratch();
    let album = album(work.path());
    let graph = build_album(&album);
    let files = |out: &Path| -> Vec<(String, Vec<u8>)> {
        let mut all = Vec::new();
        for target in ["streaming", "cd", "preview", "whole"] {
            let mut names: Vec<_> = std::fs::read_dir(out.join(target))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            for name in names {
                all.push((
                    format!("{target}/{name}"),
                    std::fs::read(out.join(target).join(&name)).unwrap(),
                ));
            }
        }
        all
    };
    let one = work.path().join("one");
    render_album(&graph, &work.path().join("cache-1"), &one, 1);
    let two = work.path().join("two");
    render_album(&graph, &work.path().join("cache-2"), &two, 2);
    assert_eq!(files(&one), files(&two), "-j 1 and -j 2");
    let warm = work.path().join("warm");
    let (_, report) = render_album(&graph, &work.path().join("cache-2"), &warm, 2);
    let audio: Vec<String> = report
        .rendered()
        .into_iter()
        .filter(|id| !id.contains("/deliver") && !id.ends_with("/cue"))
        .collect();
    assert!(audio.is_empty(), "a warm render renders no audio: {audio:?}");
    assert_eq!(files(&one), files(&warm), "a warm cache");
}

#[test]
fn a_file_that_cannot_be_written_fails_the_render_naming_it_and_leaves_no_partial_file() {
    let work = scratch();
    let graph = build_album(&album(work.path()));
    // One job runs the nodes one by one; two run them side by side.
    for jobs in [1, 2] {
        let out = work.path().join(format!("out-{jobs}"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("preview"), "a file where the target's folder goes").unwrap();
        let error = try_render_album(&graph, &work.path().join("cache"), &out, jobs)
            .err()
            .unwrap_or_else(|| panic!("-j {jobs}: the render succeeded"));
        let message = error.to_string();
        assert!(message.contains("preview"), "-j {jobs}: {message}");
        let mut left = Vec::new();
        let mut folders = vec![out.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.to_string_lossy().contains(".tmp-") {
                    left.push(path);
                }
            }
        }
        assert!(left.is_empty(), "-j {jobs}: partial files {left:?}");
    }
}
