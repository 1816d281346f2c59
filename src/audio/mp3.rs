//! Writing stereo MP3 files, constant or variable bit rate, streamed block by block and put
//! in place atomically, through LAME (the `mp3lame-encoder` crate, which builds LAME from
//! its source with the C compiler; LAME is LGPL, see the README).
//!
//! Gapless playback: LAME's first frame is an Info (CBR) or Xing (VBR) frame whose LAME
//! extension records the encoder delay and the padding added at the end. LAME can only
//! fill it in once the stream is complete, so [`Mp3Writer::finish`] writes it over the
//! placeholder frame LAME emitted first. A decoder that honours it (ours does, through
//! symphonia's gapless mode) returns exactly the frames that were written.
//!
//! The encoder runs at the input rate (MPEG-1 Layer III: 32, 44.1 or 48 kHz) and never
//! resamples; other rates are refused. Joint stereo, LAME's default quality setting 3 (the
//! algorithm effort, not the bit rate): what `lame` and ffmpeg use when not told otherwise.
//! Setting 2 (`-h`) costs 1.7 times the time for the same bit rate, and its decoded peaks
//! differ from setting 3's by a few hundredths of a dB. The bytes depend only on the samples and the
//! settings: LAME has no clock or random input, and writes no ID3 tag (tags are placed
//! around a copy of the file by [`super::tagged`], with no encoder name).
//!
//! This is the only file that names mp3lame-encoder.

use std::io::{Seek, SeekFrom, Write};
use std::num::NonZeroU32;
use std::path::Path;

use mp3lame_encoder::{Bitrate, Builder, DualPcm, Encoder, FlushGap, Mode, Quality, VbrMode};

use super::AudioError;
use super::staged::StagedFile;

/// Encoded bytes gathered before a write reaches the file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// Frames handed to LAME at a time, which bounds its output per call.
const CHUNK_FRAMES: usize = 8192;

/// How the bit rate is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mp3Rate {
    /// Constant bit rate in kbit/s: 32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256 or
    /// 320.
    Cbr(u32),
    /// Variable bit rate at LAME's quality 0 (best, about 245 kbit/s) to 9 (`-V0` … `-V9`).
    Vbr(u8),
}

/// How an MP3 file is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mp3Settings {
    /// Constant or variable bit rate.
    pub rate: Mp3Rate,
}

/// A stereo MP3 file being written.
pub struct Mp3Writer {
    file: StagedFile,
    settings: Mp3Settings,
    encoder: Encoder,
    /// Encoded bytes not yet written to the file.
    encoded: Vec<u8>,
}

