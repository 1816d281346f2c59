//! The one way mixdown writes a file that must appear whole or not at all (cache entries,
//! cache records and rendered output files alike), and the scratch folders that live only
//! as long as the process.
//!
//! A write goes to a temporary file in the destination's folder, created exclusively
//! (`O_EXCL`: a link planted at the name makes the creation fail instead of being followed)
//! under a name nobody can predict. [`AtomicFile::commit`] flushes the file to the disk,
//! renames it over the destination (a rename replaces a link found there instead of writing
//! through it) and flushes the folder, so after a crash the destination holds the old file
//! or the complete new one. Dropping an uncommitted file deletes it. A file committed into
//! a [`TemporaryFolder`] skips the flushes: the folder is deleted with all it holds.
//!
//! Content whose damage every reader detects and treats as missing (checksummed cache
//! entries, cache records that fail to parse) may skip the two flushes with
//! [`AtomicFile::commit_unflushed`]: a crash can then tear it, which costs work, never a
//! wrong result. Waiting for the disk once per entry and record is what it saves.
//!
//! Temporary names say who wrote them, `.NAME.tmp-PID-RANDOM`, and the writer holds an
//! exclusive lock on its file for as long as it lives; the system drops the lock however the
//! process ends. [`orphans`] lists a temporary file only when nobody holds its lock and its
//! writer is gone, so a live writer's file is never taken for an orphan.
//!
//! Every temporary file and folder this process holds is also listed here, so an interrupted
//! process can delete its own ([`abandon_all`]) before it exits.
//!
//! This module is the only one that names the `tempfile` crate. It must not know what the
//! files hold.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tempfile::{TempDir, TempPath};

/// What marks a temporary file's name, after the destination's name.
const TEMP_MARK: &str = ".tmp-";
/// Random characters in a temporary name: enough that guessing one is hopeless.
const RANDOM_CHARS: usize = 12;
/// A temporary file whose lock nobody holds, and whose writer this machine cannot check
/// (no `/proc`, or a writer on another machine), is an orphan once it is this old.
pub const STALE_AGE: Duration = Duration::from_hours(24);

/// Temporary files and folders this process holds, for [`abandon_all`].
static HELD: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn held() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    // A writer that panicked left the set consistent: every change is one insert or remove.
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A file being written that appears at its destination only when committed.
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    /// `None` once committed.
    temp: Option<TempPath>,
    destination: PathBuf,
}

impl AtomicFile {
    /// Starts writing a file that will appear at `destination`. The folder must exist.
    ///
    /// # Errors
    /// When the temporary file cannot be created; the error names the folder.
    pub fn create(destination: impl Into<PathBuf>) -> io::Result<Self> {
        let destination = destination.into();
        let folder = folder_of(&destination);
        let name = destination.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let prefix = format!(".{name}{TEMP_MARK}{}-", std::process::id());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).rand_bytes(RANDOM_CHARS);
        // The mode a plain `File::create` would give (less the umask), not 0600: an output
        // file is the user's to share.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        // Held while the file is created and locked, so that `abandon_all` never misses it.
        let mut held = held();
        let (file, temp) =
            builder.tempfile_in(folder).map_err(|e| naming(folder, &e))?.into_parts();
        // A file system without locks still gets the file: its writer is then told apart by
        // its process alone (see `writer_is_gone`).
        let _ = file.try_lock();
        held.insert(temp.to_path_buf());
        Ok(Self { file, temp: Some(temp), destination })
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// The destination.
    #[must_use]
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// Flushes the file to the disk, renames it over the destination and flushes the folder.
    ///
    /// # Errors
    /// When flushing or renaming fails; the destination is then untouched and the temporary
    /// file deleted.
    pub fn commit(self) -> io::Result<()> {
        self.publish(true)
    }

    /// Renames the file over the destination without flushing it or the folder to the
    /// disk: only for content whose every reader detects damage and treats it as a miss.
    ///
    /// # Errors
    /// As [`AtomicFile::commit`].
    pub fn commit_unflushed(self) -> io::Result<()> {
        self.publish(false)
    }

    fn publish(mut self, durable: bool) -> io::Result<()> {
        let durable = durable && !in_scratch_folder(&self.destination);
        let temp = self.temp.take().expect("an uncommitted file has its temporary path");
        let path = temp.to_path_buf();
        let synced = if durable { self.file.sync_all() } else { Ok(()) };
        let result = synced.and_then(|()| temp.persist(&self.destination).map_err(|e| e.error));
        held().remove(&path);
        result.map_err(|e| naming(&self.destination, &e))?;
        if durable {
            sync_folder(folder_of(&self.destination));
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let path = temp.to_path_buf();
            // Dropping the path deletes the file.
            drop(temp);
            held().remove(&path);
        }
    }
}

/// Writes `bytes` to `destination` atomically, without waiting for the disk: see
/// [`AtomicFile::commit_unflushed`].
///
/// # Errors
/// As [`AtomicFile::create`], the write, and [`AtomicFile::commit`].
pub fn write_unflushed(destination: impl Into<PathBuf>, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(destination)?;
    file.write_all(bytes)?;
    file.commit_unflushed()
}

