//! Which container a file is, by its first bytes and by its name, so that a file whose
//! content and extension disagree (MP3 data saved as `.wav`) is pointed out rather than
//! decoded without a word.
//!
//! Only the magic numbers are read here; whether the content is valid is the decoder's
//! business.

use std::path::Path;

/// An audio container mixdown reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// RIFF/WAVE (and RF64).
    Wav,
    /// AIFF or AIFC.
    Aiff,
    /// Native FLAC.
    Flac,
    /// Ogg (Vorbis, or FLAC in Ogg).
    Ogg,
    /// MPEG audio (MP1, MP2, MP3), with or without an `ID3v2` tag in front.
    Mpeg,
    /// Core Audio Format.
    Caf,
    /// ISO MP4 (`.m4a`).
    Mp4,
    /// Matroska or `WebM`.
    Matroska,
}

impl Container {
    /// The container whose magic number `head` (the first bytes of a file, 12 or more for
    /// a sure answer) starts with.
    #[must_use]
    pub fn sniff(head: &[u8]) -> Option<Self> {
        let at =
            |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
        if (at(0, b"RIFF") || at(0, b"RF64")) && at(8, b"WAVE") {
            Some(Self::Wav)
        } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
            Some(Self::Aiff)
        } else if at(0, b"fLaC") {
            Some(Self::Flac)
        } else if at(0, b"OggS") {
            Some(Self::Ogg)
        } else if at(0, b"caff") {
            Some(Self::Caf)
        } else if at(4, b"ftyp") {
            Some(Self::Mp4)
        } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
            Some(Self::Matroska)
        } else if at(0, b"ID3") || matches!(head, [0xFF, second, ..] if second & 0xE0 == 0xE0) {
            Some(Self::Mpeg)
        } else {
            None
        }
    }

    /// The container a file's extension promises, if it is one we know.
    #[must_use]
    pub fn of_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "wav" | "wave" | "rf64" => Self::Wav,
            "aif" | "aiff" | "aifc" => Self::Aiff,
            "flac" => Self::Flac,
            "ogg" | "oga" => Self::Ogg,
            "mp1" | "mp2" | "mp3" => Self::Mpeg,
            "caf" => Self::Caf,
            "m4a" | "mp4" => Self::Mp4,
            "mka" | "mkv" | "webm" => Self::Matroska,
            _ => return None,
        })
    }

    /// The name users know the format by.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Wav => "WAV",
            Self::Aiff => "AIFF",
            Self::Flac => "FLAC",
            Self::Ogg => "Ogg",
            Self::Mpeg => "MP3",
            Self::Caf => "CAF",
            Self::Mp4 => "MP4",
            Self::Matroska => "Matroska",
        }
    }

    /// The usual extension for this container.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Aiff => "aiff",
            Self::Flac => "flac",
            Self::Ogg => "ogg",
            Self::Mpeg => "mp3",
            Self::Caf => "caf",
            Self::Mp4 => "m4a",
            Self::Matroska => "mka",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio").join(name);
        std::fs::read(path).unwrap()
    }

    #[test]
    fn each_fixture_sniffs_as_the_container_its_extension_names() {
        for name in ["tone.aiff", "tone.mp3", "tone.ogg", "small-room-ir.wav", "truncated.flac"] {
            let sniffed = Container::sniff(&fixture(name));
            assert!(sniffed.is_some(), "{name}");
            assert_eq!(sniffed, Container::of_extension(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn bytes_that_are_no_container_sniff_as_nothing() {
        assert_eq!(Container::sniff(b""), None);
        assert_eq!(Container::sniff(b"RIFF\0\0\0\0AVI LIST"), None);
        assert_eq!(Container::sniff(&fixture("not-audio.wav")), None);
    }

    #[test]
    fn extensions_are_read_in_any_case_and_unknown_ones_promise_nothing() {
        assert_eq!(Container::of_extension(Path::new("a/VOX.WAV")), Some(Container::Wav));
        assert_eq!(Container::of_extension(Path::new("a/vox.txt")), None);
        assert_eq!(Container::of_extension(Path::new("a/vox")), None);
    }
}
