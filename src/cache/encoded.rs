//! Encoded entries: a deliverable's encoded stream (a FLAC, MP3 or WAV file before its
//! tags) kept in the same [`Storage`] as audio entries, named by the encode node's key, so
//! that a tag edit writes the tags around the stored stream instead of encoding again.
//!
//! # Entry format
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `mixenc\0\0` |
//! | 8..12 | format version (u32 LE), [`ENCODED_VERSION`] |
//! | 12..16 | zero |
//! | 16..24 | stream length in bytes (u64 LE) |
//! | 24..32 | checksum (u64 LE): xxh3-64 of the stream, then the facts |
//! | 32..40 | facts length in bytes (u64 LE) |
//! | 40..64 | zero |
//! | 64.. | the stream, then the facts: JSON, see [`EncodedFacts`] |
//!
//! As with audio entries, the header is written last over zeros and the object is
//! published whole; anything else that a backend hands back fails the magic, the size or
//! the checksum and counts as a miss. The checksum is checked as the stream is copied out,
//! so a caller places what it copied only after [`EncodedReader::copy_to`] succeeds.

use std::hash::Hasher as _;
use std::io::{self, Read, Seek, SeekFrom, Write};

use serde::{Deserialize, Serialize};
use twox_hash::XxHash3_64;

use super::store::Store;
use super::{CacheError, Key};

/// Version of the encoded entry format.
pub const ENCODED_VERSION: u32 = 1;

const MAGIC: [u8; 8] = *b"mixenc\0\0";
const HEADER_BYTES: u64 = 64;
/// Facts are a few hundred bytes; anything larger is damage.
const MAX_FACTS_BYTES: u64 = 64 * 1024;
const COPY_BUFFER_BYTES: usize = 256 * 1024;

/// What the encode node says about its stream, read back with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodedFacts {
    /// The encode node's id.
    pub node: String,
    /// Frames encoded.
    pub frames: u64,
    /// Their rate.
    pub sample_rate: u32,
    /// Integer samples that reached full scale, and the loudest sample (1.0 is full scale).
    pub clipped_samples: u64,
    /// The loudest sample before conversion.
    pub peak: f32,
    /// The gain an MP3 was lowered by, in dB, for its decoded true peak to stay under the
    /// ceiling; `None` when it needed none.
    pub headroom_trim_db: Option<f64>,
}

/// Stores `stream` (its bytes up to the end) under `key`, with `facts`.
///
/// # Errors
/// When the stream cannot be read or the backend cannot take the entry.
pub fn store_encoded(
    store: &Store,
    key: &Key,
    stream: &mut impl Read,
    facts: &EncodedFacts,
) -> io::Result<()> {
    let mut object = store.storage().put(key)?;
    object.write_all(&[0; HEADER_BYTES as usize])?;
    let mut hasher = XxHash3_64::new();
    let mut buffer = vec![0; COPY_BUFFER_BYTES];
    let mut length = 0u64;
    loop {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.write(&buffer[..n]);
        object.write_all(&buffer[..n])?;
        length += n as u64;
    }
    let facts = serde_json::to_vec(facts).map_err(io::Error::other)?;
    hasher.write(&facts);
    object.write_all(&facts)?;
    let mut header = [0u8; HEADER_BYTES as usize];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&ENCODED_VERSION.to_le_bytes());
    header[16..24].copy_from_slice(&length.to_le_bytes());
    header[24..32].copy_from_slice(&hasher.finish().to_le_bytes());
    header[32..40].copy_from_slice(&(facts.len() as u64).to_le_bytes());
    object.seek(SeekFrom::Start(0))?;
    object.write_all(&header)?;
    object.commit()
}

/// An encoded entry being read.
pub struct EncodedReader {
    key: Key,
    reader: Box<dyn super::storage::ReadSeek>,
    length: u64,
    checksum: u64,
    facts_bytes: Vec<u8>,
    facts: EncodedFacts,
}

impl std::fmt::Debug for EncodedReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedReader").field("key", &self.key).finish_non_exhaustive()
    }
}

/// Whether `key` names an encoded entry (not an audio one). Only a look at its magic.
#[must_use]
pub fn is_encoded(store: &Store, key: &Key) -> bool {
    let Ok(Some(mut object)) = store.storage().get(key) else { return false };
    let mut magic = [0u8; 8];
    object.reader.read_exact(&mut magic).is_ok() && magic == MAGIC
}

/// Opens the encoded entry `key`, reading its facts; records the use.
///
/// # Errors
/// [`CacheError::Missing`] when there is none, [`CacheError::Corrupt`] when its header,
/// size or facts are wrong (damage inside the stream is found by
/// [`EncodedReader::copy_to`]).
pub fn open_encoded(store: &Store, key: &Key) -> Result<EncodedReader, CacheError> {
    let reader = read_encoded(store, key)?;
    store.storage().touch(key);
    Ok(reader)
}

