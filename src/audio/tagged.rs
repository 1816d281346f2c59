//! A delivered file made from a finished, untagged encoded stream: the stream is copied
//! into a file staged next to the destination, its tags placed around it on the way, and
//! only then is the file moved into place. A fresh render and a tag edit both make the file
//! this way, so their bytes are the same.
//!
//! The stream passes straight through in its writer's buffers. Only its opening is held,
//! until the tags can be placed:
//!
//! | container | held | written |
//! |---|---|---|
//! | MP3 | the first frame's sync word | the `ID3v2` tag, then the stream (LAME's header frame first) |
//! | FLAC | `fLaC` and the metadata blocks | the blocks as lofty rewrites them with the Vorbis comment, then the frames |
//! | WAV | the 12-byte RIFF header | that header sized for the chunks added, the stream (`fmt `, `data`), then `LIST/INFO` and the `id3 ` chunk |
//!
//! Memory therefore holds the tags and a FLAC stream's metadata, never the audio, however
//! long the file. The tag bytes themselves come from [`super::tags`]; this module only
//! frames a WAV's `id3 ` chunk and sizes its RIFF header. A stream is expected untagged, as
//! an encoder leaves it: a FLAC stream's metadata is rewritten whole, but an MP3 or WAV
//! stream's existing tags would stay beside the new ones.
//!
//! A stream that is not a whole file of its container is found as it passes, and refused by
//! [`TaggedFile::finish`]: by then the caller has checked the stream against its checksum,
//! so damage is reported as damage, not as a malformed header. Nothing is placed either way.

use std::io::{self, Write};
use std::path::Path;

use super::AudioError;
use super::staged::StagedFile;
use super::tags::{self, Container, Tags};

/// The most FLAC metadata a stream may open with: the largest one metadata block can be,
/// room for a cover picture. More is damage, and holding it would grow with the damage.
const MAX_FLAC_METADATA_BYTES: usize = 1 << 24;

/// A delivered file being made: written as a stream (through [`Write`]), then finished.
#[derive(Debug)]
pub struct TaggedFile {
    file: StagedFile,
    container: Container,
    tags: Tags,
    /// What goes before the stream (an MP3's `ID3v2` tag).
    before: Vec<u8>,
    /// What goes after the stream (a WAV's tag chunks).
    after: Vec<u8>,
    /// The stream's opening, held until the tags are placed; `None` once they are.
    opening: Option<Vec<u8>>,
    /// Stream bytes taken so far.
    taken: u64,
    /// The stream's length as its header declares it (a WAV's), checked at the end.
    declared: Option<u64>,
    /// Why the stream cannot be tagged, once found; what follows is not written.
    fault: Option<String>,
}

impl TaggedFile {
    /// Starts the `container` file that will appear at `path` carrying `tags`.
    ///
    /// # Errors
    /// When the temporary file cannot be created next to `path`, or the tags cannot be
    /// encoded.
    pub fn create(path: &Path, container: Container, tags: &Tags) -> Result<Self, AudioError> {
        let file = StagedFile::create(path)?;
        let (before, after) = match container {
            Container::Mp3 => (tags::id3v2_tag(tags), Ok(Vec::new())),
            Container::Wav => (Ok(Vec::new()), wav_tag_chunks(tags)),
            Container::Flac => (Ok(Vec::new()), Ok(Vec::new())),
        };
        let (before, after) =
            (before.map_err(|e| file.error(e))?, after.map_err(|e| file.error(e))?);
        Ok(Self {
            file,
            container,
            tags: tags.clone(),
            before,
            after,
            opening: Some(Vec::new()),
            taken: 0,
            declared: None,
            fault: None,
        })
    }

