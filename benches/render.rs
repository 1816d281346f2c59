//! Render benchmarks on a synthetic session: cold, no-op, fader-move and EQ-change renders
//! of the `mixdown` binary, against two read-sum-writes of the same stems, with peak
//! memory, and how soon `mixdown watch` has a fader move rendered after it is saved.
//! Prints figures; asserts nothing.
//!
//! The two read-sum-writes run on one thread and do no DSP. The plain one decodes the
//! way a program using symphonia does (each packet through the codec into interleaved
//! `f32`); the fastest one uses mixdown's own decoder, which converts PCM packets itself.
//!
//!     cargo bench --bench render -- [--stems 16] [--seconds 180] [--runs 9] [--mix reference]
//!
//! The stems (N stereo 24-bit 48 kHz files) are generated once under
//! `target/bench-sessions/` from a fixed seed. The default mix puts an HPF and a 3-band EQ
//! on every track and sums them into three buses; `--mix reference` is the peer
//! comparison's reference mix (`render/reference_mix.rs`).
//!
//! Times are medians over the runs, and the no-op, edit and watch times come with the
//! range of single runs; peak memory is the highest of the cold renders. One fader move
//! can take a tenth longer or shorter than the next on a shared machine, so nine runs is
//! the default: with three, its share of the cold render moved by a point from one
//! invocation to the next.

#[path = "common/project.rs"]
mod project;
#[path = "render/reference_mix.rs"]
mod reference_mix;
#[path = "common/stem.rs"]
mod stem;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use mixdown::audio::Source;
use mixdown::audio::decode::Decoder;
use mixdown::audio::wav::{WavFormat, WavWriter};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder as CodecDecoder, DecoderOptions};
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use project::{Knob, Project};
use stem::{RATE, write_stem};

/// Frames per block of the read-sum-writes.
const BLOCK: usize = 4096;
const BUSES: [&str; 3] = ["drums", "music", "vocals"];

struct Options {
    stems: usize,
    seconds: f64,
    runs: usize,
    reference: bool,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str, default: f64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Options {
        stems: value("--stems", 16.0) as usize,
        seconds: value("--seconds", 180.0),
        runs: value("--runs", 9.0) as usize,
        reference: args.windows(2).any(|w| w[0] == "--mix" && w[1] == "reference"),
    }
}

fn basic_project(stems: usize) -> Project {
    let mut yaml = String::from("mix: Bench\nsample_rate: 48 kHz\ntracks:\n");
    for i in 0..stems {
        let bus = BUSES[i % BUSES.len()];
        let pan = (i as f64 / stems as f64) * 1.6 - 0.8;
        let _ = write!(
            yaml,
            "  stem{i:03}:\n    source: stem{i:03}.wav\n    gain: -6 dB\n    pan: {pan:.2}\n    chain:\n      \
             - highpass: {{ freq: 80 Hz }}\n      - eq:\n          \
             - {{ type: low_shelf, freq: 120 Hz, gain: 1.5 dB }}\n          \
             - {{ type: peak, freq: 1.2 kHz, gain: -2 dB, q: 1 }}\n          \
             - {{ type: high_shelf, freq: 8 kHz, gain: 2 dB }}\n    to: {bus}\n"
        );
    }
    yaml.push_str("buses:\n  drums: { gain: -1 dB }\n  music: {}\n  vocals: { gain: 1 dB }\n");
    Project { yaml, fader: Knob::new("gain: ", -6.0, " dB"), eq: Knob::new("gain: ", -2.0, " dB") }
}

/// The session's stem names and its project.
fn mix(options: &Options) -> (Vec<String>, Project) {
    if options.reference {
        let names = reference_mix::stem_names(options.stems);
        (names, reference_mix::project(options.stems, options.seconds))
    } else {
        let names = (0..options.stems).map(|i| format!("stem{i:03}")).collect();
        (names, basic_project(options.stems))
    }
}

/// Generates the stems that are missing; returns the session folder.
fn session(options: &Options, names: &[String]) -> PathBuf {
    let shape = if options.reference { "ref" } else { "s" };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-sessions")
        .join(format!("{shape}{}x{}", options.stems, options.seconds));
    std::fs::create_dir_all(&dir).expect("session dir");
    let frames = (options.seconds * f64::from(RATE)) as usize;
    for (i, name) in names.iter().enumerate() {
        let path = dir.join(format!("{name}.wav"));
        if !path.exists() {
            write_stem(&path, frames, i as u64 + 1);
        }
    }
    dir
}

