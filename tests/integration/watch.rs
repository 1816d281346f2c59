//! `mixdown watch` as an engineer uses it: edits re-render only what they touch, a broken
//! save keeps the last good render, a changed stem is picked up, and an album is watched
//! through its songs' mix files.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::support::{mixdown, ran_in, scratch, stderr, write_stem};

/// Long enough for a slow machine to render the session; a passing test never waits it out.
const PATIENCE: Duration = Duration::from_mins(2);

const PROJECT: &str = "\
mix: Watched
sample_rate: 48 kHz
tail: 0.2 s
tracks:
  kick:
    source: stems/kick.wav
    gain: -3 dB
    chain:
      - highpass: { freq: 40 Hz }
    to: drums
  bass:
    source: stems/bass.wav
    chain:
      - eq: [ { type: low_shelf, freq: 100 Hz, gain: 2 dB } ]
buses:
  drums: {}
";

/// A running `mixdown watch` and the lines it prints.
struct Watcher {
    child: Child,
    lines: Receiver<String>,
}

impl Watcher {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
            .args(["watch", "mix.yaml", "--cache", "cache", "--out", "out", "--verbose"])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("MIXDOWN_CACHE")
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let stderr: ChildStderr = child.stderr.take().expect("stderr is piped");
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The lines up to and including the next that starts with `prefix`.
    fn until(&self, prefix: &str) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(wait) {
                Ok(line) => {
                    let done = line.starts_with(prefix);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(e) => panic!("no line starting with `{prefix}` ({e:?}); got {seen:#?}"),
            }
        }
    }

    /// The nodes that ran in the first render, sorted, once it has printed its summary and
    /// started watching.
    fn first_render(&self) -> Vec<String> {
        let ran = ran_in(self.until("rendered ").iter().map(String::as_str));
        self.until("watching ");
        ran
    }

    /// The nodes that ran in the next render after a change, sorted, once it has printed
    /// its one line.
    fn next_render(&self) -> Vec<String> {
        let lines = self.until_containing(" changed: ");
        ran_in(lines.iter().map(String::as_str))
    }

    /// The lines up to and including the next that contains `text`.
    fn until_containing(&self, text: &str) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(wait) {
                Ok(line) => {
                    let done = line.contains(text);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(e) => panic!("no line containing `{text}` ({e:?}); got {seen:#?}"),
            }
        }
    }

    /// Whatever is printed within `time`, which must be nothing.
    fn quiet_for(&self, time: Duration) {
        match self.lines.recv_timeout(time) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("expected silence, got {other:?}"),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves `text` the way many editors do: a temporary file renamed over the project.
fn save(dir: &Path, text: &str) {
    std::fs::write(dir.join(".mix.yaml.tmp"), text).unwrap();
    std::fs::rename(dir.join(".mix.yaml.tmp"), dir.join("mix.yaml")).unwrap();
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

/// A folder with the project and its two stems.
fn session() -> tempfile::TempDir {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("stems")).unwrap();
    write_stem(&dir.path().join("stems/kick.wav"), 48_000, 1.0, 1);
    write_stem(&dir.path().join("stems/bass.wav"), 48_000, 1.0, 2);
    std::fs::write(dir.path().join("mix.yaml"), PROJECT).unwrap();
    dir
}

#[test]
fn watch_re_renders_each_edit_keeps_the_last_good_render_and_follows_the_stems() {
    let session = session();
    let dir = session.path();
    let output = dir.join("out/mix.wav");

    let watcher = Watcher::start(dir);
    assert_eq!(
        watcher.first_render(),
        ids(&["mix/bus/drums", "mix/master", "mix/output", "mix/track/bass", "mix/track/kick"])
    );
    // The render reads every watched file; that must not set off another.
    watcher.quiet_for(Duration::from_secs(1));

    save(dir, &PROJECT.replace("gain: -3 dB", "gain: -4 dB"));
    let line = watcher.until_containing(" changed: ");
    assert_eq!(
        ran_in(line.iter().map(String::as_str)),
        ids(&["mix/bus/drums", "mix/master", "mix/output"])
    );
    let summary = line.last().unwrap();
    assert!(
        summary.starts_with("mix.yaml changed: ran drums, master, output (3 of 5 nodes) in "),
        "{summary}"
    );
    assert!(summary.contains(" s; mix: ") && summary.ends_with(" dBTP"), "{summary}");
    let good = std::fs::read(&output).unwrap();

    save(dir, &PROJECT.replace("gain: -3 dB", "gian: -4 dB"));
    let broken = watcher.until("the last good render stays");
    assert!(broken.iter().any(|l| l.contains("unknown key `gian`")), "{broken:#?}");
    assert!(broken.iter().any(|l| l.starts_with("the last good render stays")), "{broken:#?}");
    assert_eq!(std::fs::read(&output).unwrap(), good, "a broken save renders nothing");

    save(dir, &PROJECT.replace("gain: -3 dB", "gain: -5 dB"));
    assert_eq!(watcher.next_render(), ids(&["mix/bus/drums", "mix/master", "mix/output"]));

    write_stem(&dir.join("stems/bass.wav"), 48_000, 1.0, 3);
    assert_eq!(watcher.next_render(), ids(&["mix/master", "mix/output", "mix/track/bass"]));
}

#[test]
fn watching_a_mix_in_a_missing_folder_is_a_usage_error() {
    let dir = scratch();
    let output = mixdown(dir.path(), &["watch", "nowhere/mix.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("its folder does not exist"), "{}", stderr(&output));
}

#[test]
fn a_stem_named_before_it_exists_renders_once_it_appears() {
    let session = session();
    let dir = session.path();

    let watcher = Watcher::start(dir);
    watcher.first_render();
    save(dir, &PROJECT.replace("buses:\n", "  keys:\n    source: stems/keys.wav\nbuses:\n"));
    let broken = watcher.until("the last good render stays");
    assert!(broken.iter().any(|l| l.contains("no audio file at")), "{broken:#?}");

    write_stem(&dir.join("stems/keys.wav"), 48_000, 1.0, 3);
    assert_eq!(watcher.next_render(), ids(&["mix/master", "mix/output", "mix/track/keys"]));
}

/// A running `mixdown watch --message-format json` and the messages it prints.
struct JsonWatcher {
    child: Child,
    messages: Receiver<serde_json::Value>,
}

impl JsonWatcher {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        Self::start_on(dir, "mix.yaml", extra)
    }

    fn start_on(dir: &Path, file: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mixdown"))
            .args(["watch", file, "--message-format", "json"])
            .args(extra)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("MIXDOWN_CACHE")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary runs");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line).expect("every line is JSON");
                if sender.send(value).is_err() {
                    break;
                }
            }
        });
        Self { child, messages }
    }

    /// The messages up to and including the next whose reason is `reason`.
    fn until(&self, reason: &str) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(wait) {
                Ok(message) => {
                    let done = message["reason"] == reason;
                    seen.push(message);
                    if done {
                        return seen;
                    }
                }
                Err(e) => panic!("no `{reason}` message ({e:?}); got {seen:#?}"),
            }
        }
    }

    /// The next render's messages, through to watching again; its `render-finished` last
    /// but for that.
    fn next_render(&self) -> Vec<serde_json::Value> {
        let mut render = self.until("render-finished");
        render.extend(self.until("watching"));
        render
    }
}