impl std::fmt::Debug for Mp3Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp3Writer")
            .field("path", &self.file.path())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Mp3Writer {
    /// Starts writing a stereo file at `sample_rate` that will appear at `path` when
    /// finished.
    ///
    /// # Errors
    /// When the rate or the settings are not ones MPEG-1 Layer III has, or the temporary
    /// file cannot be created next to `path`.
    pub fn create(
        path: impl AsRef<Path>,
        sample_rate: u32,
        settings: Mp3Settings,
    ) -> Result<Self, AudioError> {
        let path = path.as_ref();
        let unsupported =
            |reason: String| AudioError::Unsupported { path: path.to_path_buf(), reason };
        if ![32_000, 44_100, 48_000].contains(&sample_rate) {
            return Err(unsupported(format!(
                "MP3 is written at 32, 44.1 or 48 kHz, not {sample_rate} Hz; resample first"
            )));
        }
        let mut builder = Builder::new().ok_or_else(|| unsupported("LAME cannot start".into()))?;
        let setup = |b: &mut Builder| -> Result<(), String> {
            let rate = NonZeroU32::new(sample_rate);
            b.set_sample_rate(sample_rate).map_err(|e| e.to_string())?;
            b.set_output_sample_rate(rate).map_err(|e| e.to_string())?;
            b.set_num_channels(2).map_err(|e| e.to_string())?;
            b.set_mode(Mode::JointStereo).map_err(|e| e.to_string())?;
            b.set_quality(Quality::VeryNice).map_err(|e| e.to_string())?;
            b.set_to_write_vbr_tag(true).map_err(|e| e.to_string())?;
            match settings.rate {
                Mp3Rate::Cbr(kbps) => {
                    b.set_vbr_mode(VbrMode::Off).map_err(|e| e.to_string())?;
                    b.set_brate(bitrate(kbps)?).map_err(|e| e.to_string())
                }
                Mp3Rate::Vbr(level) => {
                    b.set_vbr_mode(VbrMode::Mtrh).map_err(|e| e.to_string())?;
                    b.set_vbr_quality(vbr_quality(level)?).map_err(|e| e.to_string())
                }
            }
        };
        setup(&mut builder).map_err(unsupported)?;
        let encoder = builder.build().map_err(|e| unsupported(e.to_string()))?;
        Ok(Self {
            file: StagedFile::create(path)?,
            settings,
            encoder,
            encoded: Vec::with_capacity(WRITE_BUFFER_BYTES + 64 * 1024),
        })
    }

    /// Appends one block; `left` and `right` must have the same length. Samples are
    /// full scale at ±1.
    ///
    /// # Errors
    /// When LAME fails or the file cannot be written.
    pub fn write(&mut self, left: &[f32], right: &[f32]) -> Result<(), AudioError> {
        for (l, r) in left.chunks(CHUNK_FRAMES).zip(right.chunks(CHUNK_FRAMES)) {
            // LAME's documented worst case: 1.25 bytes a frame plus 7200.
            self.encoded.reserve(l.len() * 5 / 4 + 7200);
            self.encoder
                .encode_to_vec(DualPcm { left: l, right: r }, &mut self.encoded)
                .map_err(|e| self.file.error(std::io::Error::other(e.to_string())))?;
        }
        if self.encoded.len() >= WRITE_BUFFER_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Flushes LAME, writes the completed LAME header frame over its placeholder and moves
    /// the file into place.
    ///
    /// # Errors
    /// When the file cannot be completed; the destination is then left untouched.
    pub fn finish(mut self) -> Result<(), AudioError> {
        self.encoded.reserve(7200);
        self.encoder
            .flush_to_vec::<FlushGap>(&mut self.encoded)
            .map_err(|e| self.file.error(std::io::Error::other(e.to_string())))?;
        self.flush()?;
        let mut header = Vec::with_capacity(self.encoder.lame_tag_size());
        if self.encoder.lame_tag_encode_to_vec(&mut header).is_none() {
            let reason = "LAME did not produce its header frame".into();
            return Err(AudioError::Unsupported { path: self.file.path().to_path_buf(), reason });
        }
        let file = self.file.file();
        let result = file.seek(SeekFrom::Start(0)).and_then(|_| file.write_all(&header));
        result.map_err(|e| self.file.error(e))?;
        self.file.commit()
    }

    fn flush(&mut self) -> Result<(), AudioError> {
        let result = self.file.file().write_all(&self.encoded);
        self.encoded.clear();
        result.map_err(|e| self.file.error(e))
    }
}

fn bitrate(kbps: u32) -> Result<Bitrate, String> {
    Ok(match kbps {
        32 => Bitrate::Kbps32,
        40 => Bitrate::Kbps40,
        48 => Bitrate::Kbps48,
        64 => Bitrate::Kbps64,
        80 => Bitrate::Kbps80,
        96 => Bitrate::Kbps96,
        112 => Bitrate::Kbps112,
        128 => Bitrate::Kbps128,
        160 => Bitrate::Kbps160,
        192 => Bitrate::Kbps192,
        224 => Bitrate::Kbps224,
        256 => Bitrate::Kbps256,
        320 => Bitrate::Kbps320,
        _ => return Err(format!("{kbps} kbit/s is not an MP3 bit rate")),
    })
}

fn vbr_quality(level: u8) -> Result<Quality, String> {
    Ok(match level {
        0 => Quality::Best,
        1 => Quality::SecondBest,
        2 => Quality::NearBest,
        3 => Quality::VeryNice,
        4 => Quality::Nice,
        5 => Quality::Good,
        6 => Quality::Decent,
        7 => Quality::Ok,
        8 => Quality::SecondWorst,
        9 => Quality::Worst,
        _ => return Err(format!("VBR quality {level} is not one of 0 (best) to 9")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Source;
    use crate::audio::decode::Decoder;

    fn signal(frames: usize, rate: u32) -> (Vec<f32>, Vec<f32>) {
        let w = 2.0 * std::f32::consts::PI / rate as f32;
        let left = (0..frames).map(|i| 0.5 * (1000.0 * w * i as f32).sin()).collect();
        let right = (0..frames).map(|i| 0.4 * (440.0 * w * i as f32).sin()).collect();
        (left, right)
    }

    fn encode(path: &Path, left: &[f32], right: &[f32], rate: u32, mp3: Mp3Rate) {
        let settings = Mp3Settings { rate: mp3 };
        let mut writer = Mp3Writer::create(path, rate, settings).unwrap();
        for (l, r) in left.chunks(3000).zip(right.chunks(3000)) {
            writer.write(l, r).unwrap();
        }
        writer.finish().unwrap();
    }

    fn decode(path: &Path) -> (Vec<f32>, Vec<f32>) {
        let mut decoder = Decoder::open(path).unwrap();
        let (mut l, mut r) = (vec![0.0; 4096], vec![0.0; 4096]);
        let (mut left, mut right) = (Vec::new(), Vec::new());
        loop {
            let n = decoder.read(&mut l, &mut r).unwrap();
            if n == 0 {
                return (left, right);
            }
            left.extend_from_slice(&l[..n]);
            right.extend_from_slice(&r[..n]);
        }
    }

    /// Signal-to-error ratio in dB of `decoded` against `meant` shifted by `lag` frames.
    fn snr_db(decoded: &[f32], meant: &[f32], lag: isize) -> f64 {
        let (mut signal, mut error) = (0.0, 0.0);
        for (i, &m) in meant.iter().enumerate() {
            let Some(&d) = decoded.get(i.wrapping_add_signed(lag)) else { continue };
            signal += f64::from(m).powi(2);
            error += f64::from(d - m).powi(2);
        }
        10.0 * (signal / error).log10()
    }

    #[test]
    fn an_mp3_decodes_to_exactly_the_frames_written_in_time_with_them() {
        // Symphonia's MP3 reader trims the encoder delay and padding that LAME's header
        // frame records (with `enable_gapless`, which our decoder sets), so the decoded
        // length is the written length, and the audio lines up with the input: it matches
        // best with no shift (20 dB or more), better than one sample early or late.
        let dir = tempfile::tempdir().unwrap();
        for (rate, frames, mp3) in [
            (48_000, 100_003, Mp3Rate::Cbr(320)),
            (44_100, 77_777, Mp3Rate::Vbr(0)),
            (44_100, 50_000, Mp3Rate::Cbr(128)),
        ] {
            let (left, right) = signal(frames, rate);
            let path = dir.path().join(format!("{rate}-{frames}.mp3"));
            encode(&path, &left, &right, rate, mp3);
            let (l, r) = decode(&path);
            assert_eq!(l.len(), frames, "{mp3:?} at {rate} Hz");
            for (decoded, meant) in [(&l, &left), (&r, &right)] {
                let aligned = snr_db(decoded, meant, 0);
                assert!(aligned > 20.0, "{mp3:?} at {rate} Hz: {aligned:.1} dB");
                for lag in [-1, 1] {
                    let shifted = snr_db(decoded, meant, lag);
                    assert!(aligned > shifted + 1.0, "{mp3:?}: {aligned:.1} vs {shifted:.1} dB");
                }
            }
        }
    }

    #[test]
    fn an_mp3_carries_a_lame_header_with_its_delay_and_padding() {
        let dir = tempfile::tempdir().unwrap();
        let (left, right) = signal(48_000, 48_000);
        for (mp3, tag) in [(Mp3Rate::Cbr(320), b"Info"), (Mp3Rate::Vbr(2), b"Xing")] {
            let path = dir.path().join("h.mp3");
            encode(&path, &left, &right, 48_000, mp3);
            let bytes = std::fs::read(&path).unwrap();
            let first_frame = &bytes[..1000];
            let at = first_frame.windows(4).position(|w| w == tag).expect("Info or Xing frame");
            let lame =
                first_frame[at..].windows(4).position(|w| w == b"LAME").expect("LAME extension");
            // The LAME extension: 9 bytes of version, then 12 more, then delay and padding
            // as two 12-bit numbers.
            let d = &first_frame[at + lame + 21..at + lame + 24];
            let delay = (u32::from(d[0]) << 4) | (u32::from(d[1]) >> 4);
            let padding = (u32::from(d[1] & 0x0F) << 8) | u32::from(d[2]);
            assert!(delay >= 576, "{mp3:?}: encoder delay {delay}");
            assert!(padding > 0 && padding < 1152 + 576 * 2, "{mp3:?}: padding {padding}");
        }
    }

    #[test]
    fn an_mp3_is_the_same_bytes_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let (left, right) = signal(60_000, 44_100);
        for mp3 in [Mp3Rate::Cbr(320), Mp3Rate::Vbr(2)] {
            let (a, b) = (dir.path().join("a.mp3"), dir.path().join("b.mp3"));
            encode(&a, &left, &right, 44_100, mp3);
            encode(&b, &left, &right, 44_100, mp3);
            assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), "{mp3:?}");
        }
    }

    #[test]
    fn cbr_320_gives_320_kbits_and_vbr_quality_changes_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let seconds = 5;
        let (left, right) = signal(44_100 * seconds, 44_100);
        let size = |mp3| {
            let path = dir.path().join("s.mp3");
            encode(&path, &left, &right, 44_100, mp3);
            std::fs::metadata(&path).unwrap().len() as f64
        };
        let kbps = size(Mp3Rate::Cbr(320)) * 8.0 / 1000.0 / seconds as f64;
        // Plus the header frame and a frame of delay and padding: within 2%.
        assert!((kbps - 320.0).abs() < 6.4, "{kbps:.1} kbit/s");
        assert!(size(Mp3Rate::Vbr(0)) > size(Mp3Rate::Vbr(9)));
    }

    #[test]
    fn rates_and_bit_rates_mp3_cannot_hold_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.mp3");
        let settings = |rate| Mp3Settings { rate };
        let err = Mp3Writer::create(&path, 96_000, settings(Mp3Rate::Cbr(320))).unwrap_err();
        assert!(err.to_string().contains("not 96000 Hz"), "{err}");
        let err = Mp3Writer::create(&path, 48_000, settings(Mp3Rate::Cbr(300))).unwrap_err();
        assert!(err.to_string().contains("300 kbit/s"), "{err}");
        let err = Mp3Writer::create(&path, 48_000, settings(Mp3Rate::Vbr(10))).unwrap_err();
        assert!(err.to_string().contains("VBR quality 10"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
