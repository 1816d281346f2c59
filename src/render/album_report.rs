//! The figures of an album render, gathered from the records its nodes keep: the delivered
//! analysis (each song's and the album's loudness after the limiter, and the gains), the
//! album-rate segments (the limiter's gain reduction) and the encode nodes (each file's
//! true peak and an MP3's headroom trim). Nothing is measured here, so a render that found
//! everything cached reports the same figures as the one that made them.

use petgraph::graph::NodeIndex;

use super::album_record::{AlbumRecord, SegmentRecord};
use super::output::delivered_loudness;
use crate::album::report::{AlbumReport, LimiterReduction, Measured, MeasuredFile, MeasuredSong};
use crate::audio::loudness::LoudnessRecord;
use crate::cache::encoded::open_encoded;
use crate::cache::folder::CacheDir;
use crate::cache::keys::Keys;
use crate::cache::measurement;
use crate::cache::store::Store;
use crate::graph::{DELIVERED_ANALYSIS, NodeKind, RenderGraph};
use crate::ir::{Album, LoudnessMode};

/// The report of `album`'s render, from the records its nodes left; `None` when the
/// delivered analysis has not run (a render of one target that skipped it).
#[must_use]
pub fn album_report(
    graph: &RenderGraph,
    keys: &Keys,
    store: &Store,
    cache: &CacheDir,
    album: &Album,
) -> Option<AlbumReport> {
    let delivered = graph.find(DELIVERED_ANALYSIS)?;
    let record = measurement::load::<AlbumRecord>(cache, keys.key(delivered))?;
    let (_, segments) = graph.graph[delivered].inputs.split_last()?;
    // A render that took the analysis from a remote cache never read these segments.
    let missing: Vec<_> = segments
        .iter()
        .map(|&segment| keys.key(segment))
        .filter(|&key| !measurement::exists(cache, key))
        .collect();
    if !missing.is_empty() {
        let _ = store.bring_records_local(cache, &missing);
    }
    let mut reductions = Vec::new();
    for &segment in segments {
        let segment = measurement::load::<SegmentRecord>(cache, keys.key(segment))?;
        reductions.extend(segment.reduction_db);
    }
    let songs: Vec<MeasuredSong> = album
        .songs
        .iter()
        .enumerate()
        .map(|(i, song)| MeasuredSong {
            title: song.title.clone(),
            measured: measured(
                record.songs.get(i),
                Some(song.gain_db + record.gains_db.get(i).copied().unwrap_or(0.0)),
                reductions.get(i).copied().unwrap_or((0.0, 0.0)),
            ),
        })
        .collect();
    let most = reductions.iter().map(|r| r.0).fold(0.0, f64::max);
    let mean = reductions.iter().map(|r| r.1).sum::<f64>() / reductions.len().max(1) as f64;
    let album_gain = match album.loudness.mode {
        LoudnessMode::Song => None,
        LoudnessMode::Album | LoudnessMode::Loudest => record.gains_db.first().copied(),
    };
    let whole = measured(Some(&record.album), album_gain, (most, mean));
    let files: Vec<MeasuredFile> = graph
        .targets
        .iter()
        .filter_map(|&t| delivered_file(graph, keys, store, cache, t))
        .collect();
    Some(AlbumReport::new(&album.loudness, &songs, &whole, &files))
}

/// A song's or the album's figures.
fn measured(
    loudness: Option<&LoudnessRecord>,
    gain: Option<f64>,
    reduction: (f64, f64),
) -> Measured {
    Measured {
        integrated: loudness.and_then(|l| l.integrated),
        loudness_range: loudness.and_then(|l| l.loudness_range),
        sample_peak: loudness.and_then(|l| l.sample_peak),
        true_peak: loudness.and_then(|l| l.true_peak),
        gain,
        limiter_reduction: LimiterReduction { max: reduction.0, mean: reduction.1 },
    }
}

/// A file target's true peak as its encode nodes measured it (an MP3's decoded), and its
/// headroom trim.
fn delivered_file(
    graph: &RenderGraph,
    keys: &Keys,
    store: &Store,
    cache: &CacheDir,
    target: NodeIndex,
) -> Option<MeasuredFile> {
    let NodeKind::Deliver { target: name, file_name, .. } = &graph.graph[target].kind else {
        return None;
    };
    let encodes = &graph.graph[target].inputs;
    let NodeKind::AlbumEncode { target: deliverable, .. } = &graph.graph[*encodes.first()?].kind
    else {
        return None;
    };
    let loudness = delivered_loudness(cache, keys, encodes);
    let trims = encodes.iter().filter_map(|&encode| {
        open_encoded(store, &keys.key(encode)).ok().and_then(|s| s.facts().headroom_trim_db)
    });
    let trim = trims.reduce(f64::max);
    Some(MeasuredFile {
        target: name.clone(),
        file: format!("{name}/{file_name}"),
        true_peak: loudness.and_then(|l| l.true_peak),
        headroom_trim: trim,
        ceiling: deliverable.ceiling_dbtp,
    })
}
