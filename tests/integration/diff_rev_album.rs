//! `mixdown diff --rev` on an album file, on a scripted two-commit git repository of two
//! short songs mixed from one stem each: a commit of comments renders nothing; a fader move
//! in one song's mix shows on that song, the album and that song's files, and nowhere
//! else; a new loudness target shows on every file by about as much.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::diff_rev::{assert_no_worktree_left, git, walk};
use crate::messages::{json_lines, with_reason};
use crate::support::{mixdown, scratch, stderr, write_stem};

/// A song's mix: its one stem at `gain`.
fn mix(name: &str, gain: &str) -> String {
    format!("mix: {name}\ntracks:\n  keys:\n    source: stems/{name}.wav\n    gain: {gain}\n")
}

/// The album, with `loudness` as its mastering's loudness block (none when empty): each
/// song as a 24-bit WAV and the whole album as one FLAC.
fn album(loudness: &str) -> String {
    let mastering = if loudness.is_empty() {
        String::new()
    } else {
        format!("mastering:\n  loudness: {loudness}\n")
    };
    format!(
        "album: Two\nartist: Duo\nsongs:\n  - mix: first.yaml\n    title: First\n  - mix: second.yaml\n    title: Second\n    gap: 1 s\n{mastering}deliver:\n  web: {{ format: wav, bit_depth: 24, split: songs }}\n  whole: {{ format: flac, split: album }}\n"
    )
}

/// A repository whose first commit holds the stems, the mixes and `album_text`, and whose
/// second commit writes `edits` (file name and text).
fn two_commits(album_text: &str, edits: &[(&str, &str)]) -> tempfile::TempDir {
    let work = scratch();
    let dir = work.path();
    git(dir, &["init", "--quiet"]);
    std::fs::create_dir(dir.join("stems")).unwrap();
    for (seed, name) in ["first", "second"].into_iter().enumerate() {
        write_stem(&dir.join(format!("stems/{name}.wav")), 48_000, 3.0, seed as u64 + 1);
        std::fs::write(dir.join(format!("{name}.yaml")), mix(name, "-3 dB")).unwrap();
    }
    std::fs::write(dir.join(".gitignore"), "cache/\nout/\n").unwrap();
    std::fs::write(dir.join("album.yaml"), album_text).unwrap();
    git(dir, &["add", "--all"]);
    git(dir, &["commit", "--quiet", "--message", "first album"]);
    for (file, text) in edits {
        std::fs::write(dir.join(file), text).unwrap();
    }
    git(dir, &["commit", "--quiet", "--all", "--message", "an edit"]);
    work
}

/// Runs `diff --rev HEAD~1 album.yaml` with `extra` arguments, in JSON; returns the run and
/// its messages.
fn diff_previous(dir: &Path, extra: &[&str]) -> (Output, Vec<Value>) {
    let mut args = vec!["diff", "--rev", "HEAD~1", "album.yaml", "--message-format", "json"];
    args.extend_from_slice(extra);
    let run = mixdown(dir, &args);
    assert!(run.status.success(), "{}", stderr(&run));
    let lines = json_lines(&run);
    (run, lines)
}

/// The diff message about `subject`.
fn about<'a>(lines: &'a [Value], subject: &str) -> Option<&'a Value> {
    with_reason(lines, "diff").into_iter().find(|v| v["subject"] == subject)
}

/// The loudness change of the diff message about `subject`, which must say `changed`.
fn louder_by(lines: &[Value], subject: &str) -> f64 {
    let diff = about(lines, subject).unwrap_or_else(|| panic!("no {subject}: {lines:#?}"));
    assert_eq!(diff["verdict"], "changed", "{diff}");
    diff["loudness_change_lu"].as_f64().unwrap_or_else(|| panic!("{diff}"))
}

