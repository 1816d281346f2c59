//! The blake3 digests of input files, with a memo that spares reading files that have not
//! changed since they were last hashed.
//!
//! The memo (the cache's `files.json`) maps a file's canonical absolute path to its size,
//! modification time, status-change time (ns), inode and digest. The path, times and inode
//! only decide whether a file must be read again; none of them is ever part of a key, which
//! holds the digest of the bytes alone.
//!
//! The status-change time (ctime) is there because a user can set a file's modification
//! time back (`touch -d`, a restore that keeps times, a sync tool) but not its ctime: the
//! system sets it to now on every write, rename or change of times. A file rewritten in
//! place with its size and modification time restored therefore still reads as changed, as
//! in git's index and cargo's fingerprints.
//!
//! Racy files: a file written in the same instant it is hashed could change again without
//! its stamp changing (timestamps are coarse on some file systems). So a row is recorded
//! and trusted only for files whose last change (both times) came before the run started,
//! less [`RACY_MARGIN`]; a file touched more recently is read again on every run until it
//! ages.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::folder::CacheDir;
use crate::file_identity::FileIdentity;

/// How much older than the run's start a file's modification time must be before its memo
/// row is trusted. Two seconds covers the coarsest common timestamp (FAT) and clocks that
/// update file times in ticks.
pub const RACY_MARGIN: Duration = Duration::from_secs(2);

/// Version of the memo's rows; a memo of another version is ignored and rewritten.
const MEMO_VERSION: u32 = 2;

/// The blake3 hash of a file's bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::write_hex(f, &self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// File digests for one run, backed by the memo on disk.
#[derive(Debug)]
pub struct FileDigests {
    cache: CacheDir,
    /// Files modified at or after this instant (ns since the epoch) are not memoized.
    trusted_before_ns: u64,
    rows: BTreeMap<String, Row>,
    /// The settled identity of each file this run hashed, unchanged across the read, by
    /// canonical path: proof enough that the file still holds the bytes hashed while it
    /// keeps that identity.
    hashed_as: BTreeMap<PathBuf, FileIdentity>,
    changed: bool,
    files_read: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    #[serde(flatten)]
    stamp: FileIdentity,
    blake3: String,
}

#[derive(Serialize, Deserialize)]
struct MemoFile {
    version: u32,
    files: BTreeMap<String, Row>,
}

