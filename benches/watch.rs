//! How soon `mixdown watch` has a fader move on disk after it is saved, on the bundled
//! song `examples/songs/first-light.yaml`: from the moment the edited file is renamed
//! into place, as editors save, to the moment the rendered WAV is replaced in `out/`.
//! Prints figures; asserts nothing.
//!
//!     cargo bench --bench watch -- [--runs 15]
//!
//! The song and its stems are copied into a temporary folder, so the repository is never
//! edited. The watch renders the song once, cold, before the first save; each save then
//! moves the kick's fader by a quarter of a dB, so every run is a real edit that renders
//! the kick's track, the drum bus and the master.

#[path = "common/args.rs"]
mod args;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How often the output file is looked at while waiting for it.
const POLL: Duration = Duration::from_millis(1);

fn main() {
    let runs = args::option("--runs", 15.0).max(1.0) as usize;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy_tree(&root.join("stems/first-light"), &dir.path().join("stems/first-light"));
    std::fs::create_dir_all(dir.path().join("songs")).expect("songs folder");
    let song = std::fs::read_to_string(root.join("songs/first-light.yaml")).expect("the song");
    let project = dir.path().join("songs/first-light.yaml");
    std::fs::write(&project, &song).expect("copy the song");
    let output = dir.path().join("out/first-light.wav");

    let mut child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(["watch", "songs/first-light.yaml", "--cache", "cache", "--out", "out"])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mixdown watch");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    while !lines.next().expect("watch runs").expect("stderr reads").starts_with("watching ") {}
    std::thread::spawn(move || for _ in lines {});

    let mut latencies = Vec::with_capacity(runs);
    for run in 1..=runs {
        let before = modified(&output);
        let gain = format!("gain: {:.2} dB", -2.0 - 0.25 * run as f64);
        save_like_an_editor(&project, &song.replacen("gain: -2 dB", &gain, 1));
        let saved = Instant::now();
        while modified(&output) == before {
            assert!(saved.elapsed() < Duration::from_secs(30), "the watch never rendered");
            std::thread::sleep(POLL);
        }
        latencies.push(saved.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = child.kill();
    let _ = child.wait();

    latencies.sort_by(f64::total_cmp);
    println!(
        "fader move under watch on first-light.yaml, from save to file on disk: \
         median {:.0} ms, runs {:.0}–{:.0} ms ({runs} saves)",
        latencies[latencies.len() / 2],
        latencies[0],
        latencies[latencies.len() - 1],
    );
}

/// When the file at `path` was last replaced, if it exists.
fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Writes `text` to a temporary file beside `path` and renames it over `path`.
fn save_like_an_editor(path: &Path, text: &str) {
    let temporary = path.with_extension("yaml.swp");
    std::fs::write(&temporary, text).expect("write the edit");
    std::fs::rename(&temporary, path).expect("save the edit");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the stems") {
        let entry = entry.expect("a stem");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy a stem");
    }
}