#[test]
fn a_commit_of_comments_to_an_album_and_a_songs_mix_is_identical_and_renders_nothing() {
    let text = album("");
    let commented =
        format!("# the running order\n{}", text.replace("deliver:", "\n# files\ndeliver:"));
    let mix_commented = format!("# a note on the mix\n\n{}", mix("second", "-3 dB"));
    let work = two_commits(&text, &[("album.yaml", &commented), ("second.yaml", &mix_commented)]);
    let (run, lines) = diff_previous(work.path(), &[]);
    assert!(with_reason(&lines, "node").is_empty(), "nothing renders: {lines:#?}");
    let diffs = with_reason(&lines, "diff");
    assert_eq!(diffs.len(), 1, "{lines:#?}");
    assert_eq!(diffs[0]["verdict"], "identical");
    assert!(walk(&work.path().join("cache/entries")).is_empty(), "{}", stderr(&run));
    let text = mixdown(work.path(), &["diff", "--rev", "HEAD~1", "album.yaml"]);
    let said = String::from_utf8_lossy(&text.stdout);
    assert!(said.contains("nothing rendered") && said.ends_with("verdict: identical\n"), "{said}");
    assert!(!work.path().join("out").exists(), "the output folder is left alone");
    assert_no_worktree_left(work.path());
}

#[test]
fn a_fader_move_in_one_songs_mix_shows_on_that_song_the_album_and_its_files_only() {
    let work = two_commits(&album(""), &[("second.yaml", &mix("second", "-2 dB"))]);
    let (_, lines) = diff_previous(work.path(), &[]);
    // Without a loudness target no gain follows the fader, and nothing reaches the limiter.
    for subject in ["song 2 \"Second\"", "output web/02 Second.wav"] {
        let change = louder_by(&lines, subject);
        assert!((change - 1.0).abs() <= 0.01, "{subject}: {change}");
    }
    // The whole album is partly the louder song: louder, by less.
    for subject in ["album", "output whole/Two.flac"] {
        let change = louder_by(&lines, subject);
        assert!(change > 0.2 && change < 1.0, "{subject}: {change}");
    }
    for untouched in ["song 1 \"First\"", "output web/01 First.wav"] {
        assert!(about(&lines, untouched).is_none(), "{untouched} is not compared: {lines:#?}");
    }
    let subjects: Vec<&str> =
        with_reason(&lines, "diff").iter().filter_map(|v| v["subject"].as_str()).collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    let in_the_albums_words =
        |s: &&str| ["song ", "album", "output "].iter().any(|w| s.starts_with(w));
    assert!(subjects.iter().all(in_the_albums_words), "no internal ids: {subjects:?}");
    assert_no_worktree_left(work.path());
}

#[test]
fn a_new_loudness_target_shows_on_every_file_by_about_the_change() {
    let (quieter, louder) = ("{ target: -20 LUFS }", "{ target: -18 LUFS }");
    let work = two_commits(&album(quieter), &[("album.yaml", &album(louder))]);
    let (_, lines) = diff_previous(work.path(), &[]);
    // One gain for the whole album, rounded to 0.01 dB, lifts every song alike.
    for subject in
        ["album", "output web/01 First.wav", "output web/02 Second.wav", "output whole/Two.flac"]
    {
        let change = louder_by(&lines, subject);
        assert!((change - 2.0).abs() <= 0.05, "{subject}: {change}");
    }
    assert!(about(&lines, "song 1 \"First\"").is_none(), "the songs come before the gain");
    assert_no_worktree_left(work.path());
}

