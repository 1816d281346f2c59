//! Watching the files a project reads, for `mixdown watch`.
//!
//! Editors save in two ways: writing the file in place, or writing a temporary file and
//! renaming it over the original, which leaves a watch on the old file looking at nothing.
//! So the watch is on each file's folder, and its events are filtered by name. One save
//! arrives as a burst of events; a change is reported once the files have been quiet for a
//! moment, so that one save renders once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// Why watching failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The operating system refused a watch.
    #[error("cannot watch `{path}`: {source}")]
    Watch {
        /// The folder that could not be watched.
        path: PathBuf,
        /// The watcher's error.
        source: notify::Error,
    },
    /// The watcher stopped delivering events.
    #[error("the file watcher stopped")]
    Stopped,
}

/// A set of files whose changes are waited for.
pub struct FileWatch {
    watcher: RecommendedWatcher,
    events: Receiver<notify::Result<Event>>,
    /// The watched files, each as its resolved folder joined with its name, which is how
    /// the events name them.
    files: BTreeSet<PathBuf>,
    /// The folders watched for them.
    folders: BTreeSet<PathBuf>,
}

impl FileWatch {
    /// A watch on no files yet.
    ///
    /// # Errors
    /// When the operating system offers no file watcher.
    pub fn new() -> Result<Self, WatchError> {
        let (sender, events) = channel();
        let watcher = notify::recommended_watcher(sender)
            .map_err(|source| WatchError::Watch { path: PathBuf::new(), source })?;
        Ok(Self { watcher, events, files: BTreeSet::new(), folders: BTreeSet::new() })
    }

    /// Watches exactly `files` from now on. A file in a folder that does not exist cannot
    /// be watched and is left out; a missing file in an existing folder is watched, so its
    /// creation counts as a change.
    ///
    /// # Errors
    /// When a folder cannot be watched.
    pub fn set_files(
        &mut self,
        files: impl IntoIterator<Item = PathBuf>,
    ) -> Result<(), WatchError> {
        self.files = files.into_iter().filter_map(|f| resolve(&f)).collect();
        let folders: BTreeSet<PathBuf> =
            self.files.iter().filter_map(|f| f.parent().map(Path::to_path_buf)).collect();
        for gone in self.folders.difference(&folders) {
            // A folder deleted since it was watched has already dropped its watch.
            let _ = self.watcher.unwatch(gone);
        }
        for new in folders.difference(&self.folders) {
            self.watcher
                .watch(new, RecursiveMode::NonRecursive)
                .map_err(|source| WatchError::Watch { path: new.clone(), source })?;
        }
        self.folders = folders;
        Ok(())
    }

    /// How many files are watched.
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is watched.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Waits for a watched file to change, then until no watched file has changed for
    /// `quiet`, and returns the files that changed, sorted. Changes made before this call
    /// (during a render, say) count. `None` when `timeout` passes with no change.
    ///
    /// # Errors
    /// When the watcher stops or reports an error.
    pub fn wait(
        &self,
        quiet: Duration,
        timeout: Option<Duration>,
    ) -> Result<Option<Vec<PathBuf>>, WatchError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut changed = BTreeSet::new();
        loop {
            let wait = if changed.is_empty() {
                deadline.map(|d| d.saturating_duration_since(Instant::now()))
            } else {
                Some(quiet)
            };
            let next = match wait {
                Some(wait) => self.events.recv_timeout(wait),
                None => self.events.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match next {
                Ok(Ok(event)) => changed.extend(self.watched_changes(&event)),
                Ok(Err(source)) => return Err(WatchError::Watch { path: PathBuf::new(), source }),
                Err(RecvTimeoutError::Timeout) if changed.is_empty() => return Ok(None),
                Err(RecvTimeoutError::Timeout) => return Ok(Some(changed.into_iter().collect())),
                Err(RecvTimeoutError::Disconnected) => return Err(WatchError::Stopped),
            }
        }
    }

    /// The watched files that `event` says changed.
    fn watched_changes<'a>(&'a self, event: &'a Event) -> impl Iterator<Item = PathBuf> + 'a {
        changes_content(event.kind)
            .then_some(event.paths.iter())
            .into_iter()
            .flatten()
            .filter(|p| self.files.contains(*p))
            .cloned()
    }
}

