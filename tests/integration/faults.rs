//! The fault harness: renders killed at random points, links planted in the output folder
//! and the cache, a disk that fills, a cache that cannot be written, and Ctrl-C. Each case
//! asserts the same invariants: the right bytes or a clear error, no partial output file, no
//! damaged entry served or kept, and no temporary file left once a render has run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use crate::support::mixdown_unprivileged;
use crate::support::{mixdown, root, scratch, stderr};

const SONG: &str = "tidewater";

fn project() -> String {
    root().join(format!("examples/songs/{SONG}.yaml")).to_str().unwrap().to_string()
}

fn render_args<'a>(project: &'a str, cache: &'a str, out: &'a str) -> Vec<&'a str> {
    vec!["render", project, "--cache", cache, "--out", out]
}

/// The song rendered once into a clean cache: the bytes every case must reproduce.
fn reference() -> Vec<u8> {
    let clean = scratch();
    let done = mixdown(clean.path(), &render_args(&project(), "cache", "out"));
    assert!(done.status.success(), "{}", stderr(&done));
    std::fs::read(clean.path().join(format!("out/{SONG}.wav"))).unwrap()
}

/// Every file under `dir` (following no links) whose name marks it as a temporary file.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else if name.starts_with('.') && name.contains(".tmp-") {
                found.push(path);
            }
        }
    }
    found
}

/// Entries `cache verify` found damaged (and removed).
fn poisoned(work: &Path, cache: &str) -> usize {
    let verify = mixdown(work, &["cache", "verify", "--cache", cache]);
    let text = String::from_utf8_lossy(&verify.stdout).into_owned();
    text.lines().filter(|l| l.starts_with("removed corrupt entry")).count()
}

/// A small deterministic generator for kill times and cache budgets.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// 20 renders killed with SIGKILL at pseudo-random points, over a cache left in every
/// state the kills produce (and thinned at random between them, so that different nodes
/// are under way at each kill). After each: the output is absent or exactly right, and
/// `cache verify` finds nothing damaged. At the end a render gives the reference bytes
/// and no temporary file is left anywhere.
#[test]
fn sigkill_at_random_points_leaves_no_corrupt_output_no_poisoned_entry_and_no_orphan() {
    const TRIALS: usize = 20;
    let expected = reference();
    let work = scratch();
    let project = project();
    let output = work.path().join(format!("out/{SONG}.wav"));
    let mut random = XorShift(0x5EED_1234_ABCD);
    let (mut corrupt, mut poisoned_entries, mut left_by_kills) = (0, 0, 0);
    let mut longest = Duration::from_millis(400);
    for _ in 0..TRIALS {
        let _ = std::fs::remove_file(&output);
        let budget = format!("{}", random.below(50_000_000));
        let _ = mixdown(work.path(), &["cache", "gc", "--cache", "cache", "--max-size", &budget]);
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
            .args(render_args(&project, "cache", "out"))
            .args(["-j", &format!("{}", 1 + random.below(2))])
            .current_dir(work.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = Duration::from_micros(random.below(longest.as_micros() as u64));
        std::thread::sleep(wait);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            // Finished before the kill: aim earlier, within the time a render takes.
            longest = longest.min(started.elapsed());
        }
        if output.exists() && std::fs::read(&output).unwrap() != expected {
            corrupt += 1;
        }
        left_by_kills += temporaries(work.path()).len();
        poisoned_entries += poisoned(work.path(), "cache");
    }
    let last = mixdown(work.path(), &render_args(&project, "cache", "out"));
    assert!(last.status.success(), "{}", stderr(&last));
    let orphans = temporaries(work.path()).len();
    eprintln!(
        "fault harness, SIGKILL: {TRIALS} trials, {corrupt} corrupt outputs, \
         {poisoned_entries} poisoned entries, {orphans} orphans after a render \
         ({left_by_kills} temporary files seen between kills)"
    );
    assert_eq!((corrupt, poisoned_entries, orphans), (0, 0, 0));
    assert!(std::fs::read(&output).unwrap() == expected, "the final render is the reference");
}

