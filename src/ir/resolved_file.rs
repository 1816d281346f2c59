//! A file a chain step reads (an impulse response), resolved once while the mix is lowered:
//! where it is, and the digest of its bytes.
//!
//! A cache key hashes the digest, never the path, so a file moved or renamed with the same
//! bytes renders nothing again, and a file rewritten in place changes the key. The digest
//! comes from whoever lowers the mix, through [`ContentDigests`]: this module reads no file.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

/// The blake3 digest of a file's bytes.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentDigest(pub [u8; 32]);

impl fmt::Display for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentDigest({self})")
    }
}

/// A file as a lowered step reads it: its path and the digest of its bytes, looked up once.
/// It serializes (into cache keys) as its digest alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFile {
    /// The file, resolved against the project file's folder.
    pub path: PathBuf,
    /// The digest of its bytes when the mix was lowered.
    pub content: ContentDigest,
}

impl Serialize for ResolvedFile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.content)
    }
}

/// Gives the digest of a file's bytes, for lowering to resolve the files a mix reads.
pub trait ContentDigests {
    /// The blake3 digest of the bytes of the file at `path`.
    ///
    /// # Errors
    /// When the file cannot be read.
    fn digest(&mut self, path: &Path) -> io::Result<ContentDigest>;
}

impl<F: FnMut(&Path) -> io::Result<ContentDigest>> ContentDigests for F {
    fn digest(&mut self, path: &Path) -> io::Result<ContentDigest> {
        self(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resolved_file_serializes_as_its_digest_and_never_its_path() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let file =
            ResolvedFile { path: "/home/me/irs/plate.wav".into(), content: ContentDigest(bytes) };
        let json = serde_json::to_string(&file).unwrap();
        assert_eq!(json, format!("\"ab{}01\"", "00".repeat(30)));
    }
}
