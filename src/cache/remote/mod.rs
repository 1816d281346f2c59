//! A remote cache shared by CI runners and a team, beside the local one: consulted on a
//! local miss, sent the entries rendered here that another machine can use (the render
//! decides which: `render/shard.rs`).
//!
//! | module | owns |
//! |---|---|
//! | [`address`] | the address a user writes (`s3://bucket/prefix`) |
//! | [`object_store`] | objects named by key on a service, through `OpenDAL` |
//! | [`uploads`] | entries on their way up, in the background |
//! | [`piece_buffers`] | the memory of pieces on their way, used again |
//! | [`figures`] | hits, misses, bytes and errors, and their totals for `cache stats` |
//!
//! [`Remote`] holds the policy and nothing of the entry format: [`crate::cache::store`]
//! checks every object it reads from here exactly as it checks a local entry, and an object
//! that fails is never served. Entries are immutable and named by their key, so two runners
//! uploading the same key write the same bytes and either may win.
//!
//! A remote that is down, slow, refusing or serving damaged objects never fails a render:
//! the first failed request turns the remote off for the rest of the run with one warning,
//! and what it would have served is rendered here. A damaged object is dropped from this
//! run's view, rendered again and uploaded again over it.

pub mod address;
pub mod figures;
pub mod object_store;
mod piece_buffers;
mod uploads;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use self::figures::{Counters, RemoteFigures};
use self::object_store::ObjectStore;
use self::uploads::{Payload, Uploads};
use super::Key;
use super::storage::Storage;
use super::store::ImportError;

/// The largest record a remote object may hold: an album's analysis of 99 songs is a few
/// tens of kB; anything larger is not a record.
const MAX_RECORD_BYTES: u64 = 4 * 1024 * 1024;

/// The name under which the record kept beside the entry `key` (a measurement, an album's
/// analysis) is stored in the remote: derived from the key, so it never names an entry.
#[must_use]
pub fn record_object(key: &Key) -> Key {
    let mut hasher = blake3::Hasher::new_derive_key("mixdown 2026 remote record");
    hasher.update(&key.0);
    Key(*hasher.finalize().as_bytes())
}

/// What a render may do with the remote cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Read entries, upload nothing (a CI job on a fork, without write access).
    Read,
    /// Upload entries, read nothing (a job that seeds the cache).
    Write,
    /// Both.
    #[default]
    ReadWrite,
}

impl Mode {
    fn reads(self) -> bool {
        matches!(self, Self::Read | Self::ReadWrite)
    }

    fn writes(self) -> bool {
        matches!(self, Self::Write | Self::ReadWrite)
    }
}

/// A remote cache, as one render sees it.
#[derive(Debug)]
pub struct Remote {
    objects: Arc<dyn ObjectStore>,
    mode: Mode,
    /// What look-ups found: key → whether the remote has it.
    known: Mutex<BTreeMap<Key, bool>>,
    /// Keys whose objects failed their checks this run.
    distrusted: Mutex<BTreeSet<Key>>,
    /// Set by the first failed request; the remote is not asked again this run.
    down: AtomicBool,
    warnings: Mutex<Vec<String>>,
    counters: Counters,
    uploads: Uploads,
}

impl Remote {
    /// A remote cache kept in `objects`, used as `mode` allows.
    #[must_use]
    pub fn new(objects: Arc<dyn ObjectStore>, mode: Mode) -> Arc<Self> {
        Arc::new(Self {
            objects,
            mode,
            known: Mutex::default(),
            distrusted: Mutex::default(),
            down: AtomicBool::new(false),
            warnings: Mutex::default(),
            counters: Counters::default(),
            uploads: Uploads::default(),
        })
    }

    /// Where it is, in words for messages.
    #[must_use]
    pub fn location(&self) -> String {
        self.objects.location()
    }

    fn usable(&self) -> bool {
        !self.down.load(Ordering::Acquire)
    }

