//! `--message-format json`: every line on stdout is one JSON object tagged by its
//! `reason`, as cargo prints them. The shapes are snapshotted, with timings redacted and
//! node events sorted (nodes finish in whatever order the threads allow).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::snapshot;
use crate::support::{mixdown, root, scratch, stderr, write_stem};

/// Every line of stdout, parsed; panics on a line that is not one JSON object.
pub fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\nstderr: {}", stderr(output)));
            assert!(value["reason"].is_string(), "no reason: {line}");
            value
        })
        .collect()
}

/// The messages whose `reason` is `reason`.
pub fn with_reason<'a>(lines: &'a [Value], reason: &str) -> Vec<&'a Value> {
    lines.iter().filter(|v| v["reason"] == reason).collect()
}

/// stdout for a snapshot: timings redacted, node events sorted after the other lines.
fn redacted(output: &Output) -> String {
    let seconds = regex::Regex::new(r#""seconds":[0-9.e-]+"#).unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let text = seconds.replace_all(&text, r#""seconds":"[seconds]""#);
    let (mut nodes, others): (Vec<&str>, Vec<&str>) =
        text.lines().partition(|l| l.starts_with(r#"{"reason":"node""#));
    nodes.sort_unstable();
    let mut lines = others;
    lines.extend(nodes);
    lines.join("\n") + "\n"
}

/// A two-track mix with a bus, on synthetic stems.
fn small_mix(dir: &Path, extra: &str) {
    write_stem(&dir.join("kick.wav"), 48_000, 2.0, 1);
    write_stem(&dir.join("bass.wav"), 48_000, 2.0, 2);
    let text = format!(
        "mix: small\nlength: 2 s\ntracks:\n  kick:\n    source: kick.wav\n    to: drums\n  bass:\n    source: bass.wav\n    gain: -3 dB\nbuses:\n  drums: {{}}\n{extra}"
    );
    std::fs::write(dir.join("mix.yaml"), text).unwrap();
}

#[test]
fn check_in_json_prints_each_diagnostic_with_its_place_and_a_summary() {
    let fixtures = root().join("tests/fixtures/invalid");
    let run = mixdown(&fixtures, &["check", "unknown-bus.yaml", "--message-format", "json"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).is_empty(), "diagnostics go to stdout only: {}", stderr(&run));
    let lines = json_lines(&run);
    let diagnostic = with_reason(&lines, "diagnostic")[0];
    assert_eq!(diagnostic["code"], "unknown-bus");
    assert_eq!(diagnostic["file"], "unknown-bus.yaml");
    assert_eq!(diagnostic["line"], 5);
    assert_eq!(diagnostic["yaml_path"], "tracks.drums.to");
    snapshot!("messages-check-unknown-bus", redacted(&run));
}

#[test]
fn a_project_that_checks_ends_with_a_successful_summary() {
    let work = scratch();
    small_mix(work.path(), "");
    let run = mixdown(work.path(), &["check", "mix.yaml", "--message-format", "json"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["reason"], "summary");
    assert_eq!(lines[0]["success"], true);
}

#[test]
fn render_in_json_prints_node_events_the_finished_targets_and_a_summary() {
    let work = scratch();
    small_mix(work.path(), "");
    let args = ["render", "mix.yaml", "--message-format", "json", "-j", "1"];
    let cold = mixdown(work.path(), &args);
    assert!(cold.status.success(), "{}", stderr(&cold));
    let lines = json_lines(&cold);
    let planned = with_reason(&lines, "node").iter().filter(|v| v["event"] == "planned").count();
    let ran = with_reason(&lines, "node").iter().filter(|v| v["event"] == "ran").count();
    assert_eq!(planned, ran, "every node planned runs");
    assert!(ran > 0);
    let finished = with_reason(&lines, "render-finished")[0];
    assert_eq!(finished["targets"][0]["path"], "out/mix.wav");
    assert_eq!(finished["targets"][0]["written"], true);
    assert!(finished["targets"][0]["integrated_lufs"].as_f64().unwrap() < -10.0);
    assert_eq!(lines.last().unwrap()["reason"], "summary");
    snapshot!("messages-render-cold", redacted(&cold));
    let warm = mixdown(work.path(), &args);
    let lines = json_lines(&warm);
    assert!(with_reason(&lines, "node").iter().all(|v| v["event"] == "cached"), "{lines:?}");
    assert_eq!(with_reason(&lines, "render-finished")[0]["targets"][0]["written"], false);
}

#[test]
fn each_node_event_is_printed_as_its_node_finishes_while_the_render_goes_on() {
    let work = scratch();
    // A master whose reverbs and true-peak limiter take far longer than the plain tracks,
    // in a release build too.
    let reverb = "    - reverb: { decay: 2 s }\n";
    let master = format!(
        "master:\n  chain:\n{}    - limiter: {{ ceiling: -1 dB, true_peak: true }}\n",
        reverb.repeat(4)
    );
    small_mix(work.path(), &master);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
        .args(["render", "mix.yaml", "--message-format", "json", "-j", "1"])
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .env_remove("MIXDOWN_CACHE")
        .env_remove("MIXDOWN_REMOTE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    // Each line with the moment it was read.
    let lines: Vec<(Instant, Value)> = stdout
        .lines()
        .map(|line| (Instant::now(), serde_json::from_str(&line.unwrap()).unwrap()))
        .collect();
    assert!(child.wait().unwrap().success());
    let read_at = |event: &str, node: &str| {
        let found = lines.iter().find(|(_, v)| v["event"] == event && v["node"] == node);
        found.unwrap_or_else(|| panic!("no `{event}` event of {node}: {lines:?}"))
    };
    let (track_read, track) = read_at("ran", "mix/track/kick");
    let (master_read, master) = read_at("ran", "mix/master");
    let master_seconds = master["seconds"].as_f64().unwrap();
    assert!(track["seconds"].as_f64().unwrap() > 0.0, "{track}");
    assert!(master_seconds > 0.05, "the master must be slow enough to tell: {master}");
    // With `-j 1` the track finishes before the master starts: its line comes that long
    // before the master's (half of it, for a reader that was slow to wake up).
    let between = master_read.duration_since(*track_read).as_secs_f64();
    assert!(
        between > master_seconds / 2.0,
        "the track's `ran` line came only {between:.3} s before the master's, which ran \
         {master_seconds:.3} s: {lines:?}"
    );
    let finished = lines.iter().position(|(_, v)| v["reason"] == "render-finished").unwrap();
    let last_event = lines.iter().rposition(|(_, v)| v["reason"] == "node").unwrap();
    assert!(last_event < finished, "every node event comes before the render's end");
}

#[test]
fn test_in_json_prints_each_assertion_with_its_measured_value_and_bound() {
    let work = scratch();
    let asserts =
        "master:\n  assert:\n    true_peak: { max: 0 dBTP }\n    loudness: { min: -6 LUFS }\n";
    small_mix(work.path(), asserts);
    let run = mixdown(work.path(), &["test", "mix.yaml", "--message-format", "json"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let lines = json_lines(&run);
    let results = with_reason(&lines, "assertion");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["yaml_path"], "master.assert.true_peak");
    assert_eq!(results[0]["passed"], true);
    assert_eq!(results[1]["passed"], false);
    assert_eq!(results[1]["min"], -6.0);
    assert_eq!(results[1]["unit"], "LUFS");
    assert!(results[1]["measured"].as_f64().unwrap() < -6.0);
    assert_eq!(with_reason(&lines, "diagnostic")[0]["code"], "assertion-failed");
    let summary = lines.last().unwrap();
    assert_eq!((summary["passed"].as_u64(), summary["failed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(summary["exit_code"], 1);
}

#[test]
fn diff_in_json_prints_the_figures_and_the_verdict() {
    let work = scratch();
    small_mix(work.path(), "");
    let render = |out: &str| {
        let run =
            mixdown(work.path(), &["render", "mix.yaml", "--format", "float32", "--out", out]);
        assert!(run.status.success(), "{}", stderr(&run));
    };
    render("before");
    let text = std::fs::read_to_string(work.path().join("mix.yaml")).unwrap();
    std::fs::write(work.path().join("mix.yaml"), text.replace("-3 dB", "-2 dB")).unwrap();
    render("after");
    let args = ["diff", "before/mix.wav", "after/mix.wav", "--message-format", "json"];
    let run = mixdown(work.path(), &args);
    assert!(run.status.success(), "{}", stderr(&run));
    snapshot!("messages-diff-files", redacted(&run));
}