/// Whether an event can mean new content. Reads are not changes: a render reads every
/// file it watches, and must not set itself off again.
fn changes_content(kind: EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_)
        | EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        _ => true,
    }
}

/// `path` with its folder resolved (relative parts, `..` and links), as events name it;
/// `None` when the folder does not exist.
fn resolve(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(folder.canonicalize().ok()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long enough for any machine to deliver an event; a passing test never waits it out.
    const PATIENCE: Duration = Duration::from_secs(20);
    const QUIET: Duration = Duration::from_millis(50);
    /// How long a test waits to be sure that nothing is reported.
    const SILENCE: Duration = Duration::from_millis(500);

    fn watching(dir: &Path, names: &[&str]) -> FileWatch {
        let mut watch = FileWatch::new().unwrap();
        watch.set_files(names.iter().map(|n| dir.join(n))).unwrap();
        watch
    }

    /// A folder holding `mix.yaml`, and a watch on it.
    fn watching_a_mix() -> (tempfile::TempDir, FileWatch) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mix.yaml"), "a").unwrap();
        let watch = watching(dir.path(), &["mix.yaml"]);
        (dir, watch)
    }

    fn changed(watch: &FileWatch) -> Option<Vec<String>> {
        let files = watch.wait(QUIET, Some(PATIENCE)).unwrap()?;
        Some(files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect())
    }

    #[test]
    fn a_file_written_in_place_is_reported_once() {
        let (dir, watch) = watching_a_mix();
        std::fs::write(dir.path().join("mix.yaml"), "b").unwrap();
        assert_eq!(changed(&watch), Some(vec!["mix.yaml".to_string()]));
        assert_eq!(watch.wait(QUIET, Some(SILENCE)).unwrap(), None, "one save, one change");
    }

    #[test]
    fn a_file_saved_by_renaming_over_it_is_reported_and_stays_watched() {
        let (dir, watch) = watching_a_mix();
        for text in ["b", "c"] {
            std::fs::write(dir.path().join(".mix.yaml.swp"), text).unwrap();
            std::fs::rename(dir.path().join(".mix.yaml.swp"), dir.path().join("mix.yaml")).unwrap();
            assert_eq!(changed(&watch), Some(vec!["mix.yaml".to_string()]));
        }
    }

    #[test]
    fn other_files_in_the_folder_and_reads_are_not_changes() {
        let (dir, watch) = watching_a_mix();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        std::fs::write(dir.path().join("out/mix.wav"), "x").unwrap();
        let _ = std::fs::read(dir.path().join("mix.yaml")).unwrap();
        assert_eq!(watch.wait(QUIET, Some(SILENCE)).unwrap(), None);
    }

    #[test]
    fn files_in_several_folders_and_a_file_yet_to_be_created_are_watched() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("stems")).unwrap();
        std::fs::write(dir.path().join("mix.yaml"), "a").unwrap();
        let watch = watching(dir.path(), &["mix.yaml", "stems/kick.wav"]);
        assert_eq!(watch.len(), 2);
        std::fs::write(dir.path().join("stems/kick.wav"), "x").unwrap();
        assert_eq!(changed(&watch), Some(vec!["kick.wav".to_string()]));
    }

    #[test]
    fn a_new_set_of_files_replaces_the_old() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("old")).unwrap();
        std::fs::create_dir(dir.path().join("new")).unwrap();
        let mut watch = watching(dir.path(), &["old/a.wav"]);
        watch.set_files([dir.path().join("new/b.wav")]).unwrap();
        std::fs::write(dir.path().join("old/a.wav"), "x").unwrap();
        assert_eq!(watch.wait(QUIET, Some(SILENCE)).unwrap(), None);
        std::fs::write(dir.path().join("new/b.wav"), "x").unwrap();
        assert_eq!(changed(&watch), Some(vec!["b.wav".to_string()]));
    }

    #[test]
    fn a_file_in_a_missing_folder_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let watch = watching(dir.path(), &["mix.yaml", "nowhere/kick.wav"]);
        assert_eq!(watch.len(), 1);
    }
}
