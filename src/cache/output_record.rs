//! What the cache remembers of each output file it wrote: the output node's key, the
//! file's identity (size, times, inode) and its clipping, so that a render that finds it
//! up to date reports it as the render that wrote it did. A render with nothing changed trusts the file
//! without reading it only while its identity is the one recorded: a file rewritten in
//! place, even with its modification time set back, replaced or turned into a link, is
//! written again.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Key;
use super::folder::CacheDir;
use crate::file_identity::FileIdentity;

/// Version of the record's fields; a record of another version is not trusted.
const RECORD_VERSION: u32 = 3;

/// What the cache remembers of a written output file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// [`RECORD_VERSION`] when written.
    pub version: u32,
    /// The output node's key when the file was written.
    pub key: String,
    /// The file as written.
    pub identity: FileIdentity,
    /// Samples at full scale in an integer file (clipped), as the writer counted them.
    pub clipped_samples: u64,
    /// The loudest sample before conversion, 1.0 being full scale.
    pub peak: f32,
}

impl OutputRecord {
    /// The record for the file at `output` as it is now, for key `key`. A link is not the
    /// file: it has no record.
    fn of(output: &Path, key: Key, clipped_samples: u64, peak: f32) -> Option<Self> {
        let meta = std::fs::symlink_metadata(output).ok().filter(std::fs::Metadata::is_file)?;
        let identity = FileIdentity::of(&meta)?;
        let version = RECORD_VERSION;
        Some(Self { version, key: key.to_string(), identity, clipped_samples, peak })
    }

    /// The record of what this cache last wrote at `output`, if any.
    #[must_use]
    pub fn load(cache: &CacheDir, output: &Path) -> Option<Self> {
        let text = std::fs::read(cache.output_record(output)).ok()?;
        serde_json::from_slice::<Self>(&text).ok().filter(|r| r.version == RECORD_VERSION)
    }

    /// Whether `output` is exactly the file this cache wrote for `key`.
    #[must_use]
    pub fn is_fresh(cache: &CacheDir, output: &Path, key: Key) -> bool {
        let Some(recorded) = Self::load(cache, output) else { return false };
        let now = Self::of(output, key, recorded.clipped_samples, recorded.peak);
        now.is_some_and(|now| now == recorded)
    }

    /// The clipping warning for this file, if its integer samples reached full scale.
    #[must_use]
    pub fn clipping_warning(&self, output: &Path) -> Option<String> {
        let clipped = Some(self.clipped_samples).filter(|&n| n > 0)?;
        Some(format!(
            "`{}` clipped: {clipped} samples reached full scale, and the loudest peaked at {:+.1} dBFS; lower the master gain or add a limiter",
            output.display(),
            20.0 * f64::from(self.peak).log10()
        ))
    }

    /// Records the file at `output` as written for `key`, with its clipping.
    ///
    /// # Errors
    /// When the record cannot be written.
    pub fn save(
        cache: &CacheDir,
        output: &Path,
        key: Key,
        clipped_samples: u64,
        peak: f32,
    ) -> io::Result<()> {
        let Some(record) = Self::of(output, key, clipped_samples, peak) else { return Ok(()) };
        cache.write(&cache.output_record(output), &serde_json::to_vec(&record)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File};
    use std::io::{Seek, SeekFrom, Write};
    use std::time::Duration;

    #[test]
    fn an_output_is_fresh_until_a_byte_is_flipped_even_with_its_time_restored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        let output = dir.path().join("song.wav");
        fs::write(&output, b"RIFF....WAVE").unwrap();
        let key = Key([3; 32]);
        OutputRecord::save(&cache, &output, key, 0, 0.5).unwrap();
        assert!(OutputRecord::is_fresh(&cache, &output, key));
        assert!(!OutputRecord::is_fresh(&cache, &output, Key([4; 32])));

        let modified = fs::metadata(&output).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let mut file = File::options().write(true).open(&output).unwrap();
        file.seek(SeekFrom::Start(5)).unwrap();
        file.write_all(b"!").unwrap();
        file.set_modified(modified).unwrap();
        assert!(!OutputRecord::is_fresh(&cache, &output, key));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_place_of_the_output_is_never_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        let (output, elsewhere) = (dir.path().join("song.wav"), dir.path().join("other.wav"));
        fs::write(&output, b"audio").unwrap();
        OutputRecord::save(&cache, &output, Key([3; 32]), 0, 0.5).unwrap();
        fs::rename(&output, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &output).unwrap();
        assert!(!OutputRecord::is_fresh(&cache, &output, Key([3; 32])));
    }
}
