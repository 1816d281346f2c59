//! Processor benchmarks: every processor kind, the loudness meter that every output runs,
//! and the quantizer that reduces every integer file to its word length, on 30 s of 48 kHz
//! stereo noise in blocks of [`BLOCK_FRAMES`], timed with `Instant`, median of five runs.
//! Prints ns per frame and how many times faster than realtime; asserts nothing. The noise
//! is uniform, so its peaks are everywhere: the true peak meter can pass over little of
//! it, and reads it at its highest cost.
//!
//!     cargo bench --bench processors -- [--seconds 30] [--runs 5] [--only compressor]
//!
//! The noise sits at about -18 dBFS RMS: a 3 s cycle of 1.5 s at -22 dBFS, 0.75 s at
//! -13 dBFS (so that compressors and limiters work) and 0.75 s at -45 dBFS (so that gates
//! close). Each kind is built from a typical spec; the dynamics processors get a few
//! variants, since their cost depends on the detector and on how often they compress.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use mixdown::audio::dither::{Dither, Quantizer};
use mixdown::audio::loudness::LoudnessMeter;
use mixdown::dsp::{Audio, BLOCK_FRAMES, BuildEnv, Context, Sidechain};
use mixdown::ir::step::{DecodedFiles, Step};
use mixdown::ir::{ContentDigest, ResolvedFile};
use mixdown::project::{KINDS, RawStep};

const RATE: f64 = 48_000.0;

