//! Release metadata (title, artist, album, track n/N, year, ISRC, UPC) written into and
//! read back from WAV, FLAC and MP3 files, through the `lofty` tag library.
//!
//! Where each field goes:
//!
//! | field | FLAC (Vorbis comment) | MP3 (ID3v2.4) | WAV `LIST/INFO` | WAV `id3 ` chunk (ID3v2.4) |
//! |---|---|---|---|---|
//! | title | `TITLE` | `TIT2` | `INAM` | `TIT2` |
//! | artist | `ARTIST` | `TPE1` | `IART` | `TPE1` |
//! | album | `ALBUM` | `TALB` | `IPRD` | `TALB` |
//! | track n/N | `TRACKNUMBER`, `TRACKTOTAL` | `TRCK` (`n/N`) | `ITRK`, `IFRM` | `TRCK` |
//! | year | `DATE` | `TDRC` | `ICRD` | `TDRC` |
//! | ISRC | `ISRC` | `TSRC` | — | `TSRC` |
//! | UPC | `BARCODE` | `TXXX:BARCODE` | — | `TXXX:BARCODE` |
//!
//! UPC (and EAN) goes under `BARCODE`, the name `MusicBrainz` and most taggers use for a
//! release's barcode. RIFF `INFO` has no field for either code (its `ISRC` chunk means
//! "source", not the recording code), so a WAV carries them in its `id3 ` chunk only.
//!
//! Tags hold only what the project says: no encoder name, vendor string, date of writing
//! or host data, so the same tags give the same bytes. lofty builds those bytes (an `ID3v2`
//! tag, a `LIST/INFO` chunk, FLAC metadata blocks) and nothing else: it never sees a whole
//! file, so tagging holds the tags in memory, never the audio. Where they go around the
//! encoded stream is [`super::tagged`]'s business.
//!
//! This is the only file that names lofty; it knows nothing of encoding or of projects.

use std::borrow::Cow;
use std::io::{self, Cursor};
use std::path::Path;

use lofty::TextEncoding;
use lofty::config::{ParseOptions, WriteOptions};
use lofty::file::TaggedFileExt;
use lofty::id3::v2::{Frame, FrameId, Id3v2Tag, TextInformationFrame};
use lofty::iff::wav::RiffInfoList;
use lofty::ogg::tag::VorbisComments;
use lofty::tag::{Accessor, ItemKey, TagExt};

use super::AudioError;

/// The field name of a release's UPC or EAN: a Vorbis comment, and an `ID3v2` `TXXX`
/// frame's description.
const BARCODE: &str = "BARCODE";

/// The metadata of one delivered file. Absent fields are not written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    /// The song's title.
    pub title: Option<String>,
    /// The performing artist.
    pub artist: Option<String>,
    /// The album (or single) the song is released on.
    pub album: Option<String>,
    /// The song's position on the release, from 1.
    pub track_number: Option<u32>,
    /// The number of songs on the release.
    pub track_total: Option<u32>,
    /// The release year.
    pub year: Option<u32>,
    /// The International Standard Recording Code, e.g. `GBAYE2600001`.
    pub isrc: Option<String>,
    /// The release's UPC or EAN barcode.
    pub upc: Option<String>,
}

/// The container a file's tags are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// RIFF WAVE: a `LIST/INFO` chunk and an `id3 ` chunk.
    Wav,
    /// FLAC: a Vorbis comment block.
    Flac,
    /// MPEG audio: an ID3v2.4 tag at the start.
    Mp3,
}

/// How lofty lays tags out: its default padding (1 KiB in an `ID3v2` tag, and a FLAC
/// `PADDING` block when the stream has none), so that a later in-place tag edit by another
/// tool has room to grow.
fn write_options() -> WriteOptions {
    WriteOptions::default()
}

