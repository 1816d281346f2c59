//! Side-by-side checks of our EQ, compressor and reverb against ffmpeg and pedalboard. These
//! compare with tools we do not ship, so each skips with a printed reason when its peer is
//! missing; the math tests next to each processor never depend on a peer.

use std::path::Path;
use std::process::Command;

use mixdown::audio::wav::{WavFormat, WavWriter};
use mixdown::dsp::{BuildEnv, Context};
use mixdown::ir::step::{NoFiles, Step};
use mixdown::project::RawStep;

use crate::support::{read_audio, scratch};

const RATE: u32 = 48_000;

fn has_ffmpeg() -> bool {
    Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success())
}

fn has_pedalboard() -> bool {
    Command::new("python3")
        .args(["-c", "import pedalboard, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// White noise with a level that steps between loud and quiet every 0.25 s.
fn test_signal(seconds: f64) -> (Vec<f32>, Vec<f32>) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let frames = (seconds * f64::from(RATE)) as usize;
    (0..frames)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let level = if (i / 12_000) % 2 == 0 { 0.5 } else { 0.05 };
            let x = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * level;
            (x, -x * 0.8)
        })
        .unzip()
}

fn ours(spec: &str, left: &[f32], right: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let raw: RawStep = serde_json::from_str(spec).unwrap();
    let step = Step::lower(&raw, "chain[0]", &mut |_, _| unreachable!("the step reads no file"));
    let env = BuildEnv { sample_rate: f64::from(RATE), max_block: 4096 };
    let mut p = step.build(&env, &NoFiles).expect("the step reads no file");
    let (mut l, mut r) = (left.to_vec(), right.to_vec());
    for start in (0..l.len()).step_by(4096) {
        let end = (start + 4096).min(l.len());
        let ctx = Context { start: start as u64, sidechains: &[] };
        p.process(&mut l[start..end], &mut r[start..end], &ctx);
    }
    (l, r)
}

fn write(path: &Path, left: &[f32], right: &[f32]) {
    let mut w = WavWriter::create(path, RATE, WavFormat::Float32).unwrap();
    w.write(left, right).unwrap();
    w.finish().unwrap();
}

fn read(path: &Path) -> (Vec<f32>, Vec<f32>) {
    let (_, left, right) = read_audio(path);
    (left, right)
}

/// Energy of `a - b` relative to the energy of `a`, in dB, over the common length.
fn difference_db(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (mut diff, mut sig) = (0.0f64, 0.0f64);
    for i in 0..n {
        diff += f64::from(a[i] - b[i]).powi(2);
        sig += f64::from(a[i]).powi(2);
    }
    10.0 * (diff / sig).log10()
}

fn ffmpeg(input: &Path, output: &Path, filter: &str) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(input)
        .args(["-af", filter, "-c:a", "pcm_f32le"])
        .arg(output)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg failed on {filter}");
}

fn pedalboard(input: &Path, output: &Path, board: &str) {
    let script = format!(
        "from pedalboard import *\nfrom pedalboard.io import AudioFile\n\
         with AudioFile('{}') as f: x = f.read(f.frames)\n\
         y = Pedalboard([{board}])(x, {RATE})\n\
         with AudioFile('{}', 'w', {RATE}, 2, bit_depth=32) as f: f.write(y)\n",
        input.display(),
        output.display()
    );
    let status = Command::new("python3").args(["-c", &script]).status().unwrap();
    assert!(status.success(), "pedalboard failed on {board}");
}