/// Runs one render; returns wall seconds and the peak memory it reports.
fn render(dir: &Path) -> (f64, f64) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(["render", "mix.yaml", "--cache", "cache", "--out", "out", "--verbose"])
        .current_dir(dir)
        .output()
        .expect("run mixdown");
    let seconds = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let peak_mb = log
        .lines()
        .find_map(|l| l.strip_prefix("peak memory ")?.strip_suffix(" MB")?.parse().ok())
        .unwrap_or(f64::NAN);
    (seconds, peak_mb)
}

/// Seconds from saving a second nudge of the fader of run `run` to a running
/// `mixdown watch` saying that it has rendered it.
fn watch_latency(dir: &Path, fader: &Knob, run: usize) -> f64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(["watch", "mix.yaml", "--cache", "cache", "--out", "out"])
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mixdown watch");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    let mut skip_to = |prefix: &str| {
        while !lines.next().expect("watch runs").expect("stderr reads").starts_with(prefix) {}
    };
    skip_to("watching ");
    let started = Instant::now();
    fader.nudge_again(dir, run);
    // Each render after the first is reported in one line: `mix.yaml changed: ran …`.
    skip_to("mix.yaml changed: ");
    let seconds = started.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    seconds
}

/// A stem decoded as a plain program does it: every packet through symphonia's codec
/// into interleaved `f32`, handed out a block at a time.
struct PlainStem {
    format: Box<dyn FormatReader>,
    codec: Box<dyn CodecDecoder>,
    decoded: Option<SampleBuffer<f32>>,
    /// Interleaved stereo samples decoded and not yet handed out.
    queue: VecDeque<f32>,
}

