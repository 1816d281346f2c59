//! Cache entries: immutable, checksummed planar stereo audio named by its [`Key`], each
//! with its [`Manifest`], kept in a [`Storage`] backend.
//!
//! # Entry format
//!
//! An entry is one object, so publishing it is one step of the backend (a rename, on disk):
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `mixdown\0` |
//! | 8..12 | format version (u32 LE), [`FORMAT_VERSION`] |
//! | 12..16 | channels (u32 LE), always 2 |
//! | 16..20 | sample rate (u32 LE) |
//! | 20..24 | zero |
//! | 24..32 | frames (u64 LE) |
//! | 32..40 | checksum (u64 LE): xxh3-64 of the stored sample bytes, then the block map, frames and sample rate (LE) |
//! | 40..48 | manifest length in bytes (u64 LE) |
//! | 48..56 | sample bytes stored (u64 LE) |
//! | 56..64 | zero |
//! | 64.. | samples: the stored blocks of [`ENTRY_BLOCK_FRAMES`] frames (the last may be shorter), each all its left samples then all its right ones, every sample an `f32` LE |
//! | then | the block map: one byte per block, 1 if it is stored, 0 if it is silent |
//! | then | the manifest: JSON, see [`Manifest`] |
//!
//! Planar blocks rather than interleaved frames: nodes work on planar blocks, so reading
//! and writing an entry is two plain copies a block instead of a shuffle of every frame.
//!
//! A block whose samples are all `+0.0` is silent: only its byte in the map says it is
//! there. Stems exported from a session run from the song's first bar to its last and are
//! silent wherever their instrument rests, and the silence stays exact through the chain,
//! so a real session's entries are often a fifth to half smaller, which every write, read
//! and deletion of them gains. The test is on bits: a block holding a `-0.0` is stored, so
//! that what is read back is always what was written.
//!
//! Samples are stored bit for bit, so a cached node reads back identical to a fresh render.
//! The header is written last, over zeros, and the object is published only when complete;
//! until then the key names nothing, or the previous complete entry. Whatever a backend
//! hands back (zeros after a crash, another version, bytes damaged at rest) fails the
//! magic, the size check or the checksum and counts as a miss.
//!
//! # Use and eviction
//!
//! [`Store::open_entry`] records each use with the backend; [`Store::gc`] evicts the least
//! recently used entries first.
//!
//! # A remote cache beside the local one
//!
//! A store may have a [`Remote`]: [`Store::contains`] then also counts what a look-up
//! ([`Store::look_up_remote`]) found there, [`Store::bring_local`] copies such entries into
//! the local backend through [`Store::import`], which checks them as they stream exactly as
//! a read checks a local entry (and also that the manifest names the key asked for), and
//! [`Store::upload_later`] hands an entry written here to the remote to upload. The render
//! decides which entries, and the records kept beside them, are worth sharing.

use std::hash::Hasher as _;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use twox_hash::XxHash3_64;

use super::folder::CacheDir;
use super::local_disk::LocalDisk;
use super::manifest::{Description, Manifest};
use super::remote::Remote;
use super::storage::{ObjectWriter, ReadSeek, Storage};
use super::{CacheError, Key};
use crate::atomic_file::Orphan;

/// Version of the entry format. Bump it, and `KEY_SCHEMA` with it, when the layout
/// changes: the new schema gives new keys, and an older entry found anyway reads as
/// corrupt and is rendered again.
pub const FORMAT_VERSION: u32 = 4;

const MAGIC: [u8; 8] = *b"mixdown\0";
const HEADER_BYTES: usize = 64;
const CHANNELS: u32 = 2;
const FRAME_BYTES: usize = 8;
const SAMPLE_BYTES: usize = 4;
/// Bytes per read or write: large enough that syscalls cost nothing next to the copy.
const IO_BUFFER_BYTES: usize = 256 * 1024;
/// Frames per planar block of an entry, the unit in which it is stored, checked and marked
/// silent: one block fills the I/O buffer. Not the render's block (`dsp::ENTRY_BLOCK_FRAMES`).
pub const ENTRY_BLOCK_FRAMES: usize = IO_BUFFER_BYTES / FRAME_BYTES;
/// Block map values.
const SILENT: u8 = 0;
const STORED: u8 = 1;
/// Entries brought in from a remote cache at once.
const FETCHES_AT_ONCE: usize = 4;

/// The cache's entries. Cheap to clone and share: every method takes `&self`, and several
/// threads or processes may use one backend at once.
#[derive(Debug, Clone)]
pub struct Store {
    storage: Arc<dyn Storage>,
    remote: Option<Arc<Remote>>,
}

/// Why an entry could not be brought in from elsewhere.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// What arrived is not a sound entry for the key.
    #[error("{0}")]
    Damaged(String),
    /// Reading from the source failed.
    #[error("{0}")]
    Read(io::Error),
    /// The local backend could not take it.
    #[error("{0}")]
    Write(io::Error),
}

/// How much the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Complete entries.
    pub entries: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// What [`Store::gc`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcReport {
    /// Entries removed, least recently used first.
    pub removed: Vec<Key>,
    /// Unfinished entries of writers that are gone, removed.
    pub orphans: Vec<Orphan>,
    /// Bytes freed, orphans included.
    pub freed_bytes: u64,
    /// What is left.
    pub kept: Stats,
}

/// What [`Store::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Entries read in full.
    pub checked: u64,
    /// Entries found corrupt, and removed.
    pub corrupt: Vec<Key>,
}

