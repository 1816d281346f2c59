//! The album benchmark: a cold build of an album file, the fade edit and the tag edit that
//! follow it, peak memory, and the encoder floor: what the `flac` and `lame` command-line
//! encoders alone take to encode the same mastered audio at the same settings, two at a
//! time on the machine's cores. Prints figures; asserts nothing.
//!
//!     cargo bench --bench album -- --session DIR [--runs 1]
//!
//! DIR holds `album.yaml` and the songs it names: the reference album (12 songs, 48
//! minutes; its generator is the peers' comparison kit, which also times ffmpeg doing the
//! same work) or any album with a FLAC target and an MP3 target split by song. Without a
//! session the benchmark says so and stops. The fade edit gives song 5 a 3 s fade-out; the
//! tag edit then changes song 3's artist. The encoder floor decodes the FLAC target's files
//! to WAV first (not timed), then encodes each with `flac -5` at its bit depth and with
//! `lame -b 320`, two jobs at once, as many times as the build (the median counts); it is
//! skipped, with the reason, when either tool is missing.
#[path = "common/args.rs"]
mod args;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

/// Song 5 gets this line: the fade edit.
const FADE_EDIT: &str = "    fade_out: 3 s";
/// Song 3 gets this line: the tag edit.
const TAG_EDIT: &str = "    artist: The Example Ensemble feat. Nobody";

fn main() {
    let Some(session) = args::value("--session").map(PathBuf::from) else {
        println!("album benchmark skipped: give --session DIR (a folder with album.yaml)");
        return;
    };
    let runs = args::option("--runs", 1.0).max(1.0) as usize;
    let album = std::fs::read_to_string(session.join("album.yaml")).expect("DIR/album.yaml");
    let fade = with_line_in_song(&album, 5, FADE_EDIT);
    let tagged = with_line_in_song(&fade, 3, TAG_EDIT);
    let work = tempfile::tempdir_in(&session).expect("a scratch folder in the session");
    let project = session.join("album.bench.yaml");
    let (mut cold, mut fade_edit, mut tag_edit, mut peak_mb) = (vec![], vec![], vec![], 0.0f64);
    for run in 0..runs {
        let cache = work.path().join(format!("cache{run}"));
        let out = work.path().join(format!("out{run}"));
        std::fs::write(&project, &album).expect("write the album");
        let (seconds, peak) = render(&project, &cache, &out);
        cold.push(seconds);
        peak_mb = peak_mb.max(peak);
        std::fs::write(&project, &fade).expect("write the fade edit");
        fade_edit.push(render(&project, &cache, &out).0);
        std::fs::write(&project, &tagged).expect("write the tag edit");
        tag_edit.push(render(&project, &cache, &out).0);
        // The next cold build starts as a fresh runner would, without this run's gigabytes
        // of entries in the page cache and the disk's write-back. The first run's files
        // stay for the encoder floor.
        let _ = std::fs::remove_dir_all(&cache);
        if run > 0 {
            let _ = std::fs::remove_dir_all(&out);
        }
    }
    let _ = std::fs::remove_file(&project);
    let cold = median(&mut cold);
    println!("album: {}, median of {runs} run(s)", session.display());
    println!("cold build        {cold:8.2} s   peak memory {peak_mb:.0} MB");
    for (name, times) in [("fade edit", &mut fade_edit), ("tag edit", &mut tag_edit)] {
        let t = median(times);
        println!("{name:<17} {t:8.2} s   {:5.1}% of the cold build", 100.0 * t / cold);
    }
    match encoder_floor(&work.path().join("out0"), work.path(), runs) {
        Ok(floor) => println!(
            "encoder floor     {floor:8.2} s   flac -5 and lame -b 320, two at a time, median of {runs}; \
             the cold build is {:.2}x the floor",
            cold / floor
        ),
        Err(reason) => println!("encoder floor skipped: {reason}"),
    }
}

/// `album` with `line` added to song `n`'s fields (counting from 1).
fn with_line_in_song(album: &str, n: usize, line: &str) -> String {
    let mut songs = 0;
    let mut out = Vec::new();
    for l in album.lines() {
        out.push(l.to_owned());
        if l.starts_with("  - ") {
            songs += 1;
            if songs == n {
                out.push(line.to_owned());
            }
        }
    }
    assert!(songs >= n, "the album has {songs} songs; the edits need {n}");
    out.join("\n") + "\n"
}

/// Renders `project` into `out` with the cache `cache`: the wall time in seconds and the
/// peak memory mixdown reports, in MB.
fn render(project: &Path, cache: &Path, out: &Path) -> (f64, f64) {
    let started = Instant::now();
    let run = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .arg("render")
        .arg(project)
        .arg("--cache")
        .arg(cache)
        .arg("--out")
        .arg(out)
        .arg("-v")
        .output()
        .expect("run mixdown");
    let seconds = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{log}");
    let peak = log
        .lines()
        .find_map(|l| l.strip_prefix("peak memory ")?.strip_suffix(" MB")?.parse().ok())
        .unwrap_or(f64::NAN);
    (seconds, peak)
}

/// Seconds for `flac` and `lame` to encode the FLAC target's songs from WAV, two jobs at a
/// time: the median of `runs` timings.
fn encoder_floor(out: &Path, scratch: &Path, runs: usize) -> Result<f64, String> {
    for tool in ["flac", "lame"] {
        Command::new(tool)
            .arg("--version")
            .output()
            .map_err(|_| format!("`{tool}` is not installed"))?;
    }
    let flacs = files_with_extension(out, "flac");
    if flacs.is_empty() {
        return Err("the album delivers no FLAC files".into());
    }
    let mut wavs = Vec::new();
    for (i, flac) in flacs.iter().enumerate() {
        let wav = scratch.join(format!("floor{i}.wav"));
        let decoded = Command::new("flac")
            .args(["--silent", "--force", "--decode", "-o"])
            .arg(&wav)
            .arg(flac)
            .status()
            .map_err(|e| e.to_string())?;
        if !decoded.success() {
            return Err(format!("`flac` could not decode {}", flac.display()));
        }
        wavs.push(wav);
    }
    let mut timings: Vec<f64> = (0..runs).map(|_| encode_two_at_a_time(&wavs, scratch)).collect();
    Ok(median(&mut timings))
}

/// Seconds to encode every file of `wavs` with `flac -5` and with `lame -b 320`, two jobs
/// at a time.
fn encode_two_at_a_time(wavs: &[PathBuf], scratch: &Path) -> f64 {
    let mut jobs = Vec::new();
    for (i, wav) in wavs.iter().enumerate() {
        let mut encode_flac = Command::new("flac");
        encode_flac.args(["--silent", "--force", "-5", "-o"]);
        encode_flac.arg(scratch.join(format!("floor{i}.flac"))).arg(wav);
        let mut encode_mp3 = Command::new("lame");
        encode_mp3.args(["--silent", "-b", "320"]).arg(wav);
        encode_mp3.arg(scratch.join(format!("floor{i}.mp3")));
        jobs.push(encode_flac);
        jobs.push(encode_mp3);
    }
    let jobs = Mutex::new(jobs);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let job = jobs.lock().expect("the job list").pop();
                    let Some(mut job) = job else { break };
                    let status = job.status().expect("run an encoder");
                    assert!(status.success(), "{job:?} failed");
                }
            });
        }
    });
    started.elapsed().as_secs_f64()
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_with_extension(&path, extension));
        } else if path.extension().is_some_and(|e| e == extension) {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
