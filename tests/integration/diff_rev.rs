//! `mixdown diff --rev`: what a commit did to the sound, on a scripted two-commit git
//! repository. An EQ move shows on its track, its bus and the output; a fader move of
//! +1 dB shows as +1 dB on its bus; a commit that only adds comments renders nothing.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::messages::{json_lines, with_reason};
use crate::support::{mixdown, scratch, stderr, write_stem};

const MIX: &str = "\
mix: song
length: 3 s
tracks:
  kick:
    source: stems/kick.wav
    gain: -6 dB
    to: drums
  keys:
    source: stems/keys.wav
    gain: -4 dB
buses:
  drums: {}
";

pub fn git(dir: &Path, args: &[&str]) -> Output {
    let run = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(run.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&run.stderr));
    run
}

/// A repository whose first commit holds the stems and [`MIX`], and whose second commit
/// changes the mix to `edited`.
fn two_commits(edited: &str) -> tempfile::TempDir {
    let work = scratch();
    let dir = work.path();
    git(dir, &["init", "--quiet"]);
    std::fs::create_dir(dir.join("stems")).unwrap();
    write_stem(&dir.join("stems/kick.wav"), 48_000, 3.0, 1);
    write_stem(&dir.join("stems/keys.wav"), 48_000, 3.0, 4);
    std::fs::write(dir.join(".gitignore"), "cache/\nout/\n").unwrap();
    std::fs::write(dir.join("mix.yaml"), MIX).unwrap();
    git(dir, &["add", "--all"]);
    git(dir, &["commit", "--quiet", "--message", "first mix"]);
    std::fs::write(dir.join("mix.yaml"), edited).unwrap();
    git(dir, &["commit", "--quiet", "--all", "--message", "an edit"]);
    work
}

/// Runs `diff --rev HEAD~1` in JSON; returns the run and its messages.
fn diff_previous(dir: &Path) -> (Output, Vec<Value>) {
    let run = mixdown(dir, &["diff", "--rev", "HEAD~1", "mix.yaml", "--message-format", "json"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let lines = json_lines(&run);
    (run, lines)
}

/// The diff message about `subject`.
fn about<'a>(lines: &'a [Value], subject: &str) -> Option<&'a Value> {
    with_reason(lines, "diff").into_iter().find(|v| v["subject"] == subject)
}

/// The one worktree left is the repository's own.
pub fn assert_no_worktree_left(dir: &Path) {
    let list = git(dir, &["worktree", "list", "--porcelain"]);
    let trees = String::from_utf8_lossy(&list.stdout).matches("worktree ").count();
    assert_eq!(trees, 1, "{}", String::from_utf8_lossy(&list.stdout));
}

#[test]
fn an_eq_change_shows_on_its_track_its_bus_and_the_output_and_nowhere_else() {
    let eq =
        "    chain:\n      - eq: [ { type: peak, freq: 120 Hz, gain: 6 dB, q: 1 } ]\n    to: drums";
    let work = two_commits(&MIX.replacen("    to: drums", eq, 1));
    let (_, lines) = diff_previous(work.path());
    for subject in ["mix/track/kick", "mix/bus/drums", "output mix"] {
        let diff = about(&lines, subject).unwrap_or_else(|| panic!("no {subject}: {lines:#?}"));
        assert_eq!(diff["verdict"], "changed", "{diff}");
        // A 6 dB bell at 120 Hz lifts the low band most, and the loudness a little.
        let low = diff["low_change_db"].as_f64().unwrap();
        let high = diff["high_change_db"].as_f64().unwrap();
        assert!(low > 1.0 && high.abs() < low, "{diff}");
        assert!(diff["loudness_change_lu"].as_f64().unwrap() > 0.0, "{diff}");
    }
    assert!(about(&lines, "mix/track/keys").is_none(), "an untouched track is not compared");
    assert_no_worktree_left(work.path());
}