    /// Checks that the whole stream was written, writes what follows it and moves the file
    /// into place. Dropping the file instead leaves whatever was at the path before.
    ///
    /// # Errors
    /// When the stream was not a whole `container` file, or the file cannot be completed or
    /// moved into place.
    pub fn finish(mut self) -> Result<(), AudioError> {
        if self.fault.is_none() {
            self.fault = match (&self.opening, self.declared) {
                (Some(_), _) if self.taken == 0 => Some("it is empty".into()),
                (Some(_), _) => Some("it ends inside its opening header".into()),
                (None, Some(declared)) if declared != self.taken => Some(format!(
                    "its RIFF header declares {declared} bytes but it holds {}",
                    self.taken
                )),
                _ => None,
            };
        }
        if let Some(reason) = self.fault.take() {
            let name = match self.container {
                Container::Wav => "WAV",
                Container::Flac => "FLAC",
                Container::Mp3 => "MP3",
            };
            let reason = format!("the encoded stream is not a whole {name} file: {reason}");
            return Err(self.file.error(io::Error::new(io::ErrorKind::InvalidData, reason)));
        }
        let result = self.file.file().write_all(&self.after);
        result.map_err(|e| self.file.error(e))?;
        self.file.commit()
    }

    /// Where the tags go, once the opening `held` says: how many of its bytes are replaced
    /// and by what; `None` while more of the opening is needed.
    fn place(&mut self, held: &[u8]) -> Result<Option<(usize, Vec<u8>)>, String> {
        match self.container {
            Container::Mp3 => {
                let [first, second, ..] = held else { return Ok(None) };
                if *first != 0xFF || second & 0xE0 != 0xE0 {
                    return Err("it does not open with an MPEG frame".into());
                }
                Ok(Some((0, std::mem::take(&mut self.before))))
            }
            Container::Wav => {
                let Some(header) = held.get(..12) else { return Ok(None) };
                if header[..4] != *b"RIFF" || header[8..] != *b"WAVE" {
                    return Err("it does not open with a RIFF WAVE header".into());
                }
                let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
                if size % 2 == 1 {
                    return Err("its RIFF size is odd, so no chunk can follow it".into());
                }
                let grown = u32::try_from(u64::from(size) + self.after.len() as u64)
                    .map_err(|_| "with its tags it would pass the 4 GiB a WAV can count")?;
                self.declared = Some(u64::from(size) + 8);
                Ok(Some((8, [&b"RIFF"[..], &grown.to_le_bytes()].concat())))
            }
            Container::Flac => match flac_metadata_end(held)? {
                Some(end) if end <= held.len() => {
                    let metadata = tags::flac_metadata(&held[..end], &self.tags);
                    Ok(Some((end, metadata.map_err(|e| e.to_string())?)))
                }
                _ => Ok(None),
            },
        }
    }
}

impl Write for TaggedFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.taken += bytes.len() as u64;
        if self.fault.is_some() {
            return Ok(bytes.len());
        }
        let Some(mut held) = self.opening.take() else {
            self.file.file().write_all(bytes)?;
            return Ok(bytes.len());
        };
        held.extend_from_slice(bytes);
        match self.place(&held) {
            Ok(Some((replaced, with))) => {
                let file = self.file.file();
                file.write_all(&with)?;
                file.write_all(&held[replaced..])?;
            }
            Ok(None) => self.opening = Some(held),
            Err(reason) => self.fault = Some(reason),
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.file().flush()
    }
}

/// A WAV's tag chunks: `LIST/INFO`, then the `ID3v2` tag in an `id3 ` chunk, each padded to
/// an even length as RIFF requires (the pad byte is not counted in the chunk's size).
fn wav_tag_chunks(tags: &Tags) -> io::Result<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut push = |id: Option<&[u8; 4]>, body: Vec<u8>| -> io::Result<()> {
        if body.is_empty() {
            return Ok(());
        }
        if let Some(id) = id {
            let size = u32::try_from(body.len()).map_err(io::Error::other)?;
            chunks.extend_from_slice(id);
            chunks.extend_from_slice(&size.to_le_bytes());
        }
        let odd = body.len() % 2 == 1;
        chunks.extend_from_slice(&body);
        if odd {
            chunks.push(0);
        }
        Ok(())
    };
    // lofty writes the `LIST` chunk with its header; the ID3v2 tag is the `id3 ` chunk's body.
    push(None, tags::riff_info_chunk(tags)?)?;
    push(Some(b"id3 "), tags::id3v2_tag(tags)?)?;
    Ok(chunks)
}