/// Opens the encoded entry `key` without recording a use, as `cache verify` reads.
///
/// # Errors
/// As [`open_encoded`].
pub fn read_encoded(store: &Store, key: &Key) -> Result<EncodedReader, CacheError> {
    let key = *key;
    let object = match store.storage().get(&key) {
        Ok(Some(object)) => object,
        Ok(None) => return Err(CacheError::Missing { key }),
        Err(source) => return Err(CacheError::Io { key, source }),
    };
    let corrupt = |reason: &str| CacheError::Corrupt { key, reason: reason.to_string() };
    let io = |source| CacheError::Io { key, source };
    let mut reader = object.reader;
    let mut header = [0u8; HEADER_BYTES as usize];
    if object.size < HEADER_BYTES || reader.read_exact(&mut header).is_err() {
        return Err(corrupt("shorter than its header"));
    }
    let word = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().expect("8 bytes"));
    if header[..8] != MAGIC {
        return Err(corrupt("not an encoded entry"));
    }
    if header[8..12] != ENCODED_VERSION.to_le_bytes() {
        return Err(corrupt("an encoded entry of another version"));
    }
    let (length, checksum, facts_length) = (word(16), word(24), word(32));
    let expected = HEADER_BYTES.checked_add(length).and_then(|n| n.checked_add(facts_length));
    if facts_length > MAX_FACTS_BYTES || expected != Some(object.size) {
        return Err(corrupt("its size does not match its header"));
    }
    reader.seek(SeekFrom::Start(HEADER_BYTES + length)).map_err(io)?;
    let mut facts_bytes = vec![0; facts_length as usize];
    reader.read_exact(&mut facts_bytes).map_err(io)?;
    let facts: EncodedFacts =
        serde_json::from_slice(&facts_bytes).map_err(|_| corrupt("its facts are unreadable"))?;
    reader.seek(SeekFrom::Start(HEADER_BYTES)).map_err(io)?;
    Ok(EncodedReader { key, reader, length, checksum, facts_bytes, facts })
}

impl EncodedReader {
    /// What the encode node said about the stream.
    #[must_use]
    pub fn facts(&self) -> &EncodedFacts {
        &self.facts
    }

    /// Copies the stream into `out`, checking it against its checksum. A caller keeps what
    /// was copied only when this succeeds.
    ///
    /// # Errors
    /// [`CacheError::Corrupt`] when the stream is damaged; [`CacheError::Io`] when it
    /// cannot be read or `out` cannot be written.
    pub fn copy_to(mut self, out: &mut impl Write) -> Result<(), CacheError> {
        let key = self.key;
        let mut hasher = XxHash3_64::new();
        let mut buffer = vec![0; COPY_BUFFER_BYTES];
        let mut left = self.length;
        while left > 0 {
            let n = (left as usize).min(buffer.len());
            self.reader
                .read_exact(&mut buffer[..n])
                .map_err(|source| CacheError::Io { key, source })?;
            hasher.write(&buffer[..n]);
            out.write_all(&buffer[..n]).map_err(|source| CacheError::Io { key, source })?;
            left -= n as u64;
        }
        hasher.write(&self.facts_bytes);
        if hasher.finish() == self.checksum {
            Ok(())
        } else {
            Err(CacheError::Corrupt { key, reason: "checksum mismatch".into() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::folder::CacheDir;

    fn facts() -> EncodedFacts {
        EncodedFacts {
            node: "song/encode/hires".into(),
            frames: 1000,
            sample_rate: 48_000,
            clipped_samples: 0,
            peak: 0.5,
            headroom_trim_db: Some(0.42),
        }
    }

    fn stored(bytes: &[u8]) -> (tempfile::TempDir, Store, Key) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        let key = Key([7; 32]);
        store_encoded(&store, &key, &mut &bytes[..], &facts()).unwrap();
        (dir, store, key)
    }

    #[test]
    fn an_encoded_stream_reads_back_byte_for_byte_with_its_facts() {
        let bytes: Vec<u8> = (0..700_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let (_dir, store, key) = stored(&bytes);
        assert!(is_encoded(&store, &key));
        let reader = open_encoded(&store, &key).unwrap();
        assert_eq!(reader.facts(), &facts());
        let mut out = Vec::new();
        reader.copy_to(&mut out).unwrap();
        assert!(out == bytes);
    }

    #[test]
    fn a_flipped_byte_in_an_encoded_stream_is_corrupt() {
        let (dir, store, key) = stored(b"fLaC and some frames");
        let path = crate::cache::local_disk::LocalDisk::new(&CacheDir::new(dir.path())).path(&key);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[70] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let reader = open_encoded(&store, &key).unwrap();
        let result = reader.copy_to(&mut Vec::new());
        assert!(matches!(result, Err(CacheError::Corrupt { .. })), "{result:?}");
    }

    #[test]
    fn an_audio_entry_is_not_an_encoded_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        assert!(!is_encoded(&store, &Key([1; 32])), "a missing entry");
        let result = open_encoded(&store, &Key([1; 32]));
        assert!(matches!(result, Err(CacheError::Missing { .. })));
    }
}
