//! The cache folder: its layout, and the one place that hands out paths in it.
//!
//! ```text
//! root/entries/ab/cd/abcd…   audio entries, named by key (the local storage backend)
//! root/files.json            the stat memo of input files' digests
//! root/measurements/<key>    measurements of a node's audio (loudness), by the node's key
//! root/nodes/<hash of id>    each node's last render: its key and what the key hashed
//! root/outputs/<hash>.json   what each output file was written for, and its identity
//! root/retired/              replaced output files waiting to be deleted
//! root/scratch/              a folder for each encode while it runs (see `scratch_folder`)
//! root/remote.json           running totals of the remote cache's traffic
//! root/writers/              a mark for each process writing here (see `writers`)
//! ```
//!
//! Every file in it is written through [`crate::atomic_file`], into folders made by
//! [`CacheDir::folder`], which refuses to pass through a symbolic link below the root: a
//! link planted in the cache could otherwise send a write outside it. The root itself may
//! be a link, as a user may keep the cache elsewhere.
//!
//! Nothing here creates the root until something is written: inspecting a cache that does
//! not exist leaves it not existing.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::writers;
use crate::atomic_file::{self, Orphan, TemporaryFolder};

/// The folder of audio entries.
const ENTRIES: &str = "entries";
/// The stat memo.
const FILE_MEMO: &str = "files.json";
/// Measurements of nodes' audio.
const MEASUREMENTS: &str = "measurements";
/// Each node's last render.
const NODES: &str = "nodes";
/// Records of written output files.
const OUTPUTS: &str = "outputs";
/// Replaced output files.
const RETIRED: &str = "retired";
/// Totals of the remote cache's traffic.
const REMOTE_FIGURES: &str = "remote.json";
/// Scratch folders of running encodes.
const SCRATCH: &str = "scratch";

/// A cache folder. Cheap to clone; makes no change on disk until asked to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDir {
    root: PathBuf,
}

impl CacheDir {
    /// The cache folder at `root`, which need not exist.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of audio entries (see [`super::local_disk`]).
    #[must_use]
    pub fn entries(&self) -> PathBuf {
        self.root.join(ENTRIES)
    }

    /// The stat memo's file.
    #[must_use]
    pub fn file_memo(&self) -> PathBuf {
        self.root.join(FILE_MEMO)
    }

    /// The measurement of the audio under `key`.
    #[must_use]
    pub fn measurement(&self, key: crate::cache::Key) -> PathBuf {
        self.root.join(MEASUREMENTS).join(key.to_string())
    }

    /// The record of node `id`'s last render.
    #[must_use]
    pub fn node_record(&self, id: &str) -> PathBuf {
        self.root.join(NODES).join(blake3::hash(id.as_bytes()).to_hex().as_str())
    }

    /// The record of the output file at `output`, by its absolute path.
    #[must_use]
    pub fn output_record(&self, output: &Path) -> PathBuf {
        let absolute = std::path::absolute(output).unwrap_or_else(|_| output.to_path_buf());
        let name = blake3::hash(absolute.to_string_lossy().as_bytes()).to_hex();
        self.root.join(OUTPUTS).join(format!("{name}.json"))
    }

    /// The running totals of the remote cache's traffic.
    #[must_use]
    pub fn remote_figures(&self) -> PathBuf {
        self.root.join(REMOTE_FIGURES)
    }

    /// The folder of replaced output files.
    #[must_use]
    pub fn retired(&self) -> PathBuf {
        self.root.join(RETIRED)
    }

    /// A new scratch folder named `prefix…`, deleted when dropped, on the cache's own file
    /// system: a stream encoded there moves into the entries instead of being copied.
    /// Folders that a process which is gone left behind are removed first.
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn scratch_folder(&self, prefix: &str) -> io::Result<TemporaryFolder> {
        let parent = self.root.join(SCRATCH);
        self.folder(&parent)?;
        TemporaryFolder::create_in(&parent, prefix)
    }