impl Drop for JsonWatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The nodes that `messages` say ran, sorted.
fn ran_nodes(messages: &[serde_json::Value]) -> Vec<String> {
    let mut ran: Vec<String> = messages
        .iter()
        .filter(|m| m["reason"] == "node" && m["event"] == "ran")
        .map(|m| m["node"].as_str().unwrap().to_owned())
        .collect();
    ran.sort();
    ran
}

fn finished(messages: &[serde_json::Value]) -> &serde_json::Value {
    messages.iter().find(|m| m["reason"] == "render-finished").expect("a render finished")
}

#[test]
fn saves_by_renaming_over_and_by_truncating_then_writing_are_both_rendered() {
    let session = session();
    let dir = session.path();
    let watcher = JsonWatcher::start(dir, &[]);
    assert_eq!(finished(&watcher.next_render())["success"], true);

    save(dir, &PROJECT.replace("gain: -3 dB", "gain: -4 dB"));
    let renamed = watcher.next_render();
    assert_eq!(renamed[0]["reason"], "changed", "{renamed:#?}");
    assert_eq!(renamed[0]["files"], serde_json::json!(["mix.yaml"]));
    assert_eq!(ran_nodes(&renamed), ids(&["mix/bus/drums", "mix/master", "mix/output"]));

    // An editor that truncates the file, then writes it. A loaded machine may let the
    // empty file settle before the write lands: that render fails, and the next is good.
    let mut file =
        std::fs::OpenOptions::new().write(true).truncate(true).open(dir.join("mix.yaml")).unwrap();
    std::io::Write::write_all(&mut file, PROJECT.replace("gain: -3 dB", "gain: -5 dB").as_bytes())
        .unwrap();
    drop(file);
    let mut truncated = watcher.next_render();
    while finished(&truncated)["success"] == false {
        truncated = watcher.next_render();
    }
    assert_eq!(ran_nodes(&truncated), ids(&["mix/bus/drums", "mix/master", "mix/output"]));
    let target = &finished(&truncated)["targets"][0];
    assert_eq!(target["path"], "out/mix.wav");
    assert!(target["integrated_lufs"].is_f64() && target["true_peak_dbtp"].is_f64(), "{target}");
}

