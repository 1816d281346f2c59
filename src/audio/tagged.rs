//! A delivered file made from a finished, untagged encoded stream: the stream is copied
//! into a file staged next to the destination, its tags are written, and only then is it
//! moved into place. A fresh render and a tag edit both make the file this way, so their
//! bytes are the same.

use std::fs::File;
use std::path::Path;

use super::AudioError;
use super::staged::StagedFile;
use super::tags::{Container, Tags, write_tags};

/// A delivered file being made.
#[derive(Debug)]
pub struct TaggedFile {
    file: StagedFile,
}

impl TaggedFile {
    /// Starts the file that will appear at `path`.
    ///
    /// # Errors
    /// When the temporary file cannot be created next to `path`.
    pub fn create(path: &Path) -> Result<Self, AudioError> {
        Ok(Self { file: StagedFile::create(path)? })
    }

    /// The staged file, for the encoded stream to be copied in from its start.
    pub fn stream(&mut self) -> &mut File {
        self.file.file()
    }

    /// Writes `tags` for `container` into the copied stream and moves the file into place.
    /// Dropping the file instead leaves whatever was at the path before.
    ///
    /// # Errors
    /// When the tags cannot be written (the stream is not a `container` file) or the file
    /// cannot be moved into place.
    pub fn finish(mut self, container: Container, tags: &Tags) -> Result<(), AudioError> {
        let result = write_tags(self.file.file(), container, tags);
        result.map_err(|e| self.file.error(e))?;
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::dither::Dither;
    use crate::audio::encode::Encoding;
    use crate::audio::mp3::Mp3Rate;
    use crate::audio::tags::read_tags;
    use crate::audio::wav::WavFormat;

    fn tags(title: &str) -> Tags {
        Tags {
            title: Some(title.into()),
            artist: Some("The Example Ensemble".into()),
            track_number: Some(2),
            track_total: Some(3),
            isrc: Some("GBXYZ2600002".into()),
            upc: Some("5012345678900".into()),
            ..Tags::default()
        }
    }

    /// Encodes a short tone with `encoding` into `dir`, untagged; returns its bytes.
    fn stream(dir: &Path, encoding: Encoding) -> Vec<u8> {
        let path = dir.join(format!("stream.{}", encoding.extension()));
        let tone: Vec<f32> = (0..48_000).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect();
        let mut encoder = encoding.create(&path, 48_000).unwrap();
        encoder.write(&tone, &tone).unwrap();
        encoder.finish().unwrap();
        std::fs::read(path).unwrap()
    }

    fn tagged(dir: &Path, name: &str, stream: &[u8], container: Container, t: &Tags) -> Vec<u8> {
        let path = dir.join(name);
        let mut file = TaggedFile::create(&path).unwrap();
        std::io::Write::write_all(file.stream(), stream).unwrap();
        file.finish(container, t).unwrap();
        assert_eq!(read_tags(&path).unwrap(), *t, "{name}");
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_stream_tagged_twice_the_same_way_gives_the_same_bytes_in_every_container() {
        let dir = tempfile::tempdir().unwrap();
        let encodings = [
            Encoding::Wav(WavFormat::Pcm24),
            Encoding::Flac { bits: 24, dither: Dither::Tpdf, seed: 3 },
            Encoding::Mp3(Mp3Rate::Cbr(320)),
        ];
        for encoding in encodings {
            let bytes = stream(dir.path(), encoding);
            let ext = encoding.extension();
            let container = encoding.container();
            let a = tagged(dir.path(), &format!("a.{ext}"), &bytes, container, &tags("Tidewater"));
            let b = tagged(dir.path(), &format!("b.{ext}"), &bytes, container, &tags("Tidewater"));
            assert!(a == b, "{ext}: same stream, same tags, same bytes");
            let c = tagged(dir.path(), &format!("c.{ext}"), &bytes, container, &tags("Low Tide"));
            assert!(a != c, "{ext}: another title is other bytes");
        }
    }
}