/// `tags` as an ID3v2.4 tag, as lofty writes one at the start of an MP3 or into a WAV's
/// `id3 ` chunk; empty when no field is set.
///
/// # Errors
/// When lofty cannot encode a field.
pub fn id3v2_tag(tags: &Tags) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    id3v2(tags).dump_to(&mut bytes, write_options()).map_err(io::Error::other)?;
    Ok(bytes)
}

/// `tags` as a whole RIFF `LIST/INFO` chunk, header included; empty when none of its
/// fields is set.
///
/// # Errors
/// When lofty cannot encode a field.
pub fn riff_info_chunk(tags: &Tags) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    riff_info(tags).dump_to(&mut bytes, write_options()).map_err(io::Error::other)?;
    Ok(bytes)
}

/// The metadata blocks of a FLAC stream rewritten to hold `tags`: `metadata` is the stream
/// from `fLaC` up to its first frame. lofty rewrites them as it would in a whole file
/// (STREAMINFO first, a Vorbis comment block replacing any there was, the last block
/// flagged), but only these bytes are in memory; the frames that follow are left to the
/// caller to copy.
///
/// # Errors
/// When `metadata` is not the opening of a FLAC stream or lofty cannot encode a field.
pub fn flac_metadata(metadata: &[u8], tags: &Tags) -> io::Result<Vec<u8>> {
    // One byte stands for the frames: lofty's shortcut for metadata that ends its file
    // truncates the file to the wrong length when the new metadata is shorter.
    const FRAMES: u8 = 0xFF;
    let mut skeleton = Cursor::new([metadata, &[FRAMES]].concat());
    vorbis_comments(tags).save_to(&mut skeleton, write_options()).map_err(io::Error::other)?;
    let mut rewritten = skeleton.into_inner();
    if rewritten.pop() != Some(FRAMES) {
        return Err(io::Error::other("lofty wrote past the FLAC metadata"));
    }
    Ok(rewritten)
}

/// Reads the tags of the file at `path`, from its primary tag (the `id3 ` chunk of a WAV).
///
/// # Errors
/// When the file cannot be read or its tags are malformed.
pub fn read_tags(path: &Path) -> Result<Tags, AudioError> {
    let tagged = lofty::probe::Probe::open(path)
        .and_then(|p| p.options(ParseOptions::new()).read())
        .map_err(|e| AudioError::Corrupt { path: path.to_path_buf(), reason: e.to_string() })?;
    let Some(tag) = tagged.primary_tag() else { return Ok(Tags::default()) };
    let text = |key| tag.get_string(key).map(str::to_owned);
    Ok(Tags {
        title: tag.title().map(std::borrow::Cow::into_owned),
        artist: tag.artist().map(std::borrow::Cow::into_owned),
        album: tag.album().map(std::borrow::Cow::into_owned),
        track_number: tag.track(),
        track_total: tag.track_total(),
        year: text(ItemKey::RecordingDate).and_then(|d| d.get(..4)?.parse().ok()),
        isrc: text(ItemKey::Isrc),
        upc: text(ItemKey::Barcode),
    })
}

/// An ID3v2.4 tag holding `tags`. Tags are built frame by frame in a fixed order: lofty's
/// conversion from its generic tag gathers `ID3v2` frames in a hash map, whose order changes
/// from run to run.
fn id3v2(tags: &Tags) -> Id3v2Tag {
    let mut tag = Id3v2Tag::new();
    let mut text = |id: &'static str, value: String| {
        let id = FrameId::Valid(Cow::Borrowed(id));
        tag.insert(Frame::Text(TextInformationFrame::new(id, TextEncoding::UTF8, value)));
    };
    if let Some(title) = &tags.title {
        text("TIT2", title.clone());
    }
    if let Some(artist) = &tags.artist {
        text("TPE1", artist.clone());
    }
    if let Some(album) = &tags.album {
        text("TALB", album.clone());
    }
    if let Some(track) = track_pair(tags) {
        text("TRCK", track);
    }
    if let Some(year) = tags.year {
        text("TDRC", year.to_string());
    }
    if let Some(isrc) = &tags.isrc {
        text("TSRC", isrc.clone());
    }
    if let Some(upc) = &tags.upc {
        tag.insert_user_text(BARCODE.to_owned(), upc.clone());
    }
    tag
}

