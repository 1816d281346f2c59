//! The cache never serves damaged audio and never leaves a partial file behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{mixdown, root, scratch, stderr};

fn project() -> String {
    root().join("examples/songs/tidewater.yaml").to_str().unwrap().to_string()
}

fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![cache.join("entries")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_flipped_byte_in_a_cache_entry_is_detected_repaired_and_the_output_is_unchanged() {
    let work = scratch();
    let first = mixdown(work.path(), &["render", &project(), "--cache", "cache", "--out", "out"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let original = std::fs::read(work.path().join("out/tidewater.wav")).unwrap();

    // Damage every entry's sample data in the middle, then force the output to be rebuilt.
    for entry in entries(&work.path().join("cache")) {
        let mut bytes = std::fs::read(&entry).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&entry, bytes).unwrap();
    }
    std::fs::remove_file(work.path().join("out/tidewater.wav")).unwrap();

    let second = mixdown(
        work.path(),
        &["render", &project(), "--cache", "cache", "--out", "out", "--verbose"],
    );
    assert!(second.status.success(), "{}", stderr(&second));
    let log = stderr(&second);
    assert!(log.contains("was damaged"), "the damage is reported: {log}");
    assert!(log.contains("repaired"), "{log}");
    assert!(
        std::fs::read(work.path().join("out/tidewater.wav")).unwrap() == original,
        "the output is unchanged"
    );

    let verify = mixdown(work.path(), &["cache", "verify", "--cache", "cache"]);
    assert!(
        verify.status.success(),
        "every entry verifies after the repair: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn a_render_killed_halfway_leaves_no_partial_output_and_no_bad_entry() {
    let work = scratch();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(["render", &project(), "--cache", "cache", "--out", "out", "-j", "1"])
        .current_dir(work.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill as soon as the first entry appears, so the render is well under way.
    for _ in 0..2000 {
        if !entries(&work.path().join("cache")).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let out_dir = work.path().join("out");
    let visible = |dir: &Path| -> Vec<PathBuf> {
        let names = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path());
        names.filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.')).collect()
    };
    let after_kill = visible(&out_dir);
    assert!(
        after_kill.is_empty() || after_kill == vec![out_dir.join("tidewater.wav")],
        "only the finished file may be visible in out/: {after_kill:?}"
    );
    let verify = mixdown(work.path(), &["cache", "verify", "--cache", "cache"]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));

    let resumed = mixdown(work.path(), &["render", &project(), "--cache", "cache", "--out", "out"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let everything: Vec<_> =
        std::fs::read_dir(&out_dir).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(
        everything,
        vec![out_dir.join("tidewater.wav")],
        "the next render clears what the killed one left"
    );
    let clean = scratch();
    let fresh = mixdown(clean.path(), &["render", &project(), "--cache", "cache", "--out", "out"]);
    assert!(fresh.status.success());
    assert!(
        std::fs::read(out_dir.join("tidewater.wav")).unwrap()
            == std::fs::read(clean.path().join("out/tidewater.wav")).unwrap(),
        "finishing an interrupted render gives the same bytes as a clean one"
    );
}

/// A replaced output waits under `retired/` for the next render to free it; `cache clear`
/// frees it too, with the entries.
#[test]
fn clearing_the_cache_removes_its_entries_and_retired_outputs() {
    let work = scratch();
    let args = ["render", &project(), "--cache", "cache", "--out", "out"];
    assert!(mixdown(work.path(), &args).status.success());
    // A different format is a different output key: the file is replaced.
    let pcm16 = ["render", &project(), "--cache", "cache", "--out", "out", "--format", "pcm16"];
    assert!(mixdown(work.path(), &pcm16).status.success());
    let retired = work.path().join("cache/retired");
    assert_eq!(std::fs::read_dir(&retired).unwrap().count(), 1, "the 24-bit file is retired");

    let cleared = mixdown(work.path(), &["cache", "clear", "--cache", "cache"]);
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    assert!(entries(&work.path().join("cache")).is_empty());
    assert_eq!(std::fs::read_dir(&retired).unwrap().count(), 0);
}