/// (label, step) pairs; a label that is not a kind names a variant of the kind it starts
/// with.
const SPECS: &[(&str, &str)] = &[
    ("gain", r#"{"gain": "-6 dB"}"#),
    ("polarity", r#"{"polarity": "inverted"}"#),
    ("highpass", r#"{"highpass": {"freq": "80 Hz", "slope": 24}}"#),
    ("lowpass", r#"{"lowpass": {"freq": "12 kHz", "slope": 12}}"#),
    (
        "eq",
        r#"{"eq": [{"type": "low_shelf", "freq": "120 Hz", "gain": "1.5 dB"}, {"type": "peak", "freq": "1.2 kHz", "gain": "-2 dB", "q": 1}, {"type": "high_shelf", "freq": "8 kHz", "gain": "2 dB"}]}"#,
    ),
    ("width", r#"{"width": {"amount": "120%"}}"#),
    ("deesser", r#"{"deesser": {"frequency": "6 kHz", "threshold": "-30 dB"}}"#),
    (
        "compressor",
        r#"{"compressor": {"threshold": "-24 dB", "ratio": 4, "attack": "5 ms", "release": "80 ms", "knee": "6 dB", "makeup": "3 dB"}}"#,
    ),
    (
        "compressor rms unlinked",
        r#"{"compressor": {"threshold": "-20 dB", "ratio": 3, "attack": "10 ms", "release": "120 ms", "detector": "rms", "link": "0%"}}"#,
    ),
    (
        "compressor sidechain hpf",
        r#"{"compressor": {"threshold": "-30 dB", "ratio": 6, "attack": "1 ms", "release": "60 ms", "sidechain": "trigger", "sidechain_highpass": "100 Hz"}}"#,
    ),
    (
        "compressor automated",
        r#"{"compressor": {"threshold": [[0, "-20 dB"], ["30 s", "-30 dB"]], "ratio": 4, "makeup": [[0, "0 dB"], ["30 s", "6 dB"]]}}"#,
    ),
    ("gate", r#"{"gate": {"threshold": "-30 dB", "range": "-20 dB"}}"#),
    ("expander", r#"{"expander": {"threshold": "-30 dB", "knee": "6 dB"}}"#),
    ("limiter", r#"{"limiter": {"ceiling": "-1 dB"}}"#),
    // A mastering limiter's working point: the loud parts' peaks 4 dB over the ceiling.
    ("limiter true peak", r#"{"limiter": {"ceiling": "-12 dB", "true_peak": true}}"#),
    (
        "multiband 3 bands",
        r#"{"multiband": {"crossovers": ["150 Hz", "3 kHz"], "bands": [{"compressor": {"threshold": "-20 dB", "ratio": 3}}, {"compressor": {"threshold": "-24 dB", "ratio": 2, "knee": "6 dB"}}, {"compressor": {"threshold": "-18 dB", "ratio": 4}}]}}"#,
    ),
    (
        "multiband 5 bands",
        r#"{"multiband": {"crossovers": ["80 Hz", "300 Hz", "2 kHz", "8 kHz"], "bands": [{"compressor": {"threshold": "-20 dB", "ratio": 3}}, {"compressor": {"threshold": "-20 dB", "ratio": 3}}, {"compressor": {"threshold": "-20 dB", "ratio": 3}}, {"compressor": {"threshold": "-20 dB", "ratio": 3}}, {"compressor": {"threshold": "-20 dB", "ratio": 3}}]}}"#,
    ),
    ("clipper", r#"{"clipper": {"drive": "4 dB", "ceiling": "-1 dB"}}"#),
    (
        "delay",
        r#"{"delay": {"time": "375 ms", "feedback": "35%", "mix": "25%", "ping_pong": true, "high_cut": "5 kHz"}}"#,
    ),
    (
        "reverb",
        r#"{"reverb": {"size": "70%", "decay": "2 s", "predelay": "20 ms", "damping": "40%", "mix": "30%"}}"#,
    ),
    ("chorus", r#"{"chorus": {"rate": "0.8 Hz", "depth": "3 ms", "voices": 3}}"#),
    ("saturate", r#"{"saturate": {"drive": "6 dB", "type": "tape", "mix": "100%"}}"#),
    ("stereo width balance", r#"{"stereo": {"width": "120%", "balance": "5% left"}}"#),
    ("stereo mono_below", r#"{"stereo": {"width": "120%", "mono_below": "120 Hz"}}"#),
    (
        "eq mid/side",
        r#"{"eq": [{"type": "low_shelf", "freq": "200 Hz", "gain": "-4 dB", "channel": "side"}, {"type": "peak", "freq": "3 kHz", "gain": "2 dB", "channel": "mid"}]}"#,
    ),
    ("convolution", r#"{"convolution": {"ir": "plate", "mix": "30%"}}"#),
    ("parallel", r#"{"parallel": [[], [{"highpass": {"freq": "200 Hz"}}, {"gain": "-6 dB"}]]}"#),
];

struct Options {
    seconds: f64,
    runs: usize,
    only: Option<String>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    Options {
        seconds: value("--seconds").and_then(|v| v.parse().ok()).unwrap_or(30.0),
        runs: value("--runs").and_then(|v| v.parse().ok()).unwrap_or(5).max(1),
        only: value("--only").cloned(),
    }
}

/// A deterministic xorshift source of uniform values in -0.5..0.5.
fn uniform(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

/// The RMS level in dBFS of the noise at frame `i`.
fn level_db(i: usize) -> f32 {
    let phase = (i as f64 / RATE) % 3.0;
    if phase < 1.5 {
        -22.0
    } else if phase < 2.25 {
        -13.0
    } else {
        -45.0
    }
}

/// Stereo noise following [`level_db`], and a sidechain signal (a differently seeded copy).
fn signal(frames: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    // Uniform noise in -0.5..0.5 has an RMS of 1/√12.
    let unit_rms = 1.0 / 12f32.sqrt();
    let (mut a, mut b) = (uniform(seed), uniform(seed + 1));
    (0..frames)
        .map(|i| {
            let scale = 10f32.powf(level_db(i) / 20.0) / unit_rms;
            (a() * scale, b() * scale)
        })
        .unzip()
}

fn rms_db(left: &[f32], right: &[f32]) -> f64 {
    let sum: f64 = left.iter().chain(right).map(|&x| f64::from(x) * f64::from(x)).sum();
    10.0 * (sum / (left.len() + right.len()) as f64).log10()
}

fn step(json: &str) -> Step {
    let raw: RawStep = serde_json::from_str(json).expect("the benchmark's specs are valid");
    let mut stand_in = |_: &str, written: &str| ResolvedFile {
        path: written.into(),
        content: ContentDigest::default(),
    };
    Step::lower(&raw, "chain[0]", &mut stand_in)
}

/// Every impulse response a benchmarked step reads: a 1.5 s decaying noise tail, like a
/// small plate.
struct Plate(Arc<Audio>);

impl Plate {
    fn new() -> Self {
        let frames = (1.5 * RATE) as usize;
        let decay = |seed: u64| -> Vec<f32> {
            let mut noise = uniform(seed);
            (0..frames).map(|n| noise() * (-(n as f32) / (0.25 * RATE as f32)).exp()).collect()
        };
        Self(Arc::new(Audio { left: decay(11), right: decay(12) }))
    }
}

impl DecodedFiles for Plate {
    fn audio(&self, _: &ResolvedFile) -> Option<Arc<Audio>> {
        Some(self.0.clone())
    }
}

/// Seconds to run `step` once over the signal, fresh from `build`.
fn time_once(step: &Step, input: &(Vec<f32>, Vec<f32>), sidechain: &(Vec<f32>, Vec<f32>)) -> f64 {
    let env = BuildEnv { sample_rate: RATE, max_block: BLOCK_FRAMES };
    let mut processor = step.build(&env, &Plate::new()).expect("the plate serves every file");
    let (mut left, mut right) = input.clone();
    let frames = left.len();
    let started = Instant::now();
    for start in (0..frames).step_by(BLOCK_FRAMES) {
        let end = (start + BLOCK_FRAMES).min(frames);
        let sidechains = [(
            "trigger",
            Sidechain { left: &sidechain.0[start..end], right: &sidechain.1[start..end] },
        )];
        let ctx = Context { start: start as u64, sidechains: &sidechains };
        processor.process(&mut left[start..end], &mut right[start..end], &ctx);
    }
    let seconds = started.elapsed().as_secs_f64();
    black_box((&left, &right));
    seconds
}

/// Makes a fresh meter of one kind.
type MakeMeter = fn() -> LoudnessMeter;

/// Seconds to measure the signal once with a fresh meter, as the output node does.
fn time_meter(make: MakeMeter, input: &(Vec<f32>, Vec<f32>)) -> f64 {
    let mut meter = make();
    let started = Instant::now();
    for (left, right) in input.0.chunks(BLOCK_FRAMES).zip(input.1.chunks(BLOCK_FRAMES)) {
        meter.add(left, right);
    }
    black_box(meter.record());
    started.elapsed().as_secs_f64()
}

/// Seconds to reduce the signal to `bits` with `dither`, block by block, as an encoder does.
fn time_quantizer(bits: u32, dither: Dither, input: &(Vec<f32>, Vec<f32>)) -> f64 {
    let mut quantizer = Quantizer::new(bits, dither, 1);
    let mut out = Vec::with_capacity(2 * BLOCK_FRAMES);
    let started = Instant::now();
    for (left, right) in input.0.chunks(BLOCK_FRAMES).zip(input.1.chunks(BLOCK_FRAMES)) {
        out.clear();
        quantizer.quantize(left, right, &mut out);
        black_box(&out);
    }
    started.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let options = options();
    let frames = (options.seconds * RATE) as usize;
    let input = signal(frames, 1);
    let sidechain = signal(frames, 3);
    println!(
        "{} s of 48 kHz stereo noise at {:.1} dBFS RMS, blocks of {BLOCK_FRAMES}, median of {} runs",
        options.seconds,
        rms_db(&input.0, &input.1),
        options.runs
    );
    println!("{:<26} {:>10} {:>12}", "processor", "ns/frame", "× realtime");
    for kind in KINDS {
        let variants: Vec<_> = SPECS
            .iter()
            .filter(|(_, json)| step(json).kind() == *kind)
            .filter(|(label, _)| options.only.as_ref().is_none_or(|o| label.contains(o.as_str())))
            .collect();
        if variants.is_empty() && options.only.is_none() {
            println!("{kind:<26} {:>10}", "no spec");
        }
        for (label, json) in variants {
            let s = step(json);
            let seconds =
                median((0..options.runs).map(|_| time_once(&s, &input, &sidechain)).collect());
            print_figure(label, seconds, frames, options.seconds);
        }
    }
    let meters: [(&str, MakeMeter); 2] = [
        ("loudness meter", || LoudnessMeter::new(RATE as u32).expect("48 kHz is metered")),
        ("loudness meter, no peak", || {
            LoudnessMeter::without_true_peak(RATE as u32).expect("48 kHz is metered")
        }),
    ];
    for (label, make) in meters {
        if options.only.as_ref().is_some_and(|o| !label.contains(o.as_str())) {
            continue;
        }
        let seconds = median((0..options.runs).map(|_| time_meter(make, &input)).collect());
        print_figure(label, seconds, frames, options.seconds);
    }
    let quantizers = [
        ("quantizer, 24 bit", 24, Dither::None),
        ("quantizer, 16 bit TPDF", 16, Dither::Tpdf),
        ("quantizer, 16 bit shaped", 16, Dither::Shaped),
    ];
    for (label, bits, dither) in quantizers {
        if options.only.as_ref().is_some_and(|o| !label.contains(o.as_str())) {
            continue;
        }
        let runs = (0..options.runs).map(|_| time_quantizer(bits, dither, &input));
        print_figure(label, median(runs.collect()), frames, options.seconds);
    }
}

fn print_figure(label: &str, seconds: f64, frames: usize, signal_seconds: f64) {
    println!(
        "{label:<26} {:>10.2} {:>12.0}",
        seconds * 1e9 / frames as f64,
        signal_seconds / seconds
    );
}
