//! A file written under a temporary name next to its destination and moved into place
//! only when complete, for the encoders that do not write WAV: an [`AtomicFile`] that
//! reports errors as the destination's. Dropping a [`StagedFile`] without
//! [`StagedFile::commit`] deletes the temporary file and leaves the destination as it was.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::AudioError;
use crate::atomic_file::AtomicFile;

/// A file being written that appears at its destination only when committed.
#[derive(Debug)]
pub(super) struct StagedFile {
    path: PathBuf,
    file: AtomicFile,
}

impl StagedFile {
    /// Creates the temporary file for `path`.
    pub(super) fn create(path: &Path) -> Result<Self, AudioError> {
        let file = AtomicFile::create(path)
            .map_err(|source| AudioError::Open { path: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), file })
    }

    /// The temporary file, open for reading and writing.
    pub(super) fn file(&mut self) -> &mut File {
        self.file.file()
    }

    /// The destination, for error messages.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// A write error naming the destination.
    pub(super) fn error(&self, source: io::Error) -> AudioError {
        AudioError::Write { path: self.path.clone(), source }
    }

    /// Moves the complete file into place, flushed to the disk.
    pub(super) fn commit(self) -> Result<(), AudioError> {
        let path = self.path;
        self.file.commit().map_err(|source| AudioError::Write { path, source })
    }
}