impl Store {
    /// The entries kept in `storage`.
    #[must_use]
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage, remote: None }
    }

    /// This store with `remote` beside it: consulted on a miss, and sent what is written.
    #[must_use]
    pub fn with_remote(self, remote: Arc<Remote>) -> Self {
        Self { remote: Some(remote), ..self }
    }

    /// The remote cache beside this store, if any.
    #[must_use]
    pub fn remote(&self) -> Option<&Arc<Remote>> {
        self.remote.as_ref()
    }

    /// The entries in the cache folder `cache`. Creates nothing until an entry is written.
    #[must_use]
    pub fn local(cache: &CacheDir) -> Self {
        Self::new(Arc::new(LocalDisk::new(cache)))
    }

    /// The backend, for the other entry format kept beside audio ([`super::encoded`]).
    pub(super) fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// Where the entries are, in words for messages.
    #[must_use]
    pub fn location(&self) -> String {
        self.storage.location()
    }

    /// Whether an entry exists for `key`, here or (as a look-up found) in the remote. Only
    /// a look: the entry may still turn out to be corrupt when read.
    #[must_use]
    pub fn contains(&self, key: &Key) -> bool {
        self.holds_here(key) || self.remote_has(key)
    }

    /// Whether an entry for `key` is kept here (not counting the remote).
    #[must_use]
    pub fn holds_here(&self, key: &Key) -> bool {
        self.storage.contains(key)
    }

    /// Whether a look-up found an object named `key` in the remote (an entry, or a record
    /// under [`super::remote::record_object`]) and nothing since made it unusable.
    #[must_use]
    pub fn remote_has(&self, key: &Key) -> bool {
        self.remote.as_ref().is_some_and(|r| r.has(key))
    }

    /// Uploads the entry for `key`, kept here, to the remote in the background, if there
    /// is a remote that takes uploads.
    pub fn upload_later(&self, key: Key) {
        if let Some(remote) = &self.remote {
            remote.upload_later(key, Arc::clone(&self.storage));
        }
    }

    /// Copies the records kept beside the entries `keys` from the remote into the cache
    /// folder `cache`, checked, several at a time. Returns whether every one arrived; one
    /// that did not (or that the remote lacks) is no longer offered by the remote.
    #[must_use]
    pub fn bring_records_local(&self, cache: &CacheDir, keys: &[Key]) -> bool {
        let Some(remote) = &self.remote else { return true };
        let objects: Vec<Key> = keys.iter().map(super::remote::record_object).collect();
        remote.look_up(&objects);
        at_once(keys, |key| {
            remote.fetch_record(key, |bytes| super::measurement::import(cache, *key, bytes))
        })
    }

    /// Asks the remote, in one go, which of `keys` missing here it holds.
    pub fn look_up_remote(&self, keys: &[Key]) {
        if let Some(remote) = &self.remote {
            let missing: Vec<Key> =
                keys.iter().copied().filter(|k| !self.storage.contains(k)).collect();
            remote.look_up(&missing);
        }
    }

    /// Copies the entries of `keys` that only the remote holds into the local backend,
    /// checked, several at a time. Returns whether every one is now here; one that is not
    /// is no longer counted by [`Store::contains`].
    #[must_use]
    pub fn bring_local(&self, keys: &[Key]) -> bool {
        let Some(remote) = &self.remote else { return true };
        let wanted: Vec<Key> = keys.iter().copied().filter(|k| !self.storage.contains(k)).collect();
        at_once(&wanted, |key| remote.fetch(key, |from, size| self.import(key, from, size)))
    }

    /// Copies the entry for `key` from `from` (`size` bytes, such as an object of a remote
    /// cache) into the local backend, checking it as it streams: the header, the size, the
    /// checksum, the block map, and a manifest that names `key` (for an encoded entry, its
    /// facts; see [`super::encoded`]). Nothing is published unless every check passes.
    ///
    /// # Errors
    /// [`ImportError::Damaged`] when the bytes are not a sound entry for `key`,
    /// [`ImportError::Read`] when `from` fails, [`ImportError::Write`] when the local backend
    /// does.
    pub fn import(&self, key: &Key, from: &mut dyn Read, size: u64) -> Result<(), ImportError> {
        let damaged = |e: CacheError| match e {
            CacheError::Io { source, .. } => ImportError::Read(source),
            other => ImportError::Damaged(other.to_string()),
        };
        let mut header_bytes = [0; HEADER_BYTES];
        read_exact(from, &mut header_bytes, *key).map_err(damaged)?;
        if header_bytes[..8] != MAGIC {
            return super::encoded::import(self.storage.as_ref(), key, &header_bytes, from, size);
        }
        let header = Header::parse(&header_bytes).map_err(ImportError::Damaged)?;
        let blocks = check_size(*key, &header, size).map_err(damaged)?;
        let mut object = self.storage.put(key).map_err(ImportError::Write)?;
        let write = |object: &mut Box<dyn ObjectWriter>, bytes: &[u8]| {
            object.write_all(bytes).map_err(ImportError::Write)
        };
        write(&mut object, &header_bytes)?;
        let mut hasher = XxHash3_64::new();
        let mut buffer = vec![0; IO_BUFFER_BYTES];
        let mut left = header.stored_bytes;
        while left > 0 {
            let n = (left as usize).min(IO_BUFFER_BYTES);
            read_exact(from, &mut buffer[..n], *key).map_err(damaged)?;
            hasher.write(&buffer[..n]);
            write(&mut object, &buffer[..n])?;
            left -= n as u64;
        }
        let mut block_map = vec![0; blocks];
        read_exact(from, &mut block_map, *key).map_err(damaged)?;
        check_block_map(*key, &header, &block_map).map_err(damaged)?;
        hasher.write(&block_map);
        hasher.write(&header.frames.to_le_bytes());
        hasher.write(&header.sample_rate.to_le_bytes());
        if hasher.finish() != header.checksum {
            return Err(ImportError::Damaged("the samples do not match their checksum".to_owned()));
        }
        write(&mut object, &block_map)?;
        let mut manifest_bytes = vec![0; header.manifest_len as usize];
        read_exact(from, &mut manifest_bytes, *key).map_err(damaged)?;
        let manifest = Manifest::parse(&manifest_bytes)
            .map_err(|e| ImportError::Damaged(format!("bad manifest: {e}")))?;
        if manifest.key != key.to_string()
            || manifest.frames != header.frames
            || manifest.sample_rate != header.sample_rate
        {
            return Err(ImportError::Damaged(
                "its manifest describes another entry than the one its name says".to_owned(),
            ));
        }
        write(&mut object, &manifest_bytes)?;
        object.commit().map_err(ImportError::Write)
    }

    /// Starts writing the entry for `key`, audio at `sample_rate`. The entry appears only
    /// when [`EntryWriter::finish`] succeeds; dropping the writer discards it.
    ///
    /// # Errors
    /// When the backend cannot take the entry; the error names where.
    pub fn create(&self, key: &Key, sample_rate: u32) -> io::Result<EntryWriter> {
        let mut object = self.storage.put(key)?;
        // Zeros where the header goes: an unfinished entry never has a valid magic.
        object.write_all(&[0; HEADER_BYTES])?;
        Ok(EntryWriter {
            key: *key,
            object: Some(object),
            buffer: vec![0; IO_BUFFER_BYTES],
            buffered: 0,
            hasher: XxHash3_64::new(),
            frames: 0,
            sample_rate,
            block_map: Vec::new(),
            stored_bytes: 0,
        })
    }

    /// Opens the entry for `key` to stream its audio, and records the use for [`Store::gc`].
    ///
    /// # Errors
    /// [`CacheError::Missing`] when there is no entry, [`CacheError::Corrupt`] when its
    /// header or size is wrong (damage inside the samples is found by the reader).
    pub fn open_entry(&self, key: &Key) -> Result<EntryReader, CacheError> {
        let reader = self.read_entry(key)?;
        self.storage.touch(key);
        Ok(reader)
    }

    /// Opens the entry for `key` without recording a use.
    fn read_entry(&self, key: &Key) -> Result<EntryReader, CacheError> {
        let key = *key;
        match self.storage.get(&key) {
            Ok(Some(object)) => EntryReader::open(key, object.reader, object.size),
            Ok(None) => Err(CacheError::Missing { key }),
            Err(source) => Err(CacheError::Io { key, source }),
        }
    }

    /// The manifest stored with `key`'s entry. `None` if there is no entry or its manifest
    /// is unreadable.
    #[must_use]
    pub fn manifest(&self, key: &Key) -> Option<Manifest> {
        self.read_entry(key).ok()?.read_manifest().ok()
    }

    /// Removes the entry for `key`, if there is one, and stops taking it from the remote
    /// for the rest of the run (the damaged copy may have come from there).
    ///
    /// # Errors
    /// When it exists but cannot be removed.
    pub fn remove(&self, key: &Key) -> io::Result<()> {
        if let Some(remote) = &self.remote {
            remote.forget(key);
        }
        self.storage.remove(key)
    }

    /// Counts the entries and their bytes.
    ///
    /// # Errors
    /// When the store cannot be listed.
    pub fn stats(&self) -> io::Result<Stats> {
        let listed = self.storage.list()?;
        Ok(Stats { entries: listed.len() as u64, bytes: listed.iter().map(|l| l.size).sum() })
    }

    /// Unfinished entries whose writers are gone (killed, or on a machine that crashed).
    ///
    /// # Errors
    /// When the store cannot be listed.
    pub fn orphans(&self) -> io::Result<Vec<Orphan>> {
        self.storage.orphans()
    }

    /// Removes the unfinished entries of writers that are gone; returns them.
    ///
    /// # Errors
    /// When the store cannot be listed.
    pub fn sweep_orphans(&self) -> io::Result<Vec<Orphan>> {
        self.storage.sweep_orphans()
    }

    /// Removes orphans, then least recently used entries until the rest fit in
    /// `max_bytes`.
    ///
    /// # Errors
    /// When the store cannot be listed or an entry cannot be removed.
    pub fn gc(&self, max_bytes: u64) -> io::Result<GcReport> {
        let mut report = GcReport { orphans: self.sweep_orphans()?, ..GcReport::default() };
        report.freed_bytes = report.orphans.iter().map(|o| o.size).sum();
        let mut entries: Vec<_> =
            self.storage.list()?.into_iter().map(|l| (l.used, l.key, l.size)).collect();
        // Oldest use first; the key breaks ties so that the outcome never depends on
        // listing order.
        entries.sort_unstable();
        let mut total: u64 = entries.iter().map(|&(_, _, size)| size).sum();
        let mut kept = entries.len() as u64;
        for (_, key, size) in entries {
            if total <= max_bytes {
                break;
            }
            self.remove(&key)?;
            report.removed.push(key);
            report.freed_bytes += size;
            total -= size;
            kept -= 1;
        }
        report.kept = Stats { entries: kept, bytes: total };
        Ok(report)
    }

    /// Reads every entry in full, checking headers, checksums and manifests, and removes
    /// those that fail. Does not count as use.
    ///
    /// # Errors
    /// When the store cannot be listed, or reading fails for a reason other than damage.
    pub fn verify(&self) -> io::Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let (mut left, mut right) = (vec![0.0; ENTRY_BLOCK_FRAMES], vec![0.0; ENTRY_BLOCK_FRAMES]);
        for listed in self.storage.list()? {
            let key = listed.key;
            let outcome = if super::encoded::is_encoded(self, &key) {
                super::encoded::read_encoded(self, &key)
                    .and_then(|reader| reader.copy_to(&mut io::sink()))
            } else {
                self.read_entry(&key).and_then(|mut reader| {
                    while reader.read(&mut left, &mut right)? > 0 {}
                    reader.read_manifest().map(drop)
                })
            };
            match outcome {
                Ok(()) => report.checked += 1,
                Err(CacheError::Corrupt { .. }) => {
                    report.checked += 1;
                    self.remove(&key)?;
                    report.corrupt.push(key);
                }
                // Removed by someone else since the listing.
                Err(CacheError::Missing { .. }) => {}
                Err(CacheError::Io { source, .. }) => return Err(source),
            }
        }
        Ok(report)
    }

    /// Removes every entry and unfinished entry.
    ///
    /// # Errors
    /// When they cannot be removed.
    pub fn clear(&self) -> io::Result<()> {
        self.storage.clear()
    }
}

