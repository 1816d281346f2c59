//! The output node: the master cut to the song's length and written as a WAV file,
//! atomically. A small record in the cache remembers what was written, so a render with
//! nothing changed can trust the file without reading it, and report the file's clipping
//! just as the render that wrote it did.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use super::NodeError;
use super::job::Job;
use super::retired::retire;
use super::stream::{MAX_TAIL_SECONDS, read_full};
use crate::audio::wav::{Clipping, WavFormat, WavWriter, remove_stale_temporaries};
use crate::cache::Key;
use crate::dsp::BLOCK_FRAMES;
use crate::graph::OutputFormat;
use crate::ir::Length;

/// What the cache remembers of a written output file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// The output node's key when the file was written.
    pub key: String,
    /// File size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: u128,
    /// Samples at full scale in an integer file (clipped), as the writer counted them;
    /// `None` in a record written before they were counted, which is then not trusted.
    #[serde(default)]
    pub clipped_samples: Option<u64>,
    /// The loudest sample before conversion, 1.0 being full scale.
    #[serde(default)]
    pub peak: f32,
}

impl OutputRecord {
    fn path(cache_root: &Path, output: &Path) -> PathBuf {
        let absolute = std::path::absolute(output).unwrap_or_else(|_| output.to_path_buf());
        let name = blake3::hash(absolute.to_string_lossy().as_bytes()).to_hex();
        cache_root.join("outputs").join(format!("{name}.json"))
    }

    /// The record for the file at `output` as it is now, for key `key`.
    fn of(output: &Path, key: Key, clipping: Clipping) -> Option<Self> {
        let meta = std::fs::metadata(output).ok()?;
        let mtime_ns = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
        Some(Self {
            key: key.to_string(),
            size: meta.len(),
            mtime_ns,
            clipped_samples: Some(clipping.samples),
            peak: clipping.peak,
        })
    }

    /// The record of what this cache last wrote at `output`, if any.
    #[must_use]
    pub fn load(cache_root: &Path, output: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(Self::path(cache_root, output)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Whether `output` is exactly the file this cache wrote for `key`.
    #[must_use]
    pub fn is_fresh(cache_root: &Path, output: &Path, key: Key) -> bool {
        let Some(recorded) = Self::load(cache_root, output) else { return false };
        let Some(samples) = recorded.clipped_samples else { return false };
        let clipping = Clipping { samples, peak: recorded.peak };
        Self::of(output, key, clipping).is_some_and(|now| now == recorded)
    }

    /// The clipping warning for this file, if its integer samples reached full scale.
    #[must_use]
    pub fn clipping_warning(&self, output: &Path) -> Option<String> {
        let clipped = self.clipped_samples.filter(|&n| n > 0)?;
        Some(format!(
            "`{}` clipped: {clipped} samples reached full scale, and the loudest peaked at {:+.1} dBFS; lower the master gain or add a limiter",
            output.display(),
            20.0 * f64::from(self.peak).log10()
        ))
    }

    fn save(cache_root: &Path, output: &Path, key: Key, clipping: Clipping) -> std::io::Result<()> {
        let Some(record) = Self::of(output, key, clipping) else { return Ok(()) };
        let path = Self::path(cache_root, output);
        std::fs::create_dir_all(path.parent().expect("records live in a folder"))?;
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temp, serde_json::to_vec(&record)?)?;
        std::fs::rename(temp, path)
    }
}

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
    cache_root: &Path,
) -> Result<(), NodeError> {
    let master = job.graph.graph[job.node].inputs[0];
    let mut stream = job.open_input(master)?;
    let rate = job.sample_rate();
    let content = stream.content_frames().unwrap_or(0);
    // A master arriving through a pipe tells its audible length only at its end, so write
    // as far as the file could reach and cut it once the length is known.
    let reach = stream.audible_frames().or(stream.frames()).unwrap_or(0);
    let longest = output_frames(length, rate, content, reach);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| NodeError::Output { path: path.to_path_buf(), source: e })?;
    }
    let wav_format = match format {
        OutputFormat::Pcm16 => WavFormat::Pcm16,
        OutputFormat::Pcm24 => WavFormat::Pcm24,
        OutputFormat::Float32 => WavFormat::Float32,
    };
    remove_stale_temporaries(path);
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
    retire(cache_root, path);
    writer.finish().map_err(NodeError::Audio)?;
    OutputRecord::save(cache_root, path, job.keys.key(job.node), clipping)
        .map_err(|e| NodeError::Output { path: path.to_path_buf(), source: e })
}
