//! Building an album's render graph: every song's mix under its own id, the songs with
//! their mastering chain, the analyses that decide the album's gains, the segments at each
//! delivery rate, and every deliverable's encoded streams, files and CUE sheets.
//!
//! ```text
//! mix or file ─► song ─┬─► analysis (unlimited) ─► trial segments ─► analysis (limited)
//!  (each song)         └──────────────► segments at each rate ◄────────────┘
//!                                          ├─► encode ─► file   (per song; per segment, joined
//!                                          │                     into a WAV album; the album)
//!                                          ├─► cue sheet
//!                                          └─► analysis (delivered): the report
//! ```
//!
//! A segment keys on the plan its analysis settles (gains rounded to 0.01 dB, and the
//! timing), not on the analysis, so an edit that leaves the gains alone stops there. The
//! trial segments are the album-rate segments at the first gains. They keep only their
//! records, measured without the true peak, since the limited analysis reads nothing else,
//! and they key apart from the final segments: a final segment is rendered again even when
//! the limited analysis leaves the gains as they were, which costs less than writing every
//! trial's audio on every build.

use std::collections::BTreeMap;
use std::ops::Range;

use petgraph::graph::NodeIndex;

use super::{
    AlbumShape, AnalysisStage, CueText, EncodeSpan, GraphBuilder, NodeKind, RenderGraph,
    dither_seed,
};
use crate::album::sequence::{SongShape, to_frames};
use crate::ir::{
    Album, AlbumTarget, DeliverFormat, Join, Length, Release, SongInput, Split, fill_file_name,
};

/// How far under the album's ceiling its limiters hold the true peak, in dB. BS.1770's 4×
/// interpolation is a suggestion, and meters built on other filters read the peaks of a
/// limited, rate-converted album up to 0.3 dB higher near the Nyquist frequency (ffmpeg's
/// `ebur128` does, on the reference album's CD file); every meter must read the files
/// under the ceiling.
pub const METER_MARGIN_DB: f64 = 0.3;

/// The id of the analysis whose record the album's report reads.
pub const DELIVERED_ANALYSIS: &str = "album/loudness/delivered";

/// Builds the graph of `album`. Its targets are the delivered analysis (the report's
/// figures), then every deliverable's files and CUE sheets in the order the album names
/// them.
#[must_use]
pub fn build_album(album: &Album) -> RenderGraph {
    let mut b = GraphBuilder::default();
    let rate = album.sample_rate;
    let songs: Vec<NodeIndex> =
        album.songs.iter().map(|song| add_song(&mut b, song, rate)).collect();
    let shape = AlbumShape {
        songs: SongShape::of(album),
        loudness: album.loudness,
        cd: album.deliver.iter().any(AlbumTarget::is_cd),
    };
    let groups = segments_of(album);
    let analysis = |stage| NodeKind::AlbumAnalysis { stage, album: shape.clone() };
    let unlimited = b.add_node(
        rate,
        "album/loudness".into(),
        analysis(AnalysisStage::Unlimited),
        songs.clone(),
    );
    let segments = Segments { album, songs: &songs, groups: &groups };
    let trial = segments.add(&mut b, unlimited, (rate, false), "trial", true);
    let mut inputs = trial.clone();
    inputs.push(unlimited);
    let limited =
        b.add_node(rate, "album/loudness/limited".into(), analysis(AnalysisStage::Limited), inputs);
    let mut finals: BTreeMap<(u32, bool), Vec<NodeIndex>> = BTreeMap::new();
    let mut rates = vec![(rate, false)];
    rates.extend(album.deliver.iter().map(|t| (t.deliverable.sample_rate, t.is_cd())));
    for (at, cd) in rates {
        finals.entry((at, cd)).or_insert_with(|| {
            let label = format!("{}{}", rate_label(at), if cd { "-cd" } else { "" });
            segments.add(&mut b, limited, (at, cd), &label, false)
        });
    }
    let mut inputs = finals[&(rate, false)].clone();
    inputs.push(limited);
    let delivered =
        b.add_node(rate, DELIVERED_ANALYSIS.into(), analysis(AnalysisStage::Delivered), inputs);
    b.add_target(delivered);
    for target in &album.deliver {
        let at = (target.deliverable.sample_rate, target.is_cd());
        add_deliverable(&mut b, album, target, &finals[&at], &groups);
    }
    b.finish()
}

