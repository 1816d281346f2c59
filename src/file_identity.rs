//! A file's identity as the file system tells it without reading the file: size,
//! modification time, status-change time and inode. Equal identities mean the file was
//! not written, renamed over or had its times changed in between, to the resolution of the
//! file system's clock: the status-change time (ctime) is set by the system to now on each
//! of those and cannot be set back by a user, unlike the modification time.
//!
//! Identities decide only whether a file must be read again. They are never part of a key.

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// What the file system says of a file, short of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIdentity {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: u64,
    /// Status-change time, ns since the epoch (the modification time where the system keeps
    /// none).
    pub ctime_ns: u64,
    /// Inode number (0 where the system has none).
    pub inode: u64,
}

impl FileIdentity {
    /// The identity in `meta`; `None` when a time is missing or before the epoch.
    #[must_use]
    pub fn of(meta: &fs::Metadata) -> Option<Self> {
        let mtime_ns = nanos(meta.modified().ok()?)?;
        let (ctime_ns, inode) = status_change_and_inode(meta).unwrap_or((mtime_ns, 0));
        Some(Self { size: meta.len(), mtime_ns, ctime_ns, inode })
    }

    /// The identity of the file at `path` now, following links.
    #[must_use]
    pub fn of_path(path: &Path) -> Option<Self> {
        Self::of(&fs::metadata(path).ok()?)
    }
}

fn nanos(time: SystemTime) -> Option<u64> {
    time.duration_since(UNIX_EPOCH).ok()?.as_nanos().try_into().ok()
}

#[cfg(unix)]
fn status_change_and_inode(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let seconds = u64::try_from(meta.ctime()).ok()?;
    let nanos = u64::try_from(meta.ctime_nsec()).ok()?;
    Some((seconds.checked_mul(1_000_000_000)?.checked_add(nanos)?, meta.ino()))
}

#[cfg(not(unix))]
fn status_change_and_inode(_meta: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{Seek, SeekFrom, Write};

    #[test]
    fn a_byte_rewritten_in_place_with_its_time_restored_changes_the_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("song.wav");
        fs::write(&path, b"0123456789").unwrap();
        let old = SystemTime::now() - std::time::Duration::from_hours(1);
        File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        let before = FileIdentity::of_path(&path).unwrap();
        // The status-change time moves on coarse clocks too, given a tick to do so.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut file = File::options().write(true).open(&path).unwrap();
        file.seek(SeekFrom::Start(4)).unwrap();
        file.write_all(b"X").unwrap();
        file.set_modified(old).unwrap();
        let after = FileIdentity::of_path(&path).unwrap();
        assert_eq!(
            (after.size, after.mtime_ns, after.inode),
            (before.size, before.mtime_ns, before.inode)
        );
        assert_ne!(after, before);
    }
}