/// A folder in the system's temporary folder that is removed with everything in it when
/// dropped, or by [`abandon_all`]. Its name, `PREFIX-PID-RANDOM`, names its process, so the
/// folders of killed processes can be found and removed.
#[derive(Debug)]
pub struct TemporaryFolder(Option<TempDir>);

impl TemporaryFolder {
    /// Creates a folder whose name starts with `prefix`, first removing the folders with
    /// that prefix whose process is gone.
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn create(prefix: &str) -> io::Result<Self> {
        Self::create_in(&std::env::temp_dir(), prefix)
    }

    /// As [`TemporaryFolder::create`], in the folder `parent` instead of the system's
    /// temporary folder.
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn create_in(parent: &Path, prefix: &str) -> io::Result<Self> {
        remove_abandoned_folders(parent, prefix);
        let mut held = held();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{prefix}{}-", std::process::id()))
            .tempdir_in(parent)?;
        held.insert(dir.path().to_path_buf());
        Ok(Self(Some(dir)))
    }

    /// Where it is.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.0.as_ref().map_or(Path::new(""), TempDir::path)
    }
}

impl Drop for TemporaryFolder {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let path = dir.path().to_path_buf();
            drop(dir);
            held().remove(&path);
        }
    }
}

/// Whether `destination` lies in one of this process's [`TemporaryFolder`]s, which is
/// deleted with everything in it: a file committed there is never flushed to the disk, as
/// it would be only to be thrown away.
fn in_scratch_folder(destination: &Path) -> bool {
    destination.parent().is_some_and(|folder| held().contains(folder))
}

/// Removes the folders in `parent` named `PREFIX-PID-…` whose process no longer runs. Where
/// that cannot be checked (no `/proc`), nothing is removed.
fn remove_abandoned_folders(parent: &Path, prefix: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    for entry in fs::read_dir(parent).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && !proc.join(pid.to_string()).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Deletes every temporary file and folder this process holds, and stops it creating more:
/// for a process about to exit on an interrupt. Returns how many were deleted.
pub fn abandon_all() -> usize {
    let guard = held();
    let mut removed = 0;
    for path in guard.iter() {
        let gone = if path.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) };
        removed += usize::from(gone.is_ok());
    }
    // Never unlocked: a writer that starts now waits until the process exits.
    std::mem::forget(guard);
    removed
}

/// Whether a file name is one of [`AtomicFile`]'s temporary names.
#[must_use]
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMP_MARK)
}

/// A temporary file whose writer is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// The temporary files in `folder` whose writer is gone: nobody holds the file's lock, and
/// the writer's process no longer runs (or, where that cannot be checked, the file is older
/// than [`STALE_AGE`]). A missing folder has none.
///
/// # Errors
/// When the folder cannot be listed.
pub fn orphans(folder: &Path) -> io::Result<Vec<Orphan>> {
    let listing = match fs::read_dir(folder) {
        Ok(listing) => listing,
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(naming(folder, &e)),
    };
    let mut found = Vec::new();
    for entry in listing {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| is_temporary(n)) else { continue };
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() && writer_is_gone(&entry.path(), name, &meta) {
            found.push(Orphan { path: entry.path(), size: meta.len() });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Deletes the orphans in `folder`; returns those it deleted.
///
/// # Errors
/// When the folder cannot be listed.
pub fn sweep_orphans(folder: &Path) -> io::Result<Vec<Orphan>> {
    let mut swept = orphans(folder)?;
    // One deleted meanwhile by another sweep is gone all the same.
    swept.retain(|o| fs::remove_file(&o.path).is_ok());
    Ok(swept)
}

fn writer_is_gone(path: &Path, name: &str, meta: &fs::Metadata) -> bool {
    let Ok(file) = File::open(path) else { return false };
    if matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)) {
        return false;
    }
    let pid = name
        .split(TEMP_MARK)
        .nth(1)
        .and_then(|rest| rest.split('-').next())
        .and_then(|pid| pid.parse::<u32>().ok());
    // Between creating its file and locking it a writer holds no lock yet, but its process
    // runs: only a process that no longer runs proves the writer gone.
    let proc = Path::new("/proc");
    let checkable = proc.join("self").exists();
    match pid {
        Some(pid) if checkable => pid != std::process::id() && !proc.join(pid.to_string()).exists(),
        _ => meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > STALE_AGE),
    }
}

/// The folder a file is in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Flushes a folder's entries to the disk, so that a rename in it survives a crash. Best
/// effort: some file systems cannot flush a folder, and the file itself is already safe.
fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