#[test]
fn a_report_draws_each_changed_files_difference_and_writes_no_audio_into_the_output_folder() {
    let work = two_commits(&album(""), &[("second.yaml", &mix("second", "-2 dB"))]);
    let run = mixdown(work.path(), &["diff", "--rev", "HEAD~1", "album.yaml", "--report"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(said.starts_with("album.yaml since HEAD~1 ("), "{said}");
    assert!(
        said.contains("\nsong 2 \"Second\"\n") && said.contains("\noutput web/02 Second.wav\n"),
        "{said}"
    );
    let mut drawn: Vec<String> = walk(&work.path().join("out"))
        .iter()
        .map(|p| p.strip_prefix(work.path().join("out")).unwrap().display().to_string())
        .collect();
    drawn.sort();
    assert_eq!(drawn, ["web/02 Second.diff.png", "whole/Two.diff.png"]);
    assert_no_worktree_left(work.path());
}

#[test]
fn a_song_added_to_the_album_is_named_with_its_files_as_only_in_the_working_tree() {
    let third = "  - file: stems/first.wav\n    title: Third\n    gap: 1 s\ndeliver:";
    let work = two_commits(&album(""), &[("album.yaml", &album("").replace("deliver:", third))]);
    let (_, lines) = diff_previous(work.path(), &[]);
    for subject in ["song 3 \"Third\"", "output web/03 Third.wav"] {
        let diff = about(&lines, subject).unwrap_or_else(|| panic!("no {subject}: {lines:#?}"));
        assert_eq!(diff["verdict"], "added", "{diff}");
    }
    assert_eq!(about(&lines, "album").unwrap()["verdict"], "changed");
    assert!(about(&lines, "song 2 \"Second\"").is_none(), "{lines:#?}");
    // The first song's file now calls itself track 1 of 3: its tags changed, not its audio.
    let first = about(&lines, "output web/01 First.wav").unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(first["verdict"], "identical", "{first}");
    assert_no_worktree_left(work.path());
}

#[test]
fn an_album_that_does_not_compile_at_the_revision_is_reported_and_its_worktree_removed() {
    let work = two_commits(&album(""), &[("second.yaml", &mix("second", "-2 dB"))]);
    git(work.path(), &["rm", "--quiet", "--cached", "stems/second.wav"]);
    git(work.path(), &["commit", "--quiet", "--message", "untrack a stem"]);
    let run = mixdown(work.path(), &["diff", "--rev", "HEAD", "album.yaml"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("`album.yaml` as of `HEAD` does not compile"),
        "{}",
        stderr(&run)
    );
    assert_no_worktree_left(work.path());
}

#[test]
fn an_edit_the_albums_analyses_settle_away_is_identical_after_they_run() {
    let (before, after) = ("{ target: -20 LUFS }", "{ target: -20 LUFS, max_limiting: 9 dB }");
    let work = two_commits(&album(before), &[("album.yaml", &album(after))]);
    let (_, lines) = diff_previous(work.path(), &[]);
    // The analyses key on the new bound and run; the gains they choose are the same.
    assert!(!with_reason(&lines, "node").is_empty(), "{lines:#?}");
    let diffs = with_reason(&lines, "diff");
    assert_eq!(diffs.len(), 1, "{lines:#?}");
    assert_eq!(diffs[0]["verdict"], "identical");
    let text = mixdown(work.path(), &["diff", "--rev", "HEAD~1", "album.yaml"]);
    let said = String::from_utf8_lossy(&text.stdout);
    assert!(said.contains("settled on the same gains"), "{said}");
    assert!(said.ends_with("verdict: identical\n"), "{said}");
}

#[test]
fn an_album_that_fails_to_render_at_the_revision_is_an_error_at_its_line() {
    let too_long = album("").replace("    gap: 1 s\n", "    crossfade: 10 s\n");
    let work = two_commits(&too_long, &[("album.yaml", &album(""))]);
    let run = mixdown(work.path(), &["diff", "--rev", "HEAD~1", "album.yaml"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let said = stderr(&run);
    assert!(said.contains("error[album-failed]") && said.contains("album.yaml:8:"), "{said}");
    assert!(said.contains("shorten the crossfade"), "{said}");
    assert!(said.contains("while rendering `album.yaml` as of `HEAD~1`"), "{said}");
    assert!(String::from_utf8_lossy(&run.stdout).is_empty(), "nothing is compared");
    assert_no_worktree_left(work.path());
}