/// ID3's `n/N` (or `n`) track field.
fn track_pair(tags: &Tags) -> Option<String> {
    match (tags.track_number, tags.track_total) {
        (Some(n), Some(total)) => Some(format!("{n}/{total}")),
        (Some(n), None) => Some(n.to_string()),
        (None, _) => None,
    }
}

/// A Vorbis comment block holding `tags`, with an empty vendor string.
fn vorbis_comments(tags: &Tags) -> VorbisComments {
    let mut comments = VorbisComments::new();
    for (key, value) in fields(tags, true) {
        comments.push(key.to_owned(), value);
    }
    comments
}

/// A RIFF `LIST/INFO` chunk holding the fields it has names for.
fn riff_info(tags: &Tags) -> RiffInfoList {
    let mut info = RiffInfoList::new();
    let names = [
        ("TITLE", "INAM"),
        ("ARTIST", "IART"),
        ("ALBUM", "IPRD"),
        ("TRACKNUMBER", "ITRK"),
        ("TRACKTOTAL", "IFRM"),
        ("DATE", "ICRD"),
    ];
    for (key, value) in fields(tags, false) {
        if let Some((_, name)) = names.iter().find(|(k, _)| *k == key) {
            info.insert((*name).to_owned(), value);
        }
    }
    info
}

