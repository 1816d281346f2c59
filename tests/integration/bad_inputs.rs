//! The bad-input corpus: every file in `tests/fixtures/bad/` is checked and rendered by the
//! built binary. None may panic, take longer than 2 s, or leave a file in the output
//! folder, and each one's diagnostics are snapshotted under its own name.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::snapshot;
use crate::support::{files_under, root, scratch};

/// How long one run of the binary on a bad input may take.
const DEADLINE: Duration = Duration::from_secs(2);

/// Runs `mixdown` with `args` from the repository root, killing it at the deadline.
fn run_within_deadline(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("MIXDOWN_CACHE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let started = Instant::now();
    while child.try_wait().expect("the child can be waited on").is_none() {
        if started.elapsed() > DEADLINE {
            child.kill().expect("the child can be killed");
            panic!("`mixdown {}` ran past {DEADLINE:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("the output is collected")
}

/// Fails when the run panicked.
fn assert_no_panic(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(101), "{what} panicked:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{what} panicked:\n{stderr}");
}

/// Checks and renders the bad input `file`; returns what the user is told.
fn diagnose(file: &str) -> String {
    let check = run_within_deadline(&["check", file]);
    assert_no_panic(&check, &format!("check {file}"));
    let work = scratch();
    let (cache, out) = (work.path().join("cache"), work.path().join("out"));
    let render = run_within_deadline(&[
        "render",
        file,
        "--cache",
        cache.to_str().expect("a UTF-8 path"),
        "--out",
        out.to_str().expect("a UTF-8 path"),
    ]);
    assert_no_panic(&render, &format!("render {file}"));
    assert!(!render.status.success(), "rendering {file} fails");
    assert_eq!(files_under(&out), Vec::<PathBuf>::new(), "rendering {file} leaves no file");
    let told = if check.status.success() { &render } else { &check };
    let scratch_path = work.path().to_string_lossy().into_owned();
    String::from_utf8_lossy(&told.stderr).replace(&scratch_path, "[scratch]")
}

#[test]
fn every_bad_input_fails_cleanly_and_says_why() {
    let folder = root().join("tests/fixtures/bad");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("the corpus exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some(name.strip_suffix(".yaml")?.to_owned()))
        .collect();
    names.sort();
    assert!(names.len() >= 50, "the corpus holds {} YAML cases", names.len());
    for name in names {
        let told = diagnose(&format!("tests/fixtures/bad/{name}.yaml"));
        assert!(told.contains("error"), "{name} reports an error:\n{told}");
        snapshot!(format!("bad-{name}"), told);
    }
}
