//! Output files that a render replaced. Freeing a song-length file costs the file system
//! tens of milliseconds, and the rename that puts a new output in place would pay it
//! while the user waits for the render. So the old file
//! first gets a second name under the cache's `retired/` folder, which keeps the rename
//! cheap, and the next render removes those names on a thread of its own while it works.
//!
//! All of it is best effort: when the second name cannot be made (another file system, a
//! read-only cache), the rename frees the old file itself, as it would anyway.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

fn folder(cache_root: &Path) -> PathBuf {
    cache_root.join("retired")
}

/// Gives the file at `output`, if there is one, a second name under the cache, so that
/// replacing it does not free it.
pub fn retire(cache_root: &Path, output: &Path) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if !output.is_file() {
        return;
    }
    let folder = folder(cache_root);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = folder.join(format!("{}-{n}", std::process::id()));
    let _ = fs::create_dir_all(&folder).and_then(|()| fs::hard_link(output, name));
}

/// Removes the files earlier renders retired, on a thread of its own; dropping the
/// returned handle waits for it.
pub fn sweep(cache_root: &Path) -> Sweep {
    let cache_root = cache_root.to_path_buf();
    Sweep(Some(std::thread::spawn(move || remove_retired(&cache_root))))
}

/// Removes the files earlier renders retired, now.
pub fn remove_retired(cache_root: &Path) {
    let Ok(entries) = fs::read_dir(folder(cache_root)) else { return };
    for entry in entries.flatten() {
        let _ = fs::remove_file(entry.path());
    }
}

/// A sweep under way.
pub struct Sweep(Option<JoinHandle<()>>);

impl Drop for Sweep {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_file_outlives_its_replacement_until_the_next_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, output) = (dir.path().join("cache"), dir.path().join("song.wav"));
        retire(&cache, &output);
        assert!(!folder(&cache).exists(), "nothing to retire before the first output");

        fs::write(&output, b"first").unwrap();
        retire(&cache, &output);
        let replacement = dir.path().join("new.wav");
        fs::write(&replacement, b"second").unwrap();
        fs::rename(&replacement, &output).unwrap();
        let kept: Vec<_> = fs::read_dir(folder(&cache)).unwrap().flatten().collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(fs::read(kept[0].path()).unwrap(), b"first");
        assert_eq!(fs::read(&output).unwrap(), b"second");

        drop(sweep(&cache));
        assert_eq!(fs::read_dir(folder(&cache)).unwrap().count(), 0);
        assert_eq!(fs::read(&output).unwrap(), b"second");
    }
}
