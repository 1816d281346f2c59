//! The manifest stored in every cache entry: which node made the audio, what its key
//! hashed, its lengths, and the measurements that later nodes read (loudness, peaks, song
//! boundaries). One typed, versioned struct, written by the store and read back by the
//! same type: no field is looked up by name anywhere else.

use serde::{Deserialize, Serialize};

use super::Key;

/// Version of the manifest's fields. Bump it when a field changes meaning or a required
/// field is added; a manifest of another version reads as damaged, and the entry is
/// rendered again.
pub const MANIFEST_VERSION: u32 = 1;

/// What the node that wrote an entry says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// The node's id (`first-light/track/vox`).
    pub node: String,
    /// What the node's key hashed, for `explain`.
    pub material: serde_json::Value,
    /// Frames up to where the source material ends; the tail after it is decay.
    pub content_frames: u64,
    /// Frames up to the last one above the silence threshold.
    pub audible_frames: u64,
    /// Values measured while the audio was written.
    #[serde(default, skip_serializing_if = "Measurements::is_empty")]
    pub measurements: Measurements,
}

/// Values measured on an entry's audio, for the nodes that read them (an album's gain from
/// a song's loudness, a CUE sheet from song boundaries). Each is absent until a node
/// measures it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// Integrated loudness (BS.1770), in LUFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness_lufs: Option<f64>,
    /// The largest absolute sample value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_peak: Option<f32>,
    /// The largest inter-sample peak, in dBTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_peak_dbtp: Option<f64>,
    /// Frames at which songs start, for audio that holds several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub song_starts: Vec<u64>,
}

impl Measurements {
    /// Whether nothing was measured.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// An entry's manifest: the store's facts about the audio, and the node's description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`] when written.
    pub version: u32,
    /// The entry's key, in hex.
    pub key: String,
    /// Frames per second.
    pub sample_rate: u32,
    /// Frames stored.
    pub frames: u64,
    /// What the node says about it.
    #[serde(flatten)]
    pub description: Description,
}

impl Manifest {
    /// The manifest of an entry of `frames` frames at `sample_rate` under `key`.
    #[must_use]
    pub fn new(key: Key, sample_rate: u32, frames: u64, description: Description) -> Self {
        Self { version: MANIFEST_VERSION, key: key.to_string(), sample_rate, frames, description }
    }

    /// Reads a manifest back.
    ///
    /// # Errors
    /// When the bytes are not a manifest of this version.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if manifest.version != MANIFEST_VERSION {
            return Err(format!(
                "manifest version {}, expected {MANIFEST_VERSION}",
                manifest.version
            ));
        }
        Ok(manifest)
    }

    /// The manifest's bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description() -> Description {
        Description {
            node: "song/track/vox".to_owned(),
            material: serde_json::json!({ "kind": "track" }),
            content_frames: 90,
            audible_frames: 95,
            measurements: Measurements::default(),
        }
    }

    #[test]
    fn a_manifest_reads_back_as_written_with_or_without_measurements() {
        let plain = Manifest::new(Key([7; 32]), 48_000, 100, description());
        assert_eq!(Manifest::parse(&plain.to_bytes()).unwrap(), plain);
        let text = String::from_utf8(plain.to_bytes()).unwrap();
        assert!(!text.contains("measurements"), "{text}");
        let mut measured = plain.clone();
        measured.description.measurements = Measurements {
            loudness_lufs: Some(-14.2),
            song_starts: vec![0, 50],
            ..Default::default()
        };
        assert_eq!(Manifest::parse(&measured.to_bytes()).unwrap(), measured);
    }

    #[test]
    fn a_manifest_of_another_version_or_shape_is_refused() {
        let mut other = Manifest::new(Key([7; 32]), 48_000, 100, description());
        other.version = MANIFEST_VERSION + 1;
        let e = Manifest::parse(&other.to_bytes()).unwrap_err();
        assert!(e.contains("version"), "{e}");
        assert!(Manifest::parse(br#"{"key": "00", "frames": 3}"#).is_err());
    }
}
