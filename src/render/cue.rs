//! The CUE sheet node: each song's start in CD frames, from the records of the segments
//! the album file is made of, written beside that file atomically. A song after a gap gets
//! the gap's start as its `INDEX 00`.

use std::path::Path;

use super::NodeError;
use super::album_analysis::segment_record;
use super::job::Job;
use crate::album::cd_time::{Rounding, samples_to_cd_frames};
use crate::album::cue::{CueFileType, CueSheet, CueTrack};
use crate::atomic_file;
use crate::cache::folder::CacheDir;
use crate::cache::output_record::OutputRecord;
use crate::graph::CueText;

/// Writes the sheet at `path`.
///
/// # Errors
/// When a segment's record is missing (the segment then renders again) or the file cannot
/// be written.
pub fn run_cue(
    job: &Job<'_>,
    path: &Path,
    text: &CueText,
    cache: &CacheDir,
) -> Result<(), NodeError> {
    let rate = job.sample_rate();
    let frames = |samples: u64| samples_to_cd_frames(samples, rate, Rounding::Nearest);
    let mut tracks = Vec::with_capacity(text.tracks.len());
    let mut segment_start = 0u64;
    let mut previous_end = None;
    for &segment in job.graph.graph[job.node].main_inputs() {
        let record = segment_record(job, segment, cache)?;
        for (j, &start) in record.starts.iter().enumerate() {
            let (title, performer, isrc) = text.tracks[tracks.len()].clone();
            let start = frames(segment_start + start);
            let pregap_start = if j == 0 { previous_end.filter(|&end| end < start) } else { None };
            tracks.push(CueTrack { title, performer, isrc, pregap_start, start });
        }
        previous_end = record.ends.last().map(|&end| frames(segment_start + end));
        segment_start += record.frames;
    }
    let sheet = CueSheet {
        title: text.title.clone(),
        performer: text.performer.clone(),
        catalog: text.catalog.clone(),
        year: text.year,
        file_name: text.file.clone(),
        file_type: CueFileType::Wave,
        tracks,
    };
    let output_error = |source| NodeError::Output { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(output_error)?;
    }
    atomic_file::write_unflushed(path, sheet.to_text().as_bytes()).map_err(output_error)?;
    OutputRecord::save(cache, path, job.keys.key(job.node), 0, 0.0).map_err(NodeError::CacheWrite)
}