impl FileDigests {
    /// Loads the memo kept in `cache` for a run that started at `run_start`. A missing,
    /// damaged or unreadable memo starts empty: it only saves work, and the cache must never
    /// fail a render.
    #[must_use]
    pub fn load(cache: &CacheDir, run_start: SystemTime) -> Self {
        let rows = fs::read(cache.file_memo())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<MemoFile>(&bytes).ok())
            .filter(|m| m.version == MEMO_VERSION)
            .map(|m| m.files)
            .unwrap_or_default();
        let trusted_before_ns = run_start
            .checked_sub(RACY_MARGIN)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos().try_into().unwrap_or(u64::MAX));
        let hashed_as = BTreeMap::new();
        Self {
            cache: cache.clone(),
            trusted_before_ns,
            rows,
            hashed_as,
            changed: false,
            files_read: 0,
        }
    }

    /// The blake3 digest of the bytes of the file at `path`, from the memo when the file's
    /// size, times and inode are those recorded.
    ///
    /// # Errors
    /// When the file cannot be found or read.
    pub fn digest(&mut self, path: impl AsRef<Path>) -> io::Result<Digest> {
        let path = path.as_ref();
        self.digest_canonical(&fs::canonicalize(path).map_err(|e| naming(path, &e))?)
            .map_err(|e| naming(path, &e))
    }

    /// Hashes, on every core, the files among `paths` that the memo does not know, and
    /// remembers those it may trust, so that later calls to [`FileDigests::digest`] find
    /// them ready. A file modified too recently to trust is hashed again when asked for,
    /// and a file that cannot be read is left for `digest` to report.
    pub fn prefetch(&mut self, paths: &[PathBuf]) {
        let unknown: Vec<PathBuf> = paths
            .iter()
            .filter_map(|p| fs::canonicalize(p).ok())
            .filter(|p| self.remembered(p).is_none())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let hashed: Vec<Hashed> = unknown
            .into_par_iter()
            .filter_map(|path| {
                let before = self.trusted_stamp(&fs::metadata(&path).ok()?)?;
                let digest = hash_file(&path).ok()?;
                Some(Hashed { path, before, digest })
            })
            .collect();
        for Hashed { path, before, digest } in hashed {
            self.files_read += 1;
            // `record` re-checks the stamp, so a file that moved while it was read is
            // not remembered.
            let _ = self.record(&path, Some(before), digest);
        }
    }

    /// The identity the file at `path` had when this run hashed it, if the run did and the
    /// identity was settled and unchanged across the read. A digest taken from the memo of
    /// an earlier run has none: its bytes must be hashed again as they are decoded, so that
    /// a memo that lies cannot poison the cache.
    #[must_use]
    pub fn hashed_as(&self, path: &Path) -> Option<FileIdentity> {
        self.hashed_as.get(&fs::canonicalize(path).ok()?).copied()
    }

    /// The memo's digest of `path`, when its stamp is trusted and unchanged.
    fn remembered(&self, path: &Path) -> Option<Digest> {
        let stamp = self.trusted_stamp(&fs::metadata(path).ok()?)?;
        let row = self.rows.get(path.to_str()?)?;
        (row.stamp == stamp).then(|| super::parse_hex(&row.blake3).map(Digest))?
    }

    fn digest_canonical(&mut self, path: &Path) -> io::Result<Digest> {
        if let Some(digest) = self.remembered(path) {
            return Ok(digest);
        }
        let before = self.trusted_stamp(&fs::metadata(path)?);
        let digest = hash_file(path)?;
        self.files_read += 1;
        self.record(path, before, digest)?;
        Ok(digest)
    }

    /// Remembers `digest` for `path` if the file's stamp is trusted and did not change
    /// while it was read. Paths that are not Unicode are hashed every time rather than
    /// stored lossily, where two of them could share a row.
    fn record(
        &mut self,
        path: &Path,
        before: Option<FileIdentity>,
        digest: Digest,
    ) -> io::Result<()> {
        // A file that changed while it was read may have given a mix of old and new bytes:
        // use the digest for this run, but do not remember it.
        let after = self.trusted_stamp(&fs::metadata(path)?);
        let settled = before.filter(|stamp| Some(*stamp) == after);
        if let Some(stamp) = settled {
            self.hashed_as.insert(path.to_path_buf(), stamp);
        }
        let Some(name) = path.to_str().map(str::to_owned) else { return Ok(()) };
        match settled {
            Some(stamp) => {
                self.rows.insert(name, Row { stamp, blake3: digest.to_string() });
                self.changed = true;
            }
            None => self.changed |= self.rows.remove(&name).is_some(),
        }
        Ok(())
    }

    /// How many files this run has read to hash them; the others came from the memo.
    #[must_use]
    pub fn files_read(&self) -> u64 {
        self.files_read
    }

    /// Writes the memo back, atomically, if anything in it changed.
    ///
    /// # Errors
    /// When the memo cannot be written.
    pub fn save(&self) -> io::Result<()> {
        if !self.changed {
            return Ok(());
        }
        let memo = MemoFile { version: MEMO_VERSION, files: self.rows.clone() };
        self.cache.write(&self.cache.file_memo(), &serde_json::to_vec_pretty(&memo)?)
    }

    /// The stamp of a file that may be memoized: `None` if it changed too recently (or its
    /// times are unknown).
    fn trusted_stamp(&self, meta: &fs::Metadata) -> Option<FileIdentity> {
        FileIdentity::of(meta).filter(|s| s.mtime_ns.max(s.ctime_ns) < self.trusted_before_ns)
    }
}