/// The same error, its message prefixed with the path it concerns.
fn naming(path: &Path, e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_committed_file_replaces_the_destination_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("song.wav");
        fs::write(&destination, b"old").unwrap();
        let mut file = AtomicFile::create(&destination).unwrap();
        file.write_all(b"new bytes").unwrap();
        assert_eq!(fs::read(&destination).unwrap(), b"old", "nothing shows before the commit");
        file.commit().unwrap();
        assert_eq!(fs::read(&destination).unwrap(), b"new bytes");
        assert_eq!(names(dir.path()), ["song.wav"]);
    }

    #[test]
    fn only_a_file_in_a_live_scratch_folder_skips_the_flushes() {
        let parent = tempfile::tempdir().unwrap();
        let scratch = TemporaryFolder::create_in(parent.path(), "mixdown-test-").unwrap();
        let inside = scratch.path().join("stream.flac");
        assert!(in_scratch_folder(&inside));
        assert!(!in_scratch_folder(&parent.path().join("song.wav")), "an ordinary folder");
        let mut file = AtomicFile::create(&inside).unwrap();
        file.write_all(b"encoded").unwrap();
        file.commit().unwrap();
        assert_eq!(fs::read(&inside).unwrap(), b"encoded");
        drop(scratch);
        assert!(!in_scratch_folder(&inside), "a folder dropped is no longer scratch");
    }

    #[test]
    fn a_dropped_file_leaves_the_destination_as_it_was_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("song.wav");
        let mut file = AtomicFile::create(&destination).unwrap();
        file.write_all(b"half").unwrap();
        drop(file);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn temporary_names_are_marked_unpredictable_and_name_their_writer() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("song.wav");
        let (_a, _b) = (AtomicFile::create(&destination), AtomicFile::create(&destination));
        let names = names(dir.path());
        assert_eq!(names.len(), 2);
        let own = format!(".song.wav.tmp-{}-", std::process::id());
        for name in &names {
            assert!(is_temporary(name) && name.starts_with(&own), "{name}");
            assert_eq!(name.len(), own.len() + RANDOM_CHARS, "{name}");
        }
        assert_ne!(names[0], names[1]);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_destination_is_replaced_and_its_target_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        fs::write(&outside, b"keep me").unwrap();
        let destination = dir.path().join("song.wav");
        std::os::unix::fs::symlink(&outside, &destination).unwrap();
        let mut file = AtomicFile::create(&destination).unwrap();
        file.write_all(b"audio").unwrap();
        file.commit().unwrap();
        assert_eq!(fs::read(&outside).unwrap(), b"keep me");
        assert!(!fs::symlink_metadata(&destination).unwrap().is_symlink());
        assert_eq!(fs::read(&destination).unwrap(), b"audio");
    }

    #[test]
    fn a_live_writers_file_is_no_orphan_and_a_dead_writers_is() {
        let dir = tempfile::tempdir().unwrap();
        let live = AtomicFile::create(dir.path().join("a")).unwrap();
        assert_eq!(orphans(dir.path()).unwrap(), []);
        // A file left by a writer whose process is gone, as after a SIGKILL: no lock held,
        // and a process id that no process has (above the kernel's largest).
        let dead = dir.path().join(".b.tmp-4194305-abcdefabcdef");
        fs::write(&dead, [0; 10]).unwrap();
        let found = sweep_orphans(dir.path()).unwrap();
        assert_eq!(found, [Orphan { path: dead.clone(), size: 10 }]);
        assert!(!dead.exists());
        drop(live);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn an_unlocked_file_of_a_running_process_is_kept_until_it_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        // Its writer runs (this process) but holds no lock: the moment between creating and
        // locking, or a writer on another machine.
        let fresh = dir.path().join(format!(".c.tmp-{}-abcdefabcdef", std::process::id()));
        fs::write(&fresh, [0; 10]).unwrap();
        assert_eq!(orphans(dir.path()).unwrap(), []);
        let unknown = dir.path().join(".d.tmp-notapid-abcdefabcdef");
        fs::write(&unknown, [0; 10]).unwrap();
        assert_eq!(orphans(dir.path()).unwrap(), []);
        let old = SystemTime::now() - 2 * STALE_AGE;
        File::options().write(true).open(&unknown).unwrap().set_modified(old).unwrap();
        assert_eq!(orphans(dir.path()).unwrap(), [Orphan { path: unknown, size: 10 }]);
    }

    #[test]
    fn a_temporary_folder_is_removed_when_dropped() {
        let folder = TemporaryFolder::create("mixdown-test-").unwrap();
        let path = folder.path().to_path_buf();
        fs::write(path.join("entry"), b"x").unwrap();
        drop(folder);
        assert!(!path.exists());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_killed_processs_temporary_folder_is_removed_and_a_running_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        let dead = parent.path().join("mixdown-cache-4194305-abcdef");
        let live = parent.path().join(format!("mixdown-cache-{}-abcdef", std::process::id()));
        let other = parent.path().join("someone-else-4194305-abcdef");
        for folder in [&dead, &live, &other] {
            fs::create_dir_all(folder.join("entries")).unwrap();
        }
        let made = TemporaryFolder::create_in(parent.path(), "mixdown-cache-").unwrap();
        assert!(!dead.exists());
        assert!(live.exists() && other.exists() && made.path().exists());
    }
}