    /// Asks the remote, all at once, which of `keys` it holds, unless already known.
    pub fn look_up(&self, keys: &[Key]) {
        if !self.mode.reads() || !self.usable() {
            return;
        }
        let unknown: Vec<Key> = {
            let known = lock(&self.known);
            let mut unknown: Vec<Key> =
                keys.iter().copied().filter(|k| !known.contains_key(k)).collect();
            unknown.sort_unstable();
            unknown.dedup();
            unknown
        };
        if unknown.is_empty() {
            return;
        }
        match self.objects.exist(&unknown) {
            Ok(found) => {
                let misses = found.iter().filter(|f| !**f).count() as u64;
                Counters::add(&self.counters.misses, misses);
                lock(&self.known).extend(unknown.into_iter().zip(found));
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Whether a look-up found `key` and nothing since made it unusable.
    #[must_use]
    pub fn has(&self, key: &Key) -> bool {
        self.mode.reads()
            && self.usable()
            && lock(&self.known).get(key) == Some(&true)
            && !lock(&self.distrusted).contains(key)
    }

    /// Streams the object named `key` through `import`, which checks it and keeps it
    /// locally. Returns whether it arrived; if not, the remote no longer offers it.
    pub fn fetch(
        &self,
        key: &Key,
        import: impl FnOnce(&mut dyn Read, u64) -> Result<(), ImportError>,
    ) -> bool {
        if !self.has(key) {
            return false;
        }
        let outcome = match self.objects.read(key) {
            Ok(Some((mut object, size))) => import(&mut object, size).map(|()| size),
            Ok(None) => Err(ImportError::Damaged("it was listed but is gone".to_owned())),
            Err(e) => Err(ImportError::Read(e)),
        };
        match outcome {
            Ok(size) => {
                Counters::add(&self.counters.hits, 1);
                Counters::add(&self.counters.bytes_in, size);
                true
            }
            Err(ImportError::Damaged(reason)) => {
                Counters::add(&self.counters.errors, 1);
                self.forget(key);
                self.warn(format!(
                    "the remote cache's object {key} at {} is damaged ({reason}); it is \
                     rendered here and uploaded again",
                    self.location()
                ));
                false
            }
            Err(ImportError::Read(e)) => {
                self.fail(&e);
                false
            }
            Err(ImportError::Write(e)) => {
                // The local cache failed, not the remote: the render finds out for itself.
                self.warn(format!("cannot keep an entry from the remote cache locally: {e}"));
                false
            }
        }
    }

    /// Stops offering `key` this run: its object is damaged, or its local copy was.
    pub fn forget(&self, key: &Key) {
        lock(&self.distrusted).insert(*key);
    }

    /// Uploads the entry `key`, just stored in `local`, in the background.
    pub fn upload_later(self: &Arc<Self>, key: Key, local: Arc<dyn Storage>) {
        if self.mode.writes() && self.usable() {
            self.uploads.push(self, key, Payload::Entry(local));
        }
    }

    /// Uploads `record`, the record kept beside the entry `key`, in the background.
    pub fn upload_record_later(self: &Arc<Self>, key: &Key, record: Vec<u8>) {
        if self.mode.writes() && self.usable() {
            self.uploads.push(self, record_object(key), Payload::Bytes(record));
        }
    }

    /// Reads the record kept beside the entry `key` and hands it to `import`, which checks
    /// and keeps it. Returns whether it arrived; if not, the remote no longer offers it.
    pub fn fetch_record(
        &self,
        key: &Key,
        import: impl FnOnce(&[u8]) -> Result<(), ImportError>,
    ) -> bool {
        self.fetch(&record_object(key), |from, size| {
            if size > MAX_RECORD_BYTES {
                return Err(ImportError::Damaged("it is larger than any record".to_owned()));
            }
            let mut bytes = Vec::new();
            from.take(size).read_to_end(&mut bytes).map_err(ImportError::Read)?;
            import(&bytes)
        })
    }

    /// Uploads one payload under `key`; a failure turns the remote off.
    fn upload(&self, key: &Key, payload: Payload) {
        if !self.usable() {
            return;
        }
        let (mut reader, size): (Box<dyn Read>, u64) = match payload {
            Payload::Entry(_) if self.uploaded_elsewhere(key) => return,
            Payload::Entry(local) => {
                // Removed locally since (gc, or found damaged): nothing to share.
                let Ok(Some(object)) = local.get(key) else { return };
                (Box::new(object.reader), object.size)
            }
            Payload::Bytes(bytes) => {
                let size = bytes.len() as u64;
                (Box::new(io::Cursor::new(bytes)), size)
            }
        };
        match self.objects.write(key, &mut reader, size) {
            Ok(()) => {
                Counters::add(&self.counters.uploads, 1);
                Counters::add(&self.counters.bytes_out, size);
                lock(&self.known).insert(*key, true);
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Whether another runner has uploaded the entry `key` since it was looked up: shards
    /// side by side render the songs they all need, and the first to finish one shares it.
    /// An object found damaged this run is replaced all the same.
    fn uploaded_elsewhere(&self, key: &Key) -> bool {
        !lock(&self.distrusted).contains(key)
            && self.objects.exist(&[*key]).is_ok_and(|found| found == [true])
    }

    /// Waits for every upload to finish, telling `progress` how many of how many are done.
    pub fn finish_uploads(&self, progress: &dyn Fn(u64, u64)) {
        self.uploads.finish(progress);
    }

    /// Uploads queued so far and how many are finished.
    #[must_use]
    pub fn upload_counts(&self) -> (u64, u64) {
        self.uploads.counts()
    }

    /// The warnings so far, each once.
    #[must_use]
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.warnings))
    }

    /// What this run's traffic came to.
    #[must_use]
    pub fn figures(&self) -> RemoteFigures {
        self.counters.snapshot()
    }

    /// Turns the remote off for the rest of the run, with one warning for the first failure.
    fn fail(&self, e: &io::Error) {
        Counters::add(&self.counters.errors, 1);
        if !self.down.swap(true, Ordering::AcqRel) {
            self.warn(format!(
                "the remote cache at {} failed ({e}); rendering without it for the rest of \
                 this run",
                self.location()
            ));
        }
    }

    fn warn(&self, message: String) {
        lock(&self.warnings).push(message);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::object_store::OpenDal;
    use super::*;
    use crate::cache::folder::CacheDir;
    use crate::cache::local_disk::LocalDisk;

    fn uploads_of(remote: &Arc<Remote>, key: Key, local: &Arc<dyn Storage>) -> u64 {
        remote.upload_later(key, Arc::clone(local));
        remote.finish_uploads(&|_, _| {});
        remote.figures().uploads
    }

    #[test]
    fn an_entry_another_runner_uploaded_meanwhile_is_sent_again_only_if_found_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let local: Arc<dyn Storage> = Arc::new(LocalDisk::new(&CacheDir::new(dir.path())));
        let key = Key([7; 32]);
        let mut object = local.put(&key).unwrap();
        object.write_all(b"an entry").unwrap();
        object.commit().unwrap();
        let objects: Arc<dyn ObjectStore> = Arc::new(OpenDal::memory().unwrap());
        let first = Remote::new(Arc::clone(&objects), Mode::ReadWrite);
        assert_eq!(uploads_of(&first, key, &local), 1);
        let second = Remote::new(Arc::clone(&objects), Mode::ReadWrite);
        assert_eq!(uploads_of(&second, key, &local), 0, "the object was already there");
        second.forget(&key);
        assert_eq!(uploads_of(&second, key, &local), 1, "a damaged object is replaced");
    }
}
