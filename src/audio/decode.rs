//! Decoding audio files (WAV, FLAC, MP3, Ogg Vorbis, AIFF and whatever else symphonia
//! reads) into planar stereo `f32`, streamed a block at a time. Native FLAC is read by
//! [`super::flac_decode`], frame after frame, since symphonia's FLAC reader drops frames of
//! some valid streams; every other format by symphonia.
//!
//! The decoder is strict: a malformed packet, a stream shorter than its header declares or
//! a failed embedded checksum (FLAC's MD5) is an error naming the file, never skipped and
//! never padded, because a render from damaged audio must not look like a good one. Mono is
//! duplicated into both channels; the engine applies pan laws. Encoder delay and padding
//! (gapless MP3) are trimmed, so the frames returned are the song's frames.
//!
//! Nothing symphonia would trust reaches it unchecked: a WAV header is walked first (see
//! `riff`), declared rates, channel counts and packet lengths are checked before the codec
//! allocates by them, a panic inside symphonia is the file's error, and a sample that is
//! infinite or NaN is an error giving its time. A decoder opened with
//! [`Decoder::open_expecting`] proves its file's bytes are the ones its cache key was made
//! of (see `content_check`), and reports a file whose bytes are not.
//!
//! This is the only file that names symphonia. `check` still asks symphonia's FLAC reader
//! to seek to a FLAC's last declared frame ([`Decoder::check_declared_end`]), as claxon
//! cannot seek.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use symphonia::core::audio::{AudioBuffer, Channels, Signal, SignalSpec};
use symphonia::core::codecs::{
    CODEC_TYPE_NULL, CODEC_TYPE_PCM_F32LE, CODEC_TYPE_PCM_S16LE, CODEC_TYPE_PCM_S24LE,
    CODEC_TYPE_VORBIS, CodecParameters, Decoder as CodecDecoder, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::default::formats::FlacReader;

use super::container::Container;
use super::content_check::{self, ContentCheck, ExpectedContent, HashedFile};
use super::flac_decode::{FlacFault, FlacStream};
use super::guard::guarded;
use super::riff::{self, HeaderFault};
use super::{AudioError, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Source, aiff};

/// Read-ahead of the byte stream; large reads keep syscalls rare on long PCM files.
const READ_BUFFER_BYTES: usize = 256 * 1024;
/// The longest packet a header may declare, in frames. Codecs size their buffers by the
/// declared length, so a hostile header could otherwise ask for gigabytes; real formats
/// stay far below this (FLAC allows 65535, WAV packets here hold 1152).
const MAX_FRAMES_PER_PACKET: u64 = 1 << 20;

/// An open audio file that streams planar stereo `f32`.
pub struct Decoder {
    path: PathBuf,
    reader: Reader,
    sample_rate: u32,
    channels: usize,
    frames: Option<u64>,
    /// The length a file declares more reliably than its last packet decodes (an AIFF's
    /// `COMM` chunk, an Ogg Vorbis stream's final granule): frames past it are not audio.
    limit: Option<u64>,
    /// The last decoded packet, of which the frames from `pending_pos` on are not yet read.
    pending: AudioBuffer<f32>,
    pending_pos: usize,
    decoded: u64,
    ended: bool,
    /// Set when the decoder failed part way (a panic inside symphonia): every later read
    /// reports it again rather than passing for the end of the stream.
    failed: Option<String>,
    /// The check that the bytes read are the bytes expected, until it is made.
    content: Option<ContentCheck>,
    /// The container the file's first bytes name.
    container: Option<Container>,
}

/// What reads a file's packets.
enum Reader {
    /// Every format but native FLAC.
    Symphonia {
        format: Box<dyn FormatReader>,
        codec: Box<dyn CodecDecoder>,
        /// Set for the plain PCM encodings, whose packets are converted here rather than
        /// by `codec`: symphonia's generic per-sample path was a sixth of a whole render's
        /// time.
        pcm: Option<(PcmEncoding, SignalSpec)>,
        track_id: u32,
    },
    /// Native FLAC, frame after frame.
    Flac(Box<FlacStream<Box<dyn Read + Send>>>),
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("path", &self.path)
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// Opens `path` and reads its header.
    ///
    /// # Errors
    /// When the file cannot be opened, is not audio in a supported format, declares a
    /// sample rate outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] or more than two
    /// channels, its header is malformed or cut short, or its first packet is corrupt.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AudioError> {
        Self::open_checked(path.as_ref(), None)
    }

    /// Opens `path` as [`Decoder::open`] does, to decode the file whose bytes are
    /// `content`: when the stream ends (or at [`Decoder::confirm_content`]) a file that was
    /// changed since it was hashed, or while it was read, is an error rather than audio.
    ///
    /// # Errors
    /// As [`Decoder::open`].
    pub fn open_expecting(
        path: impl AsRef<Path>,
        content: ExpectedContent,
    ) -> Result<Self, AudioError> {
        Self::open_checked(path.as_ref(), Some(content))
    }

    fn open_checked(path: &Path, content: Option<ExpectedContent>) -> Result<Self, AudioError> {
        let path = path.to_path_buf();
        let open_error = |source| AudioError::Open { path: path.clone(), source };
        let mut file = File::open(&path).map_err(open_error)?;
        if file.metadata().map_err(open_error)?.len() == 0 {
            return Err(AudioError::Empty { path });
        }
        let container = sniff(&mut file).map_err(open_error)?;
        if container == Some(Container::Wav) {
            check_wav_header(&path, &mut file)?;
        }
        let aiff_frames = aiff::declared_frames(&mut file).map_err(open_error)?;
        let vouched = content.and_then(|e| content_check::unchanged_since_hashed(&file, &e));
        let (media, check): (Box<dyn MediaSource>, _) = match (content, vouched) {
            (Some(expected), None) => {
                let (hashed, check) = content_check::hashed(file, expected.digest);
                (Box::new(hashed), Some(check))
            }
            (_, vouched) => (Box::new(file), vouched),
        };
        let opened = if container == Some(Container::Flac) {
            let bytes = Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, media));
            guarded(|| Self::open_flac(path.clone(), bytes))
        } else {
            let stream = MediaSourceStream::new(
                media,
                MediaSourceStreamOptions { buffer_len: READ_BUFFER_BYTES },
            );
            guarded(|| Self::probe(path.clone(), stream, container, aiff_frames))
        };
        let mut decoder = opened.map_err(|message| panicked(&path, &message))??;
        decoder.content = check;
        decoder.container = container;
        if matches!(decoder.reader, Reader::Flac(_)) && !decoder.fill()? {
            // A FLAC's header always names its channels; a stream of no frames is silent.
            return Err(AudioError::NoAudio { path: decoder.path });
        }
        if decoder.channels == 0 {
            // Some containers only reveal the layout in the first packet.
            decoder.fill()?;
            if decoder.channels == 0 {
                return Err(AudioError::NoAudio { path: decoder.path });
            }
        }
        Ok(decoder)
    }

    /// Finds the format and the track, checks what they declare, and builds the codec.
    fn probe(
        path: PathBuf,
        stream: MediaSourceStream,
        container: Option<Container>,
        aiff_frames: Option<u64>,
    ) -> Result<Self, AudioError> {
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let format_options = FormatOptions { enable_gapless: true, ..FormatOptions::default() };
        let probed = symphonia::default::get_probe()
            .format(&hint, stream, &format_options, &MetadataOptions::default())
            .map_err(|e| match e {
                // The prober reads to the end when nothing it knows matches; a file that
                // starts like a known container ends before its first audio.
                SymphoniaError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    match container {
                        Some(_) => AudioError::NoAudio { path: path.clone() },
                        None => unsupported(&path, "not an audio file in a format we read"),
                    }
                }
                e => error(&path, e),
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| unsupported(&path, "the file holds no audio track"))?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        // A Vorbis stream's last packet decodes whole; its final granule position, which
        // symphonia reports as the length, says where the audio really ends.
        let vorbis_frames = params.n_frames.filter(|_| params.codec == CODEC_TYPE_VORBIS);
        let sample_rate = params.sample_rate.unwrap_or(0);
        check_sample_rate(&path, sample_rate)?;
        let channels = match params.channels {
            Some(layout) => check_channels(&path, layout.count())?,
            None => 0,
        };
        check_packet_length(&path, params.max_frames_per_packet)?;
        let codec = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions { verify: true })
            .map_err(|e| error(&path, e))?;
        let pcm = PcmEncoding::of(&params)
            .zip(params.channels.map(|layout| SignalSpec::new(sample_rate, layout)));
        let reader = Reader::Symphonia { format, codec, pcm, track_id };
        let frames = aiff_frames.or(params.n_frames);
        Ok(Self::new(path, reader, (sample_rate, channels), frames, aiff_frames.or(vorbis_frames)))
    }

    /// Reads a FLAC stream's metadata and checks what it declares.
    fn open_flac(path: PathBuf, bytes: Box<dyn Read + Send>) -> Result<Self, AudioError> {
        let stream = FlacStream::open(bytes).map_err(|f| flac_error(&path, f, None, 0))?;
        let info = stream.info();
        check_sample_rate(&path, info.sample_rate)?;
        let channels = check_channels(&path, info.channels)?;
        let reader = Reader::Flac(Box::new(stream));
        Ok(Self::new(path, reader, (info.sample_rate, channels), info.frames, None))
    }

    /// A decoder at the start of its stream.
    fn new(
        path: PathBuf,
        reader: Reader,
        (sample_rate, channels): (u32, usize),
        frames: Option<u64>,
        limit: Option<u64>,
    ) -> Self {
        Self {
            path,
            reader,
            sample_rate,
            channels,
            frames,
            limit,
            pending: AudioBuffer::unused(),
            pending_pos: 0,
            decoded: 0,
            ended: false,
            failed: None,
            content: None,
            container: None,
        }
    }

    /// Confirms that the file's bytes, read to the end, are those of the digest given to
    /// [`Decoder::open_expecting`]: call it before keeping audio from a decoder that was
    /// not read to its end. Does nothing for a decoder opened with [`Decoder::open`], or
    /// once confirmed.
    ///
    /// # Errors
    /// [`AudioError::Changed`] when the file changed; [`AudioError::Read`] when the rest of
    /// it cannot be read.
    pub fn confirm_content(&mut self) -> Result<(), AudioError> {
        let Some(check) = self.content.take() else { return Ok(()) };
        match check.confirm() {
            Ok(true) => Ok(()),
            Ok(false) => Err(AudioError::Changed { path: self.path.clone() }),
            Err(source) => Err(AudioError::Read { path: self.path.clone(), source }),
        }
    }

    /// The container the file's first bytes name, whatever its extension says.
    #[must_use]
    pub fn container(&self) -> Option<Container> {
        self.container
    }

    /// Checks, without decoding the whole file, that a FLAC stream holds the frames its
    /// header declares: a seek to the last declared frame, by symphonia's FLAC reader on
    /// the file opened again, must find a packet that holds it. This is how `check` finds
    /// a cut-off FLAC (a WAV's header check finds a cut-off WAV at open). Other formats,
    /// whose declared lengths are estimates or whose readers cannot seek, pass unchecked.
    /// The decoder is left at its end: use a fresh one to read the audio.
    ///
    /// # Errors
    /// [`AudioError::Truncated`] when the stream ends early.
    pub fn check_declared_end(&mut self) -> Result<(), AudioError> {
        /// Packets read after the seek before giving up without a verdict.
        const PACKETS_AFTER_SEEK: usize = 256;
        let (Some(Container::Flac), Some(frames)) = (self.container, self.frames) else {
            return Ok(());
        };
        let Some(last) = frames.checked_sub(1) else { return Ok(()) };
        let path = &self.path;
        let outcome = guarded(|| -> Result<Option<u64>, SymphoniaError> {
            let options = MediaSourceStreamOptions::default();
            let file = MediaSourceStream::new(Box::new(File::open(path)?), options);
            let mut format = FlacReader::try_new(file, &FormatOptions::default())?;
            let track_id = format.tracks().first().map_or(0, |t| t.id);
            let to = SeekTo::TimeStamp { ts: last, track_id };
            format.seek(SeekMode::Coarse, to)?;
            let mut reached = 0;
            for _ in 0..PACKETS_AFTER_SEEK {
                let packet = match format.next_packet() {
                    Ok(packet) => packet,
                    Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Ok(Some(reached));
                    }
                    Err(e) => return Err(e),
                };
                if packet.track_id() == track_id {
                    reached = packet.ts() + packet.dur();
                    if reached > last {
                        return Ok(None);
                    }
                }
            }
            Ok(None)
        });
        self.ended = true;
        match outcome.map_err(|message| panicked(&self.path, &message))? {
            Ok(None) => Ok(()),
            Ok(Some(reached)) => Err(AudioError::Truncated {
                path: self.path.clone(),
                expected: frames,
                decoded: reached,
            }),
            // A seek beyond the data, or a damaged frame where it lands.
            Err(SymphoniaError::SeekError(_)) => {
                Err(AudioError::CutShort { path: self.path.clone(), expected: frames })
            }
            Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(AudioError::CutShort { path: self.path.clone(), expected: frames })
            }
            Err(e) => Err(error(&self.path, e)),
        }
    }

    /// The file this decoder reads.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Channels in the file: 1 or 2.
    #[must_use]
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Reads and discards `frames` frames, for clips that start inside a file, and returns
    /// how many were skipped (fewer only at the end of the file).
    ///
    /// # Errors
    /// As for [`Source::read`]: the skipped part is decoded, so corruption is still found.
    pub fn skip(&mut self, frames: u64) -> Result<u64, AudioError> {
        let mut skipped = 0;
        while skipped < frames {
            if self.pending_pos >= self.pending.frames() && !self.fill()? {
                break;
            }
            let available = (self.pending.frames() - self.pending_pos) as u64;
            let n = available.min(frames - skipped);
            self.pending_pos += n as usize;
            skipped += n;
        }
        Ok(skipped)
    }

    /// Decodes the next packet of our track into `pending`. Returns false at the end of
    /// the stream, after checking that the stream was complete. A panic inside the decoder
    /// is this file's error, now and on every later call.
    fn fill(&mut self) -> Result<bool, AudioError> {
        if let Some(message) = &self.failed {
            return Err(panicked(&self.path, message));
        }
        let outcome = guarded(|| self.fill_unguarded());
        let filled = outcome.unwrap_or_else(|message| {
            self.pending_pos = self.pending.frames();
            self.failed = Some(message.clone());
            Err(panicked(&self.path, &message))
        })?;
        if filled {
            self.check_finite()?;
        }
        Ok(filled)
    }

    fn fill_unguarded(&mut self) -> Result<bool, AudioError> {
        if self.ended {
            return Ok(false);
        }
        loop {
            let Reader::Symphonia { format, codec, pcm, track_id } = &mut self.reader else {
                return self.fill_flac();
            };
            let packet = match format.next_packet() {
                Ok(packet) => packet,
                Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.finish()?;
                    return Ok(false);
                }
                Err(e) => return Err(error(&self.path, e)),
            };
            if packet.track_id() != *track_id {
                continue;
            }
            if let Some((encoding, spec)) = *pcm {
                if self.fill_pcm(encoding, spec, packet.buf()) {
                    return self.hold_to_limit();
                }
                continue;
            }
            let decoded = codec.decode(&packet).map_err(|e| error(&self.path, e))?;
            if decoded.frames() == 0 {
                continue;
            }
            let spec = *decoded.spec();
            if spec.rate != self.sample_rate {
                return Err(unsupported(&self.path, "the sample rate changes within the file"));
            }
            let channels = check_channels(&self.path, spec.channels.count())?;
            if self.channels != 0 && channels != self.channels {
                return Err(unsupported(&self.path, "the channel count changes within the file"));
            }
            self.channels = channels;
            if *self.pending.spec() != spec || self.pending.capacity() < decoded.capacity() {
                self.pending = decoded.make_equivalent();
            }
            decoded.convert(&mut self.pending);
            self.pending_pos = 0;
            self.decoded += self.pending.frames() as u64;
            return self.hold_to_limit();
        }
    }

    /// Decodes the next FLAC frame into `pending`; at the end of the stream, finishes it.
    fn fill_flac(&mut self) -> Result<bool, AudioError> {
        let Reader::Flac(stream) = &mut self.reader else { return Ok(false) };
        let frames = match stream.next_block() {
            Ok(frames) => frames,
            Err(fault) => return Err(flac_error(&self.path, fault, self.frames, stream.decoded())),
        };
        if frames == 0 {
            self.finish()?;
            return Ok(false);
        }
        let layout = if self.channels == 2 {
            Channels::FRONT_LEFT | Channels::FRONT_RIGHT
        } else {
            Channels::FRONT_LEFT
        };
        let spec = SignalSpec::new(self.sample_rate, layout);
        if *self.pending.spec() != spec || self.pending.capacity() < frames {
            self.pending = AudioBuffer::new(frames as u64, spec);
        }
        self.pending.clear();
        self.pending.render_reserved(Some(frames));
        let mut planes = self.pending.planes_mut();
        for (channel, plane) in planes.planes().iter_mut().enumerate() {
            stream.read_channel(channel, plane);
        }
        self.pending_pos = 0;
        self.decoded += frames as u64;
        Ok(true)
    }

    /// Drops the frames of the packet just decoded that lie past the declared length;
    /// returns false, having ended the stream, when none is left.
    fn hold_to_limit(&mut self) -> Result<bool, AudioError> {
        if let Some(limit) = self.limit
            && self.decoded > limit
        {
            let excess = usize::try_from(self.decoded - limit).unwrap_or(usize::MAX);
            let keep = self.pending.frames().saturating_sub(excess);
            self.pending.truncate(keep);
            self.decoded = limit;
            if keep == 0 {
                self.finish()?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Converts one packet of interleaved PCM into `pending`, exactly as symphonia's PCM
    /// decoder would. Returns false for a packet without a whole frame.
    fn fill_pcm(&mut self, encoding: PcmEncoding, spec: SignalSpec, bytes: &[u8]) -> bool {
        let width = encoding.bytes_per_sample();
        let frame_bytes = width * self.channels;
        let frames = bytes.len() / frame_bytes;
        if frames == 0 {
            return false;
        }
        if *self.pending.spec() != spec || self.pending.capacity() < frames {
            self.pending = AudioBuffer::new(frames as u64, spec);
        }
        self.pending.clear();
        self.pending.render_reserved(Some(frames));
        let mut planes = self.pending.planes_mut();
        match encoding {
            PcmEncoding::S16 => deinterleave(bytes, planes.planes(), |[a, b]| {
                f32::from(i16::from_le_bytes([a, b])) / 32_768.0
            }),
            PcmEncoding::S24 => deinterleave(bytes, planes.planes(), |[a, b, c]| {
                (i32::from_le_bytes([0, a, b, c]) >> 8) as f32 / 8_388_608.0
            }),
            PcmEncoding::F32 => deinterleave(bytes, planes.planes(), f32::from_le_bytes),
        }
        self.pending_pos = 0;
        self.decoded += frames as u64;
        true
    }

    /// Refuses a packet holding an infinite or NaN sample: no processor may see one, and
    /// the user needs to know where it is to repair the file.
    fn check_finite(&self) -> Result<(), AudioError> {
        // Integer samples are always finite.
        let integers = match &self.reader {
            Reader::Flac(_) => true,
            Reader::Symphonia { pcm, .. } => {
                matches!(pcm, Some((PcmEncoding::S16 | PcmEncoding::S24, _)))
            }
        };
        if integers {
            return Ok(());
        }
        let frames = self.pending.frames();
        let start = self.decoded - frames as u64;
        let first_bad = (0..self.channels)
            .filter_map(|c| first_non_finite(&self.pending.chan(c)[self.pending_pos..frames]))
            .min();
        match first_bad {
            None => Ok(()),
            Some(i) => Err(AudioError::NonFinite {
                path: self.path.clone(),
                frame: start + (self.pending_pos + i) as u64,
                sample_rate: self.sample_rate,
            }),
        }
    }

    /// Checks, at the end of the stream, that nothing was missing and that the bytes read
    /// were the bytes expected.
    fn finish(&mut self) -> Result<(), AudioError> {
        self.ended = true;
        self.confirm_content()?;
        if let Some(expected) = self.frames
            && self.decoded < expected
        {
            return Err(AudioError::Truncated {
                path: self.path.clone(),
                expected,
                decoded: self.decoded,
            });
        }
        if let Reader::Symphonia { codec, .. } = &mut self.reader
            && codec.finalize().verify_ok == Some(false)
        {
            return Err(corrupt(&self.path, "the decoded audio fails the file's own checksum"));
        }
        Ok(())
    }
}

impl Source for Decoder {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn frames(&self) -> Option<u64> {
        self.frames
    }

    fn read(&mut self, left: &mut [f32], right: &mut [f32]) -> Result<usize, AudioError> {
        let want = left.len().min(right.len());
        let mut done = 0;
        while done < want {
            if self.pending_pos >= self.pending.frames() && !self.fill()? {
                break;
            }
            let n = (self.pending.frames() - self.pending_pos).min(want - done);
            let span = self.pending_pos..self.pending_pos + n;
            let first = &self.pending.chan(0)[span.clone()];
            let second = if self.channels == 2 { &self.pending.chan(1)[span] } else { first };
            left[done..done + n].copy_from_slice(first);
            right[done..done + n].copy_from_slice(second);
            self.pending_pos += n;
            done += n;
        }
        Ok(done)
    }
}

/// The interleaved little-endian PCM encodings that [`Decoder::fill_pcm`] converts itself.
#[derive(Debug, Clone, Copy)]
enum PcmEncoding {
    S16,
    S24,
    F32,
}

impl PcmEncoding {
    /// The encoding of a stream, when it is one of ours and every coded bit is a sample bit.
    fn of(params: &CodecParameters) -> Option<Self> {
        let bits = params.bits_per_sample?;
        if params.bits_per_coded_sample.is_some_and(|coded| coded != bits) {
            return None;
        }
        match (params.codec, bits) {
            (CODEC_TYPE_PCM_S16LE, 16) => Some(Self::S16),
            (CODEC_TYPE_PCM_S24LE, 24) => Some(Self::S24),
            (CODEC_TYPE_PCM_F32LE, 32) => Some(Self::F32),
            _ => None,
        }
    }

    fn bytes_per_sample(self) -> usize {
        match self {
            Self::S16 => 2,
            Self::S24 => 3,
            Self::F32 => 4,
        }
    }
}

/// Splits whole interleaved frames of `W`-byte samples into `planes` (one or two), each
/// sample converted by `convert`; integers are scaled by a power of two, so exactly. One
/// loop per channel count keeps the conversion free of indexing.
fn deinterleave<const W: usize>(
    bytes: &[u8],
    planes: &mut [&mut [f32]],
    convert: impl Fn([u8; W]) -> f32,
) {
    let sample = |b: &[u8]| convert(b.try_into().expect("chunks of W bytes"));
    match planes {
        [mono] => {
            for (out, b) in mono.iter_mut().zip(bytes.chunks_exact(W)) {
                *out = sample(b);
            }
        }
        [left, right] => {
            for ((l, r), b) in left.iter_mut().zip(right.iter_mut()).zip(bytes.chunks_exact(2 * W))
            {
                *l = sample(&b[..W]);
                *r = sample(&b[W..]);
            }
        }
        _ => unreachable!("the channel count is checked at open"),
    }
}

/// The index of the first sample of `samples` that is infinite or NaN. The scan that
/// decides whether there is one has no early exit, so that it vectorizes.
fn first_non_finite(samples: &[f32]) -> Option<usize> {
    const EXPONENT: u32 = 0x7F80_0000;
    let any = samples.iter().fold(false, |any, x| any | (x.to_bits() & EXPONENT == EXPONENT));
    if any { samples.iter().position(|x| !x.is_finite()) } else { None }
}

/// The first bytes of `file`, identified; the file is left at its start.
fn sniff(file: &mut File) -> io::Result<Option<Container>> {
    let mut head = [0u8; 16];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    file.rewind()?;
    Ok(Container::sniff(&head[..filled]))
}

/// Refuses a WAV file whose header is malformed, cut short, or declares a rate or channel
/// count we do not read, before symphonia reads it.
fn check_wav_header(path: &Path, file: &mut File) -> Result<(), AudioError> {
    let header = riff::read_header(file)
        .map_err(|source| AudioError::Read { path: path.to_path_buf(), source })?;
    match header {
        Ok(header) => {
            check_sample_rate(path, header.sample_rate)?;
            check_channels(path, usize::from(header.channels)).map(drop)
        }
        Err(HeaderFault::Malformed(reason)) => {
            Err(corrupt(path, &format!("malformed WAV header: {reason}")))
        }
        Err(HeaderFault::Truncated { declared, present }) => Err(AudioError::Truncated {
            path: path.to_path_buf(),
            expected: declared,
            decoded: present,
        }),
    }
}

/// Refuses a header declaring packets longer than [`MAX_FRAMES_PER_PACKET`]: the codec
/// sizes its buffers by the declared length, and a header may say anything.
fn check_packet_length(path: &Path, max_frames: Option<u64>) -> Result<(), AudioError> {
    match max_frames {
        Some(frames) if frames > MAX_FRAMES_PER_PACKET => Err(corrupt(
            path,
            &format!("its header declares packets of {frames} frames, more than any format uses"),
        )),
        _ => Ok(()),
    }
}

fn check_sample_rate(path: &Path, rate: u32) -> Result<(), AudioError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(AudioError::SampleRate { path: path.to_path_buf(), rate })
    }
}

