//! Proof that the bytes a decoder read are the bytes a cache key was made of.
//!
//! A source's key is the blake3 digest of its file, taken before the render; the decoder
//! reads the file again later. If the file is rewritten in between, or while it is read,
//! the audio no longer belongs to the key, and storing it would poison the cache. There are
//! two proofs, and every byte is hashed once per render whichever is used:
//!
//! - When this run hashed the file itself and saw its identity (size, times, inode) settled
//!   and unchanged across that read, the file the decoder opens must still have that
//!   identity when it is opened and when it has been read ([`unchanged_since_hashed`]). A
//!   write or a rename sets the status-change time to now, which a settled identity's is
//!   not, so equal identities mean the same bytes without reading them again.
//! - Otherwise (the digest came from the stat memo of an earlier run, or the file was too
//!   recently changed to trust its times), the decoder reads through a [`HashedFile`],
//!   which feeds every byte, in file order, to blake3 as it goes by; [`ContentCheck::confirm`]
//!   then hashes whatever the decoder did not read (a clip may stop early, a container may
//!   end before the file does) and compares. A memo that lies is caught here.
//!
//! Bytes are hashed once, in order: a read that starts past the hashed prefix first hashes
//! the gap, and bytes read again after a seek back are not hashed twice. The file handle is
//! the one the decoder reads, so a file replaced by a rename after it was opened is still
//! the old file here, and checks as such.
//!
//! This module knows nothing of keys or caches: it compares with what it is given.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::file_identity::FileIdentity;

/// Bytes read at a time when hashing what the decoder skipped.
const CATCH_UP_BYTES: usize = 256 * 1024;

/// The file as the decoder reads it: a `Read + Seek` that hashes what passes through.
#[derive(Debug)]
pub struct HashedFile {
    shared: Arc<Mutex<Tracked>>,
}

/// What a file's bytes must be: the digest a key was made of, and how it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedContent {
    /// The blake3 digest of the whole file.
    pub digest: [u8; 32],
    /// The file's identity while this run hashed it, when that identity was settled (older
    /// than the run, so that a later write shows in its status-change time) and the same
    /// before and after the read; `None` when the digest came from an earlier run's memo.
    pub hashed_as: Option<FileIdentity>,
}

/// The check, kept by whoever must confirm the content, that the bytes read were expected.
#[derive(Debug)]
pub struct ContentCheck(Proof);

#[derive(Debug)]
enum Proof {
    /// The other end of a [`HashedFile`].
    Hashed { shared: Arc<Mutex<Tracked>>, expected: [u8; 32] },
    /// A handle on the file being read, which must keep the identity it was hashed with.
    Unchanged { file: File, identity: FileIdentity },
}

#[derive(Debug)]
struct Tracked {
    file: File,
    /// Where the next read starts.
    pos: u64,
    /// Bytes `0..hashed` have gone into `hasher`.
    hashed: u64,
    hasher: blake3::Hasher,
}

/// Wraps `file`, which must be at its start, so that what is read from it can be checked
/// against `expected`, the blake3 digest of the whole file.
#[must_use]
pub fn hashed(file: File, expected: [u8; 32]) -> (HashedFile, ContentCheck) {
    let tracked = Tracked { file, pos: 0, hashed: 0, hasher: blake3::Hasher::new() };
    let shared = Arc::new(Mutex::new(tracked));
    let check = ContentCheck(Proof::Hashed { shared: Arc::clone(&shared), expected });
    (HashedFile { shared }, check)
}

/// The check for `file`, just opened, that needs no hashing: `Some` when `expected` was
/// hashed in this run and the open file still has the identity it had then. The decoder
/// then reads `file` itself; `None` means it must read through [`hashed`].
#[must_use]
pub fn unchanged_since_hashed(file: &File, expected: &ExpectedContent) -> Option<ContentCheck> {
    let identity = expected.hashed_as?;
    let now = FileIdentity::of(&file.metadata().ok()?)?;
    let handle = file.try_clone().ok()?;
    (now == identity).then_some(ContentCheck(Proof::Unchanged { file: handle, identity }))
}

fn lock(shared: &Mutex<Tracked>) -> MutexGuard<'_, Tracked> {
    // The lock guards plain data that no panic can leave inconsistent in a way that
    // matters: at worst the digest mismatches, which is reported as a changed file.
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl HashedFile {
    /// The file's length in bytes, as it is now.
    #[must_use]
    pub fn byte_len(&self) -> Option<u64> {
        lock(&self.shared).file.metadata().ok().map(|m| m.len())
    }
}

