//! The seam between the cache and where its entries are kept: named objects that are read
//! and written as streams. The entry format, its checksums and the decisions of what to
//! keep live above this trait in [`super::store`]; a backend only stores bytes.
//!
//! The local folder ([`super::local_disk::LocalDisk`]) is one backend. A shared object
//! store (so that CI runners and a team share renders) is a second implementation of this
//! trait handed to [`super::store::Store::new`]; nothing in render changes. Whatever the
//! backend, every object is verified when read, so a backend need not be trusted.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::Path;
use std::time::SystemTime;

use super::Key;
use crate::atomic_file::Orphan;

/// Where cache entries are kept.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Where the objects are, in words for messages (a folder, a bucket).
    fn location(&self) -> String;

    /// Opens the object named `key` to read it; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// When the object exists but cannot be opened.
    fn get(&self, key: &Key) -> io::Result<Option<Object>>;

    /// Starts writing the object named `key`. It appears, whole, only when the writer is
    /// committed; a writer dropped before that leaves nothing.
    ///
    /// # Errors
    /// When the backend cannot take a new object.
    fn put(&self, key: &Key) -> io::Result<Box<dyn ObjectWriter>>;

    /// Publishes the finished file at `file` as the object named `key`, whole. A backend
    /// on the file's own file system moves it into place, which leaves no file at `file`;
    /// any other copies it, as [`copy_in`] does, and leaves it.
    ///
    /// # Errors
    /// When the file cannot be read, or the backend cannot take the object.
    fn adopt(&self, key: &Key, file: &Path) -> io::Result<()> {
        copy_in(self, key, file)
    }

    /// Whether an object named `key` exists.
    fn contains(&self, key: &Key) -> bool;

    /// Records that the object named `key` was used, for least-recently-used eviction.
    /// Best effort.
    fn touch(&self, key: &Key);

    /// Removes the object named `key`, if there is one.
    ///
    /// # Errors
    /// When it exists but cannot be removed.
    fn remove(&self, key: &Key) -> io::Result<()>;

    /// Every object, in no particular order.
    ///
    /// # Errors
    /// When the backend cannot be listed.
    fn list(&self) -> io::Result<Vec<Listed>>;

    /// Objects that writers left unfinished and will never finish.
    ///
    /// # Errors
    /// When the backend cannot be listed.
    fn orphans(&self) -> io::Result<Vec<Orphan>>;

    /// Removes the unfinished objects of writers that are gone; returns them.
    ///
    /// # Errors
    /// When the backend cannot be listed.
    fn sweep_orphans(&self) -> io::Result<Vec<Orphan>>;

    /// Removes every object.
    ///
    /// # Errors
    /// When the objects cannot be removed.
    fn clear(&self) -> io::Result<()>;
}

/// Writes the object named `key` in `storage` with the bytes of the file at `file`.
///
/// # Errors
/// When the file cannot be read, or the backend cannot take the object.
pub fn copy_in(storage: &(impl Storage + ?Sized), key: &Key, file: &Path) -> io::Result<()> {
    let mut object = storage.put(key)?;
    io::copy(&mut File::open(file)?, &mut object)?;
    object.commit()
}

/// An object being read: a seekable stream and its size.
pub struct Object {
    /// The bytes.
    pub reader: Box<dyn ReadSeek>,
    /// How many there are.
    pub size: u64,
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object").field("size", &self.size).finish_non_exhaustive()
    }
}

/// A stream that can be read and sought.
pub trait ReadSeek: Read + Seek + Send {}

impl<T: Read + Seek + Send> ReadSeek for T {}

/// An object being written. It may be sought back into, as an entry's header is written
/// last.
pub trait ObjectWriter: Write + Seek + Send {
    /// Publishes the object whole.
    ///
    /// # Errors
    /// When it cannot be published; no object appears then.
    fn commit(self: Box<Self>) -> io::Result<()>;
}

/// One object in a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    /// Its name.
    pub key: Key,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last used.
    pub used: SystemTime,
}
