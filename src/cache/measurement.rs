//! Measurements of a node's audio (its loudness and peaks), kept under the node's key, so
//! that a second look at an unchanged node reads a small record instead of its audio. A
//! key names exactly one audio, so a record found under it can never be stale.
//!
//! What a measurement holds is the caller's type; this module only stores and finds it. A
//! record that is missing, damaged, of another version or filed under another key reads
//! as absent, and the caller measures again.

use std::io;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Key;
use super::folder::CacheDir;
use super::store::ImportError;

/// Version of the record's layout; a record of another version reads as absent.
const RECORD_VERSION: u32 = 1;

/// A measurement as stored.
#[derive(Serialize, Deserialize)]
struct Stored<T> {
    version: u32,
    /// The measured node's key, in hex: a record copied under another name is refused.
    key: String,
    measured: T,
}

/// Stores `measured` as the measurement of the audio of `key`.
///
/// # Errors
/// When the record cannot be written (the error names where).
pub fn save<T: Serialize>(cache: &CacheDir, key: Key, measured: &T) -> io::Result<()> {
    let stored = Stored { version: RECORD_VERSION, key: key.to_string(), measured };
    let bytes = serde_json::to_vec(&stored).expect("a measurement serializes");
    cache.write(&cache.measurement(key), &bytes)
}

/// The measurement stored for the audio of `key`, if there is a sound one.
#[must_use]
pub fn load<T: DeserializeOwned>(cache: &CacheDir, key: Key) -> Option<T> {
    let bytes = std::fs::read(cache.measurement(key)).ok()?;
    let stored: Stored<T> = serde_json::from_slice(&bytes).ok()?;
    (stored.version == RECORD_VERSION && stored.key == key.to_string()).then_some(stored.measured)
}

/// The record stored for `key`, as its bytes, to send elsewhere (a remote cache).
#[must_use]
pub fn stored_bytes(cache: &CacheDir, key: Key) -> Option<Vec<u8>> {
    let bytes = std::fs::read(cache.measurement(key)).ok()?;
    is_record_of(&bytes, key).then_some(bytes)
}

/// Keeps `bytes`, a record from elsewhere, as the record of `key`, if they are a sound
/// record of this version filed under `key`.
///
/// # Errors
/// Why the bytes are not such a record, or why it cannot be written.
pub fn import(cache: &CacheDir, key: Key, bytes: &[u8]) -> Result<(), ImportError> {
    if !is_record_of(bytes, key) {
        return Err(ImportError::Damaged(
            "it is not a record of this version filed under its name".to_owned(),
        ));
    }
    cache.write(&cache.measurement(key), bytes).map_err(ImportError::Write)
}

fn is_record_of(bytes: &[u8], key: Key) -> bool {
    serde_json::from_slice::<Stored<serde_json::Value>>(bytes)
        .is_ok_and(|stored| stored.version == RECORD_VERSION && stored.key == key.to_string())
}

/// Whether a record is stored for the audio of `key` (of whatever type).
#[must_use]
pub fn exists(cache: &CacheDir, key: Key) -> bool {
    load::<serde_json::Value>(cache, key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Loudness {
        integrated: Option<f64>,
    }

    #[test]
    fn a_measurement_reads_back_under_its_key_and_under_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path());
        let measured = Loudness { integrated: Some(-14.25) };
        save(&cache, Key([1; 32]), &measured).unwrap();
        assert_eq!(load::<Loudness>(&cache, Key([1; 32])), Some(measured));
        assert_eq!(load::<Loudness>(&cache, Key([2; 32])), None);
    }

    #[test]
    fn a_damaged_moved_or_other_version_record_reads_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path());
        let (first, second) = (Key([1; 32]), Key([2; 32]));
        save(&cache, first, &Loudness { integrated: None }).unwrap();
        std::fs::copy(cache.measurement(first), cache.measurement(second)).unwrap();
        assert_eq!(load::<Loudness>(&cache, second), None, "filed under another key");
        let text = std::fs::read_to_string(cache.measurement(first)).unwrap();
        let other = text.replace(r#""version":1"#, r#""version":2"#);
        std::fs::write(cache.measurement(first), other).unwrap();
        assert_eq!(load::<Loudness>(&cache, first), None, "another version");
        std::fs::write(cache.measurement(first), &text[..text.len() / 2]).unwrap();
        assert_eq!(load::<Loudness>(&cache, first), None, "cut short");
    }

    #[test]
    fn a_record_from_elsewhere_is_kept_only_if_it_is_filed_under_its_own_key() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (here, there) = (CacheDir::new(from.path()), CacheDir::new(to.path()));
        let measured = Loudness { integrated: Some(-9.5) };
        save(&here, Key([1; 32]), &measured).unwrap();
        let bytes = stored_bytes(&here, Key([1; 32])).unwrap();
        assert!(matches!(import(&there, Key([2; 32]), &bytes), Err(ImportError::Damaged(_))));
        assert!(matches!(import(&there, Key([1; 32]), &bytes[..9]), Err(ImportError::Damaged(_))));
        assert!(!exists(&there, Key([1; 32])) && !exists(&there, Key([2; 32])));
        import(&there, Key([1; 32]), &bytes).unwrap();
        assert_eq!(load::<Loudness>(&there, Key([1; 32])), Some(measured));
    }
}
