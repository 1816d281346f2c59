//! Encoded entries: a deliverable's encoded stream (a FLAC, MP3 or WAV file before its
//! tags) kept in the same [`Storage`] as audio entries, named by the encode node's key, so
//! that a tag edit writes the tags around the stored stream instead of encoding again.
//!
//! # Entry format
//!
//! | bytes | content |
//! |---|---|
//! | 0.. | the stream, as the encoder wrote it |
//! | then | the facts: JSON, see [`EncodedFacts`] |
//! | last 64 | the trailer |
//!
//! The trailer:
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
//!
//! The stream comes first so that the encoder writes the entry's own file: its scratch file
//! lies on the cache's file system, gets the facts and the trailer appended, and is moved
//! into place ([`Storage::adopt`]) rather than copied, which on an album is a gigabyte not
//! written twice. The object is published whole; anything else that a backend hands back
//! fails the magic, the size or the checksum and counts as a miss. An audio entry starts
//! with its own magic, which no stream starts with, so the two are told apart by their
//! first bytes. The checksum is checked as the stream is copied out, so a caller places
//! what it copied only after [`EncodedReader::copy_to`] succeeds.

use std::fs::File;
use std::hash::Hasher as _;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use twox_hash::XxHash3_64;

use super::storage::Storage;
use super::store::{ImportError, Store};
use super::{CacheError, Key};

/// Version of the encoded entry format. Bump it, and `KEY_SCHEMA` with it, when the layout
/// changes.
pub const ENCODED_VERSION: u32 = 3;

const MAGIC: [u8; 8] = *b"mixenc\0\0";
const TRAILER_BYTES: u64 = 64;
/// Facts are a few hundred bytes; anything larger is damage.
const MAX_FACTS_BYTES: u64 = 64 * 1024;
const COPY_BUFFER_BYTES: usize = 256 * 1024;

/// What the encode node says about its stream, read back with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodedFacts {
    /// The key the entry is stored under, in hex: an entry found under another name (a
    /// remote object misnamed) is refused.
    pub key: String,
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

/// Stores the finished stream in the file at `stream` under `key`, with `facts`: appends
/// them and the trailer to the file and hands it to the backend, which moves it into place
/// where it can and copies it otherwise. The file belongs to a scratch folder, which is
/// removed with whatever is left in it.
///
/// # Errors
/// When the file cannot be read or extended, or the backend cannot take the entry.
pub fn store_encoded(
    store: &Store,
    key: &Key,
    stream: &Path,
    facts: &EncodedFacts,
) -> io::Result<()> {
    let mut file = File::options().read(true).append(true).open(stream)?;
    let mut hasher = XxHash3_64::new();
    let mut buffer = vec![0; COPY_BUFFER_BYTES];
    let mut length = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.write(&buffer[..n]);
        length += n as u64;
    }
    let facts = serde_json::to_vec(facts).map_err(io::Error::other)?;
    hasher.write(&facts);
    let mut trailer = [0u8; TRAILER_BYTES as usize];
    trailer[..8].copy_from_slice(&MAGIC);
    trailer[8..12].copy_from_slice(&ENCODED_VERSION.to_le_bytes());
    trailer[16..24].copy_from_slice(&length.to_le_bytes());
    trailer[24..32].copy_from_slice(&hasher.finish().to_le_bytes());
    trailer[32..40].copy_from_slice(&(facts.len() as u64).to_le_bytes());
    file.write_all(&facts)?;
    file.write_all(&trailer)?;
    drop(file);
    store.storage().adopt(key, stream)
}

/// Where an encoded entry's parts are, from its trailer.
struct Layout {
    length: u64,
    checksum: u64,
    facts_length: u64,
}

