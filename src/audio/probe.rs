//! What `check` learns about a source file from its header, without decoding it: that it
//! opens as audio, that it is not cut short, what it holds, and whether its content is the
//! format its name promises.
//!
//! Everything here is cheap (a few small reads and, for FLAC, one seek), because `check`
//! and every save under `watch` probe every source.

use std::path::Path;

use super::container::Container;
use super::decode::Decoder;
use super::{AudioError, Source};

/// What a source file's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The container its first bytes name.
    pub container: Option<Container>,
    /// The container its extension promises.
    pub promised: Option<Container>,
    /// Frames per second.
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: usize,
    /// Frames it declares, when its header says.
    pub frames: Option<u64>,
}

impl Probe {
    /// The container the file really is, when its extension promises another.
    #[must_use]
    pub fn disguised_as(&self) -> Option<(Container, Container)> {
        match (self.container, self.promised) {
            (Some(real), Some(promised)) if real != promised => Some((real, promised)),
            _ => None,
        }
    }

    /// Whether the file declares no audio at all.
    #[must_use]
    pub fn is_silent_nothing(&self) -> bool {
        self.frames == Some(0)
    }
}

/// Opens `path`'s header and checks it.
///
/// # Errors
/// Whatever [`Decoder::open`] refuses, and a FLAC file cut short.
pub fn probe(path: &Path) -> Result<Probe, AudioError> {
    let mut decoder = Decoder::open(path)?;
    let found = Probe {
        container: decoder.container(),
        promised: Container::of_extension(path),
        sample_rate: decoder.sample_rate(),
        channels: decoder.channels(),
        frames: decoder.frames(),
    };
    decoder.check_declared_end()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio").join(name)
    }

    #[test]
    fn a_cut_off_flac_is_found_from_its_header_and_one_seek() {
        let e = probe(&fixture("truncated.flac")).unwrap_err();
        let cut = matches!(e, AudioError::Truncated { expected: 661_500, .. })
            || matches!(e, AudioError::CutShort { expected: 661_500, .. });
        assert!(cut, "{e}");
    }

    #[test]
    fn whole_files_in_every_format_probe_clean() {
        for name in ["tone.aiff", "tone.mp3", "tone.ogg", "small-room-ir.wav"] {
            let found = probe(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(found.disguised_as(), None, "{name}");
            assert!(!found.is_silent_nothing(), "{name}");
        }
        let stems = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stems/first-light");
        for entry in fs::read_dir(stems).unwrap() {
            let path = entry.unwrap().path();
            probe(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }

    #[test]
    fn mp3_data_in_a_wav_file_is_seen_for_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vox.wav");
        fs::copy(fixture("tone.mp3"), &path).unwrap();
        let found = probe(&path).unwrap();
        assert_eq!(found.disguised_as(), Some((Container::Mpeg, Container::Wav)));
    }
}