/// Links planted where a render writes: at the output file, at a name like a temporary
/// file's in the output folder, and at the cache's shard folders. Nothing outside is
/// written, the output becomes a real file with the right bytes, and the cache that would
/// have written through a link is set aside with a warning.
#[cfg(unix)]
#[test]
fn planted_links_never_lead_a_write_outside_the_output_folder_or_the_cache() {
    use std::os::unix::fs::symlink;
    let expected = reference();
    let work = scratch();
    let outside = work.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let victim = outside.join("victim.wav");
    std::fs::write(&victim, b"not yours").unwrap();
    std::fs::create_dir(work.path().join("out")).unwrap();
    let output = work.path().join(format!("out/{SONG}.wav"));
    symlink(&victim, &output).unwrap();
    for n in 0..50 {
        let name = format!("out/.{SONG}.wav.tmp-{}-{n}", std::process::id() + 1 + n);
        symlink(&victim, work.path().join(name)).unwrap();
    }
    // Every first-level shard a render of this song uses, as a link out of the cache.
    let probe = scratch();
    assert!(mixdown(probe.path(), &render_args(&project(), "cache", "out")).status.success());
    std::fs::create_dir_all(work.path().join("cache/entries")).unwrap();
    for shard in std::fs::read_dir(probe.path().join("cache/entries")).unwrap().flatten() {
        symlink(&outside, work.path().join("cache/entries").join(shard.file_name())).unwrap();
    }

    let done = mixdown(work.path(), &render_args(&project(), "cache", "out"));
    assert!(done.status.success(), "{}", stderr(&done));
    let log = stderr(&done);
    assert!(log.contains("symbolic link") && log.contains("rendering without it"), "{log}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"not yours");
    let mut outside_now: Vec<_> = std::fs::read_dir(&outside).unwrap().flatten().collect();
    outside_now.retain(|e| e.path() != victim);
    assert!(outside_now.is_empty(), "written outside: {outside_now:?}");
    assert!(!std::fs::symlink_metadata(&output).unwrap().is_symlink());
    assert!(std::fs::read(&output).unwrap() == expected);
}

/// A disk that fills while the cache is written: each write past the size limit fails
/// (`ulimit -f`, with SIGXFSZ ignored so that the write returns EFBIG, as on a full disk).
/// The output would fit, the entries do not; the temporary cache the render falls back on
/// is on the same limit, so the render must fail clearly, leaving no partial output, no
/// temporary file or folder, and no damaged entry. Without the limit the next render gives
/// the reference bytes.
#[cfg(unix)]
#[test]
fn a_full_disk_gives_a_clear_error_and_leaves_no_partial_file_and_no_orphan() {
    let expected = reference();
    let work = scratch();
    let tmp = work.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    // In 512-byte blocks: 6 MB, above the 5.2 MB output, below each 6.9 MB entry.
    let limited = format!(
        "ulimit -f 12000; trap '' XFSZ; exec \"$0\" render {} --cache cache --out out",
        project()
    );
    let full = Command::new("sh")
        .args(["-c", &limited, env!("CARGO_BIN_EXE_mixdown")])
        .current_dir(work.path())
        .env("TMPDIR", &tmp)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let log = stderr(&full);
    assert_eq!(full.status.code(), Some(1), "{log}");
    assert!(log.contains("warning: cannot write to the cache at `cache`"), "{log}");
    assert!(log.contains("error[render-failed]: cannot write to the cache: "), "{log}");
    assert!(log.contains("a file grew past the size limit"), "{log}");
    assert!(!work.path().join(format!("out/{SONG}.wav")).exists(), "no partial output");
    assert_eq!(temporaries(work.path()), Vec::<PathBuf>::new());
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "the temporary cache is gone");
    assert_eq!(poisoned(work.path(), "cache"), 0);

    let again = mixdown(work.path(), &render_args(&project(), "cache", "out"));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(std::fs::read(work.path().join(format!("out/{SONG}.wav"))).unwrap() == expected);
}