/// Adds a song's input (its mix, or its file) and the song node itself.
fn add_song(b: &mut GraphBuilder, song: &crate::ir::Song, rate: u32) -> NodeIndex {
    let (input, length, cut_fade_seconds) = match &song.input {
        SongInput::Mix(mix) => (b.add_mix_master(mix, &song.id), mix.length, mix.cut_fade_seconds),
        SongInput::File(file) => {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("audio");
            let kind = NodeKind::Source { file: file.clone() };
            (
                b.add_node(rate, format!("{}/source/{name}", song.id), kind, Vec::new()),
                Length::Natural,
                0.0,
            )
        }
    };
    let kind = NodeKind::Song { chain: song.chain.clone(), length, cut_fade_seconds };
    b.add_node(rate, format!("{}/song", song.id), kind, vec![input])
}

/// The songs of each segment: a new one starts with the first song and with every song
/// after a gap; crossfades and songs butted together stay in one.
#[must_use]
pub fn segments_of(album: &Album) -> Vec<Range<usize>> {
    let mut groups: Vec<Range<usize>> = Vec::new();
    for (i, song) in album.songs.iter().enumerate() {
        let opens = match song.join {
            Join::Gap(seconds) => to_frames(seconds, album.sample_rate) > 0,
            Join::Crossfade { .. } => false,
        };
        match groups.last_mut() {
            Some(group) if !opens => group.end = i + 1,
            _ => groups.push(i..i + 1),
        }
    }
    groups
}

/// `48000` as `48k`, `44100` as `44.1k`.
fn rate_label(rate: u32) -> String {
    format!("{}k", f64::from(rate) / 1000.0)
}

/// What adding a set of segment nodes needs.
struct Segments<'a> {
    album: &'a Album,
    songs: &'a [NodeIndex],
    groups: &'a [Range<usize>],
}

impl Segments<'_> {
    /// One segment node per group at `(rate, cd)`, settled by `analysis`, their ids ending
    /// in `label`; `trial` ones keep only their records.
    fn add(
        &self,
        b: &mut GraphBuilder,
        analysis: NodeIndex,
        (rate, cd): (u32, bool),
        label: &str,
        trial: bool,
    ) -> Vec<NodeIndex> {
        let ceiling_dbtp = self.album.loudness.normalisation.ceiling_dbtp - METER_MARGIN_DB;
        self.groups
            .iter()
            .enumerate()
            .map(|(k, range)| {
                let mut inputs = self.songs[range.clone()].to_vec();
                inputs.push(analysis);
                let first = &self.album.songs[range.start].id;
                let last = k + 1 == self.groups.len();
                let kind = NodeKind::Segment { segment: k, cd, last, ceiling_dbtp, trial };
                b.add_node(rate, format!("album/segment/{first}/{label}"), kind, inputs)
            })
            .collect()
    }
}

/// A song's tags: its own title, artist and ISRC, the album's name, barcode and year, and
/// its position.
fn song_release(album: &Album, index: usize) -> Release {
    let song = &album.songs[index];
    Release {
        title: song.title.clone(),
        artist: Some(song.artist.clone()),
        album: Some(album.title.clone()),
        catalog: album.catalog.clone(),
        year: album.year,
        isrc: song.isrc.clone(),
        track: Some((index as u32 + 1, Some(album.songs.len() as u32))),
    }
}