impl Layout {
    /// The layout `trailer` describes, if it is an encoded entry's of this version and
    /// accounts for exactly `size` bytes.
    fn parse(trailer: &[u8; TRAILER_BYTES as usize], size: u64) -> Result<Self, &'static str> {
        let word = |at: usize| u64::from_le_bytes(trailer[at..at + 8].try_into().expect("8 bytes"));
        if trailer[..8] != MAGIC {
            return Err("not an encoded entry");
        }
        if trailer[8..12] != ENCODED_VERSION.to_le_bytes() {
            return Err("an encoded entry of another version");
        }
        let (length, checksum, facts_length) = (word(16), word(24), word(32));
        let expected = length.checked_add(facts_length).and_then(|n| n.checked_add(TRAILER_BYTES));
        if facts_length > MAX_FACTS_BYTES || expected != Some(size) {
            return Err("its size does not match its trailer");
        }
        Ok(Self { length, checksum, facts_length })
    }
}

/// The facts in `bytes`, if they are readable and name `key`.
fn facts_of(bytes: &[u8], key: &Key) -> Result<EncodedFacts, &'static str> {
    let facts: EncodedFacts =
        serde_json::from_slice(bytes).map_err(|_| "its facts are unreadable")?;
    if facts.key != key.to_string() {
        return Err("its facts name another entry than the one its name says");
    }
    Ok(facts)
}

/// Copies the encoded entry for `key` from `from` (`size` bytes, its first bytes `first`
/// already read) into `storage`, checking it as it streams: the trailer, the size, the
/// checksum, and facts that name `key`. Nothing is published unless every check passes.
///
/// # Errors
/// As [`Store::import`].
pub(super) fn import(
    storage: &dyn Storage,
    key: &Key,
    first: &[u8],
    from: &mut dyn Read,
    size: u64,
) -> Result<(), ImportError> {
    let damaged = |reason: &str| ImportError::Damaged(reason.to_owned());
    let body = size
        .checked_sub(TRAILER_BYTES)
        .filter(|&body| body >= first.len() as u64)
        .ok_or_else(|| damaged("shorter than its trailer"))?;
    let mut object = storage.put(key).map_err(ImportError::Write)?;
    let read = |from: &mut dyn Read, buffer: &mut [u8]| {
        from.read_exact(buffer).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => damaged("it ends before its size says"),
            _ => ImportError::Read(e),
        })
    };
    let mut hasher = XxHash3_64::new();
    let mut pass = |bytes: &[u8]| {
        hasher.write(bytes);
        object.write_all(bytes).map_err(ImportError::Write)
    };
    pass(first)?;
    // The facts end the body and are never longer than `MAX_FACTS_BYTES`, so the body's
    // last bytes are read apart and held (with the first ones, in a body that short) until
    // the trailer says where the facts start.
    let rest = body - first.len() as u64;
    let held = rest.min(MAX_FACTS_BYTES);
    let mut buffer = vec![0; COPY_BUFFER_BYTES];
    let mut left = rest - held;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(COPY_BUFFER_BYTES);
        read(from, &mut buffer[..n])?;
        pass(&buffer[..n])?;
        left -= n as u64;
    }
    let mut tail = if held < MAX_FACTS_BYTES { first.to_vec() } else { Vec::new() };
    let start = tail.len();
    tail.resize(start + held as usize, 0);
    read(from, &mut tail[start..])?;
    pass(&tail[start..])?;
    let mut trailer = [0u8; TRAILER_BYTES as usize];
    read(from, &mut trailer)?;
    let layout = Layout::parse(&trailer, size).map_err(damaged)?;
    if hasher.finish() != layout.checksum {
        return Err(damaged("the stream does not match its checksum"));
    }
    let facts = tail.len().checked_sub(layout.facts_length as usize).map(|at| &tail[at..]);
    facts_of(facts.ok_or_else(|| damaged("its facts are cut short"))?, key).map_err(damaged)?;
    object.write_all(&trailer).map_err(ImportError::Write)?;
    object.commit().map_err(ImportError::Write)
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