fn panicked(path: &Path, message: &str) -> AudioError {
    AudioError::DecoderFailed { path: path.to_path_buf(), reason: message.to_owned() }
}

fn check_channels(path: &Path, channels: usize) -> Result<usize, AudioError> {
    match channels {
        1 | 2 => Ok(channels),
        0 => Err(unsupported(path, "the file declares no channels")),
        _ => Err(AudioError::Channels { path: path.to_path_buf(), channels }),
    }
}

impl MediaSource for HashedFile {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        HashedFile::byte_len(self)
    }
}

/// A FLAC stream's fault as the file's error: a stream that ends early is truncated when
/// its header declared `declared` frames and `decoded` were read.
fn flac_error(path: &Path, fault: FlacFault, declared: Option<u64>, decoded: u64) -> AudioError {
    match fault {
        FlacFault::Read(source) => AudioError::Read { path: path.to_path_buf(), source },
        FlacFault::EndsEarly => match declared {
            Some(expected) => AudioError::Truncated { path: path.to_path_buf(), expected, decoded },
            None => corrupt(path, "the stream ends inside a frame"),
        },
        FlacFault::Corrupt(reason) => corrupt(path, &reason),
        FlacFault::Unsupported(reason) => unsupported(path, &reason),
    }
}

fn unsupported(path: &Path, reason: &str) -> AudioError {
    AudioError::Unsupported { path: path.to_path_buf(), reason: reason.to_owned() }
}

