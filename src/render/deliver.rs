//! The file node of a `deliver:` target: its encode node's stream, copied out of the cache,
//! checked against its checksum, tagged and moved into the target's folder atomically. A
//! tag edit runs this node alone: it encodes nothing.

use std::path::Path;

use super::NodeError;
use super::job::Job;
use crate::atomic_file;
use crate::audio::tagged::TaggedFile;
use crate::audio::tags::{Container, Tags};
use crate::cache::CacheError;
use crate::cache::encoded::open_encoded;
use crate::cache::folder::CacheDir;
use crate::cache::output_record::OutputRecord;
use crate::cache::retired::retire;
use crate::graph::NodeKind;
use crate::ir::{DeliverFormat, Release};

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

/// Writes the file at `path` from the encode node this node reads, with `release`'s tags.
///
/// # Errors
/// When the stream is missing or damaged (the render then encodes it again), or the file
/// cannot be written.
pub fn run_deliver(
    job: &Job<'_>,
    path: &Path,
    release: &Release,
    cache: &CacheDir,
) -> Result<(), NodeError> {
    let input = job.graph.graph[job.node].main_inputs()[0];
    let (NodeKind::Encode { target, .. } | NodeKind::AlbumEncode { target, .. }) =
        &job.graph.graph[input].kind
    else {
        unreachable!("a deliver node reads an encode node")
    };
    let container = match target.format {
        DeliverFormat::Wav(_) => Container::Wav,
        DeliverFormat::Flac(_) => Container::Flac,
        DeliverFormat::Mp3Cbr(_) | DeliverFormat::Mp3Vbr(_) => Container::Mp3,
    };
    let key = job.keys.key(input);
    let damaged = |error: CacheError| match error {
        CacheError::Io { source, .. } => NodeError::Output { path: path.to_path_buf(), source },
        other => NodeError::CorruptInput { key, reason: other.to_string() },
    };
    let stream = open_encoded(job.store, &key).map_err(damaged)?;
    let facts = stream.facts().clone();
    let output_error = |e| NodeError::Output { path: path.to_path_buf(), source: e };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(output_error)?;
        // Left by renders that were killed; never a running render's.
        let _ = atomic_file::sweep_orphans(dir);
    }
    let mut file =
        TaggedFile::create(path, container, &tags_of(release)).map_err(NodeError::Audio)?;
    stream.copy_to(&mut file).map_err(damaged)?;
    retire(cache, path);
    file.finish().map_err(NodeError::Audio)?;
    OutputRecord::save(cache, path, job.keys.key(job.node), facts.clipped_samples, facts.peak)
        .map_err(NodeError::CacheWrite)
}