/// Runs `fetch` on each of `keys`, [`FETCHES_AT_ONCE`] at a time; whether every one
/// succeeded.
fn at_once(keys: &[Key], fetch: impl Fn(&Key) -> bool + Sync) -> bool {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let all = std::sync::atomic::AtomicBool::new(true);
    std::thread::scope(|scope| {
        for _ in 0..keys.len().min(FETCHES_AT_ONCE) {
            scope.spawn(|| {
                while let Some(key) =
                    keys.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    if !fetch(key) {
                        all.store(false, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    all.into_inner()
}

/// An entry being written. Only [`EntryWriter::finish`] publishes it: dropping the writer
/// before that, for whatever reason (an error, or audio found not to match its key),
/// discards everything written and leaves no entry.
pub struct EntryWriter {
    key: Key,
    /// `None` once finished.
    object: Option<Box<dyn ObjectWriter>>,
    /// The block being filled: left samples in the first half, right in the second.
    buffer: Vec<u8>,
    /// Frames in `buffer`.
    buffered: usize,
    hasher: XxHash3_64,
    frames: u64,
    sample_rate: u32,
    /// One [`STORED`] or [`SILENT`] per block written.
    block_map: Vec<u8>,
    stored_bytes: u64,
}

impl std::fmt::Debug for EntryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryWriter")
            .field("key", &self.key)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl EntryWriter {
    /// Appends one block; `left` and `right` must have the same length.
    ///
    /// # Errors
    /// When the backend cannot be written.
    pub fn write(&mut self, left: &[f32], right: &[f32]) -> io::Result<()> {
        debug_assert_eq!(left.len(), right.len());
        let (mut left, mut right) = (left, right);
        while !left.is_empty() {
            let n = (ENTRY_BLOCK_FRAMES - self.buffered).min(left.len());
            let (left_half, right_half) =
                self.buffer.split_at_mut(ENTRY_BLOCK_FRAMES * SAMPLE_BYTES);
            let at = self.buffered * SAMPLE_BYTES..(self.buffered + n) * SAMPLE_BYTES;
            store_samples(&left[..n], &mut left_half[at.clone()]);
            store_samples(&right[..n], &mut right_half[at]);
            self.buffered += n;
            self.frames += n as u64;
            (left, right) = (&left[n..], &right[n..]);
            if self.buffered == ENTRY_BLOCK_FRAMES {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Frames written so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Completes the entry with the node's `description` and publishes it.
    ///
    /// # Errors
    /// When writing or publishing fails; no entry appears then.
    pub fn finish(mut self, description: Description) -> io::Result<()> {
        self.flush()?;
        self.hasher.write(&self.block_map);
        self.hasher.write(&self.frames.to_le_bytes());
        self.hasher.write(&self.sample_rate.to_le_bytes());
        let manifest =
            Manifest::new(self.key, self.sample_rate, self.frames, description).to_bytes();
        let header = Header {
            sample_rate: self.sample_rate,
            frames: self.frames,
            checksum: self.hasher.finish(),
            manifest_len: manifest.len() as u64,
            stored_bytes: self.stored_bytes,
        };
        let Some(mut object) = self.object.take() else {
            return Err(io::Error::other("entry already finished"));
        };
        object.write_all(&self.block_map)?;
        object.write_all(&manifest)?;
        object.seek(SeekFrom::Start(0))?;
        object.write_all(&header.to_bytes())?;
        object.commit()?;
        Ok(())
    }

    /// Writes the buffered block, its left samples then its right ones, or only marks it
    /// in the block map if it is silent.
    fn flush(&mut self) -> io::Result<()> {
        let Some(object) = self.object.as_mut() else {
            return Err(io::Error::other("entry already finished"));
        };
        if self.buffered == 0 {
            return Ok(());
        }
        let half = ENTRY_BLOCK_FRAMES * SAMPLE_BYTES;
        let used = self.buffered * SAMPLE_BYTES;
        let parts = [&self.buffer[..used], &self.buffer[half..half + used]];
        if parts.iter().all(|part| all_zero_bits(part)) {
            self.block_map.push(SILENT);
        } else {
            self.block_map.push(STORED);
            self.stored_bytes += 2 * used as u64;
            if self.buffered == ENTRY_BLOCK_FRAMES {
                self.hasher.write(&self.buffer);
                object.write_all(&self.buffer)?;
            } else {
                for part in parts {
                    self.hasher.write(part);
                    object.write_all(part)?;
                }
            }
        }
        self.buffered = 0;
        Ok(())
    }
}

/// Streams an entry's audio. The checksum is verified when the last samples are loaded,
/// so the read that would return them fails instead if the entry is damaged.
pub struct EntryReader {
    key: Key,
    file: Box<dyn ReadSeek>,
    header: Header,
    /// The loaded block: its left samples from 0, its right ones from
    /// [`ENTRY_BLOCK_FRAMES`].
    buffer: Vec<f32>,
    block_map: Vec<u8>,
    /// The next block to load, and where its samples start in the object if it is stored.
    next_block: usize,
    next_offset: u64,
    /// Frames of the loaded block already returned.
    pos: usize,
    /// Frames in the loaded block.
    len: usize,
    /// Frames not yet loaded from the object.
    unloaded: u64,
    hasher: XxHash3_64,
}

impl std::fmt::Debug for EntryReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryReader")
            .field("key", &self.key)
            .field("frames", &self.header.frames)
            .finish_non_exhaustive()
    }
}

impl EntryReader {
    fn open(key: Key, mut file: Box<dyn ReadSeek>, size: u64) -> Result<Self, CacheError> {
        let mut bytes = [0; HEADER_BYTES];
        read_exact(file.as_mut(), &mut bytes, key)?;
        let header = Header::parse(&bytes).map_err(|reason| corrupt(key, reason))?;
        let blocks = check_size(key, &header, size)?;
        let mut block_map = vec![0; blocks];
        file.seek(SeekFrom::Start(HEADER_BYTES as u64 + header.stored_bytes))
            .map_err(|source| CacheError::Io { key, source })?;
        read_exact(file.as_mut(), &mut block_map, key)?;
        check_block_map(key, &header, &block_map)?;
        file.seek(SeekFrom::Start(HEADER_BYTES as u64))
            .map_err(|source| CacheError::Io { key, source })?;
        let mut reader = Self {
            key,
            file,
            header,
            buffer: Vec::new(),
            block_map,
            next_block: 0,
            next_offset: HEADER_BYTES as u64,
            pos: 0,
            len: 0,
            unloaded: header.frames,
            hasher: XxHash3_64::new(),
        };
        if header.frames == 0 {
            reader.check()?;
        } else {
            reader.buffer = vec![0.0; 2 * ENTRY_BLOCK_FRAMES];
        }
        Ok(reader)
    }
    /// Total frames in the entry.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.header.frames
    }

    /// Frames per second of the entry's audio.
    #[must_use]
    pub fn sample_rate(&self) -> u32 {
        self.header.sample_rate
    }

    /// Fills up to `left.len()` frames of both channels and returns how many were
    /// written; 0 means the entry has ended.
    ///
    /// # Errors
    /// [`CacheError::Corrupt`] when the entry is short or fails its checksum (at the latest
    /// on the read that reaches the end); [`CacheError::Io`] when reading fails.
    pub fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, CacheError> {
        let want = left.len().min(right.len());
        let mut done = 0;
        while done < want {
            if self.pos == self.len {
                if self.unloaded == 0 {
                    break;
                }
                self.load()?;
            }
            let n = (self.len - self.pos).min(want - done);
            let (from, to) = (self.pos..self.pos + n, done..done + n);
            left[to.clone()].copy_from_slice(&self.buffer[from.clone()]);
            right[to].copy_from_slice(&self.buffer[ENTRY_BLOCK_FRAMES..][from]);
            self.pos += n;
            done += n;
        }
        Ok(done)
    }

    /// Whether the next `n` frames lie in one loaded block, loading the next block first
    /// when the current one is used up; [`EntryReader::lend`] then hands them out.
    ///
    /// # Errors
    /// As [`EntryReader::read`].
    pub fn holds_next(&mut self, n: usize) -> Result<bool, CacheError> {
        if self.pos == self.len && self.unloaded > 0 {
            self.load()?;
        }
        Ok(self.len - self.pos >= n)
    }

    /// The next `n` frames, borrowed from the loaded block instead of copied out, after
    /// [`EntryReader::holds_next`] said they are there.
    pub fn lend(&mut self, n: usize) -> (&[f32], &[f32]) {
        assert!(self.len - self.pos >= n, "lend only frames the loaded block holds");
        let frames = self.pos..self.pos + n;
        self.pos += n;
        (&self.buffer[frames.clone()], &self.buffer[ENTRY_BLOCK_FRAMES..][frames])
    }

    /// Loads the next block into the buffer: read straight into its samples, which are
    /// already native on a little-endian machine, so a stored block costs one copy.
    fn load(&mut self) -> Result<(), CacheError> {
        let frames = self.unloaded.min(ENTRY_BLOCK_FRAMES as u64) as usize;
        let silent = self.block_map[self.next_block] == SILENT;
        self.next_block += 1;
        let halves: [&mut [f32]; 2] = if frames == ENTRY_BLOCK_FRAMES {
            // A whole block's halves lie back to back in the file as in the buffer: one read.
            [&mut self.buffer[..], &mut []]
        } else {
            let (left, right) = self.buffer.split_at_mut(ENTRY_BLOCK_FRAMES);
            [&mut left[..frames], &mut right[..frames]]
        };
        for samples in halves {
            if silent {
                samples.fill(0.0);
            } else {
                let bytes = bytemuck::cast_slice_mut::<f32, u8>(samples);
                read_exact(self.file.as_mut(), bytes, self.key)?;
                self.hasher.write(bytes);
                self.next_offset += bytes.len() as u64;
                samples_from_le(samples);
            }
        }
        (self.pos, self.len) = (0, frames);
        self.unloaded -= frames as u64;
        if self.unloaded == 0 { self.check() } else { Ok(()) }
    }

    fn check(&mut self) -> Result<(), CacheError> {
        self.hasher.write(&self.block_map);
        self.hasher.write(&self.header.frames.to_le_bytes());
        self.hasher.write(&self.header.sample_rate.to_le_bytes());
        if self.hasher.finish() == self.header.checksum {
            Ok(())
        } else {
            Err(corrupt(self.key, "the samples do not match their checksum".to_owned()))
        }
    }

    /// The entry's manifest. Reading it leaves the stream where it was, so it can be read
    /// between blocks of audio.
    ///
    /// # Errors
    /// [`CacheError::Corrupt`] when the manifest is not one of this version;
    /// [`CacheError::Io`] when reading fails.
    pub fn read_manifest(&mut self) -> Result<Manifest, CacheError> {
        let key = self.key;
        let io = |source| CacheError::Io { key, source };
        let manifest_start =
            HEADER_BYTES as u64 + self.header.stored_bytes + self.block_map.len() as u64;
        self.file.seek(SeekFrom::Start(manifest_start)).map_err(io)?;
        let mut bytes = Vec::new();
        (&mut self.file).take(self.header.manifest_len).read_to_end(&mut bytes).map_err(io)?;
        self.file.seek(SeekFrom::Start(self.next_offset)).map_err(io)?;
        Manifest::parse(&bytes).map_err(|e| corrupt(key, format!("bad manifest: {e}")))
    }
}

#[derive(Debug, Clone, Copy)]
struct Header {
    sample_rate: u32,
    frames: u64,
    checksum: u64,
    manifest_len: u64,
    stored_bytes: u64,
}

impl Header {
    fn to_bytes(self) -> [u8; HEADER_BYTES] {
        let mut b = [0; HEADER_BYTES];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&CHANNELS.to_le_bytes());
        b[16..20].copy_from_slice(&self.sample_rate.to_le_bytes());
        b[24..32].copy_from_slice(&self.frames.to_le_bytes());
        b[32..40].copy_from_slice(&self.checksum.to_le_bytes());
        b[40..48].copy_from_slice(&self.manifest_len.to_le_bytes());
        b[48..56].copy_from_slice(&self.stored_bytes.to_le_bytes());
        b
    }

    fn parse(b: &[u8; HEADER_BYTES]) -> Result<Self, String> {
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| u64::from_le_bytes(std::array::from_fn(|j| b[i + j]));
        if b[0..8] != MAGIC {
            return Err("not a cache entry (bad magic)".to_owned());
        }
        let version = u32_at(8);
        if version != FORMAT_VERSION {
            return Err(format!("format version {version}, expected {FORMAT_VERSION}"));
        }
        let channels = u32_at(12);
        if channels != CHANNELS || u32_at(20) != 0 || b[56..].iter().any(|&x| x != 0) {
            return Err("malformed header".to_owned());
        }
        Ok(Self {
            sample_rate: u32_at(16),
            frames: u64_at(24),
            checksum: u64_at(32),
            manifest_len: u64_at(40),
            stored_bytes: u64_at(48),
        })
    }
}

/// Writes samples as little-endian `f32` into `out` (4 bytes a sample).
fn store_samples(samples: &[f32], out: &mut [u8]) {
    for (bytes, x) in out.chunks_exact_mut(SAMPLE_BYTES).zip(samples) {
        bytes.copy_from_slice(&x.to_le_bytes());
    }
}

/// Whether every byte is zero, which for stored samples means every one is `+0.0`.
fn all_zero_bits(bytes: &[u8]) -> bool {
    // Words rather than bytes: audio fails on its first word, silence is scanned fast.
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    words.map(|w| u64::from_ne_bytes(w.try_into().unwrap_or_default())).all(|w| w == 0)
        && tail.iter().all(|&b| b == 0)
}

/// Checks that an entry of `size` bytes is as long as its header implies; returns its
/// number of blocks, which the size bounds.
fn check_size(key: Key, header: &Header, size: u64) -> Result<usize, CacheError> {
    let blocks = header.frames.div_ceil(ENTRY_BLOCK_FRAMES as u64);
    let expected = (HEADER_BYTES as u64)
        .checked_add(header.stored_bytes)
        .and_then(|n| n.checked_add(blocks)?.checked_add(header.manifest_len));
    if expected == Some(size) {
        Ok(blocks as usize)
    } else {
        Err(corrupt(key, format!("the entry has {size} bytes, its header implies more or fewer")))
    }
}

/// Checks that every block is marked stored or silent, and that the stored ones add up to
/// the header's count of sample bytes.
fn check_block_map(key: Key, header: &Header, block_map: &[u8]) -> Result<(), CacheError> {
    let mut mapped_bytes = 0;
    for (index, &kind) in block_map.iter().enumerate() {
        match kind {
            STORED => mapped_bytes += block_frames(header.frames, index) * FRAME_BYTES as u64,
            SILENT => {}
            _ => return Err(corrupt(key, format!("block {index} is marked {kind}"))),
        }
    }
    if mapped_bytes == header.stored_bytes {
        Ok(())
    } else {
        Err(corrupt(key, "the block map disagrees with the header".to_owned()))
    }
}

/// Frames in block `index` of an entry of `frames` frames.
fn block_frames(frames: u64, index: usize) -> u64 {
    (frames - index as u64 * ENTRY_BLOCK_FRAMES as u64).min(ENTRY_BLOCK_FRAMES as u64)
}

/// Turns samples read as little-endian bytes into native ones, which on a little-endian
/// machine they already are.
fn samples_from_le(samples: &mut [f32]) {
    if cfg!(target_endian = "big") {
        for x in samples {
            *x = f32::from_bits(u32::from_le(x.to_bits()));
        }
    }
}

fn read_exact(file: &mut dyn Read, buf: &mut [u8], key: Key) -> Result<(), CacheError> {
    file.read_exact(buf).map_err(|source| {
        if source.kind() == io::ErrorKind::UnexpectedEof {
            corrupt(key, "the file ends early".to_owned())
        } else {
            CacheError::Io { key, source }
        }
    })
}

fn corrupt(key: Key, reason: String) -> CacheError {
    CacheError::Corrupt { key, reason }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::*;
    use crate::cache::manifest::Measurements;
    use crate::cache::storage::{Listed, Object};
    use crate::dsp::probe::bits;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    impl Store {
        /// The file of `key`'s entry in a local store.
        fn entry_path(&self, key: &Key) -> PathBuf {
            let entries = PathBuf::from(self.location());
            LocalDisk::new(&CacheDir::new(entries.parent().unwrap())).path(key)
        }
    }

    fn description(n: usize) -> Description {
        Description {
            node: "test".to_owned(),
            material: json!({ "kind": "test", "n": n }),
            content_frames: n as u64,
            audible_frames: n as u64,
            measurements: Measurements::default(),
        }
    }

    fn key(n: u8) -> Key {
        Key(std::array::from_fn(|i| n.wrapping_mul(31).wrapping_add(i as u8)))
    }

    /// Audio with awkward values: signed zeros, subnormals, infinities and a NaN payload
    /// must all come back bit for bit.
    fn signal(frames: usize) -> (Vec<f32>, Vec<f32>) {
        let left: Vec<f32> = (0..frames).map(|i| (i as f32 * 0.013).sin()).collect();
        let mut right: Vec<f32> = left.iter().map(|x| x * -0.5).collect();
        let odd = [-0.0, f32::MIN_POSITIVE / 8.0, f32::INFINITY, f32::from_bits(0x7fc0_1234)];
        for (r, x) in right.iter_mut().zip(odd) {
            *r = x;
        }
        (left, right)
    }

    fn put(store: &Store, key: &Key, left: &[f32], right: &[f32]) {
        let mut w = store.create(key, 48_000).unwrap();
        // Blocks of a size unrelated to the I/O buffer, so that boundaries fall anywhere.
        for (l, r) in left.chunks(1001).zip(right.chunks(1001)) {
            w.write(l, r).unwrap();
        }
        assert_eq!(w.frames(), left.len() as u64);
        w.finish(description(left.len())).unwrap();
    }

    fn read_all(
        store: &Store,
        key: &Key,
        block: usize,
    ) -> Result<(Vec<f32>, Vec<f32>), CacheError> {
        let mut reader = store.open_entry(key)?;
        let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
        let (mut left, mut right) = (Vec::new(), Vec::new());
        loop {
            let n = reader.read(&mut l, &mut r)?;
            if n == 0 {
                assert_eq!(left.len() as u64, reader.frames());
                return Ok((left, right));
            }
            left.extend_from_slice(&l[..n]);
            right.extend_from_slice(&r[..n]);
        }
    }

    /// A store holding `(left, right)` under `key(1)`.
    fn stored(
        (left, right): (Vec<f32>, Vec<f32>),
    ) -> (tempfile::TempDir, Store, Vec<f32>, Vec<f32>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        put(&store, &key(1), &left, &right);
        (dir, store, left, right)
    }

    /// A store holding `signal(70_000)` under `key(1)`: more than two of the reader's
    /// blocks (32768 frames), so that reading crosses reloads and ends on a short block.
    fn stored_signal() -> (tempfile::TempDir, Store, Vec<f32>, Vec<f32>) {
        stored(signal(70_000))
    }

    #[test]
    fn an_entry_reads_back_bit_for_bit_whatever_the_block_size() {
        let (_dir, store, left, right) = stored_signal();
        assert!(store.contains(&key(1)));
        for block in [1, 4096, 40_000, 100_000] {
            let (l, r) = read_all(&store, &key(1), block).unwrap();
            assert_eq!((bits(&l), bits(&r)), (bits(&left), bits(&right)), "block {block}");
        }
        assert_eq!(store.open_entry(&key(1)).unwrap().sample_rate(), 48_000);
    }

    #[test]
    fn samples_lie_in_planar_blocks_left_then_right() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        let frames = ENTRY_BLOCK_FRAMES + 3;
        let left: Vec<f32> = (0..frames).map(|i| i as f32).collect();
        let right: Vec<f32> = (0..frames).map(|i| -(i as f32) - 1.0).collect();
        put(&store, &key(1), &left, &right);
        let bytes = fs::read(store.entry_path(&key(1))).unwrap();
        let sample = |index: usize| {
            let at = HEADER_BYTES + index * SAMPLE_BYTES;
            f32::from_le_bytes(bytes[at..at + SAMPLE_BYTES].try_into().unwrap())
        };
        let full = 2 * ENTRY_BLOCK_FRAMES;
        assert_eq!(
            [sample(0), sample(ENTRY_BLOCK_FRAMES - 1)],
            [0.0, (ENTRY_BLOCK_FRAMES - 1) as f32]
        );
        assert_eq!(
            [sample(ENTRY_BLOCK_FRAMES), sample(full - 1)],
            [-1.0, -(ENTRY_BLOCK_FRAMES as f32)]
        );
        let last = |i: usize| ENTRY_BLOCK_FRAMES as f32 + i as f32;
        assert_eq!([sample(full), sample(full + 2)], [last(0), last(2)]);
        assert_eq!([sample(full + 3), sample(full + 5)], [-last(0) - 1.0, -last(2) - 1.0]);
    }

    /// Three blocks and a bit: the second block silent, the third holding one `-0.0`.
    fn with_silence() -> (Vec<f32>, Vec<f32>) {
        let (mut left, mut right) = signal(3 * ENTRY_BLOCK_FRAMES + 10);
        left[ENTRY_BLOCK_FRAMES..2 * ENTRY_BLOCK_FRAMES].fill(0.0);
        right[ENTRY_BLOCK_FRAMES..2 * ENTRY_BLOCK_FRAMES].fill(0.0);
        left[2 * ENTRY_BLOCK_FRAMES..].fill(0.0);
        right[2 * ENTRY_BLOCK_FRAMES..].fill(0.0);
        right[2 * ENTRY_BLOCK_FRAMES + 7] = -0.0;
        left[3 * ENTRY_BLOCK_FRAMES + 9] = 0.0;
        (left, right)
    }

    #[test]
    fn a_silent_block_is_not_stored_and_reads_back_as_zeros() {
        let (_dir, store, left, right) = stored(with_silence());
        for block in [1, 4096, 100_000] {
            let (l, r) = read_all(&store, &key(1), block).unwrap();
            assert_eq!((bits(&l), bits(&r)), (bits(&left), bits(&right)), "block {block}");
        }
        // Blocks 0 and 2 (it holds a -0.0) are stored; block 1 and the 10-frame block 3,
        // all +0.0, are not.
        let manifest = store.manifest(&key(1)).unwrap().to_bytes();
        let stored = 2 * ENTRY_BLOCK_FRAMES * FRAME_BYTES;
        let size = fs::metadata(store.entry_path(&key(1))).unwrap().len() as usize;
        assert_eq!(size, HEADER_BYTES + stored + 4 + manifest.len());
        let bytes = fs::read(store.entry_path(&key(1))).unwrap();
        assert_eq!(bytes[HEADER_BYTES + stored..HEADER_BYTES + stored + 4], [1, 0, 1, 0]);
    }

    #[test]
    fn the_manifest_read_between_silent_and_stored_blocks_leaves_the_audio_in_place() {
        let (_dir, store, left, right) = stored(with_silence());
        let mut reader = store.open_entry(&key(1)).unwrap();
        let frames = left.len();
        let (mut l, mut r) = (vec![1.0; frames], vec![1.0; frames]);
        let mut done = 0;
        for stop in [ENTRY_BLOCK_FRAMES + 5, 2 * ENTRY_BLOCK_FRAMES + 3, frames] {
            assert_eq!(reader.read_manifest().unwrap().frames, frames as u64);
            done += reader.read(&mut l[done..stop], &mut r[done..stop]).unwrap();
        }
        assert_eq!(done, frames);
        assert_eq!((bits(&l), bits(&r)), (bits(&left), bits(&right)));
    }

    #[test]
    fn a_damaged_block_map_is_corrupt() {
        let (_dir, store, _, _) = stored(with_silence());
        let path = store.entry_path(&key(1));
        let pristine = fs::read(&path).unwrap();
        let map = HEADER_BYTES + 2 * ENTRY_BLOCK_FRAMES * FRAME_BYTES;
        // A stored block marked silent or a silent one marked stored no longer adds up to
        // the stored bytes; a value other than 0 or 1 is no mark at all.
        for (at, value) in [(map, 0), (map + 1, 1), (map + 3, 1), (map + 2, 7)] {
            let mut damaged = pristine.clone();
            damaged[at] = value;
            fs::write(&path, &damaged).unwrap();
            let e = store.open_entry(&key(1)).unwrap_err();
            assert!(matches!(e, CacheError::Corrupt { .. }), "{at}: {e}");
        }
        // Swapping two marks keeps the sum, so only the checksum catches it.
        let mut damaged = pristine.clone();
        damaged.swap(map, map + 1);
        fs::write(&path, &damaged).unwrap();
        let e = read_all(&store, &key(1), 4096).unwrap_err();
        assert!(matches!(e, CacheError::Corrupt { .. }), "{e}");
    }

    #[test]
    fn an_empty_entry_is_valid_and_reads_as_zero_frames() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        put(&store, &key(1), &[], &[]);
        assert_eq!(read_all(&store, &key(1), 64).unwrap(), (vec![], vec![]));
    }

    #[test]
    fn reading_the_manifest_mid_stream_leaves_the_audio_where_it_was() {
        let (_dir, store, left, right) = stored_signal();
        let mut reader = store.open_entry(&key(1)).unwrap();
        assert_eq!(reader.read_manifest().unwrap().frames, 70_000);
        // 40 000 frames load two blocks; the third is read from the file after the manifest.
        let (mut l, mut r) = (vec![0.0; 70_000], vec![0.0; 70_000]);
        let first = reader.read(&mut l[..40_000], &mut r[..40_000]).unwrap();
        assert_eq!(reader.read_manifest().unwrap().frames, 70_000);
        let rest = reader.read(&mut l[first..], &mut r[first..]).unwrap();
        assert_eq!(first + rest, 70_000);
        assert_eq!((bits(&l), bits(&r)), (bits(&left), bits(&right)));
    }

    #[test]
    fn the_manifest_holds_the_description_frames_rate_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        put(&store, &key(2), &[0.5; 10], &[0.5; 10]);
        let manifest = store.manifest(&key(2)).unwrap();
        assert_eq!(manifest, Manifest::new(key(2), 48_000, 10, description(10)));
        assert_eq!(store.manifest(&key(3)), None);
    }

    /// Lends `block` frames at a time while the loaded block holds them, reads otherwise.
    fn lend_all(store: &Store, key: &Key, block: usize) -> Result<Vec<f32>, CacheError> {
        let mut reader = store.open_entry(key)?;
        let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
        let mut left = Vec::new();
        loop {
            if reader.holds_next(block)? {
                left.extend_from_slice(reader.lend(block).0);
                continue;
            }
            let n = reader.read(&mut l, &mut r)?;
            if n == 0 {
                return Ok(left);
            }
            left.extend_from_slice(&l[..n]);
        }
    }

    #[test]
    fn lent_frames_are_the_frames_read_and_still_checked() {
        let (_dir, store, left, _) = stored_signal();
        for block in [4096, 5000] {
            assert_eq!(bits(&lend_all(&store, &key(1), block).unwrap()), bits(&left));
        }
        let path = store.entry_path(&key(1));
        let mut damaged = fs::read(&path).unwrap();
        damaged[HEADER_BYTES + 8] ^= 0x01;
        fs::write(&path, &damaged).unwrap();
        let e = lend_all(&store, &key(1), 4096).unwrap_err();
        assert!(matches!(e, CacheError::Corrupt { .. }), "{e}");
    }

    #[test]
    fn a_flipped_byte_anywhere_in_the_samples_is_caught_by_the_end_of_the_stream() {
        let (_dir, store, _, _) = stored_signal();
        let path = store.entry_path(&key(1));
        let pristine = fs::read(&path).unwrap();
        let last = HEADER_BYTES + 70_000 * FRAME_BYTES - 1;
        for at in [HEADER_BYTES, HEADER_BYTES + 5, HEADER_BYTES + 300_001, last] {
            let mut damaged = pristine.clone();
            damaged[at] ^= 0x01;
            fs::write(&path, &damaged).unwrap();
            for block in [4096, 100_000] {
                let e = read_all(&store, &key(1), block).unwrap_err();
                let caught = matches!(e, CacheError::Corrupt { key: k, .. } if k == key(1));
                assert!(caught, "byte {at}, block {block}: {e}");
            }
        }
    }

    #[test]
    fn a_damaged_header_is_corrupt_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        put(&store, &key(1), &[0.5; 100], &[0.5; 100]);
        let path = store.entry_path(&key(1));
        let pristine = fs::read(&path).unwrap();
        // Magic, version, channels, frames and the reserved bytes.
        for at in [0, 8, 12, 24, 50] {
            let mut damaged = pristine.clone();
            damaged[at] ^= 0x10;
            fs::write(&path, &damaged).unwrap();
            let e = store.open_entry(&key(1)).unwrap_err();
            assert!(matches!(e, CacheError::Corrupt { .. }), "{at}: {e}");
        }
        // The rate and the checksum are only caught by the checksum, at the end.
        for at in [16, 32] {
            let mut damaged = pristine.clone();
            damaged[at] ^= 0x10;
            fs::write(&path, &damaged).unwrap();
            let e = read_all(&store, &key(1), 4096).unwrap_err();
            assert!(matches!(e, CacheError::Corrupt { .. }), "{at}: {e}");
        }
    }

    #[test]
    fn a_truncated_entry_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        put(&store, &key(1), &[0.5; 1000], &[0.5; 1000]);
        let path = store.entry_path(&key(1));
        let pristine = fs::read(&path).unwrap();
        for len in [0, 10, HEADER_BYTES, HEADER_BYTES + 4000, pristine.len() - 1] {
            fs::write(&path, &pristine[..len]).unwrap();
            let e = store.open_entry(&key(1)).unwrap_err();
            assert!(matches!(e, CacheError::Corrupt { .. }), "{len}: {e}");
        }
    }

    #[test]
    fn a_missing_entry_is_reported_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        assert!(!store.contains(&key(9)));
        let e = store.open_entry(&key(9)).unwrap_err();
        assert!(matches!(e, CacheError::Missing { .. }), "{e}");
    }

    #[test]
    fn a_writer_dropped_midway_leaves_no_entry_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        let (left, right) = signal(50_000);
        let mut w = store.create(&key(1), 48_000).unwrap();
        w.write(&left, &right).unwrap();
        drop(w);
        assert!(!store.contains(&key(1)));
        assert!(matches!(store.open_entry(&key(1)), Err(CacheError::Missing { .. })));
        let shard = store.entry_path(&key(1)).parent().unwrap().to_path_buf();
        assert_eq!(fs::read_dir(shard).unwrap().count(), 0);
        assert_eq!(store.stats().unwrap(), Stats::default());
    }

    #[test]
    fn an_unfinished_file_under_the_entry_name_never_reads_as_valid() {
        // What a crash between creating and finishing would look like if the temporary
        // file had been renamed early: the header is still zeros.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        let mut w = store.create(&key(1), 48_000).unwrap();
        w.write(&vec![0.5; 40_000], &vec![0.5; 40_000]).unwrap();
        let shard = store.entry_path(&key(1)).parent().unwrap().to_path_buf();
        let temp = fs::read_dir(&shard).unwrap().next().unwrap().unwrap().path();
        fs::copy(&temp, store.entry_path(&key(1))).unwrap();
        drop(w);
        let e = store.open_entry(&key(1)).unwrap_err();
        assert!(matches!(e, CacheError::Corrupt { .. }), "{e}");
    }

    #[test]
    fn stats_count_entries_and_bytes_and_remove_and_clear_empty_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        put(&store, &key(1), &[0.5; 100], &[0.5; 100]);
        put(&store, &key(2), &[0.5; 300], &[0.5; 300]);
        let size = |k| fs::metadata(store.entry_path(&k)).unwrap().len();
        let stats = store.stats().unwrap();
        assert_eq!(stats, Stats { entries: 2, bytes: size(key(1)) + size(key(2)) });
        store.remove(&key(1)).unwrap();
        store.remove(&key(1)).unwrap();
        assert!(!store.contains(&key(1)));
        assert_eq!(store.stats().unwrap().entries, 1);
        store.clear().unwrap();
        assert_eq!(store.stats().unwrap(), Stats::default());
        put(&store, &key(3), &[0.5; 10], &[0.5; 10]);
        assert!(store.contains(&key(3)));
    }

    #[test]
    fn gc_removes_the_least_recently_used_entries_first_down_to_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        for n in 1..=3 {
            put(&store, &key(n), &[0.5; 1000], &[0.5; 1000]);
        }
        // Entry 1 is the oldest written but the most recently used.
        drop(store.open_entry(&key(1)).unwrap());
        let size = fs::metadata(store.entry_path(&key(1))).unwrap().len();
        let report = store.gc(2 * size).unwrap();
        assert_eq!(report.removed, vec![key(2)]);
        assert_eq!(report.kept, Stats { entries: 2, bytes: 2 * size });
        let report = store.gc(2 * size - 1).unwrap();
        assert_eq!(report.removed, vec![key(3)]);
        assert!(store.contains(&key(1)));
        assert_eq!(store.gc(0).unwrap().removed, vec![key(1)]);
        assert_eq!(store.stats().unwrap(), Stats::default());
    }

    #[test]
    fn gc_removes_the_unfinished_entries_of_dead_writers_and_keeps_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        let mut live = store.create(&key(1), 48_000).unwrap();
        live.write(&[0.5; 10], &[0.5; 10]).unwrap();
        let shard = store.entry_path(&key(1)).parent().unwrap().to_path_buf();
        // Left by a process that was killed: no process has this id.
        let dead = shard.join(format!(".{}.tmp-4194305-abcdefabcdef", key(1)));
        fs::write(&dead, [0; 100]).unwrap();
        assert_eq!(store.orphans().unwrap(), [Orphan { path: dead.clone(), size: 100 }]);
        let report = store.gc(u64::MAX).unwrap();
        assert_eq!((report.orphans.len(), report.freed_bytes), (1, 100));
        assert!(!dead.exists());
        live.finish(description(10)).unwrap();
        assert!(store.contains(&key(1)));
        assert_eq!(fs::read_dir(&shard).unwrap().count(), 1);
    }

    #[test]
    fn verify_finds_and_removes_a_corrupt_entry_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        for n in 1..=3 {
            put(&store, &key(n), &vec![0.25; 5000], &vec![0.5; 5000]);
        }
        let path = store.entry_path(&key(2));
        let mut bytes = fs::read(&path).unwrap();
        bytes[HEADER_BYTES + 1234] ^= 0x80;
        fs::write(&path, bytes).unwrap();
        let report = store.verify().unwrap();
        assert_eq!(report, VerifyReport { checked: 3, corrupt: vec![key(2)] });
        assert!(!store.contains(&key(2)));
        assert!(store.contains(&key(1)) && store.contains(&key(3)));
        assert_eq!(store.verify().unwrap(), VerifyReport { checked: 2, corrupt: vec![] });
    }

    #[test]
    fn the_same_audio_and_ingredients_always_give_the_same_entry_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        let (left, right) = signal(40_000);
        put(&store, &key(1), &left, &right);
        let first = fs::read(store.entry_path(&key(1))).unwrap();
        let mut w = store.create(&key(1), 48_000).unwrap();
        w.write(&left, &right).unwrap();
        w.finish(description(40_000)).unwrap();
        assert_eq!(fs::read(store.entry_path(&key(1))).unwrap(), first);
    }

    /// A second backend, in memory: the entry format, checksums and gc work over any
    /// `Storage`, as a remote one will.
    #[derive(Debug, Default)]
    struct Memory(Arc<Mutex<BTreeMap<Key, Vec<u8>>>>);

    struct MemoryWriter {
        key: Key,
        bytes: io::Cursor<Vec<u8>>,
        objects: Arc<Mutex<BTreeMap<Key, Vec<u8>>>>,
    }

    impl Write for MemoryWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Seek for MemoryWriter {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.bytes.seek(pos)
        }
    }

    impl ObjectWriter for MemoryWriter {
        fn commit(self: Box<Self>) -> io::Result<()> {
            self.objects.lock().unwrap().insert(self.key, self.bytes.into_inner());
            Ok(())
        }
    }

    impl Storage for Memory {
        fn location(&self) -> String {
            "memory".to_owned()
        }

        fn get(&self, key: &Key) -> io::Result<Option<Object>> {
            Ok(self.0.lock().unwrap().get(key).map(|bytes| Object {
                size: bytes.len() as u64,
                reader: Box::new(io::Cursor::new(bytes.clone())),
            }))
        }

        fn put(&self, key: &Key) -> io::Result<Box<dyn ObjectWriter>> {
            let objects = Arc::clone(&self.0);
            Ok(Box::new(MemoryWriter { key: *key, bytes: io::Cursor::default(), objects }))
        }

        fn contains(&self, key: &Key) -> bool {
            self.0.lock().unwrap().contains_key(key)
        }

        fn touch(&self, _key: &Key) {}

        fn remove(&self, key: &Key) -> io::Result<()> {
            self.0.lock().unwrap().remove(key);
            Ok(())
        }

        fn list(&self) -> io::Result<Vec<Listed>> {
            let objects = self.0.lock().unwrap();
            let listed = objects.iter().map(|(key, bytes)| Listed {
                key: *key,
                size: bytes.len() as u64,
                used: std::time::UNIX_EPOCH,
            });
            Ok(listed.collect())
        }

        fn orphans(&self) -> io::Result<Vec<Orphan>> {
            Ok(Vec::new())
        }

        fn sweep_orphans(&self) -> io::Result<Vec<Orphan>> {
            Ok(Vec::new())
        }

        fn clear(&self) -> io::Result<()> {
            self.0.lock().unwrap().clear();
            Ok(())
        }
    }

    #[test]
    fn entries_kept_in_another_backend_read_back_bit_for_bit_and_are_verified() {
        let memory = Arc::new(Memory::default());
        let store = Store::new(memory.clone());
        let (left, right) = with_silence();
        put(&store, &key(1), &left, &right);
        let (l, r) = read_all(&store, &key(1), 4096).unwrap();
        assert_eq!((bits(&l), bits(&r)), (bits(&left), bits(&right)));
        assert_eq!(store.manifest(&key(1)).unwrap().description, description(left.len()));
        // A dropped writer leaves nothing; a damaged object is caught and removed.
        drop(store.create(&key(2), 48_000).unwrap());
        assert!(!store.contains(&key(2)));
        memory.0.lock().unwrap().get_mut(&key(1)).unwrap()[HEADER_BYTES + 3] ^= 1;
        assert_eq!(store.verify().unwrap().corrupt, [key(1)]);
        assert_eq!(store.stats().unwrap(), Stats::default());
    }

    #[test]
    fn a_backend_that_cannot_move_a_stream_in_copies_it_whole() {
        use crate::cache::encoded::{EncodedFacts, open_encoded, store_encoded};
        let store = Store::new(Arc::new(Memory::default()));
        let dir = tempfile::tempdir().unwrap();
        let stream = dir.path().join("stream.flac");
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
        fs::write(&stream, &bytes).unwrap();
        let facts = EncodedFacts {
            key: key(3).to_string(),
            node: "album/streaming/encode/01".into(),
            frames: 10,
            sample_rate: 48_000,
            clipped_samples: 0,
            peak: 0.5,
            headroom_trim_db: None,
        };
        store_encoded(&store, &key(3), &stream, &facts).unwrap();
        let mut out = Vec::new();
        let reader = open_encoded(&store, &key(3)).unwrap();
        assert_eq!(reader.facts(), &facts);
        reader.copy_to(&mut out).unwrap();
        assert!(out == bytes);
        assert_eq!(store.verify().unwrap().checked, 1);
    }
}
