//! Output files that a render replaced. Freeing a song-length file costs the file system
//! tens of milliseconds, which the rename putting a new output in place would pay while the
//! user waits; so the old file first gets a second name in the cache's `retired/` folder,
//! and a later render's housekeeping deletes those names on a thread of its own.
//!
//! All of it is best effort: when the second name cannot be made (another file system, a
//! read-only cache), the rename frees the old file itself, as it would anyway.

use std::fs;
use std::path::Path;

use super::folder::CacheDir;

/// Gives the file at `output`, if there is one, a second name in the cache, so that
/// replacing it does not free it.
pub fn retire(cache: &CacheDir, output: &Path) {
    let is_file = fs::symlink_metadata(output).is_ok_and(|m| m.is_file());
    let folder = cache.retired();
    if !is_file || cache.folder(&folder).is_err() {
        return;
    }
    let _ = fs::hard_link(output, folder.join(unique_name()));
}

/// Removes the files earlier renders retired.
pub fn remove_retired(cache: &CacheDir) {
    let Ok(entries) = fs::read_dir(cache.retired()) else { return };
    for entry in entries.flatten() {
        let _ = fs::remove_file(entry.path());
    }
}

/// A name no other retirement, in this process or another, chooses: the process, a count
/// and the time. A clash only loses the second name, as `hard_link` never overwrites.
fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}-{}", std::process::id(), now.map_or(0, |d| d.as_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_file_outlives_its_replacement_until_it_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        let output = dir.path().join("song.wav");
        retire(&cache, &output);
        assert!(!cache.retired().exists(), "nothing to retire before the first output");

        fs::write(&output, b"first").unwrap();
        retire(&cache, &output);
        let replacement = dir.path().join("new.wav");
        fs::write(&replacement, b"second").unwrap();
        fs::rename(&replacement, &output).unwrap();
        let kept: Vec<_> = fs::read_dir(cache.retired()).unwrap().flatten().collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(fs::read(kept[0].path()).unwrap(), b"first");
        assert_eq!(fs::read(&output).unwrap(), b"second");

        remove_retired(&cache);
        assert_eq!(fs::read_dir(cache.retired()).unwrap().count(), 0);
        assert_eq!(fs::read(&output).unwrap(), b"second");
    }
}
