//! A segment that only one encode reads, whole (a segment of the CD's WAV album file),
//! streams into it and keeps its record but no audio entry: the encoded stream holds its
//! audio. Whatever later needs that audio renders the segment again, and the files are the
//! bytes a render that kept every entry writes.

use std::path::Path;

use mixdown::audio::loudness::LoudnessMeter;
use mixdown::cache::folder::CacheDir;
use mixdown::cache::keys::Keys;
use mixdown::cache::measurement;
use mixdown::cache::store::Store;
use mixdown::graph::{RenderGraph, build_album};
use mixdown::ir::{Album, DeliverFormat, SampleWidth};

use crate::album_render::{album, render_album};
use crate::support::{read_audio, scratch};

const CD_FILE: &str = "cd/Low Tide.wav";

/// The CD-rate segments of `graph`.
fn cd_segments(graph: &RenderGraph) -> Vec<petgraph::graph::NodeIndex> {
    graph.graph.node_indices().filter(|&i| graph.graph[i].id.ends_with("/44.1k-cd")).collect()
}

/// For each CD-rate segment: whether the cache at `cache` holds its audio, and its record.
fn kept(graph: &RenderGraph, keys: &Keys, cache: &Path) -> Vec<(bool, bool)> {
    let dir = CacheDir::new(cache);
    let store = Store::local(&dir);
    cd_segments(graph)
        .into_iter()
        .map(|i| (store.holds_here(&keys.key(i)), measurement::exists(&dir, keys.key(i))))
        .collect()
}

/// Renders `album` cold at `-j 1`, which runs no pipelines and keeps every entry, into
/// `work/name`, and returns the CD file's bytes.
fn cd_file_kept_whole(work: &Path, album: &Album, name: &str) -> Vec<u8> {
    let out = work.join(name);
    render_album(&build_album(album), &work.join(format!("cache-{name}")), &out, 1);
    std::fs::read(out.join(CD_FILE)).unwrap()
}

#[test]
fn a_cd_segment_streams_into_its_encode_and_keeps_only_its_record() {
    let work = scratch();
    let album = album(work.path());
    let graph = build_album(&album);
    let cache = work.path().join("cache");
    let (keys, _) = render_album(&graph, &cache, &work.path().join("out"), 2);
    let segments = kept(&graph, &keys, &cache);
    assert_eq!(segments.len(), 2, "a segment before the gap and one after it");
    assert!(segments.iter().all(|&(audio, record)| !audio && record), "{segments:?}");
    // The album-rate segments, which several encodes read, keep their audio.
    let dir = CacheDir::new(&cache);
    let store = Store::local(&dir);
    let album_rate = graph.graph.node_indices().filter(|&i| graph.graph[i].id.ends_with("/48k"));
    assert!(album_rate.into_iter().all(|i| store.holds_here(&keys.key(i))));
}

#[test]
fn a_cd_word_length_edit_renders_the_cd_segments_again_and_nothing_else_upstream() {
    let work = scratch();
    let mut album = album(work.path());
    let (cache, out) = (work.path().join("cache"), work.path().join("out"));
    render_album(&build_album(&album), &cache, &out, 2);
    album.deliver[1].deliverable.format = DeliverFormat::Wav(SampleWidth::Int24);
    let (_, report) = render_album(&build_album(&album), &cache, &out, 2);
    let mut ran = report.rendered();
    ran.sort();
    assert_eq!(
        ran,
        [
            "album/cd/deliver",
            "album/cd/encode/one",
            "album/cd/encode/two",
            "album/segment/one/44.1k-cd",
            "album/segment/two/44.1k-cd",
        ],
        "the CD file's segments are made again, as their audio was not kept"
    );
    let edited = std::fs::read(out.join(CD_FILE)).unwrap();
    assert_eq!(edited, cd_file_kept_whole(work.path(), &album, "whole"));
}

#[test]
fn a_streamed_segment_encoded_again_under_a_lower_ceiling_is_rendered_again_into_an_entry() {
    let work = scratch();
    let mut album = album(work.path());
    // The limiter holds the album's ceiling (-1 dBTP); the CD file's own is far lower, so its
    // first encoding is over it and the audio is read again, lowered.
    album.deliver[1].deliverable.ceiling_dbtp = -10.0;
    let graph = build_album(&album);
    let (cache, out) = (work.path().join("cache"), work.path().join("out"));
    let (keys, _) = render_album(&graph, &cache, &out, 2);
    let segments = kept(&graph, &keys, &cache);
    assert!(segments.iter().all(|&(audio, _)| audio), "made again into entries: {segments:?}");
    let bytes = std::fs::read(out.join(CD_FILE)).unwrap();
    assert_eq!(bytes, cd_file_kept_whole(work.path(), &album, "whole"));
    let (rate, left, right) = read_audio(&out.join(CD_FILE));
    let mut meter = LoudnessMeter::new(rate).unwrap();
    meter.add(&left, &right);
    let true_peak = meter.record().true_peak.unwrap();
    assert!(true_peak <= -10.0, "the CD file peaks at {true_peak:.2} dBTP");
}

#[test]
fn only_segments_away_from_the_albums_rate_stream_without_an_entry() {
    let work = scratch();
    let mut album = album(work.path());
    // Each rate's segments now have one reader: a WAV album file.
    album.deliver.retain(|t| t.deliverable.name == "cd" || t.deliverable.name == "whole");
    let graph = build_album(&album);
    let streams = |suffix: &str| -> Vec<bool> {
        let segments = graph.graph.node_indices().filter(|&i| graph.graph[i].id.ends_with(suffix));
        segments.map(|i| graph.streams_without_entry(i)).collect()
    };
    assert_eq!(streams("/44.1k-cd"), [true, true]);
    // The album's audio, which assertions, `diff` and the overview read after a render.
    assert_eq!(streams("/48k"), [false, false]);
    assert_eq!(streams("/trial"), [false, false]);
}