impl Read for HashedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut t = lock(&self.shared);
        if t.pos > t.hashed {
            let to = t.pos;
            t.hash_up_to(to)?;
        }
        let n = t.file.read(buf)?;
        let (start, end) = (t.pos, t.pos + n as u64);
        if start <= t.hashed && t.hashed < end {
            let fresh = (t.hashed - start) as usize;
            t.hasher.update(&buf[fresh..n]);
            t.hashed = end;
        }
        t.pos = end;
        Ok(n)
    }
}

impl Seek for HashedFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let mut t = lock(&self.shared);
        t.pos = t.file.seek(to)?;
        Ok(t.pos)
    }
}

impl Tracked {
    /// Hashes the bytes from `hashed` to `end` (or the end of the file, if sooner), then
    /// puts the file back at `pos`.
    fn hash_up_to(&mut self, end: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(self.hashed))?;
        let mut buf = vec![0; CATCH_UP_BYTES];
        while self.hashed < end {
            let want = (end - self.hashed).min(CATCH_UP_BYTES as u64) as usize;
            let n = self.file.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            self.hasher.update(&buf[..n]);
            self.hashed += n as u64;
        }
        self.file.seek(SeekFrom::Start(self.pos)).map(drop)
    }
}

impl ContentCheck {
    /// Says whether the whole file, as read, has the expected content: through a
    /// [`HashedFile`], by hashing the rest of it and comparing digests; otherwise by asking
    /// the open file for its identity again.
    ///
    /// # Errors
    /// When the rest of the file cannot be read, or its identity cannot be had.
    pub fn confirm(&self) -> io::Result<bool> {
        match &self.0 {
            Proof::Hashed { shared, expected } => {
                let mut t = lock(shared);
                t.hash_up_to(u64::MAX)?;
                Ok(t.hasher.finalize().as_bytes() == expected)
            }
            Proof::Unchanged { file, identity } => {
                Ok(FileIdentity::of(&file.metadata()?).as_ref() == Some(identity))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn digest(bytes: &[u8]) -> [u8; 32] {
        *blake3::hash(bytes).as_bytes()
    }

    fn bytes() -> Vec<u8> {
        (0..600_000_u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
    }

    /// A scratch folder holding `a.wav` with [`bytes`] in it: the folder, the file, the bytes.
    fn written() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let content = bytes();
        fs::write(&path, &content).unwrap();
        (dir, path, content)
    }

    #[test]
    fn reading_in_order_then_confirming_matches_the_digest_of_the_file() {
        let (_dir, path, content) = written();
        let (mut file, check) = hashed(File::open(&path).unwrap(), digest(&content));
        let mut buf = vec![0; 1000];
        file.read_exact(&mut buf).unwrap();
        assert!(check.confirm().unwrap(), "the unread rest is hashed too");
    }

    #[test]
    fn seeks_forward_and_back_hash_every_byte_once() {
        let (_dir, path, content) = written();
        let (mut file, check) = hashed(File::open(&path).unwrap(), digest(&content));
        let mut buf = vec![0; 4000];
        file.seek(SeekFrom::Start(300_000)).unwrap();
        file.read_exact(&mut buf).unwrap();
        assert_eq!(buf, content[300_000..304_000], "reads still see the file's bytes");
        file.seek(SeekFrom::Start(10)).unwrap();
        file.read_exact(&mut buf).unwrap();
        assert_eq!(buf, content[10..4010]);
        assert!(check.confirm().unwrap());
    }

    #[test]
    fn a_file_rewritten_in_place_while_it_is_read_fails_the_check() {
        let (_dir, path, content) = written();
        let (mut file, check) = hashed(File::open(&path).unwrap(), digest(&content));
        let mut buf = vec![0; 1000];
        file.read_exact(&mut buf).unwrap();
        let mut changed = content.clone();
        changed[500_000] ^= 1;
        fs::write(&path, &changed).unwrap();
        assert!(!check.confirm().unwrap());
    }

    #[test]
    fn a_file_replaced_by_a_rename_after_opening_is_still_the_file_that_was_opened() {
        let (dir, path, content) = written();
        let (mut file, check) = hashed(File::open(&path).unwrap(), digest(&content));
        let other = dir.path().join("b.wav");
        fs::write(&other, b"something else").unwrap();
        fs::rename(&other, &path).unwrap();
        let mut buf = vec![0; 1000];
        file.read_exact(&mut buf).unwrap();
        assert_eq!(buf, content[..1000]);
        assert!(check.confirm().unwrap());
    }

    #[test]
    fn a_different_expected_digest_fails_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        fs::write(&path, bytes()).unwrap();
        let (_, check) = hashed(File::open(&path).unwrap(), digest(b"another file"));
        assert!(!check.confirm().unwrap());
    }
}