/// Where a FLAC stream's metadata ends, counted from `fLaC`, once `held` shows the last
/// block's header; `None` before.
fn flac_metadata_end(held: &[u8]) -> Result<Option<usize>, String> {
    let Some(marker) = held.get(..4) else { return Ok(None) };
    if marker != b"fLaC" {
        return Err("it does not open with `fLaC`".into());
    }
    let mut end = 4;
    loop {
        // A block header: the last-block flag and the type in one byte, then a 24-bit size.
        let Some(&[flags, a, b, c]) = held.get(end..end + 4) else { return Ok(None) };
        end += 4 + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
        if end > MAX_FLAC_METADATA_BYTES {
            return Err(format!("its metadata runs past {} MiB", MAX_FLAC_METADATA_BYTES >> 20));
        }
        if flags & 0x80 != 0 {
            return Ok(Some(end));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Source;
    use crate::audio::decode::Decoder;
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

    fn encodings() -> [Encoding; 3] {
        [
            Encoding::Wav(WavFormat::Pcm24),
            Encoding::Flac { bits: 24, dither: Dither::Tpdf, seed: 3 },
            Encoding::Mp3(Mp3Rate::Cbr(320)),
        ]
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

    /// Tags `stream` into `dir/name`, written in pieces of the sizes `pieces` cycles
    /// through; returns the file's bytes.
    fn tagged_in(
        dir: &Path,
        name: &str,
        stream: &[u8],
        container: Container,
        t: &Tags,
        pieces: &[usize],
    ) -> Vec<u8> {
        let path = dir.join(name);
        let mut file = TaggedFile::create(&path, container, t).unwrap();
        let mut rest = stream;
        for &size in pieces.iter().cycle() {
            let (piece, after) = rest.split_at(size.min(rest.len()));
            file.write_all(piece).unwrap();
            rest = after;
            if rest.is_empty() {
                break;
            }
        }
        file.finish().unwrap();
        assert_eq!(read_tags(&path).unwrap(), *t, "{name}");
        std::fs::read(path).unwrap()
    }

    fn tagged(dir: &Path, name: &str, stream: &[u8], container: Container, t: &Tags) -> Vec<u8> {
        tagged_in(dir, name, stream, container, t, &[256 * 1024])
    }

    /// Decodes the file at `path` to its samples.
    fn decoded(path: &Path) -> Vec<f32> {
        let mut decoder = Decoder::open(path).unwrap();
        let (mut l, mut r) = (vec![0.0; 4096], vec![0.0; 4096]);
        let mut samples = Vec::new();
        loop {
            match decoder.read(&mut l, &mut r).unwrap() {
                0 => return samples,
                n => samples.extend(l[..n].iter().zip(&r[..n]).flat_map(|(a, b)| [*a, *b])),
            }
        }
    }

    #[test]
    fn a_stream_tagged_twice_the_same_way_gives_the_same_bytes_in_every_container() {
        let dir = tempfile::tempdir().unwrap();
        for encoding in encodings() {
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

    #[test]
    fn a_stream_written_in_pieces_of_any_size_makes_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        for encoding in encodings() {
            let bytes = stream(dir.path(), encoding);
            let (ext, container) = (encoding.extension(), encoding.container());
            let whole = tagged(dir.path(), &format!("whole.{ext}"), &bytes, container, &tags("A"));
            // Pieces that split the RIFF header, a FLAC block header and an MPEG sync word.
            let pieces = [1, 2, 3, 5, 7, 11, 4093];
            let name = format!("pieces.{ext}");
            let split = tagged_in(dir.path(), &name, &bytes, container, &tags("A"), &pieces);
            assert!(whole == split, "{ext}");
        }
    }

    #[test]
    fn a_tagged_file_decodes_to_exactly_the_samples_of_its_untagged_stream() {
        let dir = tempfile::tempdir().unwrap();
        for encoding in encodings() {
            let bytes = stream(dir.path(), encoding);
            let (ext, container) = (encoding.extension(), encoding.container());
            let untagged = dir.path().join(format!("stream.{ext}"));
            let name = format!("tagged.{ext}");
            tagged(dir.path(), &name, &bytes, container, &tags("Tidewater"));
            let (meant, got) = (decoded(&untagged), decoded(&dir.path().join(&name)));
            assert_eq!(meant.len(), 96_000, "{ext}");
            // Compared as bits: a FLAC's MD5 and an MP3's gapless trim both still hold.
            let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert!(bits(&meant) == bits(&got), "{ext}: the audio changed");
        }
    }

    /// The metadata blocks of the FLAC file `bytes`: (type, size, last).
    fn flac_blocks(bytes: &[u8]) -> Vec<(u8, usize, bool)> {
        let mut blocks = Vec::new();
        let mut at = 4;
        loop {
            let h = &bytes[at..at + 4];
            let size = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
            blocks.push((h[0] & 0x7F, size, h[0] & 0x80 != 0));
            at += 4 + size;
            if h[0] & 0x80 != 0 {
                return blocks;
            }
        }
    }

    const STREAMINFO: u8 = 0;
    const PADDING: u8 = 1;
    const VORBIS_COMMENT: u8 = 4;

    #[test]
    fn a_flac_file_keeps_its_streams_blocks_and_flags_only_its_last() {
        let dir = tempfile::tempdir().unwrap();
        let encoding = Encoding::Flac { bits: 16, dither: Dither::None, seed: 0 };
        let plain = stream(dir.path(), encoding);
        let file = tagged(dir.path(), "plain.flac", &plain, Container::Flac, &tags("A"));
        let blocks = flac_blocks(&file);
        let kinds: Vec<_> = blocks.iter().map(|&(kind, _, last)| (kind, last)).collect();
        // lofty adds 1 KiB of padding to a stream that has none.
        assert_eq!(kinds, [(STREAMINFO, false), (VORBIS_COMMENT, false), (PADDING, true)]);
        assert_eq!(blocks[2].1, 1024);

        // A stream with padding of its own keeps it, and gets no more.
        let mut padded = plain[..42].to_vec();
        padded[4] &= 0x7F;
        padded.extend_from_slice(&[0x80 | PADDING, 0, 0, 100]);
        padded.extend_from_slice(&[0; 100]);
        padded.extend_from_slice(&plain[42..]);
        let file = tagged(dir.path(), "padded.flac", &padded, Container::Flac, &tags("A"));
        let kinds: Vec<_> =
            flac_blocks(&file).iter().map(|&(k, size, last)| (k, size, last)).collect();
        assert_eq!(kinds[1..], [(PADDING, 100, false), (VORBIS_COMMENT, kinds[2].1, true)]);
        let path = dir.path().join("padded.flac");
        assert!(decoded(&path) == decoded(&dir.path().join("stream.flac")));

        // A stream that is already tagged has its comments replaced.
        let retagged = tagged(dir.path(), "retagged.flac", &file, Container::Flac, &tags("B"));
        let direct = tagged(dir.path(), "direct.flac", &padded, Container::Flac, &tags("B"));
        assert!(retagged == direct);
    }

    #[test]
    fn a_stream_that_is_not_a_whole_file_of_its_container_is_refused_and_nothing_is_placed() {
        let dir = tempfile::tempdir().unwrap();
        let wav = stream(dir.path(), Encoding::Wav(WavFormat::Pcm16));
        let flac = stream(dir.path(), Encoding::Flac { bits: 16, dither: Dither::None, seed: 0 });
        let cases: [(Container, &[u8], &str); 7] = [
            (Container::Wav, b"", "it is empty"),
            (Container::Wav, &wav[..wav.len() - 100], "declares"),
            (Container::Wav, &[&wav[..], &[0; 2]].concat(), "declares"),
            (Container::Wav, &flac, "RIFF WAVE header"),
            (Container::Flac, &flac[..30], "ends inside its opening header"),
            (Container::Flac, &wav, "`fLaC`"),
            (Container::Mp3, &flac, "MPEG frame"),
        ];
        let path = dir.path().join("out.bin");
        std::fs::write(&path, b"the last delivery").unwrap();
        for (container, bytes, reason) in cases {
            let mut file = TaggedFile::create(&path, container, &tags("A")).unwrap();
            file.write_all(bytes).unwrap();
            let error = file.finish().unwrap_err().to_string();
            assert!(error.contains("not a whole") && error.contains(reason), "{error}");
            assert_eq!(std::fs::read(&path).unwrap(), b"the last delivery", "{reason}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3, "no temporary file left");
    }

    #[test]
    fn a_wav_that_its_tags_would_take_past_4_gib_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.wav");
        let mut file = TaggedFile::create(&path, Container::Wav, &tags("A")).unwrap();
        let size = u32::MAX - 101;
        file.write_all(&[&b"RIFF"[..], &size.to_le_bytes(), b"WAVE"].concat()).unwrap();
        let error = file.finish().unwrap_err().to_string();
        assert!(error.contains("4 GiB"), "{error}");
        assert!(!path.exists());
    }

    /// Set in the child process that tags a large file.
    const LARGE_CHILD: &str = "MIXDOWN_TAG_LARGE_WAV_IN";
    /// Audio bytes of the large WAV: long enough that holding it would show.
    const LARGE_DATA_BYTES: u32 = 128 << 20;

    /// Peak resident memory of this process, in bytes (Linux `VmHWM`).
    fn peak_resident_bytes() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    }

    /// Tags a WAV stream of [`LARGE_DATA_BYTES`] of audio into `dir` as a delivery does
    /// (in 256 KiB pieces) and prints how much the peak resident memory grew.
    fn tag_large_wav(dir: &Path) {
        let before = peak_resident_bytes().unwrap();
        let mut header = b"RIFF".to_vec();
        header.extend_from_slice(&(36 + LARGE_DATA_BYTES).to_le_bytes());
        header.extend_from_slice(
            b"WAVEfmt \x10\0\0\0\x01\0\x02\0\x44\xac\0\0\x10\xb1\x02\0\x04\0\x10\0",
        );
        header.extend_from_slice(b"data");
        header.extend_from_slice(&LARGE_DATA_BYTES.to_le_bytes());
        let path = dir.join("large.wav");
        let mut file = TaggedFile::create(&path, Container::Wav, &tags("Large")).unwrap();
        file.write_all(&header).unwrap();
        let piece: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
        for _ in 0..LARGE_DATA_BYTES as usize / piece.len() {
            file.write_all(&piece).unwrap();
        }
        file.finish().unwrap();
        let grown = peak_resident_bytes().unwrap() - before;
        assert_eq!(read_tags(&path).unwrap(), tags("Large"));
        println!("peak memory grew by {grown} bytes");
    }

    #[test]
    fn tagging_a_large_wav_holds_its_tags_in_memory_not_its_audio() {
        if let Some(dir) = std::env::var_os(LARGE_CHILD) {
            tag_large_wav(Path::new(&dir));
            return;
        }
        if peak_resident_bytes().is_none() {
            eprintln!("skipped: this system does not report peak memory");
            return;
        }
        // In a process of its own, so that other tests' memory does not count.
        let dir = tempfile::tempdir().unwrap();
        let name =
            "audio::tagged::tests::tagging_a_large_wav_holds_its_tags_in_memory_not_its_audio";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(LARGE_CHILD, dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let grown: u64 = stdout
            .lines()
            .find_map(|l| {
                l.split("peak memory grew by ").nth(1)?.strip_suffix(" bytes")?.parse().ok()
            })
            .unwrap_or_else(|| panic!("no figure in:\n{stdout}"));
        // The 256 KiB piece, the tags and the allocator's slack; the audio is 128 MiB.
        assert!(grown < 16 << 20, "peak memory grew by {} MiB", grown >> 20);
    }
}
