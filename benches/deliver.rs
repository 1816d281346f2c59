//! The deliverable stage of a song, per format, next to the command-line encoders at the
//! same settings, and a tag-only edit. Prints figures; asserts nothing.
//!
//!     cargo bench --bench deliver -- [--seconds 300] [--runs 3]
//!
//! The song is one generated stereo stem through a master limiter. Each format's time is a
//! `mixdown render` whose only work is that target, its master read from a warm cache:
//! reading the master's entry, rate conversion, dither, encoding, decoding the file back
//! to hold its ceiling, and tagging, plus what an up-to-date render costs (printed). The
//! peers encode the master as a 24-bit 48 kHz WAV: `flac -5` for FLAC 24/48 and `lame -b
//! 320` for MP3 320 (they neither convert rates nor decode back); each is skipped with its
//! reason when not installed. A WAV 16/44.1 has no peer here. Times are medians of the runs.

#[path = "common/args.rs"]
mod args;
#[path = "common/stem.rs"]
mod stem;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use args::option;
use stem::write_stem;

/// A command-line encoder and its arguments.
type Peer = (&'static str, &'static [&'static str]);

/// The formats timed: the target's settings, and the peer encoder's command.
const FORMATS: [(&str, &str, Option<Peer>); 3] = [
    (
        "WAV 16/44.1 TPDF",
        "{ format: wav, sample_rate: 44.1 kHz, bit_depth: 16, dither: tpdf }",
        None,
    ),
    (
        "FLAC 24/48",
        "{ format: flac, sample_rate: 48 kHz, bit_depth: 24 }",
        Some(("flac", &["-5", "-s", "-f", "-o", "peer.flac", "master.wav"])),
    ),
    (
        "MP3 320",
        "{ format: mp3, bitrate: 320 kbps }",
        Some(("lame", &["--silent", "-b", "320", "master.wav", "peer.mp3"])),
    ),
];

fn project(target: Option<&str>, artist: &str) -> String {
    let mut yaml = format!(
        "mix: Bench\nartist: {artist}\nsample_rate: 48 kHz\ntracks:\n  song: {{ source: song.wav }}\n\
         master:\n  chain:\n    - limiter: {{ ceiling: -1 dB }}\n"
    );
    if let Some(target) = target {
        let _ = write!(yaml, "deliver:\n  bench: {target}\n");
    }
    yaml
}

/// Seconds one `mixdown` command takes in `dir`.
fn mixdown(dir: &Path, args: &[&str]) -> f64 {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(args)
        .current_dir(dir)
        .env_remove("MIXDOWN_CACHE")
        .env_remove("MIXDOWN_REMOTE")
        .output()
        .expect("run mixdown");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    started.elapsed().as_secs_f64()
}

/// Seconds a render of `yaml` takes, starting from a copy of the warm cache.
fn render_from_warm(dir: &Path, yaml: &str) -> f64 {
    let _ = std::fs::remove_dir_all(dir.join("cache"));
    let _ = std::fs::remove_dir_all(dir.join("out"));
    copy_dir(&dir.join("warm"), &dir.join("cache"));
    std::fs::write(dir.join("mix.yaml"), yaml).expect("project");
    mixdown(dir, &["render", "mix.yaml", "--cache", "cache", "--out", "out", "-q"])
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy");
    for entry in std::fs::read_dir(from).expect("copy") {
        let entry = entry.expect("copy");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("copy").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Seconds `program` takes, or why it cannot run.
fn peer(dir: &Path, program: &str, args: &[&str]) -> Result<f64, String> {
    let started = Instant::now();
    match Command::new(program).args(args).current_dir(dir).output() {
        Ok(out) if out.status.success() => Ok(started.elapsed().as_secs_f64()),
        Ok(out) => Err(format!("`{program}` failed: {}", String::from_utf8_lossy(&out.stderr))),
        Err(e) => Err(format!("`{program}` is not installed ({e})")),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let seconds = option("--seconds", 300.0);
    let runs = option("--runs", 3.0).max(1.0) as usize;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/bench-sessions")
        .join(format!("deliver{seconds}"));
    std::fs::create_dir_all(&dir).expect("session dir");
    if !dir.join("song.wav").exists() {
        write_stem(&dir.join("song.wav"), (seconds * f64::from(stem::RATE)) as usize, 5);
    }
    // The warm cache: the master rendered, and the master as the peers' input.
    let _ = std::fs::remove_dir_all(dir.join("warm"));
    std::fs::write(dir.join("mix.yaml"), project(None, "A")).expect("project");
    let only = ["render", "mix.yaml", "--cache", "warm", "--out", "."];
    mixdown(&dir, &[&only[..], &["--only", "master", "--format", "pcm24", "-q"]].concat());
    println!("song: {seconds} s, 48 kHz stereo, master limited; {runs} runs each (median)");
    // What every render costs before any node runs: the FLAC target rendered, then again.
    let flac = FORMATS[1].1;
    let noop: Vec<f64> = (0..runs)
        .map(|_| {
            render_from_warm(&dir, &project(Some(flac), "A"));
            mixdown(&dir, &["render", "mix.yaml", "--cache", "cache", "--out", "out", "-q"])
        })
        .collect();
    println!("{:<18} {:>8.3} s   (the same render again, up to date)", "no-op", median(noop));
    for (name, target, peer_command) in FORMATS {
        let yaml = project(Some(target), "A");
        let ours = median((0..runs).map(|_| render_from_warm(&dir, &yaml)).collect());
        let beside = match peer_command {
            None => "no command-line peer".to_owned(),
            Some((program, args)) => {
                let timed: Result<Vec<f64>, String> =
                    (0..runs).map(|_| peer(&dir, program, args)).collect();
                match timed {
                    Ok(times) => format!("{program}: {:.3} s", median(times)),
                    Err(reason) => format!("{program} skipped: {reason}"),
                }
            }
        };
        println!("{name:<18} {ours:>8.3} s   {beside}");
    }
    // A tag-only edit: the FLAC rendered, then its artist changed.
    let edits: Vec<f64> = (0..runs)
        .map(|run| {
            render_from_warm(&dir, &project(Some(flac), "A"));
            std::fs::write(dir.join("mix.yaml"), project(Some(flac), &format!("B{run}")))
                .expect("project");
            mixdown(&dir, &["render", "mix.yaml", "--cache", "cache", "--out", "out", "-q"])
        })
        .collect();
    println!(
        "{:<18} {:>8.3} s   (FLAC 24/48 re-tagged, no audio encoded)",
        "tag-only edit",
        median(edits)
    );
}