impl PlainStem {
    fn open(path: &Path) -> Self {
        let file = std::fs::File::open(path).expect("open");
        let stream = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
        let probed = symphonia::default::get_probe()
            .format(
                Hint::new().with_extension("wav"),
                stream,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .expect("probe");
        let params = probed.format.default_track().expect("track").codec_params.clone();
        let codec = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .expect("codec");
        Self { format: probed.format, codec, decoded: None, queue: VecDeque::new() }
    }

    /// Adds the next `frames` stereo frames into `sum` (interleaved); returns how many
    /// there were.
    fn add_into(&mut self, sum: &mut [f32], frames: usize) -> usize {
        while self.queue.len() < 2 * frames {
            let Ok(packet) = self.format.next_packet() else { break };
            let audio = self.codec.decode(&packet).expect("decode");
            let buffer = self
                .decoded
                .get_or_insert_with(|| SampleBuffer::new(audio.capacity() as u64, *audio.spec()));
            buffer.copy_interleaved_ref(audio);
            self.queue.extend(buffer.samples());
        }
        let n = self.queue.len().min(2 * frames);
        for (s, x) in sum.iter_mut().zip(self.queue.drain(..n)) {
            *s += x;
        }
        n / 2
    }
}

/// Seconds to open the stems with `open`, then write 24-bit the frames that the opened
/// stems' `sum` puts at the start of a block's left and right, until it returns 0 frames.
fn time_read_sum_write<S>(dir: &Path, open: impl FnOnce() -> S) -> f64
where
    S: FnMut(&mut [f32], &mut [f32]) -> usize,
{
    let started = Instant::now();
    let mut sum = open();
    let out = dir.join("floor.wav");
    let mut writer = WavWriter::create(&out, RATE, WavFormat::Pcm24).expect("create");
    let (mut l, mut r) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
    loop {
        let frames = sum(&mut l, &mut r);
        if frames == 0 {
            break;
        }
        writer.write(&l[..frames], &r[..frames]).expect("write");
    }
    writer.finish().expect("finish");
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(out);
    seconds
}

/// Decode every stem as a plain program does, sum, write 24-bit.
fn plain_read_sum_write(dir: &Path, names: &[String]) -> f64 {
    time_read_sum_write(dir, || {
        let mut stems: Vec<PlainStem> =
            names.iter().map(|name| PlainStem::open(&dir.join(format!("{name}.wav")))).collect();
        let mut sum = vec![0.0f32; 2 * BLOCK];
        move |l: &mut [f32], r: &mut [f32]| {
            sum.fill(0.0);
            let longest = stems.iter_mut().map(|s| s.add_into(&mut sum, BLOCK)).max().unwrap_or(0);
            for (i, frame) in sum[..2 * longest].chunks_exact(2).enumerate() {
                (l[i], r[i]) = (frame[0], frame[1]);
            }
            longest
        }
    })
}

/// Decode every stem with mixdown's own decoder, sum, write 24-bit: the least any
/// renderer must do.
fn fastest_read_sum_write(dir: &Path, names: &[String]) -> f64 {
    time_read_sum_write(dir, || {
        let mut decoders: Vec<Decoder> = names
            .iter()
            .map(|name| Decoder::open(dir.join(format!("{name}.wav"))).expect("open"))
            .collect();
        let (mut dl, mut dr) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
        move |l: &mut [f32], r: &mut [f32]| {
            l.fill(0.0);
            r.fill(0.0);
            let mut longest = 0;
            for d in &mut decoders {
                let n = d.read(&mut dl, &mut dr).expect("read");
                longest = longest.max(n);
                for i in 0..n {
                    l[i] += dl[i];
                    r[i] += dr[i];
                }
            }
            longest
        }
    })
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// The lowest and highest of `values`, to print beside a median: how far one run can
/// stray from it.
fn range(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

/// Each run's `part` as a percentage of its own `whole`, lowest and highest.
fn share_range(part: &[f64], whole: &[f64]) -> (f64, f64) {
    let shares: Vec<f64> = part.iter().zip(whole).map(|(p, w)| p / w * 100.0).collect();
    range(&shares)
}

fn main() {
    let options = options();
    let (names, project) = mix(&options);
    let dir = session(&options, &names);
    println!(
        "session: {} stems × {} s, 24-bit 48 kHz stereo, {} mix, {} runs each (median)",
        options.stems,
        options.seconds,
        if options.reference { "reference" } else { "HPF + EQ" },
        options.runs
    );
    let (mut plain, mut fastest) = (Vec::new(), Vec::new());
    let (mut cold, mut noop, mut fader, mut eq) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut watch = Vec::new();
    let mut peak: f64 = 0.0;
    for run in 0..options.runs {
        plain.push(plain_read_sum_write(&dir, &names));
        fastest.push(fastest_read_sum_write(&dir, &names));
        let _ = std::fs::remove_dir_all(dir.join("cache"));
        let _ = std::fs::remove_dir_all(dir.join("out"));
        std::fs::write(dir.join("mix.yaml"), &project.yaml).expect("project");
        let (seconds, mb) = render(&dir);
        cold.push(seconds);
        peak = peak.max(mb);
        noop.push(render(&dir).0);
        project.fader.nudge(&dir, run);
        fader.push(render(&dir).0);
        project.eq.nudge(&dir, run);
        eq.push(render(&dir).0);
        watch.push(watch_latency(&dir, &project.fader, run));
    }
    let (low, high) = range(&noop);
    let noop_range = format!("runs {:.1}–{:.1} ms", low * 1e3, high * 1e3);
    let (fader_low, fader_high) = share_range(&fader, &cold);
    let (eq_low, eq_high) = share_range(&eq, &cold);
    let (watch_low, watch_high) = range(&watch);
    let (plain, fastest, cold) = (median(&plain), median(&fastest), median(&cold));
    let (noop, fader, eq) = (median(&noop), median(&fader), median(&eq));
    println!("plain read-sum-write     {plain:8.3} s");
    println!("fastest read-sum-write   {fastest:8.3} s");
    println!(
        "cold render              {cold:8.3} s   {:.2} × plain, {:.2} × fastest",
        cold / plain,
        cold / fastest
    );
    println!("no-op render             {:8.1} ms  {noop_range}", noop * 1e3);
    println!(
        "fader move on one track  {fader:8.3} s   {:.1}% of cold, runs {fader_low:.1}–{fader_high:.1}%",
        fader / cold * 100.0
    );
    println!(
        "EQ change on one track   {eq:8.3} s   {:.1}% of cold, runs {eq_low:.1}–{eq_high:.1}%",
        eq / cold * 100.0
    );
    println!(
        "fader move under watch   {:8.3} s   from save to rendered, runs {watch_low:.3}–{watch_high:.3} s",
        median(&watch)
    );
    println!("peak memory (cold)       {peak:8.1} MB");
}