/// The album file's tags: album-level only (the CUE sheet carries each track's).
fn album_release(album: &Album) -> Release {
    Release {
        title: album.title.clone(),
        artist: Some(album.artist.clone()),
        album: Some(album.title.clone()),
        catalog: album.catalog.clone(),
        year: album.year,
        isrc: None,
        track: None,
    }
}

/// Adds one deliverable's encode, file and CUE nodes, reading `segments` (this target's
/// rate), and makes the files targets.
fn add_deliverable(
    b: &mut GraphBuilder,
    album: &Album,
    target: &AlbumTarget,
    segments: &[NodeIndex],
    groups: &[Range<usize>],
) {
    let d = &target.deliverable;
    let (name, rate) = (d.name.as_str(), d.sample_rate);
    let extension = d.format.extension();
    let fill = |release: &Release| {
        fill_file_name(&d.file_name, name, extension, release)
            .unwrap_or_else(|(message, _)| unreachable!("lowering checks file names: {message}"))
    };
    match target.split {
        Split::Songs => {
            for (k, range) in groups.iter().enumerate() {
                for (j, index) in range.clone().enumerate() {
                    let song = &album.songs[index];
                    let release = song_release(album, index);
                    let kind = NodeKind::AlbumEncode {
                        target: d.clone(),
                        span: EncodeSpan::Song(j),
                        seeds: vec![dither_seed(&song.id, name)],
                    };
                    let id = format!("album/{name}/encode/{}", song.id);
                    let encode = b.add_node(rate, id, kind, vec![segments[k]]);
                    let file_name = fill(&release);
                    let kind = NodeKind::Deliver { target: name.into(), file_name, tags: release };
                    let id = format!("album/{name}/deliver/{}", song.id);
                    let file = b.add_node(rate, id, kind, vec![encode]);
                    b.add_target(file);
                }
            }
        }
        Split::Album => {
            let seeds: Vec<u64> =
                groups.iter().map(|g| dither_seed(&album.songs[g.start].id, name)).collect();
            let encodes = if matches!(d.format, DeliverFormat::Wav(_)) {
                // A WAV file is its samples in a row, so it is joined from one encoded
                // stream per segment and an edit encodes only its own segment again.
                let per_segment = groups.iter().zip(&seeds).zip(segments);
                per_segment
                    .map(|((group, &seed), &segment)| {
                        let kind = NodeKind::AlbumEncode {
                            target: d.clone(),
                            span: EncodeSpan::Segments,
                            seeds: vec![seed],
                        };
                        let id = format!("album/{name}/encode/{}", album.songs[group.start].id);
                        b.add_node(rate, id, kind, vec![segment])
                    })
                    .collect()
            } else {
                let span = EncodeSpan::Segments;
                let kind = NodeKind::AlbumEncode { target: d.clone(), span, seeds };
                vec![b.add_node(rate, format!("album/{name}/encode"), kind, segments.to_vec())]
            };
            let release = album_release(album);
            let file_name = fill(&release);
            if target.cue {
                let stem = file_name.strip_suffix(&format!(".{extension}")).unwrap_or(&file_name);
                let sheet = CueText {
                    title: album.title.clone(),
                    performer: album.artist.clone(),
                    catalog: album.catalog.clone(),
                    year: album.year,
                    file: file_name.clone(),
                    tracks: album
                        .songs
                        .iter()
                        .map(|s| (s.title.clone(), s.artist.clone(), s.isrc.clone()))
                        .collect(),
                };
                let kind =
                    NodeKind::Cue { target: name.into(), file_name: format!("{stem}.cue"), sheet };
                let cue = b.add_node(rate, format!("album/{name}/cue"), kind, segments.to_vec());
                b.add_target(cue);
            }
            let kind = NodeKind::Deliver { target: name.into(), file_name, tags: release };
            let file = b.add_node(rate, format!("album/{name}/deliver"), kind, encodes);
            b.add_target(file);
        }
    }
}