#[test]
fn eq_bands_match_ffmpegs_biquads() {
    if !has_ffmpeg() {
        println!("skipped: ffmpeg is not installed");
        return;
    }
    let work = scratch();
    let (left, right) = test_signal(2.0);
    let input = work.path().join("in.wav");
    write(&input, &left, &right);
    let cases = [
        (
            r#"{"eq": [{"type": "peak", "freq": "1 kHz", "gain": "6 dB", "q": 1.4}]}"#,
            "equalizer=f=1000:t=q:w=1.4:g=6",
        ),
        (
            r#"{"eq": [{"type": "high_shelf", "freq": "8 kHz", "gain": "-4 dB"}]}"#,
            "highshelf=f=8000:t=q:w=0.7071:g=-4",
        ),
        (r#"{"eq": [{"type": "highpass", "freq": "80 Hz"}]}"#, "highpass=f=80:p=2:t=q:w=0.7071"),
    ];
    for (spec, filter) in cases {
        let output = work.path().join("ff.wav");
        ffmpeg(&input, &output, &format!("aformat=sample_fmts=fltp,{filter}"));
        let (fl, fr) = read(&output);
        let (ol, or) = ours(spec, &left, &right);
        assert!(difference_db(&left, &ol) > -40.0, "{spec} changes the signal");
        let (dl, dr) = (difference_db(&fl, &ol), difference_db(&fr, &or));
        println!("eq vs ffmpeg `{filter}`: difference {dl:.1} dB (L), {dr:.1} dB (R)");
        // Both are RBJ biquads; what differs is rounding (ffmpeg's float state), so the
        // difference must sit far below anything audible.
        assert!(dl < -60.0 && dr < -60.0, "{filter}: {dl} / {dr} dB");
    }
}

#[test]
fn the_compressor_agrees_with_ffmpegs_on_gain_reduction() {
    if !has_ffmpeg() {
        println!("skipped: ffmpeg is not installed");
        return;
    }
    let work = scratch();
    let (left, right) = test_signal(4.0);
    let input = work.path().join("in.wav");
    write(&input, &left, &right);
    let output = work.path().join("ff.wav");
    // ffmpeg's knee cannot go below 1 dB; its threshold and makeup are linear.
    ffmpeg(
        &input,
        &output,
        "aformat=sample_fmts=fltp,acompressor=threshold=0.0631:ratio=4:attack=5:release=80:knee=1:detection=peak:link=maximum:makeup=1",
    );
    let (fl, _) = read(&output);
    let (ol, _) = ours(
        r#"{"compressor": {"threshold": "-24 dB", "ratio": 4, "attack": "5 ms", "release": "80 ms", "knee": "1 dB"}}"#,
        &left,
        &right,
    );
    let overall = difference_db(&fl, &ol);
    // Settled gain reduction in the last 100 ms of each loud segment, ours against ffmpeg's.
    let mut worst: f64 = 0.0;
    for segment in (0..16).step_by(2) {
        let end = (segment + 1) * 12_000;
        let rms = |x: &[f32]| {
            (x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        let window = end - 4800..end;
        let ours_db = 20.0 * (rms(&ol[window.clone()]) / rms(&left[window.clone()])).log10();
        let theirs_db = 20.0 * (rms(&fl[window.clone()]) / rms(&left[window])).log10();
        worst = worst.max((ours_db - theirs_db).abs());
    }
    println!(
        "compressor vs ffmpeg acompressor: waveform difference {overall:.1} dB, settled gain reduction within {worst:.2} dB"
    );
    // The static curves are the same; the detectors differ (ffmpeg smooths the envelope
    // differently), so only the settled reduction is held to a tolerance.
    assert!(worst < 1.0, "settled gain reduction differs by {worst} dB");
}

#[test]
fn the_reverb_decays_like_a_room_next_to_pedalboards_freeverb() {
    if !has_pedalboard() {
        println!("skipped: python3 with pedalboard and numpy is not installed");
        return;
    }
    let work = scratch();
    let frames = 4 * RATE as usize;
    let mut left = vec![0.0f32; frames];
    left[0] = 1.0;
    let right = left.clone();
    let input = work.path().join("impulse.wav");
    write(&input, &left, &right);
    let output = work.path().join("pb.wav");
    pedalboard(
        &input,
        &output,
        "Reverb(room_size=0.7, damping=0.5, wet_level=1.0, dry_level=0.0, width=1.0)",
    );
    let (pl, pr) = read(&output);
    let (ol, or) = ours(
        r#"{"reverb": {"size": "70%", "decay": "2 s", "damping": "50%", "mix": "100%"}}"#,
        &left,
        &right,
    );
    let (rt_pb, rt_ours) = (rt60(&pl), rt60(&ol));
    let (corr_pb, corr_ours) = (correlation(&pl, &pr), correlation(&ol, &or));
    println!(
        "reverb vs pedalboard Reverb(room_size 0.7): RT60 {rt_ours:.2} s vs {rt_pb:.2} s, \
         interchannel correlation {corr_ours:.2} vs {corr_pb:.2}"
    );
    assert!((rt_ours - 2.0).abs() < 0.2, "our RT60 follows the setting: {rt_ours}");
    assert!(corr_ours.abs() < 0.5, "our tail is decorrelated like a room: {corr_ours}");
}

/// RT60 from the Schroeder backward integral, fitted from -5 to -25 dB.
fn rt60(x: &[f32]) -> f64 {
    let mut energy: Vec<f64> = x.iter().map(|v| f64::from(*v).powi(2)).collect();
    for i in (0..energy.len() - 1).rev() {
        energy[i] += energy[i + 1];
    }
    let total = energy[0];
    let db: Vec<f64> = energy.iter().map(|e| 10.0 * (e / total).log10()).collect();
    let find = |level: f64| db.iter().position(|d| *d < level).unwrap_or(db.len() - 1) as f64;
    let (t5, t25) = (find(-5.0), find(-25.0));
    3.0 * (t25 - t5) / f64::from(RATE)
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let start = RATE as usize / 10;
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for i in start..a.len().min(b.len()) {
        let (x, y) = (f64::from(a[i]), f64::from(b[i]));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt()
}
