//! The local storage backend: each object is one file under the cache's `entries/` folder,
//! in two levels of 256 shards (`ab/cd/abcd…`) so that folders stay small with millions of
//! entries. Files are written through [`crate::atomic_file`], into shard folders that
//! [`CacheDir::folder`] checks for planted links.
//!
//! A file's modification time records when it was last used: set when it is written and
//! again by [`Storage::touch`] (the content never changes after the rename, so the time is
//! free for this). Access times are not used because many file systems do not keep them.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Key;
use super::folder::CacheDir;
use super::storage::{Listed, Object, ObjectWriter, Storage, copy_in};
use crate::atomic_file::{self, AtomicFile, Orphan};

/// Cache entries in a local folder.
#[derive(Debug, Clone)]
pub struct LocalDisk {
    cache: CacheDir,
    entries: PathBuf,
}

impl LocalDisk {
    /// The entries of the cache folder `cache`. Creates nothing until an entry is written.
    #[must_use]
    pub fn new(cache: &CacheDir) -> Self {
        Self { cache: cache.clone(), entries: cache.entries() }
    }

    /// The file that holds the object named `key`.
    #[must_use]
    pub fn path(&self, key: &Key) -> PathBuf {
        let hex = key.to_string();
        self.entries.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// Every shard folder that exists.
    fn shards(&self) -> io::Result<Vec<PathBuf>> {
        let mut shards = Vec::new();
        for first in read_dir_if_present(&self.entries)? {
            for second in read_dir_if_present(&first?.path())? {
                shards.push(second?.path());
            }
        }
        Ok(shards)
    }
}

struct LocalWriter(AtomicFile);

impl io::Write for LocalWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl io::Seek for LocalWriter {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

impl ObjectWriter for LocalWriter {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        self.0.file().set_modified(SystemTime::now())?;
        // Every read of an entry checks its checksum, so a crash that tears it costs a
        // render, not a wrong one.
        self.0.commit_unflushed()
    }
}

impl Storage for LocalDisk {
    fn location(&self) -> String {
        self.entries.display().to_string()
    }

    fn get(&self, key: &Key) -> io::Result<Option<Object>> {
        let file = match File::open(self.path(key)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let size = file.metadata()?.len();
        Ok(Some(Object { reader: Box::new(file), size }))
    }

    fn put(&self, key: &Key) -> io::Result<Box<dyn ObjectWriter>> {
        let path = self.path(key);
        let shard = path.parent().expect("an entry lives in a shard folder");
        self.cache.folder(shard)?;
        Ok(Box::new(LocalWriter(AtomicFile::create(path)?)))
    }

    fn adopt(&self, key: &Key, file: &Path) -> io::Result<()> {
        let path = self.path(key);
        let shard = path.parent().expect("an entry lives in a shard folder");
        self.cache.folder(shard)?;
        File::options().write(true).open(file)?.set_modified(SystemTime::now())?;
        // A rename replaces a link planted at the name instead of writing through it, as
        // `AtomicFile` does; a file on another file system is copied in instead.
        match fs::rename(file, &path) {
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => copy_in(self, key, file),
            moved => moved,
        }
    }

    fn contains(&self, key: &Key) -> bool {
        self.path(key).is_file()
    }

    fn touch(&self, key: &Key) {
        // A read-only cache still serves the entry; only its age is wrong.
        if let Ok(file) = File::open(self.path(key)) {
            let _ = file.set_modified(SystemTime::now());
        }
    }

    fn remove(&self, key: &Key) -> io::Result<()> {
        match fs::remove_file(self.path(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn list(&self) -> io::Result<Vec<Listed>> {
        let mut out = Vec::new();
        for shard in self.shards()? {
            for file in read_dir_if_present(&shard)? {
                let file = file?;
                let name = file.file_name();
                let Some(key) = name.to_str().and_then(Key::from_hex) else { continue };
                let Ok(meta) = file.metadata() else { continue };
                out.push(Listed { key, size: meta.len(), used: meta.modified()? });
            }
        }
        Ok(out)
    }

    fn orphans(&self) -> io::Result<Vec<Orphan>> {
        let mut found = Vec::new();
        for shard in self.shards()? {
            found.extend(atomic_file::orphans(&shard)?);
        }
        Ok(found)
    }

    fn sweep_orphans(&self) -> io::Result<Vec<Orphan>> {
        let mut swept = Vec::new();
        for shard in self.shards()? {
            swept.extend(atomic_file::sweep_orphans(&shard)?);
        }
        Ok(swept)
    }

    fn clear(&self) -> io::Result<()> {
        // Does not follow links: a planted link is removed, not what it points to.
        match fs::remove_dir_all(&self.entries) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn read_dir_if_present(dir: &Path) -> io::Result<Vec<io::Result<fs::DirEntry>>> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries.collect()),
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}