/// The set fields under their Vorbis comment names, in a fixed order; the codes only
/// when `codes`.
fn fields(tags: &Tags, codes: bool) -> Vec<(&'static str, String)> {
    let number = |n: Option<u32>| n.map(|n| n.to_string());
    let mut fields = vec![
        ("TITLE", tags.title.clone()),
        ("ARTIST", tags.artist.clone()),
        ("ALBUM", tags.album.clone()),
        ("TRACKNUMBER", number(tags.track_number)),
        ("TRACKTOTAL", number(tags.track_total)),
        ("DATE", number(tags.year)),
    ];
    if codes {
        fields.push(("ISRC", tags.isrc.clone()));
        fields.push((BARCODE, tags.upc.clone()));
    }
    fields.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use lofty::tag::TagType;

    use super::*;
    use crate::audio::Source;
    use crate::audio::decode::Decoder;
    use crate::audio::dither::Dither;
    use crate::audio::encode::Encoding;
    use crate::audio::mp3::Mp3Rate;
    use crate::audio::tagged::TaggedFile;
    use crate::audio::wav::WavFormat;

    fn release() -> Tags {
        Tags {
            title: Some("Tidewater".into()),
            artist: Some("The Estuary Ensemble".into()),
            album: Some("Low Water Mark — Ünïcode".into()),
            track_number: Some(3),
            track_total: Some(11),
            year: Some(2026),
            isrc: Some("GBAYE2600003".into()),
            upc: Some("5012345678900".into()),
        }
    }

    const FRAMES: usize = 30_000;

    fn signal() -> Vec<f32> {
        (0..FRAMES).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect()
    }

    fn container(path: &Path) -> Container {
        match path.extension().and_then(|e| e.to_str()) {
            Some("wav") => Container::Wav,
            Some("flac") => Container::Flac,
            _ => Container::Mp3,
        }
    }

    fn encoding(container: Container) -> Encoding {
        match container {
            Container::Wav => Encoding::Wav(WavFormat::Pcm24),
            Container::Flac => Encoding::Flac { bits: 24, dither: Dither::Tpdf, seed: 1 },
            Container::Mp3 => Encoding::Mp3(Mp3Rate::Cbr(320)),
        }
    }

    /// Encodes the test signal, untagged, as `name` (its extension picks the format).
    fn untagged(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        let x = signal();
        let mut encoder = encoding(container(&path)).create(&path, 48_000).unwrap();
        encoder.write(&x, &x).unwrap();
        encoder.finish().unwrap();
        path
    }

    /// Writes the test signal as `name` (its extension picks the format) with `tags`, as a
    /// delivery does: encoded untagged, then tagged on its way into the file.
    fn write(dir: &Path, name: &str, tags: &Tags) -> PathBuf {
        let stream = std::fs::read(untagged(dir, &format!("untagged-{name}"))).unwrap();
        let path = dir.join(name);
        let mut file = TaggedFile::create(&path, container(&path), tags).unwrap();
        std::io::Write::write_all(&mut file, &stream).unwrap();
        file.finish().unwrap();
        path
    }

    fn decoded_frames(path: &Path) -> usize {
        let mut decoder = Decoder::open(path).unwrap();
        let (mut l, mut r) = (vec![0.0; 4096], vec![0.0; 4096]);
        let mut frames = 0;
        loop {
            match decoder.read(&mut l, &mut r).unwrap() {
                0 => return frames,
                n => frames += n,
            }
        }
    }

    #[test]
    fn every_field_reads_back_from_wav_flac_and_mp3_and_the_audio_is_intact() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["song.wav", "song.flac", "song.mp3"] {
            let path = write(dir.path(), name, &release());
            assert_eq!(read_tags(&path).unwrap(), release(), "{name}");
            // Tagging left the audio whole: the FLAC's MD5 still holds, and the MP3's
            // gapless header still trims it to the frames written.
            assert_eq!(decoded_frames(&path), FRAMES, "{name}");
        }
    }

    #[test]
    fn a_wav_carries_riff_info_beside_its_id3_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "song.wav", &release());
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.windows(4).any(|w| w == b"INFO"), "a LIST/INFO chunk");
        assert!(bytes.windows(4).any(|w| w == b"id3 "), "a lower-case id3 chunk");
        let tagged = lofty::read_from_path(&path).unwrap();
        let info = tagged.tag(TagType::RiffInfo).expect("a LIST/INFO chunk");
        assert_eq!(info.title().as_deref(), Some("Tidewater"));
        assert_eq!(info.artist().as_deref(), Some("The Estuary Ensemble"));
        assert_eq!(info.album().as_deref(), Some("Low Water Mark — Ünïcode"));
        assert_eq!(info.track(), Some(3));
        assert_eq!(info.get_string(ItemKey::RecordingDate), Some("2026"));
    }

    #[test]
    fn codes_use_the_documented_fields_of_each_format() {
        let dir = tempfile::tempdir().unwrap();
        let mp3 = std::fs::read(write(dir.path(), "song.mp3", &release())).unwrap();
        assert_eq!(&mp3[..4], b"ID3\x04", "an ID3v2.4 tag opens the MP3");
        for field in [&b"TSRC"[..], b"TRCK", b"TXXX", b"BARCODE", b"3/11"] {
            assert!(mp3.windows(field.len()).any(|w| w == field));
        }
        let flac = std::fs::read(write(dir.path(), "song.flac", &release())).unwrap();
        for field in [&b"ISRC=GBAYE2600003"[..], b"BARCODE=5012345678900", b"TRACKTOTAL=11"] {
            assert!(flac.windows(field.len()).any(|w| w == field));
        }
    }

    #[test]
    fn tagged_files_are_the_same_bytes_every_time_and_other_tags_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        for ext in ["wav", "flac", "mp3"] {
            let a = std::fs::read(write(dir.path(), &format!("a.{ext}"), &release())).unwrap();
            let b = std::fs::read(write(dir.path(), &format!("b.{ext}"), &release())).unwrap();
            assert!(a == b, "{ext}: two writes differ");
            let retitled = Tags { title: Some("Tidewater (edit)".into()), ..release() };
            let path = write(dir.path(), &format!("c.{ext}"), &retitled);
            assert_eq!(read_tags(&path).unwrap(), retitled, "{ext}");
            assert_eq!(decoded_frames(&path), FRAMES, "{ext}");
        }
    }

    /// Tags the file at `path` in place as lofty saves tags into a whole file.
    fn saved_by_lofty(path: &Path, tags: &Tags) {
        let options = WriteOptions::default().uppercase_id3v2_chunk(false);
        let mut file = std::fs::File::options().read(true).write(true).open(path).unwrap();
        match container(path) {
            Container::Wav => {
                riff_info(tags).save_to(&mut file, options).unwrap();
                std::io::Seek::rewind(&mut file).unwrap();
                id3v2(tags).save_to(&mut file, options).unwrap();
            }
            Container::Flac => vorbis_comments(tags).save_to(&mut file, options).unwrap(),
            Container::Mp3 => id3v2(tags).save_to(&mut file, options).unwrap(),
        }
    }

    #[test]
    fn tags_placed_around_a_stream_are_the_bytes_lofty_saves_into_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let some =
            Tags { title: Some("Tidewater".into()), track_number: Some(3), ..Tags::default() };
        for (n, tags) in [release(), some, Tags::default()].iter().enumerate() {
            for ext in ["wav", "flac", "mp3"] {
                let ours = std::fs::read(write(dir.path(), &format!("{n}.{ext}"), tags)).unwrap();
                let whole = untagged(dir.path(), &format!("whole-{n}.{ext}"));
                saved_by_lofty(&whole, tags);
                assert!(ours == std::fs::read(&whole).unwrap(), "{ext}, tags {n}");
            }
        }
    }

    #[test]
    fn untagged_files_hold_no_tags() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["song.flac", "song.mp3"] {
            let path = write(dir.path(), name, &Tags::default());
            assert_eq!(read_tags(&path).unwrap(), Tags::default(), "{name}");
        }
    }

    /// Runs an outside tool, or says why not and returns `None` when it is not installed.
    fn run(tool: &str, args: &[&str], path: &Path) -> Option<String> {
        match Command::new(tool).args(args).arg(path).output() {
            Ok(out) => {
                assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
                Some(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Err(e) => {
                eprintln!("skipped: {tool} is not available here ({e})");
                None
            }
        }
    }

    #[test]
    fn metaflac_reads_the_flac_tags_and_flac_verifies_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "song.flac", &release());
        let Some(out) = run("metaflac", &["--list", "--block-type=VORBIS_COMMENT"], &path) else {
            return;
        };
        for field in [
            "TITLE=Tidewater",
            "ARTIST=The Estuary Ensemble",
            "TRACKNUMBER=3",
            "TRACKTOTAL=11",
            "DATE=2026",
            "ISRC=GBAYE2600003",
            "BARCODE=5012345678900",
        ] {
            assert!(out.contains(field), "{field} missing from:\n{out}");
        }
        run("flac", &["--test", "--silent"], &path);
    }

    #[test]
    fn ffprobe_reads_the_tags_of_every_format() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["song.wav", "song.flac", "song.mp3"] {
            let path = write(dir.path(), name, &release());
            let args = ["-v", "error", "-show_entries", "format_tags", "-of", "flat"];
            let Some(out) = run("ffprobe", &args, &path) else { return };
            let out = out.to_lowercase();
            // ffmpeg's WAV reader shows the LIST/INFO chunk, not the `id3 ` chunk, and only
            // the `id3 ` chunk can hold an ISRC (`TSRC`): our own tag reader checks it.
            let isrc = (name != "song.wav").then_some("gbaye2600003");
            for value in ["tidewater", "the estuary ensemble", "2026"].into_iter().chain(isrc) {
                assert!(out.contains(value), "{name}: {value} missing from:\n{out}");
            }
        }
    }
}
