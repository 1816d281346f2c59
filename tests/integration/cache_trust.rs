//! What a render may trust without reading it again, and what the cache commands leave
//! alone: stems and outputs rewritten behind the cache's back, unfinished files of stopped
//! renders, a cache that does not exist, an output folder that cannot be one.

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

#[cfg(target_os = "linux")]
use crate::support::mixdown_unprivileged;
use crate::support::{mixdown, ran, scratch, stderr, write_stem};

const MIX: &str = "\
mix: Trust
sample_rate: 48 kHz
tracks:
  keys:
    source: keys.wav
    chain:
      - eq: [ { type: peak, freq: 800 Hz, gain: 3 dB, q: 1 } ]
";

fn render(work: &Path, cache: &str) -> std::process::Output {
    let args = ["render", "mix.yaml", "--cache", cache, "--out", "out", "-v"];
    let done = mixdown(work, &args);
    assert!(done.status.success(), "{}", stderr(&done));
    done
}

fn session(seed: u64) -> tempfile::TempDir {
    let work = scratch();
    write_stem(&work.path().join("keys.wav"), 48_000, 1.0, seed);
    fs::write(work.path().join("mix.yaml"), MIX).unwrap();
    work
}

fn an_hour_ago() -> SystemTime {
    SystemTime::now() - Duration::from_hours(1)
}

/// Writes `bytes` over the file at `path` in place (same inode), then sets its
/// modification time back to `modified`, as a restore or sync tool that keeps times does.
fn rewrite_in_place(path: &Path, at: u64, bytes: &[u8], modified: SystemTime) {
    // File times tick with the kernel's clock: give the rewrite a tick of its own.
    std::thread::sleep(Duration::from_millis(20));
    let mut file = File::options().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(at)).unwrap();
    file.write_all(bytes).unwrap();
    file.set_modified(modified).unwrap();
}

#[test]
fn a_stem_rewritten_in_place_with_its_size_and_time_restored_renders_again() {
    let work = session(1);
    let stem = work.path().join("keys.wav");
    File::options().write(true).open(&stem).unwrap().set_modified(an_hour_ago()).unwrap();
    let modified = fs::metadata(&stem).unwrap().modified().unwrap();
    render(work.path(), "cache");

    let other = session(2);
    let replacement = fs::read(other.path().join("keys.wav")).unwrap();
    assert_eq!(replacement.len() as u64, fs::metadata(&stem).unwrap().len());
    rewrite_in_place(&stem, 0, &replacement, modified);
    let again = render(work.path(), "cache");
    assert!(ran(&again).contains(&"mix/track/keys".to_owned()), "{}", stderr(&again));
    render(other.path(), "cache");
    assert!(
        fs::read(work.path().join("out/mix.wav")).unwrap()
            == fs::read(other.path().join("out/mix.wav")).unwrap(),
        "the output is the render of the stem on disk now"
    );
}

#[test]
fn a_byte_flipped_in_the_output_with_its_time_restored_is_written_again() {
    let work = session(1);
    render(work.path(), "cache");
    let output = work.path().join("out/mix.wav");
    let pristine = fs::read(&output).unwrap();
    let modified = fs::metadata(&output).unwrap().modified().unwrap();
    rewrite_in_place(&output, 1000, &[pristine[1000] ^ 0x40], modified);
    let again = render(work.path(), "cache");
    // The master streams into the file and keeps no entry, so it runs with it.
    assert_eq!(ran(&again), ["mix/master", "mix/output"], "{}", stderr(&again));
    assert!(fs::read(&output).unwrap() == pristine);
}

#[test]
fn cache_stats_on_a_folder_that_does_not_exist_creates_nothing() {
    let work = scratch();
    let stats = mixdown(work.path(), &["cache", "stats", "--cache", "nowhere"]);
    assert!(stats.status.success(), "{}", stderr(&stats));
    assert!(String::from_utf8_lossy(&stats.stdout).starts_with("0 entries"));
    assert!(!work.path().join("nowhere").exists());
}

