//! What a render tidies in the cache on a thread of its own while it works: the output
//! files earlier renders retired, and the unfinished files of writers that are gone
//! (killed, or out of disk). Never a live writer's file: see [`crate::atomic_file`].
//! Only a writer that is gone leaves unfinished files, and it leaves its mark too (see
//! [`super::writers`]), so the cache is walked for them only when such a mark is found;
//! `cache gc` always walks it.

use std::thread::JoinHandle;

use super::folder::CacheDir;
use super::retired::remove_retired;
use super::store::Store;

/// Housekeeping under way; dropping it waits for it to finish.
#[derive(Debug)]
pub struct Housekeeping(Option<JoinHandle<()>>);

impl Housekeeping {
    /// Starts tidying `cache` and its `store`. Best effort: what cannot be removed now is
    /// left for the next render or `cache gc`.
    #[must_use]
    pub fn start(cache: &CacheDir, store: &Store) -> Self {
        let (cache, store) = (cache.clone(), store.clone());
        Self(Some(std::thread::spawn(move || {
            remove_retired(&cache);
            // A marks folder that cannot be listed tells nothing: walk the cache then too.
            let gone = cache.writers_gone();
            if gone.as_ref().is_ok_and(Vec::is_empty) {
                return;
            }
            let _ = store.sweep_orphans();
            for orphan in cache.orphans().unwrap_or_default() {
                let _ = std::fs::remove_file(orphan.path);
            }
            // The marks go last, so a sweep cut short is taken up by the next render.
            for mark in gone.unwrap_or_default() {
                let _ = std::fs::remove_file(mark.path);
            }
        })))
    }
}

impl Drop for Housekeeping {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::local_disk::LocalDisk;
    use crate::cache::writers::WRITERS;

    /// No process has this id: it is above the kernel's largest.
    const DEAD_PID: u32 = 4_194_305;

    #[test]
    fn the_entries_are_walked_for_unfinished_files_only_when_a_writer_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path());
        let store = Store::local(&cache);
        let entry = LocalDisk::new(&cache).path(&crate::cache::Key([7; 32]));
        let shard = entry.parent().unwrap();
        cache.folder(shard).unwrap();
        let name = entry.file_name().unwrap().to_string_lossy();
        let unfinished = shard.join(format!(".{name}.tmp-{DEAD_PID}-abcdefabcdef"));
        std::fs::write(&unfinished, [0; 100]).unwrap();
        drop(Housekeeping::start(&cache, &store));
        assert!(unfinished.exists(), "no writer is gone, so the entries were not walked");

        let mark = dir.path().join(WRITERS).join(format!(".mark.tmp-{DEAD_PID}-abcdefabcdef"));
        std::fs::write(&mark, b"").unwrap();
        drop(Housekeeping::start(&cache, &store));
        assert!(!unfinished.exists(), "the file of a writer that is gone is removed");
        assert!(!mark.exists(), "and its mark with it");
    }
}
