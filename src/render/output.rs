//! The output node: the master cut to the song's length and written as a WAV file,
//! atomically. A small record in the cache remembers what was written, so a render with
//! nothing changed can trust the file without reading it, and report the file's clipping
//! just as the render that wrote it did. A record that cannot be written fails the node as
//! a cache write, so the render runs again without the cache.

use std::path::Path;

use super::NodeError;
use super::job::Job;
use super::stream::{MAX_TAIL_SECONDS, read_full};
use crate::atomic_file;
use crate::audio::wav::{WavFormat, WavWriter};
use crate::cache::folder::CacheDir;
use crate::cache::output_record::OutputRecord;
use crate::cache::retired::retire;
use crate::dsp::BLOCK_FRAMES;
use crate::graph::OutputFormat;
use crate::ir::Length;

/// How many frames the output file holds, from the master's lengths and the policy.
#[must_use]
pub fn output_frames(length: Length, rate: u32, content: u64, audible: u64) -> u64 {
    let rate = f64::from(rate);
    match length {
        Length::Exact(seconds) => (seconds * rate).round() as u64,
        Length::Tail(seconds) => content + (seconds * rate).round() as u64,
        Length::Natural => audible.clamp(content, content + (MAX_TAIL_SECONDS * rate) as u64),
    }
}

/// Writes the output file from the master's entry, or from the master itself when the two
/// run as a pipeline.
///
/// # Errors
/// When the master cannot be read or the file cannot be written.
pub fn run_output(
    job: &Job<'_>,
    path: &Path,
    format: OutputFormat,
    length: Length,
    cache: &CacheDir,
) -> Result<(), NodeError> {
    let master = job.graph.graph[job.node].inputs[0];
    let mut stream = job.open_input(master)?;
    let rate = job.sample_rate();
    let content = stream.content_frames().unwrap_or(0);
    // A master arriving through a pipe tells its audible length only at its end, so write
    // as far as the file could reach and cut it once the length is known.
    let reach = stream.audible_frames().or(stream.frames()).unwrap_or(0);
    let longest = output_frames(length, rate, content, reach);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| NodeError::Output { path: path.to_path_buf(), source: e })?;
        // Left by renders that were killed; never a running render's.
        let _ = atomic_file::sweep_orphans(dir);
    }
    let wav_format = match format {
        OutputFormat::Pcm16 => WavFormat::Pcm16,
        OutputFormat::Pcm24 => WavFormat::Pcm24,
        OutputFormat::Float32 => WavFormat::Float32,
    };
    let mut writer = WavWriter::create(path, rate, wav_format).map_err(NodeError::Audio)?;
    let mut left = vec![0.0f32; BLOCK_FRAMES];
    let mut right = vec![0.0f32; BLOCK_FRAMES];
    let mut written = 0u64;
    while written < longest {
        let n = ((longest - written) as usize).min(BLOCK_FRAMES);
        read_full(stream.as_mut(), &mut left[..n], &mut right[..n])?;
        writer.write(&left[..n], &right[..n]).map_err(NodeError::Audio)?;
        written += n as u64;
    }
    // Read the rest so an entry's checksum is verified (and a pipe's end is seen) even
    // when the cut is early.
    while read_full(stream.as_mut(), &mut left, &mut right)? > 0 {}
    let frames = output_frames(length, rate, content, stream.audible_frames().unwrap_or(0));
    writer.truncate(frames).map_err(NodeError::Audio)?;
    let clipping = writer.clipping();
    retire(cache, path);
    writer.finish().map_err(NodeError::Audio)?;
    let key = job.keys.key(job.node);
    OutputRecord::save(cache, path, key, clipping.samples, clipping.peak)
        .map_err(NodeError::CacheWrite)
}
