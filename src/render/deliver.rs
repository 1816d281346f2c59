//! The file node of a `deliver:` target: its encode node's stream, copied out of the cache,
//! checked against its checksum, tagged and moved into the target's folder atomically. A
//! WAV album file reads one encoded stream per segment and joins them on the way. A tag
//! edit runs this node alone: it encodes nothing.

use std::path::Path;

use super::NodeError;
use super::job::Job;
use crate::atomic_file;
use crate::audio::tagged::TaggedFile;
use crate::audio::tags::{Container, Tags};
use crate::audio::wav_join::WavJoin;
use crate::cache::encoded::{EncodedReader, open_encoded};
use crate::cache::folder::CacheDir;
use crate::cache::output_record::OutputRecord;
use crate::cache::retired::retire;
use crate::cache::{CacheError, Key};
use crate::graph::NodeKind;
use crate::ir::{DeliverFormat, Release, SampleWidth};

/// The tags a release writes.
#[must_use]
pub fn tags_of(release: &Release) -> Tags {
    Tags {
        title: Some(release.title.clone()),
        artist: release.artist.clone(),
        album: release.album.clone(),
        track_number: release.track.map(|(n, _)| n),
        track_total: release.track.and_then(|(_, total)| total),
        year: release.year,
        isrc: release.isrc.clone(),
        upc: release.catalog.clone(),
    }
}

/// Writes the file at `path` from the encode nodes this node reads, with `release`'s tags.
///
/// # Errors
/// When a stream is missing or damaged (the render then encodes it again), or the file
/// cannot be written.
pub fn run_deliver(
    job: &Job<'_>,
    path: &Path,
    release: &Release,
    cache: &CacheDir,
) -> Result<(), NodeError> {
    let inputs = job.graph.graph[job.node].main_inputs();
    let (NodeKind::Encode { target, .. } | NodeKind::AlbumEncode { target, .. }) =
        &job.graph.graph[inputs[0]].kind
    else {
        unreachable!("a deliver node reads encode nodes")
    };
    let container = match target.format {
        DeliverFormat::Wav(_) => Container::Wav,
        DeliverFormat::Flac(_) => Container::Flac,
        DeliverFormat::Mp3Cbr(_) | DeliverFormat::Mp3Vbr(_) => Container::Mp3,
    };
    let mut streams = Vec::with_capacity(inputs.len());
    for &input in inputs {
        let key = job.keys.key(input);
        streams.push((key, open_encoded(job.store, &key).map_err(|e| damaged(path, key, e))?));
    }
    let clipped = streams.iter().map(|(_, s)| s.facts().clipped_samples).sum();
    let peak = streams.iter().map(|(_, s)| s.facts().peak).fold(0.0f32, f32::max);
    let output_error = |e| NodeError::Output { path: path.to_path_buf(), source: e };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(output_error)?;
        // Left by renders that were killed; never a running render's.
        let _ = atomic_file::sweep_orphans(dir);
    }
    let mut file =
        TaggedFile::create(path, container, &tags_of(release)).map_err(NodeError::Audio)?;
    if let [_] = &streams[..] {
        let (key, stream) = streams.pop().expect("one stream");
        stream.copy_to(&mut file).map_err(|e| damaged(path, key, e))?;
    } else {
        let DeliverFormat::Wav(width) = target.format else {
            unreachable!("only a WAV album file is joined from segments")
        };
        join_segments(path, streams, width, &mut file)?;
    }
    retire(cache, path);
    file.finish().map_err(NodeError::Audio)?;
    OutputRecord::save(cache, path, job.keys.key(job.node), clipped, peak)
        .map_err(NodeError::CacheWrite)
}

/// Joins the encoded WAV streams of an album file's segments into `file`.
fn join_segments(
    path: &Path,
    streams: Vec<(Key, EncodedReader)>,
    width: SampleWidth,
    file: &mut TaggedFile,
) -> Result<(), NodeError> {
    let sample_bytes = match width {
        SampleWidth::Int16 => 2,
        SampleWidth::Int24 => 3,
        SampleWidth::Float32 => 4,
    };
    let total = streams.iter().map(|(_, s)| s.facts().frames * 2 * sample_bytes).sum();
    let not_joined = |key, error: std::io::Error| match error.kind() {
        std::io::ErrorKind::InvalidData => {
            NodeError::CorruptInput { key, reason: format!("its segments do not join: {error}") }
        }
        _ => NodeError::Output { path: path.to_path_buf(), source: error },
    };
    let mut join = WavJoin::new(file, total);
    let mut last = None;
    for (key, stream) in streams {
        join.next_stream().map_err(|e| not_joined(key, e))?;
        stream.copy_to(&mut join).map_err(|e| damaged(path, key, e))?;
        last = Some(key);
    }
    let last = last.expect("an album file has segments");
    join.finish().map_err(|e| not_joined(last, e))?;
    Ok(())
}

/// What a failure to copy encoded stream `key` into the file at `path` means: the file
/// cannot be written, or the stream is damaged (and is encoded again).
fn damaged(path: &Path, key: Key, error: CacheError) -> NodeError {
    match error {
        CacheError::Io { source, .. } if source.kind() != std::io::ErrorKind::InvalidData => {
            NodeError::Output { path: path.to_path_buf(), source }
        }
        other => NodeError::CorruptInput { key, reason: other.to_string() },
    }
}