/// Unfinished files named as a killed render's (a process id no process has) in a shard,
/// the cache's own folder and the output folder, with the mark that render left among the
/// cache's writers: `cache stats` counts those in the cache, and a render removes them
/// all; `cache gc` removes those in the cache.
#[test]
fn unfinished_files_of_stopped_renders_are_counted_and_swept() {
    let work = session(1);
    render(work.path(), "cache");
    let shard = fs::read_dir(work.path().join("cache/entries")).unwrap().next().unwrap();
    let shard = fs::read_dir(shard.unwrap().path()).unwrap().next().unwrap().unwrap().path();
    let dead = "tmp-4194305-abcdefabcdef";
    let plant = || {
        let files = [
            shard.join(format!(".{}.{dead}", "ab".repeat(32))),
            work.path().join(format!("cache/.files.json.{dead}")),
            work.path().join(format!("out/.mix.wav.{dead}")),
        ];
        for file in &files {
            fs::write(file, [0; 1000]).unwrap();
        }
        fs::create_dir_all(work.path().join("cache/writers")).unwrap();
        fs::write(work.path().join(format!("cache/writers/.mark.{dead}")), b"").unwrap();
        files
    };
    let planted = plant();
    let stats = mixdown(work.path(), &["cache", "stats", "--cache", "cache"]);
    let text = String::from_utf8_lossy(&stats.stdout).into_owned();
    assert!(text.contains("2 unfinished files (2 kB) left by stopped renders"), "{text}");

    fs::write(work.path().join("mix.yaml"), MIX.replace("3 dB", "4 dB")).unwrap();
    render(work.path(), "cache");
    let mark = work.path().join(format!("cache/writers/.mark.{dead}"));
    assert!(planted.iter().all(|f| !f.exists()), "a render sweeps them");
    assert!(!mark.exists(), "and the mark that sent it looking");

    let planted = plant();
    let gc = mixdown(work.path(), &["cache", "gc", "--cache", "cache", "--max-size", "1GB"]);
    let text = String::from_utf8_lossy(&gc.stdout).into_owned();
    assert!(text.contains("2 unfinished files (2 kB) removed"), "{text}");
    assert!(!planted[0].exists() && !planted[1].exists());
    assert!(!mark.exists(), "gc removes the mark with the files");
}

#[test]
fn an_output_folder_that_is_a_file_fails_at_once_in_plain_words() {
    let work = session(1);
    fs::write(work.path().join("out"), b"").unwrap();
    let args = ["render", "mix.yaml", "--cache", "cache", "--out", "out"];
    let failed = mixdown(work.path(), &args);
    let log = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{log}");
    assert!(log.contains("the output folder `out` is a file"), "{log}");
    assert!(!log.contains("os error"), "{log}");
    assert!(!work.path().join("cache").exists(), "nothing was rendered: {log}");
}

/// An output folder on a read-only file system (a read-only tmpfs, where root may mount
/// one) or without write permission (otherwise) fails before any work, in plain words.
#[cfg(target_os = "linux")]
#[test]
fn an_output_folder_that_cannot_be_written_fails_at_once_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};
    let work = session(1);
    let out = work.path().join("out");
    fs::create_dir(&out).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let reason = if mounted {
        "the file system is read-only"
    } else {
        fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
        if fs::write(out.join("probe"), b"").is_ok() {
            eprintln!(
                "NOT RUN: an_output_folder_that_cannot_be_written_fails_at_once_naming_it: permissions bind no one here and no tmpfs could be mounted"
            );
            return;
        }
        "permission denied"
    };
    let args = ["render", "mix.yaml", "--cache", "cache", "--out", "out"];
    let failed = mixdown(work.path(), &args);
    if mounted {
        assert!(Command::new("umount").arg(&out).status().is_ok_and(|s| s.success()));
    }
    let log = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{log}");
    assert!(log.contains(&format!("cannot write in the output folder `out`: {reason}")), "{log}");
    assert!(!work.path().join("cache").exists(), "nothing was rendered: {log}");
}

/// An output folder the user may not write in (EACCES): mode 0500 and a render run as
/// another user than the folder's owner (`nobody`, when the tests run as root), which fails
/// before any work, in plain words.
#[cfg(target_os = "linux")]
#[test]
fn an_output_folder_without_write_permission_fails_at_once_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let work = session(1);
    fs::set_permissions(work.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let out = work.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o500)).unwrap();
    let args = ["render", "mix.yaml", "--cache", "cache", "--out", "out"];
    let failed = mixdown_unprivileged(work.path(), &args);
    let log = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{log}");
    assert!(log.contains("cannot write in the output folder `out`: permission denied"), "{log}");
    assert!(!work.path().join("cache").exists(), "nothing was rendered: {log}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
}
