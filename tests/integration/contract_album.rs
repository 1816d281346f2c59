//! The contract album (`examples/album.yaml`, as the contract writes it) renders to its
//! three targets, and every file reads back right with our own decoder and tag reader
//! (each FLAC also with claxon alone, which must agree sample for sample): rates, bit
//! depths, lengths, song boundaries against the CUE sheet, tags, loudness and true peaks.

use std::path::Path;

use mixdown::album::cd_time::parse_msf;
use mixdown::audio::loudness::LoudnessMeter;
use mixdown::audio::tags::{Tags, read_tags};

use crate::support::{mixdown, read_audio, read_flac_with_claxon, root, scratch, stderr};

const SONGS: [(&str, &str, &str); 3] = [
    ("First Light", "The Example Ensemble", "GBXYZ2600001"),
    ("Tidewater", "The Example Ensemble", "GBXYZ2600002"),
    ("Interlude", "The Example Ensemble feat. Nobody", "GBXYZ2600003"),
];

fn measured(left: &[f32], right: &[f32], rate: u32) -> (f64, f64) {
    let mut meter = LoudnessMeter::new(rate).unwrap();
    meter.add(left, right);
    let record = meter.record();
    (record.integrated.unwrap(), record.true_peak.unwrap())
}

/// The bits per sample a WAV's header declares.
fn bits_per_sample(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap();
    let fmt = bytes.windows(4).position(|w| w == b"fmt ").unwrap();
    u16::from_le_bytes([bytes[fmt + 22], bytes[fmt + 23]])
}

#[test]
fn the_contract_album_renders_its_three_targets_and_every_file_reads_back_right() {
    let work = scratch();
    let album = root().join("examples/album.yaml");
    let args = ["render", album.to_str().unwrap(), "--out", "out", "--message-format", "json"];
    let run = mixdown(work.path(), &args);
    assert!(run.status.success(), "{}", stderr(&run));
    let out = work.path().join("out");
    let (mut left, mut right, mut starts) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (title, artist, isrc)) in SONGS.iter().enumerate() {
        let name = format!("{:02} {title}", i + 1);
        let flac = out.join(format!("streaming/{name}.flac"));
        let (rate, l, r) = read_audio(&flac);
        let (claxon_rate, bits, claxon_l, claxon_r) = read_flac_with_claxon(&flac);
        assert_eq!((rate, claxon_rate, bits), (48_000, 48_000, 24), "{name}");
        assert!(l == claxon_l && r == claxon_r, "{name}.flac: claxon alone reads other samples");
        // No frame is larger than its samples stored plainly (4096 frames, 2 x 24 bits).
        let plain = (l.len() * 2 * 3) as u64;
        let size = std::fs::metadata(&flac).unwrap().len();
        assert!(size < plain + plain / 100, "{name}.flac: {size} bytes for {plain} of samples");
        assert!(measured(&l, &r, rate).1 <= -1.0, "{name}.flac is over the ceiling");
        starts.push(left.len());
        left.extend_from_slice(&l);
        right.extend_from_slice(&r);
        let mp3 = out.join(format!("preview/{name}.mp3"));
        let (mp3_rate, ml, mr) = read_audio(&mp3);
        assert_eq!((mp3_rate, ml.len()), (48_000, l.len()), "{name}.mp3 decodes gaplessly");
        assert!(measured(&ml, &mr, mp3_rate).1 <= -1.0, "{name}.mp3 is over the ceiling");
        let expected = Tags {
            title: Some((*title).to_owned()),
            artist: Some((*artist).to_owned()),
            album: Some("Low Tide".to_owned()),
            track_number: Some(i as u32 + 1),
            track_total: Some(3),
            year: Some(2026),
            isrc: Some((*isrc).to_owned()),
            upc: Some("5012345678900".to_owned()),
        };
        assert_eq!(read_tags(&flac).unwrap(), expected, "{name}.flac");
        assert_eq!(read_tags(&mp3).unwrap(), expected, "{name}.mp3");
    }
    let (loudness, _) = measured(&left, &right, 48_000);
    assert!((loudness + 14.0).abs() <= 0.3, "the FLACs in a row measure {loudness:.2} LUFS");
    let wav = out.join("cd/Low Tide.wav");
    let (rate, cd_left, cd_right) = read_audio(&wav);
    assert_eq!((rate, bits_per_sample(&wav)), (44_100, 16));
    assert_eq!(cd_left.len() % 588, 0, "the CD file is whole CD frames");
    let (loudness, true_peak) = measured(&cd_left, &cd_right, rate);
    assert!((loudness + 14.0).abs() <= 0.3, "the CD file measures {loudness:.2} LUFS");
    assert!(true_peak <= -1.0, "the CD file peaks at {true_peak:.2} dBTP");
    // The CD file is joined from its segments' streams, and its figures pooled from theirs:
    // they read as the whole file measured.
    let finished = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|v| v["reason"] == "render-finished")
        .expect("a render-finished line");
    let targets = finished["targets"].as_array().unwrap();
    let cd = targets.iter().find(|t| t["path"] == "out/cd/Low Tide.wav").expect("the CD file");
    let reported = cd["integrated_lufs"].as_f64().unwrap();
    assert!((reported - loudness).abs() < 0.02, "reported {reported} LUFS, measured {loudness}");
    let reported = cd["true_peak_dbtp"].as_f64().unwrap();
    assert!((reported - true_peak).abs() < 0.001, "reported {reported} dBTP, read {true_peak}");
    let tags = read_tags(&wav).unwrap();
    assert_eq!(tags.title.as_deref(), Some("Low Tide"), "the album file carries album tags");
    let cue = std::fs::read_to_string(out.join("cd/Low Tide.cue")).unwrap();
    let index: Vec<u64> = cue
        .lines()
        .filter_map(|l| l.trim().strip_prefix("INDEX 01 "))
        .map(|t| parse_msf(t).unwrap())
        .collect();
    assert_eq!(index.len(), 3, "{cue}");
    for (k, (&cd_frames, &start)) in index.iter().zip(&starts).enumerate() {
        let from_flacs = start as f64 / 48_000.0 * 75.0;
        assert!(
            (cd_frames as f64 - from_flacs).abs() <= 1.0,
            "track {}: INDEX 01 at frame {cd_frames}, the FLACs put it at {from_flacs:.1}",
            k + 1
        );
    }
    for (title, artist, isrc) in SONGS {
        assert!(cue.contains(&format!("TITLE \"{title}\"")), "{cue}");
        assert!(cue.contains(&format!("PERFORMER \"{artist}\"")), "{cue}");
        assert!(cue.contains(&format!("ISRC {isrc}")), "{cue}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["songs"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["album"]["target"]["pass"], serde_json::Value::Bool(true), "{report}");
}