    /// Makes sure the folder `path` (inside the root) exists, creating what is missing, and
    /// that no part of it below the root is a symbolic link or a file; and marks this
    /// process as a writer of the cache, as it is about to write there.
    ///
    /// # Errors
    /// When a part is a link or not a folder, or cannot be created, or the mark cannot be
    /// made; the error names it.
    pub fn folder(&self, path: &Path) -> io::Result<()> {
        let marks = writers::folder(&self.root);
        writers::mark(&marks, || self.make_folder(&marks))?;
        self.make_folder(path)
    }

    /// The marks of the cache's writers that are gone, and may have left unfinished files.
    ///
    /// # Errors
    /// When the marks' folder cannot be listed.
    pub fn writers_gone(&self) -> io::Result<Vec<Orphan>> {
        writers::gone(&writers::folder(&self.root))
    }

    /// [`CacheDir::folder`] without the mark.
    fn make_folder(&self, path: &Path) -> io::Result<()> {
        let relative = path.strip_prefix(&self.root).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is outside the cache at {}", path.display(), self.root.display()),
            )
        })?;
        fs::create_dir_all(&self.root).map_err(|e| naming(&self.root, &e))?;
        let mut at = self.root.clone();
        for part in relative.components() {
            let Component::Normal(part) = part else {
                return Err(naming(path, &io::Error::from(io::ErrorKind::InvalidInput)));
            };
            at.push(part);
            match fs::create_dir(&at) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(naming(&at, &e)),
                _ => {}
            }
            let meta = fs::symlink_metadata(&at).map_err(|e| naming(&at, &e))?;
            if meta.is_symlink() {
                return Err(io::Error::other(format!(
                    "{} is a symbolic link; the cache does not write through links",
                    at.display()
                )));
            }
            if !meta.is_dir() {
                return Err(io::Error::other(format!("{} is not a folder", at.display())));
            }
        }
        Ok(())
    }

    /// Writes `bytes` to the file at `path` (inside the root) atomically, creating its
    /// folder. Not flushed to the disk: every record here is a memo whose damage reads as
    /// absent (it fails to parse) and costs only work.
    ///
    /// # Errors
    /// As [`CacheDir::folder`] and [`atomic_file::write_unflushed`].
    pub fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if let Some(folder) = path.parent() {
            self.folder(folder)?;
        }
        atomic_file::write_unflushed(path, bytes)
    }

    /// The temporary files in the cache's own folders (not the entries: the storage lists
    /// those) whose writer is gone.
    ///
    /// # Errors
    /// When a folder cannot be listed.
    pub fn orphans(&self) -> io::Result<Vec<Orphan>> {
        let mut found = Vec::new();
        let folders = [MEASUREMENTS, NODES, OUTPUTS].map(|name| self.root.join(name));
        for folder in std::iter::once(self.root.clone()).chain(folders) {
            found.extend(atomic_file::orphans(&folder)?);
        }
        Ok(found)
    }
}

fn naming(path: &Path, e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_paths_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        let _ = (cache.entries(), cache.node_record("a/b"), cache.output_record(Path::new("x")));
        assert_eq!(cache.orphans().unwrap(), []);
        assert!(!cache.root().exists());
    }

    #[test]
    fn a_record_is_written_into_a_folder_made_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        let record = cache.node_record("song/track/vox");
        cache.write(&record, b"{}").unwrap();
        assert_eq!(fs::read(&record).unwrap(), b"{}");
        assert!(record.starts_with(cache.root().join(NODES)));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_below_the_root_is_refused_and_nothing_is_written_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        fs::create_dir(cache.root()).unwrap();
        std::os::unix::fs::symlink(&outside, cache.root().join(NODES)).unwrap();
        let e = cache.write(&cache.node_record("vox"), b"{}").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_root_is_the_users_choice_and_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("cache")).unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        cache.write(&cache.node_record("vox"), b"{}").unwrap();
        assert!(real.join(NODES).is_dir());
    }

    #[test]
    fn a_file_where_a_folder_belongs_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        fs::create_dir(cache.root()).unwrap();
        fs::write(cache.root().join(OUTPUTS), b"").unwrap();
        let e = cache.write(&cache.output_record(Path::new("a.wav")), b"{}").unwrap_err();
        assert!(e.to_string().contains(OUTPUTS), "{e}");
    }
}
