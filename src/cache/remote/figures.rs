//! What the remote cache did: hits, misses, bytes in and out, uploads and errors, counted
//! during a render and added to running totals in the cache folder for `mixdown cache
//! stats`. The totals are a memo: a damaged file reads as zeros, and two renders finishing
//! at the same instant may lose one's figures.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::cache::folder::CacheDir;

/// Counts of traffic with a remote cache.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteFigures {
    /// Entries read from the remote and verified.
    pub hits: u64,
    /// Entries looked up and not found.
    pub misses: u64,
    /// Bytes read from the remote.
    pub bytes_in: u64,
    /// Bytes sent to the remote.
    pub bytes_out: u64,
    /// Entries uploaded.
    pub uploads: u64,
    /// Requests that failed, and objects that failed their checks.
    pub errors: u64,
}

impl RemoteFigures {
    /// The running totals kept in `cache`; zeros when there are none.
    #[must_use]
    pub fn load(cache: &CacheDir) -> Self {
        std::fs::read(cache.remote_figures())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Adds `more` to the running totals kept in `cache`.
    ///
    /// # Errors
    /// When the totals cannot be written.
    pub fn add_to(more: Self, cache: &CacheDir) -> io::Result<()> {
        let mut totals = Self::load(cache);
        totals.hits += more.hits;
        totals.misses += more.misses;
        totals.bytes_in += more.bytes_in;
        totals.bytes_out += more.bytes_out;
        totals.uploads += more.uploads;
        totals.errors += more.errors;
        let bytes = serde_json::to_vec(&totals).map_err(io::Error::other)?;
        cache.write(&cache.remote_figures(), &bytes)
    }
}

/// [`RemoteFigures`] counted from many threads.
#[derive(Debug, Default)]
pub struct Counters {
    pub(super) hits: AtomicU64,
    pub(super) misses: AtomicU64,
    pub(super) bytes_in: AtomicU64,
    pub(super) bytes_out: AtomicU64,
    pub(super) uploads: AtomicU64,
    pub(super) errors: AtomicU64,
}

impl Counters {
    /// Adds `n` to `counter`.
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The counts so far.
    pub(super) fn snapshot(&self) -> RemoteFigures {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RemoteFigures {
            hits: get(&self.hits),
            misses: get(&self.misses),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            uploads: get(&self.uploads),
            errors: get(&self.errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_add_up_across_renders_and_damage_reads_as_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        assert_eq!(RemoteFigures::load(&cache), RemoteFigures::default());
        let one =
            RemoteFigures { hits: 2, misses: 1, bytes_in: 100, errors: 1, ..Default::default() };
        RemoteFigures::add_to(one, &cache).unwrap();
        RemoteFigures::add_to(RemoteFigures { hits: 1, bytes_out: 7, uploads: 1, ..one }, &cache)
            .unwrap();
        let totals = RemoteFigures::load(&cache);
        assert_eq!(
            totals,
            RemoteFigures {
                hits: 3,
                misses: 2,
                bytes_in: 200,
                bytes_out: 7,
                uploads: 1,
                errors: 2
            }
        );
        std::fs::write(cache.remote_figures(), b"{ torn").unwrap();
        assert_eq!(RemoteFigures::load(&cache), RemoteFigures::default());
    }
}
