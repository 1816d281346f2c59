//! A file written under a temporary name next to its destination and moved into place
//! only when complete, for the encoders that do not write WAV.
//!
//! The temporary name is the WAV writer's (`.song.flac.tmp-<pid>-<n>`), so the sweep of
//! leftovers from killed writers ([`super::wav::remove_stale_temporaries`]) covers these
//! files too. Dropping a [`StagedFile`] without [`StagedFile::commit`] deletes the
//! temporary file and leaves the destination as it was.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::AudioError;
use super::wav::temp_path;

/// A file being written that appears at its destination only when committed.
#[derive(Debug)]
pub(super) struct StagedFile {
    path: PathBuf,
    temp: PathBuf,
    /// `None` once committed, so that `Drop` knows not to delete anything.
    file: Option<File>,
}

impl StagedFile {
    /// Creates the temporary file for `path`.
    pub(super) fn create(path: &Path) -> Result<Self, AudioError> {
        let temp = temp_path(path);
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|source| AudioError::Open { path: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), temp, file: Some(file) })
    }

    /// The temporary file, open for reading and writing.
    pub(super) fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("a staged file is open until committed")
    }

    /// The destination, for error messages.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// A write error naming the destination.
    pub(super) fn error(&self, source: io::Error) -> AudioError {
        AudioError::Write { path: self.path.clone(), source }
    }

    /// Moves the complete file into place.
    pub(super) fn commit(mut self) -> Result<(), AudioError> {
        drop(self.file.take());
        fs::rename(&self.temp, &self.path).map_err(|source| self.error(source))?;
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.temp.as_os_str().is_empty() {
            // Best effort: a leftover temporary file is untidy but never mistaken for output.
            let _ = fs::remove_file(&self.temp);
        }
    }
}
