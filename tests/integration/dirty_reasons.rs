//! What `render --dry-run` and `explain` say after scripted edits: each reason in the mix
//! file's terms, never a JSON path or a hash.

use std::path::Path;

use crate::snapshot;
use crate::support::{mixdown, scratch, stderr, write_stem};

const PROJECT: &str = "\
mix: Song
tail: 0.5 s
tracks:
  vox:
    source: stems/vox.wav
    gain: -8 dB
    pan: 10% left
    chain:
      - compressor: { threshold: -18 dB, ratio: 3 }
    to: vocals
    sends:
      - { to: verb, level: -12 dB }
  kick:
    source: stems/kick.wav
    to: drums
buses:
  vocals: {}
  drums: {}
  verb:
    chain:
      - lowpass: { freq: 8 kHz }
";

fn session() -> tempfile::TempDir {
    let work = scratch();
    std::fs::create_dir(work.path().join("stems")).unwrap();
    write_stem(&work.path().join("stems/vox.wav"), 48_000, 1.0, 1);
    write_stem(&work.path().join("stems/kick.wav"), 48_000, 1.0, 2);
    std::fs::write(work.path().join("song.yaml"), PROJECT).unwrap();
    render(work.path());
    work
}

fn render(dir: &Path) {
    let out = mixdown(dir, &["render", "song.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn edit(dir: &Path, from: &str, to: &str) {
    let path = dir.join("song.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "the project has `{from}`");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The dry run's plan: what renders and why.
fn dry_run(dir: &Path) -> String {
    let out = mixdown(dir, &["render", "song.yaml", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_fader_move_is_reported_as_the_faders_new_level() {
    let work = session();
    edit(work.path(), "gain: -8 dB", "gain: -7 dB");
    snapshot!("dirty-fader-move", dry_run(work.path()));
}

#[test]
fn a_processor_setting_and_its_consequences_are_reported_node_by_node() {
    let work = session();
    edit(work.path(), "ratio: 3", "ratio: 4");
    snapshot!("dirty-compressor-ratio", dry_run(work.path()));
}

#[test]
fn a_stem_exported_again_is_reported_as_its_file_changing() {
    let work = session();
    write_stem(&work.path().join("stems/vox.wav"), 48_000, 1.0, 7);
    snapshot!("dirty-stem-content", dry_run(work.path()));
}

#[test]
fn sends_pans_and_routing_are_reported_where_they_are_written() {
    let work = session();
    edit(work.path(), "level: -12 dB", "level: -10 dB");
    edit(work.path(), "10% left", "25% right");
    edit(work.path(), "    to: drums\n", "    to: vocals\n");
    snapshot!("dirty-send-pan-routing", dry_run(work.path()));
}

#[test]
fn explain_takes_a_short_name_and_speaks_in_the_files_terms() {
    let work = session();
    edit(work.path(), "gain: -8 dB", "gain: -7 dB");
    let out = mixdown(work.path(), &["explain", "vocals", "song.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8(out.stdout).unwrap();
    let reasons: Vec<&str> = said.lines().filter(|l| !l.starts_with("key ")).collect();
    assert_eq!(
        reasons,
        ["node song/bus/vocals", "will render:", "  tracks.vox.gain: -8 dB → -7 dB"]
    );
    let cached = mixdown(work.path(), &["explain", "kick", "song.yaml"]);
    assert!(String::from_utf8(cached.stdout).unwrap().contains("cached: nothing"));
}

#[test]
fn a_name_several_nodes_share_or_a_misspelt_one_gets_a_suggestion() {
    let work = session();
    let typo = mixdown(work.path(), &["explain", "vocal", "song.yaml"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("did you mean `vocals`?"), "{}", stderr(&typo));
    edit(
        work.path(),
        "  kick:\n    source: stems/kick.wav",
        "  kick:\n    source: stems/kick.wav\n  vox.wav:\n    source: stems/kick.wav",
    );
    let shared = mixdown(work.path(), &["explain", "vox.wav", "song.yaml"]);
    assert_eq!(shared.status.code(), Some(2), "{}", stderr(&shared));
    assert!(
        stderr(&shared).contains("`vox.wav` could be any of 2 nodes")
            && stderr(&shared).contains("`song/source/vox.wav`, `song/track/vox.wav`"),
        "{}",
        stderr(&shared)
    );
}

#[test]
fn a_deleted_output_file_is_reported_as_the_file_not_as_a_change() {
    let work = session();
    std::fs::remove_file(work.path().join("out/song.wav")).unwrap();
    let plan = dry_run(work.path());
    let rendering: Vec<&str> =
        plan.lines().filter(|l| !l.starts_with("cached") && !l.starts_with("read")).collect();
    assert_eq!(
        rendering,
        [
            "render  song/master",
            "        will render with the output file, which it streams into",
            "render  song/output",
            "        file out/song.wav: missing, changed since it was written, or in another format",
        ]
    );
}
