//! Which processes write into a cache folder. A process marks itself in `writers/` before
//! it creates its first unfinished file there, and removes its mark when it is done. The
//! mark is a temporary file of [`crate::atomic_file`], locked by its writer, so a writer
//! that is gone (killed, crashed, out of disk) leaves a mark that the usual orphan test
//! finds.
//!
//! An unfinished file can only be left by such a writer, so a render walks the whole cache
//! for orphans only when it finds a mark left behind. Otherwise its tidying is one listing
//! of a small folder, however many entries the cache holds: in a cache of 3,000 entries,
//! walking every shard folder made each no-op render four times slower.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::atomic_file::{self, AtomicFile, Orphan};

/// The folder of marks, in the cache's root.
pub(super) const WRITERS: &str = "writers";

/// The name each mark's temporary file is made for; it is never committed.
const MARK: &str = "mark";

/// This process's marks, one per cache root it has written into.
static MARKS: Mutex<Vec<AtomicFile>> = Mutex::new(Vec::new());

fn marks() -> MutexGuard<'static, Vec<AtomicFile>> {
    // Every change (a push, a retain, a clear) leaves the list whole if it panics.
    MARKS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Marks this process as a writer of the cache whose marks folder is `folder`, unless it
/// already is; `make_folder` makes the folder. Call before creating an unfinished file in
/// that cache.
///
/// # Errors
/// When the folder or the mark cannot be created.
pub(super) fn mark(folder: &Path, make_folder: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
    let mut marks = marks();
    if marks.iter().any(|m| m.destination().parent() == Some(folder)) {
        return Ok(());
    }
    // A cache removed since (a temporary one, made for each render without a cache) needs
    // its mark no longer, nor the open file behind it.
    marks.retain(|m| m.destination().parent().is_some_and(Path::exists));
    make_folder()?;
    marks.push(AtomicFile::create(folder.join(MARK))?);
    Ok(())
}

/// Removes this process's marks: for a process whose writing is over, as it exits.
pub fn unmark_all() {
    marks().clear();
}

/// The marks in `folder` whose writer is gone.
///
/// # Errors
/// When the folder cannot be listed.
pub(super) fn gone(folder: &Path) -> io::Result<Vec<Orphan>> {
    atomic_file::orphans(folder)
}

/// The marks folder of the cache at `root`.
pub(super) fn folder(root: &Path) -> PathBuf {
    root.join(WRITERS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held by the tests that look at this process's marks, since one of them clears them.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    fn marks_in(folder: &Path) -> usize {
        std::fs::read_dir(folder).map_or(0, Iterator::count)
    }

    #[test]
    fn a_writer_marks_a_cache_once_and_its_live_mark_is_not_gone() {
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(WRITERS);
        let make = || std::fs::create_dir_all(&folder);
        mark(&folder, make).unwrap();
        mark(&folder, make).unwrap();
        assert_eq!(marks_in(&folder), 1);
        assert_eq!(gone(&folder).unwrap(), []);
        unmark_all();
        assert_eq!(marks_in(&folder), 0, "a writer that is done leaves no mark");
    }

    #[test]
    fn the_mark_of_a_cache_removed_since_is_let_go() {
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let dir = tempfile::tempdir().unwrap();
        let (first, second) =
            (dir.path().join("a").join(WRITERS), dir.path().join("b").join(WRITERS));
        mark(&first, || std::fs::create_dir_all(&first)).unwrap();
        std::fs::remove_dir_all(dir.path().join("a")).unwrap();
        mark(&second, || std::fs::create_dir_all(&second)).unwrap();
        let held = |folder: &Path| marks().iter().any(|m| m.destination().parent() == Some(folder));
        assert!(!held(&first) && held(&second));
    }

    #[test]
    fn a_mark_whose_writer_is_gone_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(WRITERS);
        std::fs::create_dir_all(&folder).unwrap();
        // No process runs with this id (it is above the kernel's largest).
        let left = folder.join(".mark.tmp-4194305-abcdefabcdef");
        std::fs::write(&left, b"").unwrap();
        let found: Vec<PathBuf> = gone(&folder).unwrap().into_iter().map(|o| o.path).collect();
        assert_eq!(found, [left]);
    }
}
