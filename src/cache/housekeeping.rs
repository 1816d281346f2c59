//! What a render tidies in the cache on a thread of its own while it works: the output
//! files earlier renders retired, and the unfinished files of writers that are gone
//! (killed, or out of disk). Never a live writer's file: see [`crate::atomic_file`].

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
            let _ = store.sweep_orphans();
            for orphan in cache.orphans().unwrap_or_default() {
                let _ = std::fs::remove_file(orphan.path);
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
