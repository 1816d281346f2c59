//! The guard that keeps cached audio honest: every processor's output on a fixed signal is
//! recorded with its algorithm version in `snapshots/processor-digests.txt`. A change to a
//! processor's output without a bump of its `VERSION` fails here, because a cache would
//! otherwise serve audio from the old algorithm under the same key.
//!
//! After bumping a version, refresh the table with
//! `MIXDOWN_BLESS=1 cargo test --lib version_guard`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::ResolvedFile;
use super::step::{DecodedFiles, Step, lowered};
use crate::dsp::{Audio, BuildEnv, Context, Sidechain};

const RATE: f64 = 48_000.0;
const FRAMES: usize = 24_000;
const BLOCK: usize = 512;

/// One spec per processor kind, exercising its main parameters.
const SPECS: &[&str] = &[
    r#"{"gain": "-6 dB"}"#,
    r#"{"polarity": "inverted"}"#,
    r#"{"highpass": {"freq": "120 Hz", "slope": 24}}"#,
    r#"{"lowpass": {"freq": "6 kHz", "slope": 36}}"#,
    r#"{"eq": [{"type": "peak", "freq": "1 kHz", "gain": "4 dB", "q": 1.2}, {"type": "high_shelf", "freq": "8 kHz", "gain": "-3 dB"}]}"#,
    r#"{"width": {"amount": "150%"}}"#,
    r#"{"deesser": {"frequency": "6 kHz", "threshold": "-30 dB"}}"#,
    r#"{"compressor": {"threshold": "-24 dB", "ratio": 4, "attack": "5 ms", "release": "80 ms", "knee": "6 dB", "makeup": "3 dB", "sidechain": "trigger", "sidechain_highpass": "100 Hz"}}"#,
    r#"{"gate": {"threshold": "-30 dB", "range": "-20 dB"}}"#,
    r#"{"expander": {"threshold": "-30 dB"}}"#,
    r#"{"limiter": {"ceiling": "-6 dB"}}"#,
    r#"{"delay": {"time": "30 ms", "feedback": "40%", "mix": "50%", "ping_pong": true, "high_cut": "5 kHz"}}"#,
    r#"{"reverb": {"size": "60%", "decay": "0.8 s", "predelay": "10 ms", "damping": "40%", "mix": "50%"}}"#,
    r#"{"chorus": {"rate": "1.5 Hz", "depth": "4 ms", "voices": 3}}"#,
    r#"{"saturate": {"drive": "12 dB", "type": "tape", "mix": "70%"}}"#,
    r#"{"convolution": {"ir": "test-ir", "mix": "40%"}}"#,
    r#"{"multiband": {"crossovers": ["150 Hz", "3 kHz"], "bands": [{"compressor": {"threshold": "-20 dB", "ratio": 3, "attack": "5 ms"}}, {"gain": "2 dB"}, {"compressor": {"threshold": "-30 dB", "ratio": 2, "knee": "6 dB"}, "gain": "-1 dB"}]}}"#,
    r#"{"clipper": {"drive": "6 dB", "ceiling": "-1 dB", "softness": "40%"}}"#,
    r#"{"stereo": {"width": "130%", "balance": "10% left", "mono_below": "120 Hz"}}"#,
    r#"{"parallel": [[], [{"gain": "-3 dB"}, {"polarity": "inverted"}]]}"#,
];

/// Modes that run other DSP than the spec of their kind above, each under its own label, so
/// that a change to a mode's algorithm needs a bump of its processor's version too.
const MODES: &[(&str, &str)] =
    &[("limiter.true_peak", r#"{"limiter": {"ceiling": "-6 dB", "true_peak": true}}"#)];

/// A deterministic stereo test signal: tones, noise bursts and an impulse.
fn signal() -> (Vec<f32>, Vec<f32>) {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    (0..FRAMES)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            let burst = if (i / 3000) % 2 == 0 { 0.6 } else { 0.05 };
            let tone = (t * 220.0 * std::f32::consts::TAU).sin() * 0.3;
            let click = if i == 1000 { 0.9 } else { 0.0 };
            (tone + noise() * burst + click, tone * 0.7 + noise() * burst)
        })
        .unzip()
}

fn digest(step: &Step) -> String {
    let env = BuildEnv { sample_rate: RATE, max_block: BLOCK };
    let mut processor = step.build(&env, &GuardFiles).expect("the guard decodes every file");
    let (mut left, mut right) = signal();
    let sidechain: Vec<f32> = left.iter().map(|x| x * 0.5).collect();
    for start in (0..FRAMES).step_by(BLOCK) {
        let end = (start + BLOCK).min(FRAMES);
        let sidechains = [(
            "trigger",
            Sidechain { left: &sidechain[start..end], right: &sidechain[start..end] },
        )];
        let ctx = Context { start: start as u64, sidechains: &sidechains };
        processor.process(&mut left[start..end], &mut right[start..end], &ctx);
    }
    let mut hasher = blake3::Hasher::new();
    for x in left.iter().chain(&right) {
        hasher.update(&x.to_le_bytes());
    }
    hasher.finalize().to_hex()[..16].to_string()
}

fn step(json: &str) -> Step {
    let mut steps = lowered(&format!("[{json}]"));
    steps.pop().expect("the guard's specs are valid")
}

/// Every file a guarded step reads decodes to the same short decaying response.
struct GuardFiles;

impl DecodedFiles for GuardFiles {
    fn audio(&self, _: &ResolvedFile) -> Option<Arc<Audio>> {
        let decay = |phase: f32| -> Vec<f32> {
            (0..2400).map(|n| (n as f32 * phase).sin() * (-(n as f32) / 300.0).exp()).collect()
        };
        Some(Arc::new(Audio { left: decay(0.37), right: decay(0.41) }))
    }
}

#[test]
fn no_processor_changes_its_output_without_a_new_version() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/processor-digests.txt");
    let mut table = String::from("# kind version output-digest (see src/ir/version_guard.rs)\n");
    let mut current = BTreeMap::new();
    let labelled = SPECS.iter().map(|json| (step(json).kind(), *json));
    for (label, json) in labelled.chain(MODES.iter().copied()) {
        let s = step(json);
        let d = digest(&s);
        let _ = writeln!(table, "{label} {} {d}", s.version());
        current.insert(label, (s.version(), d));
    }
    if std::env::var_os("MIXDOWN_BLESS").is_some() {
        std::fs::write(path, &table).expect("write the digest table");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    for line in committed.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.split_whitespace();
        let (Some(kind), Some(version), Some(old)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if let Some((v, new)) = current.get(kind)
            && v.to_string() == version
        {
            assert_eq!(
                new, old,
                "the output of `{kind}` changed but its VERSION is still {v}: bump it, then run \
                 `MIXDOWN_BLESS=1 cargo test --lib version_guard`"
            );
        }
    }
    assert_eq!(
        committed, table,
        "snapshots/processor-digests.txt is out of date: run `MIXDOWN_BLESS=1 cargo test --lib version_guard`"
    );
}

#[test]
fn every_processor_kind_is_guarded() {
    let guarded: Vec<&str> = SPECS.iter().map(|json| step(json).kind()).collect();
    for kind in crate::project::KINDS {
        assert!(guarded.contains(kind), "add a `{kind}` spec to the version guard");
    }
}
