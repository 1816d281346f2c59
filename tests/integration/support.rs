//! Shared test support: running the binary, writing synthetic sessions, snapshot settings.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mixdown::audio::Source;
use mixdown::audio::decode::Decoder;
use mixdown::audio::wav::{WavFormat, WavWriter};

/// Runs insta assertions with the project's settings: snapshots live in `snapshots/` at the
/// top of the repository.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `mixdown` with `args` in `dir`, without colours.
pub fn mixdown(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("MIXDOWN_CACHE")
        .env_remove("MIXDOWN_REMOTE")
        .output()
        .expect("the binary runs")
}

/// Runs `mixdown` as the unprivileged user `nobody` when the tests run as root, for whom
/// file permissions bind no one; as the user running the tests otherwise. `dir` and what
/// the render reads must be open to others.
#[cfg(target_os = "linux")]
pub fn mixdown_unprivileged(dir: &Path, args: &[&str]) -> Output {
    let id = Command::new("id").arg("-u").output().expect("`id` runs");
    let mut command = if String::from_utf8_lossy(&id.stdout).trim() == "0" {
        let mut setpriv = Command::new("setpriv");
        setpriv.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        setpriv.arg(env!("CARGO_BIN_EXE_mixdown"));
        setpriv
    } else {
        Command::new(env!("CARGO_BIN_EXE_mixdown"))
    };
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("MIXDOWN_CACHE")
        .output()
        .expect("the binary runs")
}

/// stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Node ids the verbose log says ran, sorted.
pub fn ran(output: &Output) -> Vec<String> {
    ran_in(stderr(output).lines())
}

/// Node ids that `lines` of a verbose log say ran, sorted.
pub fn ran_in<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut ids: Vec<String> = lines
        .into_iter()
        .filter_map(|l| l.strip_prefix("ran "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

/// Writes a stereo 24-bit WAV of `seconds` at `rate`, a deterministic mix of a tone and
/// noise seeded by `seed`.
pub fn write_stem(path: &Path, rate: u32, seconds: f64, seed: u64) {
    let frames = (seconds * f64::from(rate)) as usize;
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let freq = 110.0 * (1.0 + seed as f32 % 7.0);
    let mut left = Vec::with_capacity(frames);
    let mut right = Vec::with_capacity(frames);
    for i in 0..frames {
        let t = i as f32 / rate as f32;
        let envelope = 0.5 + 0.5 * (t * 2.0 * std::f32::consts::PI * 0.5).sin();
        let tone = (t * freq * 2.0 * std::f32::consts::PI).sin() * 0.25 * envelope;
        left.push(tone + noise() * 0.05);
        right.push(tone * 0.8 + noise() * 0.05);
    }
    let mut writer = WavWriter::create(path, rate, WavFormat::Pcm24).expect("create stem");
    writer.write(&left, &right).expect("write stem");
    writer.finish().expect("finish stem");
}

/// Decodes a whole file: its rate and its planar stereo samples.
pub fn read_audio(path: &Path) -> (u32, Vec<f32>, Vec<f32>) {
    let mut decoder = Decoder::open(path).expect("the file decodes");
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let (mut l, mut r) = (vec![0.0; 4096], vec![0.0; 4096]);
    loop {
        let n = decoder.read(&mut l, &mut r).expect("the file decodes to its end");
        if n == 0 {
            return (decoder.sample_rate(), left, right);
        }
        left.extend_from_slice(&l[..n]);
        right.extend_from_slice(&r[..n]);
    }
}

/// Every file under `dir`, at any depth; none when it does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() { files_under(&path) } else { vec![path] }
        })
        .collect()
}

/// A scratch directory that is removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The format chunk of a WAV file that [`raw_wav`] writes.
#[derive(Debug, Clone, Copy)]
pub struct WavLayout {
    /// 1 for integer PCM, 3 for IEEE float.
    pub format_tag: u16,
    /// Interleaved channels.
    pub channels: u16,
    /// Bits per sample.
    pub bits: u16,
    /// Frames per second.
    pub rate: u32,
}

/// A WAV file of `layout` around `samples` (interleaved little-endian bytes), written by
/// hand for layouts the WAV writer does not make (mono, five channels).
pub fn raw_wav(layout: WavLayout, samples: &[u8]) -> Vec<u8> {
    let data_bytes = samples.len() as u32;
    let block_align = layout.channels * layout.bits / 8;
    let mut wav = Vec::with_capacity(samples.len() + 44);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16_u32.to_le_bytes());
    wav.extend_from_slice(&layout.format_tag.to_le_bytes());
    wav.extend_from_slice(&layout.channels.to_le_bytes());
    wav.extend_from_slice(&layout.rate.to_le_bytes());
    wav.extend_from_slice(&(layout.rate * u32::from(block_align)).to_le_bytes());
    wav.extend_from_slice(&block_align.to_le_bytes());
    wav.extend_from_slice(&layout.bits.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_bytes.to_le_bytes());
    wav.extend_from_slice(samples);
    wav
}

/// Decodes a whole FLAC file with claxon directly, to cross-check our decoder (which reads
/// FLAC through claxon too, adding its own checks): its rate, bits per sample and planar
/// stereo samples.
pub fn read_flac_with_claxon(path: &Path) -> (u32, u32, Vec<f32>, Vec<f32>) {
    let mut reader = claxon::FlacReader::open(path).expect("the file is FLAC");
    let info = reader.streaminfo();
    let scale = 1.0 / f64::from(1u32 << (info.bits_per_sample - 1));
    let samples: Vec<i32> =
        reader.samples().collect::<Result<_, _>>().expect("the file decodes to its end");
    let (left, right) = samples
        .chunks_exact(2)
        .map(|pair| ((f64::from(pair[0]) * scale) as f32, (f64::from(pair[1]) * scale) as f32))
        .unzip();
    (info.sample_rate, info.bits_per_sample, left, right)
}