/// A cache disk that fills while the rest has room: a 1 MB tmpfs as the cache. The render
/// falls back on a temporary cache, says so once, naming the cache, and writes the right
/// bytes. Mounting needs root; elsewhere the test says it did not run.
#[cfg(target_os = "linux")]
#[test]
fn a_full_cache_disk_degrades_to_a_render_without_the_cache() {
    let expected = reference();
    let work = scratch();
    let cache = work.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&cache)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!(
            "NOT RUN: a_full_cache_disk_degrades_to_a_render_without_the_cache needs root to mount a tmpfs; the ulimit case covers a full disk without it"
        );
        return;
    }
    let done = mixdown(work.path(), &render_args(&project(), "cache", "out"));
    let unmounted = Command::new("umount").arg(&cache).status();
    let log = stderr(&done);
    assert!(done.status.success(), "{log}");
    assert!(unmounted.is_ok_and(|s| s.success()));
    let warnings: Vec<_> = log.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("`cache`") && warnings[0].contains("disk is full"), "{log}");
    assert!(std::fs::read(work.path().join(format!("out/{SONG}.wav"))).unwrap() == expected);
}

/// A cache that cannot be written, whichever part: the whole folder, its entries, or the
/// records of written outputs (a file where each folder should be stops even root). The
/// render succeeds with the right bytes and one warning that names the cache.
#[test]
fn a_cache_that_cannot_be_written_degrades_to_a_render_without_it() {
    let expected = reference();
    for blocked in ["cache", "cache/entries", "cache/outputs"] {
        let work = scratch();
        std::fs::create_dir_all(work.path().join(blocked).parent().unwrap()).unwrap();
        std::fs::write(work.path().join(blocked), b"").unwrap();
        let done = mixdown(work.path(), &render_args(&project(), "cache", "out"));
        let log = stderr(&done);
        assert!(done.status.success(), "{blocked}: {log}");
        let warnings: Vec<_> = log.lines().filter(|l| l.starts_with("warning:")).collect();
        assert_eq!(warnings.len(), 1, "{blocked}: {log}");
        assert!(warnings[0].contains("cache"), "{blocked}: {log}");
        let output = work.path().join(format!("out/{SONG}.wav"));
        assert!(std::fs::read(output).unwrap() == expected, "{blocked}");
        assert_eq!(temporaries(work.path()), Vec::<PathBuf>::new(), "{blocked}");
    }
}

/// An album whose cache cannot be written, whichever part: the whole folder, or the
/// scratch folder its encodes write in. The render succeeds with one warning naming the
/// cache, and the report, which reads what the render kept, is still written and judged.
#[test]
fn an_album_whose_cache_cannot_be_written_still_writes_and_judges_its_report() {
    let album = root().join("examples/album.yaml");
    for blocked in ["cache", "cache/scratch"] {
        let work = scratch();
        std::fs::create_dir_all(work.path().join(blocked).parent().unwrap()).unwrap();
        std::fs::write(work.path().join(blocked), b"").unwrap();
        let done = mixdown(work.path(), &render_args(album.to_str().unwrap(), "cache", "out"));
        let log = stderr(&done);
        assert!(done.status.success(), "{blocked}: {log}");
        let warnings: Vec<_> = log.lines().filter(|l| l.starts_with("warning:")).collect();
        assert_eq!(warnings.len(), 1, "{blocked}: {log}");
        assert!(warnings[0].contains("`cache`"), "{blocked}: {log}");
        let report = std::fs::read_to_string(work.path().join("out/report.json")).unwrap();
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert!(report["album"]["integrated"].is_f64(), "{blocked}: {report}");
        assert_eq!(report["files"].as_array().map(Vec::len), Some(7), "{blocked}: {report}");
        assert_eq!(temporaries(work.path()), Vec::<PathBuf>::new(), "{blocked}");
    }
}