fn corrupt(path: &Path, reason: &str) -> AudioError {
    AudioError::Corrupt { path: path.to_path_buf(), reason: reason.to_owned() }
}

fn error(path: &Path, e: SymphoniaError) -> AudioError {
    match e {
        SymphoniaError::IoError(source) => AudioError::Read { path: path.to_path_buf(), source },
        SymphoniaError::DecodeError(msg) => corrupt(path, msg),
        e @ SymphoniaError::SeekError(_) => corrupt(path, &e.to_string()),
        SymphoniaError::Unsupported(msg) => unsupported(path, msg),
        SymphoniaError::LimitError(msg) => unsupported(path, &format!("exceeds a limit: {msg}")),
        SymphoniaError::ResetRequired => {
            unsupported(path, "the stream changes its parameters within the file")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    use crate::audio::wav::{WavFormat, WavWriter};
    use crate::dsp::probe::bits;

    /// A WAV file built by hand, so that any channel count and any damage can be made:
    /// `format_tag` 1 (integer PCM) or 3 (float), `bits` per sample, `data` the sample bytes.
    fn hand_made_wav(format_tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let data_len = data.len() as u32;
        let block_align = channels * bits / 8;
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data_len).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16_u32.to_le_bytes());
        b.extend_from_slice(&format_tag.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
        b.extend_from_slice(&block_align.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data_len.to_le_bytes());
        b.extend_from_slice(data);
        b
    }

    /// A 16-bit PCM WAV file, built by hand.
    fn pcm16_wav(channels: u16, rate: u32, interleaved: &[i16]) -> Vec<u8> {
        let data: Vec<u8> = interleaved.iter().flat_map(|s| s.to_le_bytes()).collect();
        hand_made_wav(1, channels, rate, 16, &data)
    }

    fn contract_stem(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stems").join(name)
    }

    /// Reads the whole stream in blocks of `block` frames.
    fn read_all(d: &mut Decoder, block: usize) -> Result<(Vec<f32>, Vec<f32>), AudioError> {
        let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
        let (mut left, mut right) = (Vec::new(), Vec::new());
        loop {
            let n = d.read(&mut l, &mut r)?;
            if n == 0 {
                return Ok((left, right));
            }
            left.extend_from_slice(&l[..n]);
            right.extend_from_slice(&r[..n]);
        }
    }

    fn names_the_file(e: &AudioError, path: &Path) {
        let message = e.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
    }

    #[test]
    fn a_stereo_wav_decodes_to_its_samples_whatever_the_read_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.wav");
        let full = 8_388_608.0_f32;
        let left: Vec<f32> =
            (0..5000).map(|i| ((i * 7919) % 16_001 - 8000) as f32 / full).collect();
        let right: Vec<f32> = left.iter().map(|x| -x).collect();
        let mut w = WavWriter::create(&path, 44_100, WavFormat::Pcm24).unwrap();
        w.write(&left, &right).unwrap();
        w.finish().unwrap();
        for block in [1, 1000, 4096, 100_000] {
            let mut d = Decoder::open(&path).unwrap();
            assert_eq!((d.sample_rate(), d.channels(), d.frames()), (44_100, 2, Some(5000)));
            // Exact: 24-bit values k / 2^23 survive the file and the decoder unchanged.
            assert_eq!(read_all(&mut d, block).unwrap(), (left.clone(), right.clone()));
        }
    }

    #[test]
    fn plain_pcm_converts_bit_for_bit_as_symphonias_decoder_does() {
        let dir = tempfile::tempdir().unwrap();
        // Full scale both ways, tiny values and everything between.
        let left: Vec<f32> = (0..3000).map(|i| ((i as f32) * 0.0137).sin() * 1.2).collect();
        let right: Vec<f32> = left.iter().map(|x| -x * 0.25).collect();
        for format in [WavFormat::Pcm16, WavFormat::Pcm24, WavFormat::Float32] {
            let path = dir.path().join(format!("{format:?}.wav"));
            let mut w = WavWriter::create(&path, 48_000, format).unwrap();
            w.write(&left, &right).unwrap();
            w.finish().unwrap();
            let mut ours = Decoder::open(&path).unwrap();
            let Reader::Symphonia { pcm, .. } = &ours.reader else { panic!("a WAV is not FLAC") };
            assert!(pcm.is_some(), "{format:?} takes the direct path");
            let mut theirs = Decoder::open(&path).unwrap();
            if let Reader::Symphonia { pcm, .. } = &mut theirs.reader {
                *pcm = None;
            }
            let (ours, theirs) =
                (read_all(&mut ours, 777).unwrap(), read_all(&mut theirs, 777).unwrap());
            assert_eq!(bits(&ours.0), bits(&theirs.0), "{format:?} left");
            assert_eq!(bits(&ours.1), bits(&theirs.1), "{format:?} right");
            assert_eq!(ours.0.len(), 3000);
        }
    }

    #[test]
    fn mono_is_duplicated_into_both_channels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wav");
        let samples: Vec<i16> = (0..3000).map(|i| (i * 13 % 2000 - 1000) as i16).collect();
        fs::write(&path, pcm16_wav(1, 48_000, &samples)).unwrap();
        let mut d = Decoder::open(&path).unwrap();
        assert_eq!(d.channels(), 1);
        let (l, r) = read_all(&mut d, 700).unwrap();
        // Exact: the decoder's 16-bit scale is 1 / 2^15.
        let expected: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32_768.0).collect();
        assert_eq!(l, expected);
        assert_eq!(r, expected);
    }

    #[test]
    fn skipping_lands_on_the_exact_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wav");
        let samples: Vec<i16> = (0..5000).collect();
        fs::write(&path, pcm16_wav(1, 48_000, &samples)).unwrap();
        let mut d = Decoder::open(&path).unwrap();
        let mut first = [0.0; 10];
        d.read(&mut first, &mut [0.0; 10]).unwrap();
        // 10 read + 2490 skipped: the next frame is sample 2500, across packet boundaries.
        assert_eq!(d.skip(2490).unwrap(), 2490);
        let (l, _) = read_all(&mut d, 300).unwrap();
        assert_eq!(l.len(), 2500);
        assert_eq!(l[0].to_bits(), (2500.0_f32 / 32_768.0).to_bits());
        assert_eq!(d.skip(10).unwrap(), 0);
    }

    #[test]
    fn a_flac_stem_decodes_to_its_declared_length_and_passes_its_checksum() {
        let path = contract_stem("first-light/kick.flac");
        let mut d = Decoder::open(&path).unwrap();
        let declared = d.frames().unwrap();
        let (l, r) = read_all(&mut d, 4096).unwrap();
        assert_eq!(l.len() as u64, declared);
        assert_eq!(l, r);
        assert!(l.iter().any(|&x| x != 0.0));
    }

    /// CRC-8 (polynomial 0x07) as FLAC frame headers carry it.
    fn crc8(bytes: &[u8]) -> u8 {
        bytes.iter().fold(0u8, |crc, &b| {
            (0..8).fold(crc ^ b, |c, _| if c & 0x80 == 0 { c << 1 } else { (c << 1) ^ 0x07 })
        })
    }

    /// CRC-16 (polynomial 0x8005) as FLAC frame footers carry it.
    fn crc16(bytes: &[u8]) -> u16 {
        bytes.iter().fold(0u16, |crc, &b| {
            (0..8).fold(crc ^ (u16::from(b) << 8), |c, _| {
                if c & 0x8000 == 0 { c << 1 } else { (c << 1) ^ 0x8005 }
            })
        })
    }

    /// The header of frame `number` of a mono, 16-bit, 48 kHz stream of 256-frame blocks.
    fn flac_frame_header(number: u8) -> Vec<u8> {
        let mut header = vec![0xFF, 0xF8, 0x8A, 0x08, number];
        header.push(crc8(&header));
        header
    }

    /// A mono 16-bit FLAC stream at 48 kHz, built by hand: one frame per block of 256
    /// samples, constant where the block is, verbatim otherwise, and no MD5.
    fn hand_made_flac(blocks: &[Vec<i16>]) -> Vec<u8> {
        let total = (blocks.len() * 256) as u64;
        let mut b = b"fLaC".to_vec();
        b.extend_from_slice(&[0x80, 0, 0, 34]);
        b.extend_from_slice(&[0x01, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 0]);
        // 48 kHz in 20 bits, 1 channel and 16 bits as n - 1, the length in 36 bits.
        b.extend_from_slice(&((48_000 << 44) | (15 << 36) | total).to_be_bytes());
        b.extend_from_slice(&[0; 16]);
        for (number, samples) in blocks.iter().enumerate() {
            let mut frame = flac_frame_header(number as u8);
            if samples.iter().all(|&s| s == samples[0]) {
                frame.push(0x00);
                frame.extend_from_slice(&samples[0].to_be_bytes());
            } else {
                frame.push(0x02);
                for s in samples {
                    frame.extend_from_slice(&s.to_be_bytes());
                }
            }
            frame.extend_from_slice(&crc16(&frame).to_be_bytes());
            b.extend_from_slice(&frame);
        }
        b
    }

    /// Frames symphonia's own FLAC reader delivers from `bytes`.
    fn frames_symphonia_reads(bytes: Vec<u8>) -> u64 {
        let options = MediaSourceStreamOptions::default();
        let source = MediaSourceStream::new(Box::new(io::Cursor::new(bytes)), options);
        let mut reader = FlacReader::try_new(source, &FormatOptions::default()).unwrap();
        let mut frames = 0;
        while let Ok(packet) = reader.next_packet() {
            frames += packet.dur();
        }
        frames
    }

    #[test]
    fn a_valid_flac_frame_that_symphonias_reader_drops_is_decoded_whole() {
        // Five silent frames, then a loud verbatim one whose samples spell two more frame
        // headers: symphonia splits it there, finds the pieces too big beside the frames
        // before, and drops it; `flac --test` passes the stream.
        let mut loud: Vec<i16> = (0..256).map(|i| (i * 37 % 1000) as i16).collect();
        for (at, number) in [(40, 6), (120, 7)] {
            let header = flac_frame_header(number);
            for (k, pair) in header.chunks(2).enumerate() {
                loud[at + k] = i16::from_be_bytes([pair[0], pair[1]]);
            }
        }
        let mut blocks = vec![vec![0_i16; 256]; 5];
        blocks.extend([loud, vec![0; 256], vec![0; 256]]);
        let bytes = hand_made_flac(&blocks);
        assert_eq!(frames_symphonia_reads(bytes.clone()), 7 * 256, "symphonia drops frame 5");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake-headers.flac");
        fs::write(&path, &bytes).unwrap();
        match std::process::Command::new("flac").args(["--test", "--silent"]).arg(&path).status() {
            Ok(status) => assert!(status.success(), "flac --test refuses the stream"),
            Err(e) => eprintln!("skipping the flac --test check: the flac tool does not run ({e})"),
        }
        let mut d = Decoder::open(&path).unwrap();
        assert_eq!(d.frames(), Some(8 * 256));
        let (l, r) = read_all(&mut d, 1000).unwrap();
        let written: Vec<f32> = blocks.concat().iter().map(|&s| f32::from(s) / 32_768.0).collect();
        assert_eq!(bits(&l), bits(&written));
        assert_eq!(l, r);
    }

    #[test]
    fn a_decoder_can_move_to_another_thread() {
        let d = Decoder::open(contract_stem("first-light/kick.flac")).unwrap();
        let frames = std::thread::spawn(move || d.frames()).join().unwrap();
        assert_eq!(frames, Some(960_000));
    }

    #[test]
    fn a_truncated_wav_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.wav");
        let samples = vec![1000_i16; 2 * 4000];
        let bytes = pcm16_wav(2, 48_000, &samples);
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        // Found from the header alone, so `check` reports it without decoding.
        let e = Decoder::open(&path).unwrap_err();
        assert!(matches!(e, AudioError::Truncated { expected: 4000, decoded: 1994, .. }), "{e}");
        names_the_file(&e, &path);
    }

    /// A 32-bit float WAV, built by hand.
    fn float_wav(channels: u16, rate: u32, interleaved: &[f32]) -> Vec<u8> {
        let data: Vec<u8> = interleaved.iter().flat_map(|s| s.to_le_bytes()).collect();
        hand_made_wav(3, channels, rate, 32, &data)
    }

    #[test]
    fn a_non_finite_sample_is_an_error_naming_the_file_and_its_time() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bad) in [("inf.wav", f32::INFINITY), ("nan.wav", f32::NAN)] {
            let path = dir.path().join(name);
            let mut samples = vec![0.25_f32; 2 * 96_000];
            // Frame 72 000, right channel: 1.5 s at 48 kHz.
            samples[2 * 72_000 + 1] = bad;
            fs::write(&path, float_wav(2, 48_000, &samples)).unwrap();
            let mut d = Decoder::open(&path).unwrap();
            let e = read_all(&mut d, 4096).unwrap_err();
            assert!(matches!(e, AudioError::NonFinite { frame: 72_000, .. }), "{e}");
            assert!(e.to_string().contains("at 1.500 s"), "{e}");
            names_the_file(&e, &path);
        }
    }

    #[test]
    fn a_sample_rate_of_zero_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zero.wav");
        fs::write(&path, pcm16_wav(2, 0, &[0; 200])).unwrap();
        let e = Decoder::open(&path).unwrap_err();
        assert!(matches!(e, AudioError::SampleRate { rate: 0, .. }), "{e}");
        names_the_file(&e, &path);
    }

    #[test]
    fn a_sample_rate_outside_8_khz_to_768_khz_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rate.wav");
        for rate in [7_999, 768_001, 1_000_000_007, 2_147_483_647, u32::MAX] {
            let mut bytes = pcm16_wav(2, 48_000, &[0; 200]);
            bytes[24..28].copy_from_slice(&rate.to_le_bytes());
            fs::write(&path, bytes).unwrap();
            let e = Decoder::open(&path).unwrap_err();
            assert!(matches!(e, AudioError::SampleRate { rate: r, .. } if r == rate), "{e}");
        }
        for rate in [8_000, 768_000] {
            fs::write(&path, pcm16_wav(1, rate, &[0; 200])).unwrap();
            assert_eq!(Decoder::open(&path).unwrap().sample_rate(), rate);
        }
    }

    #[test]
    fn a_chunk_claiming_gigabytes_is_refused_before_it_is_allocated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.wav");
        let mut bytes = pcm16_wav(2, 48_000, &[0; 200]);
        // An INFO list that claims 4 GB, inserted before the data chunk.
        let mut list = b"LIST".to_vec();
        list.extend_from_slice(&0xFFFF_FFF0_u32.to_le_bytes());
        list.extend_from_slice(b"INFOINAM");
        list.extend_from_slice(&0xFFFF_FFE0_u32.to_le_bytes());
        bytes.splice(36..36, list);
        bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        fs::write(&path, bytes).unwrap();
        let e = Decoder::open(&path).unwrap_err();
        assert!(matches!(e, AudioError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("`LIST` chunk"), "{e}");
    }

    #[test]
    fn a_declared_packet_length_beyond_a_million_frames_is_refused_before_the_codec_is_built() {
        let path = Path::new("huge.caf");
        assert!(check_packet_length(path, None).is_ok());
        assert!(check_packet_length(path, Some(65_535)).is_ok());
        assert!(check_packet_length(path, Some(MAX_FRAMES_PER_PACKET)).is_ok());
        let e = check_packet_length(path, Some(u64::from(u32::MAX))).unwrap_err();
        assert!(matches!(e, AudioError::Corrupt { .. }), "{e}");
        names_the_file(&e, path);
    }

    #[test]
    fn an_empty_file_and_a_header_without_audio_are_reported_in_our_words() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.wav");
        fs::write(&empty, b"").unwrap();
        let e = Decoder::open(&empty).unwrap_err();
        assert!(matches!(e, AudioError::Empty { .. }), "{e}");
        names_the_file(&e, &empty);
        // A FLAC stream header declaring 0 samples, and no frames.
        let flac = dir.path().join("silent.flac");
        let mut bytes = b"fLaC".to_vec();
        bytes.extend_from_slice(&[0x80, 0, 0, 34]);
        bytes.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0, 0]);
        // 48 kHz, 2 channels, 16 bits, 0 samples; then an MD5 of nothing.
        bytes.extend_from_slice(&[0x0B, 0xB8, 0x02, 0xF0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[0; 16]);
        fs::write(&flac, bytes).unwrap();
        let e = Decoder::open(&flac).unwrap_err();
        assert!(matches!(e, AudioError::NoAudio { .. }), "{e}");
        names_the_file(&e, &flac);
    }

    #[test]
    fn a_wav_of_zero_frames_opens_and_ends_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.wav");
        fs::write(&path, pcm16_wav(2, 48_000, &[])).unwrap();
        let mut d = Decoder::open(&path).unwrap();
        assert_eq!(d.frames(), Some(0));
        assert_eq!(read_all(&mut d, 100).unwrap().0.len(), 0);
    }

    /// What a digest from an earlier run's memo expects of `path`: its bytes, as they are now.
    fn digest_of(path: &Path) -> ExpectedContent {
        ExpectedContent {
            digest: *blake3::hash(&fs::read(path).unwrap()).as_bytes(),
            hashed_as: None,
        }
    }

    /// What a digest this run took expects of `path`: its bytes and identity, as they are now.
    fn hashed_now(path: &Path) -> ExpectedContent {
        let identity = crate::file_identity::FileIdentity::of_path(path);
        ExpectedContent { hashed_as: identity, ..digest_of(path) }
    }

    #[test]
    fn a_file_with_the_identity_it_was_hashed_with_is_not_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vox.wav");
        let samples: Vec<i16> = (0..2 * 20_000).map(|i| (i % 3000) as i16).collect();
        fs::write(&path, pcm16_wav(2, 48_000, &samples)).unwrap();
        // A digest no bytes have: only the identity can have vouched for the file.
        let vouched = ExpectedContent { digest: [7; 32], ..hashed_now(&path) };
        let mut d = Decoder::open_expecting(&path, vouched).unwrap();
        assert_eq!(read_all(&mut d, 4096).unwrap().0.len(), 20_000);
        let from_memo = ExpectedContent { digest: [7; 32], hashed_as: None };
        let mut d = Decoder::open_expecting(&path, from_memo).unwrap();
        let e = read_all(&mut d, 4096).unwrap_err();
        assert!(matches!(e, AudioError::Changed { .. }), "{e}");
    }

    #[test]
    fn a_file_rewritten_after_it_was_hashed_in_this_run_is_an_error_however_it_is_proven() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vox.wav");
        let samples: Vec<i16> = (0..2 * 200_000).map(|i| (i % 3000) as i16).collect();
        fs::write(&path, pcm16_wav(2, 48_000, &samples)).unwrap();
        let expected = hashed_now(&path);
        let louder: Vec<i16> = samples.iter().map(|s| s / 2).collect();
        // Before it is opened: the identity differs, so the bytes are hashed and compared.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&path, pcm16_wav(2, 48_000, &louder)).unwrap();
        let mut d = Decoder::open_expecting(&path, expected).unwrap();
        let e = read_all(&mut d, 4096).unwrap_err();
        assert!(matches!(e, AudioError::Changed { .. }), "{e}");
        // While it is read: the open file's identity moves on with the write.
        let expected = hashed_now(&path);
        let mut d = Decoder::open_expecting(&path, expected).unwrap();
        d.read(&mut [0.0; 1000], &mut [0.0; 1000]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&path, pcm16_wav(2, 48_000, &samples)).unwrap();
        let e = read_all(&mut d, 4096).unwrap_err();
        assert!(matches!(e, AudioError::Changed { .. }), "{e}");
        names_the_file(&e, &path);
    }

    #[test]
    fn a_file_rewritten_while_it_is_decoded_is_an_error_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vox.wav");
        let samples: Vec<i16> = (0..2 * 200_000).map(|i| (i % 3000) as i16).collect();
        fs::write(&path, pcm16_wav(2, 48_000, &samples)).unwrap();
        let mut d = Decoder::open_expecting(&path, digest_of(&path)).unwrap();
        let (mut l, mut r) = (vec![0.0; 1000], vec![0.0; 1000]);
        d.read(&mut l, &mut r).unwrap();
        let louder: Vec<i16> = samples.iter().map(|s| s / 2).collect();
        fs::write(&path, pcm16_wav(2, 48_000, &louder)).unwrap();
        let e = read_all(&mut d, 4096).unwrap_err();
        assert!(matches!(e, AudioError::Changed { .. }), "{e}");
        names_the_file(&e, &path);
    }

    #[test]
    fn a_decoder_stopped_early_confirms_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vox.wav");
        let samples: Vec<i16> = (0..2 * 50_000).map(|i| (i % 3000) as i16).collect();
        fs::write(&path, pcm16_wav(2, 48_000, &samples)).unwrap();
        let digest = digest_of(&path);
        let mut d = Decoder::open_expecting(&path, digest).unwrap();
        d.read(&mut [0.0; 100], &mut [0.0; 100]).unwrap();
        d.confirm_content().unwrap();
        let mut d = Decoder::open_expecting(&path, digest).unwrap();
        d.read(&mut [0.0; 100], &mut [0.0; 100]).unwrap();
        // The tail of the file, which the decoder never reached, changes.
        let mut changed = samples.clone();
        changed[90_000] += 1;
        fs::write(&path, pcm16_wav(2, 48_000, &changed)).unwrap();
        let e = d.confirm_content().unwrap_err();
        assert!(matches!(e, AudioError::Changed { .. }), "{e}");
    }

    #[test]
    fn an_unchanged_file_decodes_the_same_whether_or_not_its_bytes_are_checked() {
        let path = contract_stem("first-light/kick.flac");
        let mut plain = Decoder::open(&path).unwrap();
        let mut checked = Decoder::open_expecting(&path, digest_of(&path)).unwrap();
        assert_eq!(read_all(&mut plain, 4096).unwrap(), read_all(&mut checked, 4096).unwrap());
    }

    #[test]
    fn a_truncated_flac_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.flac");
        let bytes = fs::read(contract_stem("first-light/kick.flac")).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 8]).unwrap();
        let e = Decoder::open(&path).and_then(|mut d| read_all(&mut d, 4096)).unwrap_err();
        assert!(matches!(e, AudioError::Truncated { .. }), "{e}");
        names_the_file(&e, &path);
    }

    #[test]
    fn a_flac_with_a_damaged_frame_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.flac");
        let mut bytes = fs::read(contract_stem("first-light/kick.flac")).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle..middle + 64].iter_mut().for_each(|b| *b ^= 0x5a);
        fs::write(&path, &bytes).unwrap();
        let e = Decoder::open(&path).and_then(|mut d| read_all(&mut d, 4096)).unwrap_err();
        // The reader drops the damaged frame and resynchronises, or the decoder rejects it.
        assert!(matches!(e, AudioError::Truncated { .. } | AudioError::Corrupt { .. }), "{e}");
        names_the_file(&e, &path);
    }

    #[test]
    fn random_bytes_are_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("noise.wav");
        // A fixed linear congruential sequence: random-looking, reproducible.
        let mut x = 0x2545_f491_u32;
        let bytes: Vec<u8> = (0..20_000)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect();
        fs::write(&path, bytes).unwrap();
        let e = Decoder::open(&path).unwrap_err();
        assert!(matches!(e, AudioError::Unsupported { .. }), "{e}");
        names_the_file(&e, &path);
    }

    #[test]
    fn more_than_two_channels_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("three.wav");
        fs::write(&path, pcm16_wav(3, 48_000, &[0; 30])).unwrap();
        let e = Decoder::open(&path).unwrap_err();
        assert!(matches!(e, AudioError::Channels { channels: 3, .. }), "{e}");
        names_the_file(&e, &path);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_the_file() {
        let path = Path::new("/nonexistent/stem.wav");
        let e = Decoder::open(path).unwrap_err();
        assert!(matches!(e, AudioError::Open { .. }), "{e}");
        names_the_file(&e, path);
    }
}