/// The same error, its message prefixed with the file it concerns.
fn naming(path: &Path, e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A file hashed by [`FileDigests::prefetch`], with its stamp from before the read.
struct Hashed {
    path: PathBuf,
    before: FileIdentity,
    digest: Digest,
}

/// blake3 of a file's bytes, read once, without the memo.
///
/// # Errors
/// When the file cannot be opened or read.
pub fn hash_file(path: &Path) -> io::Result<Digest> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(File::open(path)?)?;
    Ok(Digest(*hasher.finalize().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// Writes `bytes` in place (same inode) and sets the file's modification time.
    fn write_at(path: &Path, bytes: &[u8], modified: SystemTime) {
        fs::write(path, bytes).unwrap();
        File::options().write(true).open(path).unwrap().set_modified(modified).unwrap();
    }

    /// The start of a run late enough that files written just now have aged past the racy
    /// margin: their status-change time, which tests cannot set back, is trusted then.
    fn later() -> SystemTime {
        SystemTime::now() + 2 * RACY_MARGIN
    }

    fn hours_ago(h: u64) -> SystemTime {
        SystemTime::now() - Duration::from_secs(h * 3600)
    }

    #[test]
    fn the_digest_is_the_blake3_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stem.wav");
        write_at(&path, b"some audio", hours_ago(1));
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), later());
        assert_eq!(digests.digest(&path).unwrap(), hash_of(b"some audio"));
        assert_eq!(digests.digest(&path).unwrap().to_string().len(), 64);
    }

    #[test]
    fn prefetching_hashes_each_unknown_file_once_for_the_digests_that_follow() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..4).map(|i| dir.path().join(format!("{i}.wav"))).collect();
        for (i, path) in paths.iter().enumerate() {
            write_at(path, format!("take {i}").as_bytes(), hours_ago(1));
        }
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), later());
        digests.prefetch(&paths);
        assert_eq!(digests.files_read(), 4);
        for (i, path) in paths.iter().enumerate() {
            assert_eq!(digests.digest(path).unwrap(), hash_of(format!("take {i}").as_bytes()));
        }
        assert_eq!(digests.files_read(), 4, "the digests came from what prefetch hashed");
    }

    #[test]
    fn an_unchanged_file_is_not_read_again_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stem.wav");
        write_at(&path, b"first take", hours_ago(1));
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), later());
        assert_eq!(digests.digest(&path).unwrap(), hash_of(b"first take"));
        digests.save().unwrap();
        let mut next_run = FileDigests::load(&CacheDir::new(dir.path()), later());
        assert_eq!(next_run.digest(&path).unwrap(), hash_of(b"first take"));
        assert_eq!(next_run.files_read(), 0);
    }

    #[test]
    fn a_file_rewritten_in_place_with_its_size_and_time_restored_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stem.wav");
        let then = hours_ago(1);
        write_at(&path, b"first take", then);
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), later());
        assert_eq!(digests.digest(&path).unwrap(), hash_of(b"first take"));
        digests.save().unwrap();
        // File times tick with the kernel's clock: give the rewrite a tick of its own.
        std::thread::sleep(Duration::from_millis(20));
        // New bytes of the same length, and the old modification time forged back: only
        // the status-change time, which the system sets, tells the rewrite apart.
        write_at(&path, b"other take", then);
        let mut next_run = FileDigests::load(&CacheDir::new(dir.path()), later());
        assert_eq!(next_run.digest(&path).unwrap(), hash_of(b"other take"));
        assert_eq!(next_run.files_read(), 1);
    }

    #[test]
    fn a_change_of_size_or_time_makes_the_file_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stem.wav");
        write_at(&path, b"first take", hours_ago(3));
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), later());
        digests.digest(&path).unwrap();
        write_at(&path, b"longer take", hours_ago(3));
        assert_eq!(digests.digest(&path).unwrap(), hash_of(b"longer take"));
        write_at(&path, b"other  take", hours_ago(2));
        assert_eq!(digests.digest(&path).unwrap(), hash_of(b"other  take"));
        assert_eq!(digests.files_read(), 3);
    }

    #[test]
    fn a_file_modified_after_the_run_started_is_never_trusted_to_the_memo() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stem.wav");
        let run_start = SystemTime::now();
        // Within the racy margin before the run: its bytes could still change unseen.
        let recent = run_start - RACY_MARGIN / 2;
        write_at(&path, b"first take", recent);
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), run_start);
        assert_eq!(digests.digest(&path).unwrap(), hash_of(b"first take"));
        write_at(&path, b"other take", recent);
        assert_eq!(digests.digest(&path).unwrap(), hash_of(b"other take"));
        digests.save().unwrap();
        assert!(!CacheDir::new(dir.path()).file_memo().exists());
        write_at(&path, b"third take", run_start + Duration::from_secs(1));
        assert_eq!(digests.digest(&path).unwrap(), hash_of(b"third take"));
        assert_eq!(digests.files_read(), 3);
    }

    #[test]
    fn the_memo_keys_on_the_canonical_path_but_never_puts_it_in_the_digest() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        let (a, b) = (dir.path().join("a.wav"), dir.path().join("sub/b.wav"));
        write_at(&a, b"same bytes", hours_ago(1));
        write_at(&b, b"same bytes", hours_ago(1));
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), later());
        assert_eq!(digests.digest(&a).unwrap(), digests.digest(&b).unwrap());
        let roundabout = dir.path().join("sub/../a.wav");
        digests.digest(&roundabout).unwrap();
        assert_eq!(digests.files_read(), 2);
    }

    #[test]
    fn only_a_file_hashed_in_this_run_and_settled_is_vouched_for_by_its_identity() {
        let dir = tempfile::tempdir().unwrap();
        let (settled, recent) = (dir.path().join("old.wav"), dir.path().join("new.wav"));
        write_at(&settled, b"old take", hours_ago(1));
        let run_start = later();
        write_at(&recent, b"new take", run_start - RACY_MARGIN / 2);
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), run_start);
        digests.prefetch(&[settled.clone(), recent.clone()]);
        assert_eq!(digests.hashed_as(&settled), FileIdentity::of_path(&settled));
        assert!(digests.hashed_as(&settled).is_some());
        assert_eq!(digests.hashed_as(&recent), None, "its times may not show the next write");
        digests.save().unwrap();
        let mut next_run = FileDigests::load(&CacheDir::new(dir.path()), run_start);
        next_run.digest(&settled).unwrap();
        assert_eq!(next_run.files_read(), 0);
        assert_eq!(next_run.hashed_as(&settled), None, "a memo's digest is checked by hashing");
    }

    #[test]
    fn a_damaged_memo_is_ignored_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stem.wav");
        write_at(&path, b"take", hours_ago(1));
        fs::write(CacheDir::new(dir.path()).file_memo(), b"{ not json").unwrap();
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), later());
        assert_eq!(digests.digest(&path).unwrap(), hash_of(b"take"));
        digests.save().unwrap();
        let mut next_run = FileDigests::load(&CacheDir::new(dir.path()), later());
        next_run.digest(&path).unwrap();
        assert_eq!(next_run.files_read(), 0);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut digests = FileDigests::load(&CacheDir::new(dir.path()), later());
        let path = dir.path().join("gone.wav");
        let e = digests.digest(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
}