/// Whether `key` names an encoded entry (not an audio one). Only a look at its trailer's
/// magic.
#[must_use]
pub fn is_encoded(store: &Store, key: &Key) -> bool {
    let Ok(Some(mut object)) = store.storage().get(key) else { return false };
    let mut magic = [0u8; 8];
    object.size >= TRAILER_BYTES
        && object.reader.seek(SeekFrom::Start(object.size - TRAILER_BYTES)).is_ok()
        && object.reader.read_exact(&mut magic).is_ok()
        && magic == MAGIC
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
    let mut trailer = [0u8; TRAILER_BYTES as usize];
    if object.size < TRAILER_BYTES {
        return Err(corrupt("shorter than its trailer"));
    }
    reader.seek(SeekFrom::Start(object.size - TRAILER_BYTES)).map_err(io)?;
    reader.read_exact(&mut trailer).map_err(io)?;
    let Layout { length, checksum, facts_length } =
        Layout::parse(&trailer, object.size).map_err(corrupt)?;
    reader.seek(SeekFrom::Start(length)).map_err(io)?;
    let mut facts_bytes = vec![0; facts_length as usize];
    reader.read_exact(&mut facts_bytes).map_err(io)?;
    let facts = facts_of(&facts_bytes, &key).map_err(corrupt)?;
    reader.rewind().map_err(io)?;
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
            key: Key([7; 32]).to_string(),
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
        let stream = dir.path().join("stream");
        std::fs::write(&stream, bytes).unwrap();
        store_encoded(&store, &key, &stream, &facts()).unwrap();
        assert!(!stream.exists(), "the stream's file is moved into the entries");
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
        bytes[3] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let reader = open_encoded(&store, &key).unwrap();
        let result = reader.copy_to(&mut Vec::new());
        assert!(matches!(result, Err(CacheError::Corrupt { .. })), "{result:?}");
    }

    /// The bytes of the encoded entry `key` in `dir`, as a remote would hold them.
    fn object_bytes(dir: &tempfile::TempDir, key: &Key) -> Vec<u8> {
        let disk = crate::cache::local_disk::LocalDisk::new(&CacheDir::new(dir.path()));
        std::fs::read(disk.path(key)).unwrap()
    }

    #[test]
    fn an_encoded_entry_from_elsewhere_is_kept_only_whole_and_under_its_own_name() {
        let stream: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let (from, _, key) = stored(&stream);
        let bytes = object_bytes(&from, &key);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        let import =
            |key: &Key, bytes: &[u8]| store.import(key, &mut &bytes[..], bytes.len() as u64);
        let mut flipped = bytes.clone();
        flipped[1000] ^= 4;
        for (name, key, bytes) in [
            ("another name", Key([8; 32]), &bytes[..]),
            ("a flipped byte", key, &flipped[..]),
            ("cut short", key, &bytes[..bytes.len() - 10]),
        ] {
            let result = import(&key, bytes);
            assert!(matches!(result, Err(ImportError::Damaged(_))), "{name}: {result:?}");
            assert!(!store.holds_here(&key), "{name}");
        }
        import(&key, &bytes).unwrap();
        let mut out = Vec::new();
        open_encoded(&store, &key).unwrap().copy_to(&mut out).unwrap();
        assert!(out == stream);
    }

    #[test]
    fn an_encoded_entry_whose_facts_name_another_key_reads_as_corrupt() {
        let (dir, _, key) = stored(b"fLaC and some frames");
        let moved = Key([9; 32]);
        let disk = crate::cache::local_disk::LocalDisk::new(&CacheDir::new(dir.path()));
        std::fs::create_dir_all(disk.path(&moved).parent().unwrap()).unwrap();
        std::fs::copy(disk.path(&key), disk.path(&moved)).unwrap();
        let store = Store::local(&CacheDir::new(dir.path()));
        let result = open_encoded(&store, &moved);
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
