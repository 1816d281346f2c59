//! The CI promise: the same project renders to the same bytes whatever the thread count and
//! however warm the cache.

use crate::support::{mixdown, root};

fn render(work: &std::path::Path, cache: &str, jobs: &str) -> Vec<u8> {
    let project = root().join("examples/songs/tidewater.yaml");
    let out = mixdown(
        work,
        &["render", project.to_str().unwrap(), "--cache", cache, "--out", "out", "-j", jobs],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(work.join("out/tidewater.wav")).unwrap()
}

#[test]
fn output_bytes_are_identical_for_one_and_two_threads_cold_and_warm() {
    let work = crate::support::scratch();
    let one_cold = render(work.path(), "cache-a", "1");
    let two_cold = render(work.path(), "cache-b", "2");
    std::fs::remove_dir_all(work.path().join("out")).unwrap();
    let one_warm = render(work.path(), "cache-b", "1");
    std::fs::remove_dir_all(work.path().join("out")).unwrap();
    let two_warm = render(work.path(), "cache-a", "2");
    assert!(one_cold == two_cold, "-j 1 and -j 2 differ on a cold cache");
    assert!(one_cold == one_warm, "a warm render differs from a cold one");
    assert!(one_cold == two_warm, "a warm -j 2 render differs");
}

/// Two buses into a master with a reverb, so the output's length comes from the reverb's
/// audible tail, which a pipelined master announces only at its end.
const PIPELINE_PROJECT: &str = "\
mix: Pipeline
sample_rate: 48 kHz
tracks:
  kick:
    source: kick.wav
    gain: -3 dB
    chain:
      - eq: [ { type: peak, freq: 80 Hz, gain: 2 dB, q: 1 } ]
    to: drums
  snare:
    source: snare.wav
    to: drums
  keys:
    source: keys.wav
    pan: 20% left
    to: music
buses:
  drums: {}
  music: {}
master:
  chain:
    - reverb: { size: 50%, decay: 0.6 s, mix: 30% }
    - limiter: { ceiling: -1 dB }
";

/// A scratch folder with the stems of [`PIPELINE_PROJECT`].
fn pipeline_session() -> tempfile::TempDir {
    let work = crate::support::scratch();
    for (i, name) in ["kick", "snare", "keys"].iter().enumerate() {
        crate::support::write_stem(&work.path().join(format!("{name}.wav")), 48_000, 2.5, i as u64);
    }
    work
}

fn render_project(work: &std::path::Path, yaml: &str, cache: &str, jobs: &str) -> Vec<u8> {
    std::fs::write(work.join("mix.yaml"), yaml).unwrap();
    let out = mixdown(work, &["render", "mix.yaml", "--cache", cache, "--out", "out", "-j", jobs]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(work.join("out/mix.wav")).unwrap()
}

/// After a fader move (bus → master → output) or an EQ change (track → bus → master →
/// output) the nodes that re-render run as a pipeline, each reading the one before it as
/// it is made, and with nothing else to do the master splits its chain over two threads;
/// a cold single-threaded render of the edited project, which runs node after node from
/// finished entries with whole chains, must give the same bytes. So must the cold render
/// on two threads that starts it.
#[test]
fn pipelined_incremental_renders_match_cold_single_threaded_ones() {
    let work = pipeline_session();
    let two = render_project(work.path(), PIPELINE_PROJECT, "warm", "2");
    let one = render_project(work.path(), PIPELINE_PROJECT, "cold", "1");
    assert!(two == one, "the cold render on two threads differs");
    let edits = [("gain: -3 dB", "gain: -4.5 dB"), ("gain: 2 dB", "gain: 5 dB")];
    let mut yaml = PIPELINE_PROJECT.to_owned();
    for (i, (from, to)) in edits.iter().enumerate() {
        yaml = yaml.replacen(from, to, 1);
        let incremental = render_project(work.path(), &yaml, "warm", "2");
        let cold = render_project(work.path(), &yaml, &format!("cold-{i}"), "1");
        assert!(incremental == cold, "edit `{to}`: the pipelined render differs");
    }
}

/// An output that cannot be written fails the render with exit 1, while the master that
/// fed it through a pipe still finishes its cache entry: the next render only writes the
/// file.
#[test]
fn a_failed_output_stage_leaves_its_producers_entries_finished() {
    let work = pipeline_session();
    render_project(work.path(), PIPELINE_PROJECT, "cache", "2");
    let moved = PIPELINE_PROJECT.replacen("gain: -3 dB", "gain: -1 dB", 1);
    std::fs::write(work.path().join("mix.yaml"), &moved).unwrap();
    // A folder where the output file should be: found only when the file is put in place.
    std::fs::create_dir_all(work.path().join("blocked/mix.wav/inside")).unwrap();
    let args = ["render", "mix.yaml", "--cache", "cache", "--out", "blocked", "-j", "2", "-v"];
    let failed = mixdown(work.path(), &args);
    assert_eq!(failed.status.code(), Some(1), "{}", crate::support::stderr(&failed));
    assert!(crate::support::stderr(&failed).contains("blocked"), "the error names the path");

    let args = ["render", "mix.yaml", "--cache", "cache", "--out", "out", "-j", "2", "-v"];
    let retried = mixdown(work.path(), &args);
    assert!(retried.status.success(), "{}", crate::support::stderr(&retried));
    assert_eq!(crate::support::ran(&retried), ["mix/output"], "bus and master were finished");
}