/// A cache on a read-only file system (EROFS: a read-only tmpfs, which needs root to
/// mount) renders the right bytes without it, with one warning naming it.
#[cfg(target_os = "linux")]
#[test]
fn a_cache_on_a_read_only_file_system_degrades_to_a_render_without_it() {
    let expected = reference();
    let work = scratch();
    let cache = work.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
        .arg(&cache)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!(
            "NOT RUN: a_cache_on_a_read_only_file_system_degrades_to_a_render_without_it needs root to mount a tmpfs"
        );
        return;
    }
    let done = mixdown(work.path(), &render_args(&project(), "cache", "out"));
    let unmounted = Command::new("umount").arg(&cache).status();
    assert!(unmounted.is_ok_and(|s| s.success()));
    one_warning_naming_the_cache_and_the_right_bytes(&done, work.path(), &expected);
}

/// A cache folder the user may not write in (EACCES): mode 0500 and a render run as
/// another user than its owner (`nobody`, when the tests run as root). The render writes
/// the right bytes without it, with one warning naming it.
#[cfg(target_os = "linux")]
#[test]
fn a_cache_without_write_permission_degrades_to_a_render_without_it() {
    use std::os::unix::fs::PermissionsExt;
    let expected = reference();
    let work = scratch();
    let mode = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(work.path(), 0o755);
    for (folder, bits) in [("cache", 0o500), ("out", 0o777)] {
        std::fs::create_dir(work.path().join(folder)).unwrap();
        mode(&work.path().join(folder), bits);
    }
    let done = mixdown_unprivileged(work.path(), &render_args(&project(), "cache", "out"));
    one_warning_naming_the_cache_and_the_right_bytes(&done, work.path(), &expected);
    assert_eq!(std::fs::read_dir(work.path().join("cache")).unwrap().count(), 0);
}

fn one_warning_naming_the_cache_and_the_right_bytes(
    done: &std::process::Output,
    work: &Path,
    expected: &[u8],
) {
    let log = stderr(done);
    assert!(done.status.success(), "{log}");
    let warnings: Vec<_> = log.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("`cache`"), "{log}");
    assert!(std::fs::read(work.join(format!("out/{SONG}.wav"))).unwrap() == expected);
    assert_eq!(temporaries(work), Vec::<PathBuf>::new());
}

/// Spawns a render with its own temporary folder, and sends it SIGINT once `ready` holds.
fn interrupted(work: &Path, extra: &[&str], ready: impl Fn() -> bool) -> std::process::Output {
    let child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(render_args(&project(), "cache", "out"))
        .args(["-j", "1"])
        .args(extra)
        .current_dir(work)
        .env("TMPDIR", work.join("tmp"))
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    child.wait_with_output().unwrap()
}

/// Ctrl-C during a render, with the cache or with `--no-cache`: one line says so, exit code
/// 130, and the process's temporary files and temporary cache are gone.
#[cfg(unix)]
#[test]
fn sigint_says_so_once_and_removes_the_renders_temporary_files_and_cache() {
    for extra in [&["--no-cache"][..], &[]] {
        let work = scratch();
        std::fs::create_dir(work.path().join("tmp")).unwrap();
        let cache =
            if extra.is_empty() { work.path().join("cache") } else { work.path().join("tmp") };
        let stopped = interrupted(work.path(), extra, || {
            let mut stack = vec![cache.clone()];
            while let Some(dir) = stack.pop() {
                for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                    } else if e.path().components().any(|c| c.as_os_str() == "entries") {
                        return true;
                    }
                }
            }
            false
        });
        let log = stderr(&stopped);
        assert_eq!(stopped.status.code(), Some(130), "{extra:?}: {log}");
        assert_eq!(log.lines().filter(|l| l.contains("interrupted")).count(), 1, "{log}");
        assert_eq!(temporaries(work.path()), Vec::<PathBuf>::new(), "{extra:?}");
        let left: Vec<_> = std::fs::read_dir(work.path().join("tmp")).unwrap().flatten().collect();
        assert!(left.is_empty(), "{extra:?}: the temporary cache is gone: {left:?}");
        assert!(!work.path().join(format!("out/{SONG}.wav")).exists(), "{extra:?}");
        assert_eq!(poisoned(work.path(), "cache"), 0);
    }
}