#[test]
fn a_broken_save_is_reported_and_the_next_good_save_renders() {
    let session = session();
    let dir = session.path();
    let watcher = JsonWatcher::start(dir, &[]);
    watcher.next_render();

    save(dir, &PROJECT.replace("gain: -3 dB", "gain: -3 dBB"));
    let broken = watcher.next_render();
    let diagnostic = broken.iter().find(|m| m["reason"] == "diagnostic").expect("{broken:#?}");
    assert_eq!(diagnostic["line"], 7, "{diagnostic}");
    assert_eq!(diagnostic["yaml_path"], "tracks.kick.gain", "{diagnostic}");
    assert_eq!(finished(&broken)["success"], false);
    assert!(ran_nodes(&broken).is_empty());

    save(dir, &PROJECT.replace("gain: -3 dB", "gain: -2 dB"));
    let fixed = watcher.next_render();
    assert_eq!(finished(&fixed)["success"], true);
    assert_eq!(ran_nodes(&fixed), ids(&["mix/bus/drums", "mix/master", "mix/output"]));
}

#[test]
fn exec_runs_after_each_good_render_with_the_output_path() {
    let session = session();
    let dir = session.path();
    let command = r#"echo "$MIXDOWN_OUTPUT" >> exec.log"#;
    let watcher = JsonWatcher::start(dir, &["--exec", command]);
    watcher.next_render();
    save(dir, &PROJECT.replace("gain: -3 dB", "gain: -4 dB"));
    watcher.next_render();
    let log = std::fs::read_to_string(dir.join("exec.log")).unwrap();
    let output = std::path::absolute(dir.join("out/mix.wav")).unwrap();
    let expected = format!("{0}\n{0}\n", output.display());
    assert_eq!(log, expected);
}

#[test]
fn watching_an_album_renders_again_when_one_of_its_songs_mixes_is_saved() {
    let work = scratch();
    let dir = work.path();
    let mix = |name: &str, gain: &str| {
        format!("mix: {name}\ntracks:\n  keys:\n    source: {name}.wav\n    gain: {gain}\n")
    };
    for (i, name) in ["first", "second"].into_iter().enumerate() {
        write_stem(&dir.join(format!("{name}.wav")), 48_000, 5.0, i as u64 + 1);
        std::fs::write(dir.join(format!("{name}.yaml")), mix(name, "-3 dB")).unwrap();
    }
    let album = "album: Two\nartist: Duo\nsample_rate: 48 kHz\nsongs:\n  \
                 - { mix: first.yaml, title: First }\n  \
                 - { mix: second.yaml, title: Second, gap: 1 s }\n\
                 deliver:\n  master: { format: wav, bit_depth: 24, split: songs }\n";
    std::fs::write(dir.join("album.yaml"), album).unwrap();
    let watcher = JsonWatcher::start_on(dir, "album.yaml", &[]);
    let first = watcher.next_render();
    assert_eq!(finished(&first)["success"], true);

    std::fs::write(dir.join(".second.yaml.tmp"), mix("second", "-4 dB")).unwrap();
    std::fs::rename(dir.join(".second.yaml.tmp"), dir.join("second.yaml")).unwrap();
    let edited = watcher.next_render();
    assert_eq!(edited[0]["files"], serde_json::json!(["second.yaml"]), "{edited:#?}");
    assert_eq!(finished(&edited)["success"], true, "{edited:#?}");
    let ran = ran_nodes(&edited);
    assert!(ran.iter().any(|n| n.starts_with("second/")), "{ran:?}");
    assert!(!ran.iter().any(|n| n.starts_with("first/")), "the other song's mix ran: {ran:?}");
    // Each song's file carries its own figures: the second is a decibel quieter than it
    // was, and the first is as it was.
    let lufs = |render: &[serde_json::Value], i: usize| {
        finished(render)["targets"][i]["integrated_lufs"].as_f64().unwrap()
    };
    assert!((lufs(&first, 0) - lufs(&edited, 0)).abs() < 1e-9, "{first:#?}");
    assert!((lufs(&first, 1) - lufs(&edited, 1) - 1.0).abs() < 0.05, "{edited:#?}");
}