#[test]
fn a_fader_raised_by_one_db_shows_as_one_db_louder_on_its_bus() {
    let work = two_commits(&MIX.replacen("gain: -6 dB", "gain: -5 dB", 1));
    let (_, lines) = diff_previous(work.path());
    let bus = about(&lines, "mix/bus/drums").unwrap_or_else(|| panic!("{lines:#?}"));
    let change = bus["loudness_change_lu"].as_f64().unwrap();
    assert!((change - 1.0).abs() <= 0.01, "{bus}");
    for band in ["low_change_db", "mid_change_db", "high_change_db"] {
        assert!((bus[band].as_f64().unwrap() - 1.0).abs() <= 0.01, "{band}: {bus}");
    }
    assert!(about(&lines, "mix/track/kick").is_none(), "a fader is after its track's chain");
    assert_eq!(about(&lines, "output mix").unwrap()["verdict"], "changed");
}

#[test]
fn a_commit_of_comments_and_blank_lines_is_identical_and_renders_nothing() {
    let edited =
        format!("# the first mix, annotated\n\n{}", MIX.replace("buses:", "\n# one bus\nbuses:"));
    let work = two_commits(&edited);
    let (run, lines) = diff_previous(work.path());
    assert!(with_reason(&lines, "node").is_empty(), "nothing renders: {lines:#?}");
    let diffs = with_reason(&lines, "diff");
    assert_eq!(diffs.len(), 1, "{lines:#?}");
    assert_eq!(diffs[0]["verdict"], "identical");
    assert!(walk(&work.path().join("cache/entries")).is_empty(), "{}", stderr(&run));
    let text = mixdown(work.path(), &["diff", "--rev", "HEAD~1"]);
    let said = String::from_utf8_lossy(&text.stdout);
    assert!(said.contains("nothing rendered") && said.ends_with("verdict: identical\n"), "{said}");
    assert_no_worktree_left(work.path());
}

/// Every file under `dir`; none when it does not exist.
pub fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(walk(&path)) } else { found.push(path) }
    }
    found
}

#[test]
fn an_unknown_revision_is_refused_and_leaves_no_worktree() {
    let work = two_commits(&MIX.replace("-4 dB", "-3 dB"));
    let run = mixdown(work.path(), &["diff", "--rev", "no-such-branch", "mix.yaml"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("`no-such-branch` names no commit"), "{}", stderr(&run));
    assert_no_worktree_left(work.path());
}

#[test]
fn a_revision_that_does_not_compile_is_reported_and_its_worktree_removed() {
    let work = two_commits(&MIX.replace("-4 dB", "-3 dB"));
    git(work.path(), &["rm", "--quiet", "--cached", "stems/keys.wav"]);
    git(work.path(), &["commit", "--quiet", "--message", "untrack a stem"]);
    std::fs::write(work.path().join("mix.yaml"), MIX.replace("-4 dB", "-2 dB")).unwrap();
    let run = mixdown(work.path(), &["diff", "--rev", "HEAD", "mix.yaml"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("as of `HEAD` does not compile"), "{}", stderr(&run));
    assert_no_worktree_left(work.path());
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_diff_removes_its_worktree() {
    let work = two_commits(&MIX.replacen("gain: -6 dB", "gain: -5 dB", 1));
    let dir = work.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(["diff", "--rev", "HEAD~1", "mix.yaml", "-j", "1"])
        .current_dir(dir)
        .env_remove("MIXDOWN_CACHE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary runs");
    // A worktree being added is half there for a moment, and git refuses to list it then:
    // that counts as not there yet.
    let listed = || {
        let list = Command::new("git")
            .args(["worktree", "list", "--porcelain"])
            .current_dir(dir)
            .output()
            .expect("git runs");
        let listing = String::from_utf8_lossy(&list.stdout);
        if list.status.success() { listing.matches("worktree ").count() } else { 0 }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    while listed() < 2 {
        assert!(std::time::Instant::now() < deadline, "the worktree never appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    let signal = Command::new("kill").args(["-INT", &pid]).status().expect("kill runs");
    assert!(signal.success());
    let status = child.wait().unwrap();
    // The diff may have finished before the signal arrived; either way no worktree is left.
    assert!(matches!(status.code(), Some(130 | 0)), "{status:?}");
    assert_no_worktree_left(dir);
}
