//! The render log after scripted edits: each edit re-renders exactly the nodes it touches.

use std::path::{Path, PathBuf};

use crate::support::{mixdown, ran, scratch, write_stem};

/// A project that uses clips, automation, sends (pre- and post-fader), buses, a resampled
/// source, polarity, parallel branches and the master chain.
const PROJECT: &str = "\
mix: Session
sample_rate: 48 kHz
tempo: 120
tail: 1 s
tracks:
  kick:
    source: stems/kick.wav
    gain: -2 dB
    chain:
      - highpass: { freq: 30 Hz, slope: 24 }
      - eq: [ { type: peak, freq: 60 Hz, gain: 3 dB, q: 1.4 } ]
    to: drums
  snare:
    source: stems/snare.wav
    pan: 10% right
    polarity: inverted
    chain:
      - eq: [ { type: high_shelf, freq: 6 kHz, gain: 2 dB } ]
    to: drums
    sends:
      - { to: room, level: -12 dB }
  keys:
    source: stems/keys-44k.wav
    gain: [[0:00, -inf dB], [0:01, -6 dB]]
    pan: 30% left
    chain:
      - width: { amount: 120% }
    to: music
    sends:
      - { to: room, level: -10 dB, pre_fader: true }
  guitar:
    clips:
      - { file: stems/guitar.wav, at: 0:00.5, length: 1 s, fade_in: 10 ms, fade_out: 1/8 }
      - { file: stems/guitar.wav, at: 2 s, start: 0.5 s, gain: -3 dB }
    chain:
      - parallel:
          - []
          - [ { gain: -6 dB }, { polarity: inverted } ]
    to: music
buses:
  drums:
    gain: -1 dB
  music: {}
  room:
    chain:
      - lowpass: { freq: 8 kHz }
master:
  chain:
    - eq: [ { type: low_shelf, freq: 90 Hz, gain: 1 dB } ]
";

/// Writes the project and its stems to `work/project`; returns that folder.
fn session(work: &Path) -> PathBuf {
    let dir = work.join("project");
    let stems = dir.join("stems");
    std::fs::create_dir_all(&stems).unwrap();
    write_stem(&stems.join("kick.wav"), 48_000, 3.0, 1);
    write_stem(&stems.join("snare.wav"), 48_000, 3.0, 2);
    write_stem(&stems.join("keys-44k.wav"), 44_100, 3.0, 3);
    write_stem(&stems.join("guitar.wav"), 48_000, 3.0, 4);
    std::fs::write(dir.join("song.yaml"), PROJECT).unwrap();
    dir
}

/// Renders `project` (relative to `work`) with the shared cache and output folders.
fn render(work: &Path, project: &str) -> Vec<String> {
    render_with(work, project, "cache", &[])
}

/// Renders `project` (relative to `work`) with the cache folder `cache` and `extra` flags;
/// returns the nodes that ran.
fn render_with(work: &Path, project: &str, cache: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["render", project, "--cache", cache, "--out", "out", "--verbose"];
    args.extend(extra);
    let out = mixdown(work, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    ran(&out)
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "`{from}` not in the project");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn ids(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|n| format!("song/{n}")).collect();
    v.sort();
    v
}

