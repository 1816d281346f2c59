//! Deliverables: a `deliver:` block's files, read back with our own decoder and tag reader
//! (and with `metaflac` and `ffprobe` where installed), byte-identical across renders, and
//! the render log after edits that touch only tags, only an encoder setting, or the master.

use std::path::{Path, PathBuf};
use std::process::Command;

use mixdown::audio::dither::{Dither, Quantizer};
use mixdown::audio::loudness::measure;
use mixdown::audio::tags::{Tags, read_tags};
use mixdown::graph::dither_seed;

use crate::support::{mixdown, ran, read_audio, root, scratch, stderr, write_stem};

/// Tags and the four targets the mastering issue names.
const DELIVER: &str = "
artist: The Example Ensemble
album: Low Tide
catalog: \"5012345678900\"
year: 2026
isrc: GB-XYZ-26-00002
track: 2/3

deliver:
  hires: { format: flac, sample_rate: 48 kHz, bit_depth: 24 }
  cd-tpdf: { format: wav, sample_rate: 44.1 kHz, bit_depth: 16, dither: tpdf }
  cd-shaped: { format: wav, sample_rate: 44.1 kHz, bit_depth: 16, dither: shaped }
  preview: { format: mp3, bitrate: 320 kbps }
";

/// A copy of the examples in `work`, with tidewater's `deliver:` block added; returns the
/// mix file.
fn tidewater_with_targets(work: &Path) -> PathBuf {
    copy_dir(&root().join("examples"), work);
    let mix = work.join("songs/tidewater.yaml");
    let text = std::fs::read_to_string(&mix).unwrap();
    std::fs::write(&mix, text + DELIVER).unwrap();
    mix
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn render(dir: &Path, mix: &str, out: &str, cache: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["render", mix, "--out", out, "--cache", cache, "-v"];
    args.extend_from_slice(extra);
    let output = mixdown(dir, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

/// A FLAC's or WAV's rate and bits per sample, from its header.
fn rate_and_bits(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(b"fLaC") {
        let packed = u64::from_be_bytes(bytes[18..26].try_into().unwrap());
        ((packed >> 44) as u32, ((packed >> 36) & 31) as u32 + 1)
    } else {
        assert_eq!(&bytes[..4], b"RIFF");
        let rate = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
        (rate, u32::from(u16::from_le_bytes(bytes[34..36].try_into().unwrap())))
    }
}

fn true_peak(path: &Path) -> f64 {
    let mut decoder = mixdown::audio::decode::Decoder::open(path).unwrap();
    measure(&mut decoder).unwrap().true_peak.unwrap()
}

fn expected_tags() -> Tags {
    Tags {
        title: Some("Tidewater".into()),
        artist: Some("The Example Ensemble".into()),
        album: Some("Low Tide".into()),
        track_number: Some(2),
        track_total: Some(3),
        year: Some(2026),
        isrc: Some("GBXYZ2600002".into()),
        upc: Some("5012345678900".into()),
    }
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn tidewaters_four_deliverables_decode_to_what_was_meant_with_their_tags_and_again_byte_for_byte() {
    let work = scratch();
    let dir = work.path();
    let mix = tidewater_with_targets(dir);
    let songs = mix.parent().unwrap();
    // The reference: the same mix as exact float, without targets.
    let plain = songs.join("tidewater-float.yaml");
    let text = std::fs::read_to_string(&mix).unwrap();
    std::fs::write(&plain, &text[..text.find("\nartist:").unwrap()]).unwrap();
    render(songs, "tidewater-float.yaml", "ref", "cache", &["--format", "float32"]);
    let (rate, left, right) = read_audio(&songs.join("ref/tidewater-float.wav"));
    assert_eq!(rate, 48_000);
    let frames_48k = left.len() as u64;

    let first = render(songs, "tidewater.yaml", "out", "cache", &[]);
    let log = stderr(&first);
    let files = [
        ("hires/Tidewater.flac", 48_000, Some(24)),
        ("cd-tpdf/Tidewater.wav", 44_100, Some(16)),
        ("cd-shaped/Tidewater.wav", 44_100, Some(16)),
        ("preview/Tidewater.mp3", 48_000, None),
    ];
    for (file, rate, bits) in files {
        let path = songs.join("out").join(file);
        assert!(log.contains(&format!("wrote {}", Path::new("out").join(file).display())), "{log}");
        let (decoded_rate, l, _) = read_audio(&path);
        assert_eq!(decoded_rate, rate, "{file}");
        let frames = (frames_48k * u64::from(rate)).div_ceil(48_000);
        assert!(l.len() as u64 == frames || l.len() as u64 + 1 == frames, "{file}: {}", l.len());
        if let Some(bits) = bits {
            assert_eq!(rate_and_bits(&path), (rate, bits), "{file}");
        }
        let peak = true_peak(&path);
        assert!(peak <= 0.0, "{file}: true peak {peak:.2} dBTP over the 0 dBTP ceiling");
        assert_eq!(read_tags(&path).unwrap(), expected_tags(), "{file}");
    }
    // The FLAC holds exactly the 24-bit integers the dither makes of the mix.
    let mut meant = Vec::new();
    let seed = dither_seed("tidewater", "hires");
    Quantizer::new(24, Dither::Tpdf, seed).quantize(&left, &right, &mut meant);
    let (_, l, r) = read_audio(&songs.join("out/hires/Tidewater.flac"));
    let decoded: Vec<i32> = l
        .iter()
        .zip(&r)
        .flat_map(|(a, b)| [a, b].map(|x| (f64::from(*x) * f64::from(1 << 23)) as i32))
        .collect();
    assert!(decoded == meant, "the FLAC decodes bit-exactly to the dithered mix");
    // The two 16-bit files differ only by their dither.
    let tpdf = sha256(&songs.join("out/cd-tpdf/Tidewater.wav"));
    assert_ne!(tpdf, sha256(&songs.join("out/cd-shaped/Tidewater.wav")));

    // Another render, cold and on one thread, writes the same bytes.
    render(songs, "tidewater.yaml", "again", "cache-again", &["-j", "1"]);
    for (file, _, _) in files {
        let (a, b) = (songs.join("out").join(file), songs.join("again").join(file));
        assert_eq!(sha256(&a), sha256(&b), "{file}");
    }
    read_with_installed_tools(&songs.join("out/hires/Tidewater.flac"), &songs.join("out"));
}

/// Reads the tags with `metaflac` and `ffprobe` when they are installed.
fn read_with_installed_tools(flac: &Path, out: &Path) {
    match Command::new("metaflac").arg("--export-tags-to=-").arg(flac).output() {
        Ok(output) if output.status.success() => {
            let tags = String::from_utf8_lossy(&output.stdout);
            for line in ["TITLE=Tidewater", "ISRC=GBXYZ2600002", "BARCODE=5012345678900"] {
                assert!(tags.lines().any(|l| l == line), "metaflac lacks {line}:\n{tags}");
            }
        }
        _ => println!("skipped: metaflac is not installed"),
    }
    let mp3 = out.join("preview/Tidewater.mp3");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format_tags", "-of", "default=nw=1"])
        .arg(&mp3)
        .output();
    match probe {
        Ok(output) if output.status.success() => {
            let tags = String::from_utf8_lossy(&output.stdout).to_lowercase();
            assert!(tags.contains("title=tidewater"), "ffprobe reads:\n{tags}");
            assert!(tags.contains("tsrc=gbxyz2600002"), "ffprobe reads:\n{tags}");
        }
        _ => println!("skipped: ffprobe is not installed"),
    }
}

/// A short two-track mix with a master chain and two targets.
const SESSION: &str = "\
mix: Session
tail: 0.5 s
artist: Somebody
tracks:
  kick: { source: kick.wav }
  keys: { source: keys.wav, gain: -3 dB }
master:
  chain:
    - eq: [ { type: low_shelf, freq: 90 Hz, gain: 1 dB } ]
deliver:
  lossless: { format: flac, bit_depth: 16, dither: shaped }
  preview: { format: mp3, bitrate: 320 kbps }
";

fn session(dir: &Path) {
    write_stem(&dir.join("kick.wav"), 48_000, 2.0, 1);
    write_stem(&dir.join("keys.wav"), 48_000, 2.0, 2);
    std::fs::write(dir.join("session.yaml"), SESSION).unwrap();
}

fn edit(dir: &Path, from: &str, to: &str) {
    let path = dir.join("session.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from));
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

fn render_session(dir: &Path) -> Vec<String> {
    ran(&render(dir, "session.yaml", "out", "cache", &[]))
}

#[test]
fn a_tag_edit_encodes_nothing_a_bitrate_edit_runs_no_dsp_and_a_master_edit_renders_the_master_and_the_targets()
 {
    let work = scratch();
    let dir = work.path();
    session(dir);
    assert_eq!(render_session(dir).len(), 7, "tracks, master, two encodes, two files");
    let before = std::fs::read(dir.join("out/lossless/Session.flac")).unwrap();

    edit(dir, "artist: Somebody", "artist: Somebody Else");
    assert_eq!(render_session(dir), ["session/deliver/lossless", "session/deliver/preview"]);
    let retagged = dir.join("out/lossless/Session.flac");
    assert_eq!(read_tags(&retagged).unwrap().artist.as_deref(), Some("Somebody Else"));
    let (_, a, _) = read_audio(&retagged);
    std::fs::write(dir.join("before.flac"), &before).unwrap();
    let (_, b, _) = read_audio(&dir.join("before.flac"));
    assert!(a == b, "retagging keeps the audio");

    edit(dir, "bitrate: 320 kbps", "bitrate: 256 kbps");
    assert_eq!(render_session(dir), ["session/deliver/preview", "session/encode/preview"]);

    edit(dir, "gain: 1 dB }", "gain: 2 dB }");
    assert_eq!(
        render_session(dir),
        [
            "session/deliver/lossless",
            "session/deliver/preview",
            "session/encode/lossless",
            "session/encode/preview",
            "session/master",
        ]
    );
}

#[test]
fn a_fresh_render_and_a_tag_edit_back_write_the_same_bytes() {
    let work = scratch();
    let dir = work.path();
    session(dir);
    render_session(dir);
    let fresh = sha256(&dir.join("out/preview/Session.mp3"));
    edit(dir, "artist: Somebody", "artist: Nobody");
    render_session(dir);
    edit(dir, "artist: Nobody", "artist: Somebody");
    assert_eq!(render_session(dir), ["session/deliver/lossless", "session/deliver/preview"]);
    assert_eq!(sha256(&dir.join("out/preview/Session.mp3")), fresh);
}

#[test]
fn a_mix_with_a_deliver_block_writes_its_targets_and_nothing_else() {
    let work = scratch();
    let dir = work.path();
    session(dir);
    render_session(dir);
    let mut written: Vec<String> = walk(&dir.join("out"));
    written.sort();
    assert_eq!(written, ["lossless/Session.flac", "preview/Session.mp3"]);
}

fn walk(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            found.extend(walk(&path).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            found.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    found
}

#[test]
fn render_format_flac_and_mp3_write_one_file_named_after_the_mix() {
    let work = scratch();
    let dir = work.path();
    session(dir);
    let plain = SESSION[..SESSION.find("deliver:").unwrap()].to_string();
    std::fs::write(dir.join("session.yaml"), plain).unwrap();
    for (format, file) in [("flac", "out/session.flac"), ("mp3", "out/session.mp3")] {
        render(dir, "session.yaml", "out", "cache", &["--format", format]);
        let (rate, left, _) = read_audio(&dir.join(file));
        assert_eq!(rate, 48_000, "{format}");
        assert_eq!(left.len(), 2 * 48_000 + 24_000, "{format}: the stems and the tail");
    }
}

#[test]
fn render_format_beside_a_deliver_block_is_refused_at_the_block_before_anything_renders() {
    let work = scratch();
    let dir = work.path();
    session(dir);
    let output = mixdown(dir, &["render", "session.yaml", "--format", "flac"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("error[format-beside-deliver]: `--format flac` is not used"), "{text}");
    assert!(text.contains("session.yaml:10:1") && text.contains("--only master"), "{text}");
    assert!(!dir.join("out").exists() && !dir.join("cache").exists(), "nothing rendered");
    // With --only, --format says how that one node's audio is written.
    let only =
        render(dir, "session.yaml", "out", "cache", &["--format", "flac", "--only", "master"]);
    assert!(dir.join("out/master.flac").is_file(), "{}", stderr(&only));
}

#[test]
fn only_refuses_a_part_of_a_deliverable_by_name_and_renders_nothing() {
    let work = scratch();
    let dir = work.path();
    session(dir);
    for name in ["session/encode/lossless", "session/deliver/preview"] {
        let output = mixdown(dir, &["render", "session.yaml", "--only", name]);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let text = stderr(&output);
        assert!(text.contains(&format!("error: `{name}` has no audio to write")), "{text}");
        assert!(text.contains("--target NAME"), "{text}");
    }
    assert!(!dir.join("out").exists() && !dir.join(".mixdown").exists(), "nothing made");
}

#[test]
fn only_refuses_an_albums_measurements_by_name_and_renders_nothing() {
    let work = scratch();
    let dir = work.path();
    write_stem(&dir.join("one.wav"), 48_000, 4.0, 1);
    write_stem(&dir.join("two.wav"), 48_000, 4.0, 2);
    let album = "album: Low Tide\nartist: Somebody\nsongs:\n  - file: one.wav\n    title: One\n  \
                 - file: two.wav\n    title: Two\nmastering:\n  loudness: { target: -14 LUFS }\n\
                 deliver:\n  web: { format: wav }\n";
    std::fs::write(dir.join("album.yaml"), album).unwrap();
    let refusals = [
        ("album/loudness", "it measures the album"),
        ("album/segment/one/trial", "it tries the limiter at the first gains"),
    ];
    for (name, why) in refusals {
        let output = mixdown(dir, &["render", "album.yaml", "--only", name]);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let text = stderr(&output);
        assert!(text.contains(&format!("`{name}` has no audio to write: {why}")), "{text}");
    }
    assert!(!dir.join("out").exists() && !dir.join(".mixdown").exists(), "nothing made");
}

#[test]
fn a_deliver_block_with_mistakes_reports_each_at_its_line() {
    let work = scratch();
    let dir = work.path();
    session(dir);
    let bad = SESSION
        .replace(
            "artist: Somebody",
            "artist: Somebody\nisrc: GB-XYZ-26-001\ncatalog: \"5012345678901\"",
        )
        .replace("bitrate: 320 kbps", "bitrate: 300 kbps, bit_depth: 16")
        .replace("dither: shaped", "dither: shaped, name: \"{titel}.{ext}\"");
    std::fs::write(dir.join("session.yaml"), bad).unwrap();
    let output = mixdown(dir, &["check", "session.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    for expected in [
        "`GB-XYZ-26-001` is not an ISRC",
        "has check digit 1, but its digits give 0",
        "300 kbps is not an MP3 bit rate",
        "the nearest is `320 kbps`",
        "an MP3 has no bit depth",
        "did you mean `{title}`?",
        "deliver.preview.bitrate",
        "session.yaml:4:",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn a_hot_master_gives_an_mp3_trimmed_under_its_ceiling_and_the_render_says_by_how_much() {
    let work = scratch();
    let dir = work.path();
    session(dir);
    // About +3 dBFS of sample peak: the decoded MP3 would be over 0 dBTP.
    let hot = SESSION.replace("master:\n", "master:\n  gain: 10 dB\n");
    std::fs::write(dir.join("session.yaml"), hot).unwrap();
    let output = render(dir, "session.yaml", "out", "cache", &[]);
    let log = stderr(&output);
    let mp3 = dir.join("out/preview/Session.mp3");
    let note = log.lines().find(|l| l.starts_with("note:") && l.contains("Session.mp3"));
    let note = note.unwrap_or_else(|| panic!("no trim reported:\n{log}"));
    let trim: f64 =
        note.split("lowered by ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(trim > 0.1, "{note}");
    let peak = true_peak(&mp3);
    assert!(peak <= 0.0, "decoded true peak {peak:.2} dBTP after a {trim} dB trim");
    // Found up to date, the file is reported the same.
    let again = stderr(&render(dir, "session.yaml", "out", "cache", &[]));
    assert!(again.contains(note), "{again}");
}

#[test]
fn the_closing_line_gives_each_deliverables_loudness_and_a_tag_edit_keeps_it() {
    let work = scratch();
    let dir = work.path();
    session(dir);
    let closing = |output: &std::process::Output| {
        let text = stderr(output);
        let line = text.lines().find(|l| l.starts_with("rendered ")).unwrap().to_owned();
        line.split_once("; ").unwrap().1.to_owned()
    };
    let first = closing(&render(dir, "session.yaml", "out", "cache", &[]));
    assert!(first.starts_with("lossless: -") && first.contains("; preview: -"), "{first}");
    assert!(first.contains(" LUFS, ") && first.contains(" dBTP"), "{first}");
    edit(dir, "artist: Somebody", "artist: Somebody Else");
    assert_eq!(closing(&render(dir, "session.yaml", "out", "cache", &[])), first);
}
