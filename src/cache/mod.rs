//! The content-addressed cache and the folder that holds it.
//!
//! | module | owns |
//! |---|---|
//! | [`folder`] | the cache folder's layout: the only place that hands out paths in it |
//! | [`storage`] | the `Storage` trait: where entries are kept (a seam for remote backends) |
//! | [`local_disk`] | the local `Storage` backend, `entries/ab/cd/<key>` |
//! | [`store`] | the entry format on top of a `Storage`: checksummed audio, gc, verify |
//! | [`encoded`] | encoded entries: a deliverable's stream before its tags, checksummed |
//! | [`remote`] | a shared remote cache beside the local one (S3, GCS, Azure, GitHub Actions) |
//! | [`manifest`] | the typed, versioned manifest stored in every entry |
//! | [`keys`] | what goes into a node's key |
//! | [`file_digest`] | input files' digests, and the stat memo `files.json` |
//! | [`latest_render`] | each node's last key and its material, for `explain` |
//! | [`measurement`] | measurements of a node's audio (loudness), under the node's key |
//! | [`output_record`] | what each output file was written for, to trust it unread |
//! | [`retired`] | replaced output files waiting to be deleted |
//! | [`housekeeping`] | tidying on a thread while a render works |
//!
//! Nothing here decides what goes into a key beyond [`keys`]; the caller's description of
//! the key is stored beside each entry so that a render can explain what changed. Every
//! file is written through [`crate::atomic_file`].

pub mod encoded;
pub mod file_digest;
pub mod folder;
pub mod housekeeping;
pub mod keys;
pub mod latest_render;
pub mod local_disk;
pub mod manifest;
pub mod measurement;
pub mod output_record;
pub mod remote;
pub mod retired;
pub mod storage;
pub mod store;
pub mod writers;

use std::fmt;
use std::io;

/// The name of a cache entry: a 32-byte blake3 hash of everything that determines its audio.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub [u8; 32]);

impl Key {
    /// Parses 64 hex digits, either case.
    #[must_use]
    pub fn from_hex(text: &str) -> Option<Self> {
        parse_hex(text).map(Self)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

/// Why a cache entry could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// No entry has this key.
    #[error("cache entry {key} does not exist")]
    Missing {
        /// The entry.
        key: Key,
    },
    /// The entry exists but is damaged: treat it as a miss, render again and warn.
    #[error("cache entry {key} is corrupt: {reason}")]
    Corrupt {
        /// The entry.
        key: Key,
        /// What is wrong with it.
        reason: String,
    },
    /// The entry could not be read.
    #[error("cannot read cache entry {key}: {source}")]
    Io {
        /// The entry.
        key: Key,
        /// What the operating system said.
        source: io::Error,
    },
}

/// Writes bytes as lowercase hex.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

/// Parses exactly `2·N` hex digits.
pub(crate) fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        *byte = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_prints_as_64_lowercase_hex_digits_and_parses_back() {
        let key = Key(std::array::from_fn(|i| (i * 37 + 5) as u8));
        let text = key.to_string();
        assert_eq!(text.len(), 64);
        assert!(text.starts_with("052a4f"), "{text}");
        assert_eq!(Key::from_hex(&text), Some(key));
        assert_eq!(Key::from_hex(&text.to_uppercase()), Some(key));
    }

    #[test]
    fn malformed_hex_is_not_a_key() {
        assert_eq!(Key::from_hex("00"), None);
        assert_eq!(Key::from_hex(&"g".repeat(64)), None);
        assert_eq!(Key::from_hex(&"+1".repeat(32)), None);
        assert_eq!(Key::from_hex(&"é".repeat(32)), None);
    }
}