#[test]
fn each_edit_rerenders_exactly_what_it_touches() {
    let work = scratch();
    let project_dir = session(work.path());
    let yaml = project_dir.join("song.yaml");

    let cold = render(work.path(), "project/song.yaml");
    assert_eq!(
        cold,
        ids(&[
            "bus/drums",
            "bus/music",
            "bus/room",
            "master",
            "output",
            "source/keys-44k.wav",
            "track/guitar",
            "track/keys",
            "track/kick",
            "track/snare",
        ]),
        "a cold render runs every node"
    );

    assert_eq!(render(work.path(), "project/song.yaml"), ids(&[]), "nothing changed, nothing runs");

    edit(&yaml, "gain: -2 dB", "gain: -3 dB");
    assert_eq!(
        render(work.path(), "project/song.yaml"),
        ids(&["bus/drums", "master", "output"]),
        "a fader move re-renders only the sums downstream"
    );

    edit(&yaml, "gain: 2 dB }", "gain: 2.5 dB }");
    assert_eq!(
        render(work.path(), "project/song.yaml"),
        ids(&["bus/drums", "bus/room", "master", "output", "track/snare"]),
        "an EQ change re-renders the track and the sums downstream (snare also feeds the room)"
    );

    let reformatted = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace("freq: 60 Hz, gain: 3 dB, q: 1.4", "q: 1.40, gain: 3.0dB, freq: 0.06 kHz")
        .replace("# ", "#")
        .replace("  music: {}\n", "  music:\n    {}\n");
    std::fs::write(&yaml, format!("# reformatted\n{reformatted}")).unwrap();
    assert_eq!(
        render(work.path(), "project/song.yaml"),
        ids(&[]),
        "reformatting and reordering keys change nothing"
    );

    let kick = project_dir.join("stems/kick.wav");
    let bytes = std::fs::read(&kick).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&kick, &bytes).unwrap();
    assert_eq!(
        render(work.path(), "project/song.yaml"),
        ids(&[]),
        "touching a source without changing it changes nothing"
    );

    let keys = project_dir.join("stems/keys-44k.wav");
    let mut changed = std::fs::read(&keys).unwrap();
    let last = changed.len() - 1;
    changed[last] ^= 0x40;
    std::fs::write(&keys, &changed).unwrap();
    assert_eq!(
        render(work.path(), "project/song.yaml"),
        ids(&["bus/music", "bus/room", "master", "output", "source/keys-44k.wav", "track/keys"]),
        "new source bytes re-render that source and everything downstream"
    );

    std::fs::rename(&project_dir, work.path().join("renamed")).unwrap();
    assert_eq!(
        render(work.path(), "renamed/song.yaml"),
        ids(&[]),
        "renaming the project folder changes nothing"
    );
}

/// What `explain` says of `node` in the session at `work`.
fn explain(work: &Path, node: &str, cache: &str) -> String {
    let out =
        mixdown(work, &["explain", &format!("song/{node}"), "project/song.yaml", "--cache", cache]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_master_without_a_chain_streams_into_the_file_and_keeps_no_entry() {
    let work = scratch();
    let project_dir = session(work.path());
    let yaml = project_dir.join("song.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    let master_chain = text.find("master:\n").unwrap();
    std::fs::write(&yaml, &text[..master_chain]).unwrap();
    let render =
        |cache: &str, extra: &[&str]| render_with(work.path(), "project/song.yaml", cache, extra);

    render("cache", &["-j", "2"]);
    let wav = std::fs::read(work.path().join("out/song.wav")).unwrap();
    assert!(
        explain(work.path(), "master", "cache").contains("keeps no cache entry"),
        "streamed into the output, the master is not stored"
    );
    assert!(explain(work.path(), "bus/drums", "cache").contains("cached"));

    assert_eq!(
        render("cache", &["-j", "2", "--format", "float32"]),
        ids(&["master", "output"]),
        "another format sums the cached buses again"
    );
    assert_eq!(render("cache", &["-j", "2"]), ids(&["master", "output"]));
    assert_eq!(std::fs::read(work.path().join("out/song.wav")).unwrap(), wav);
    assert!(explain(work.path(), "output", "cache").contains("cached: nothing"));

    render("serial-cache", &["-j", "1"]);
    let serial = explain(work.path(), "master", "serial-cache");
    assert!(
        serial.starts_with("node song/master\nkey ") && serial.contains("cached: nothing"),
        "with one job nothing streams, so the output reads the master's entry"
    );
    assert_eq!(std::fs::read(work.path().join("out/song.wav")).unwrap(), wav);
}
