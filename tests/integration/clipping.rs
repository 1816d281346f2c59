//! An integer output that clips says so, with the count and the peak, every time the
//! render runs: whether the file was written now or found up to date (issue 14).

use crate::support::{mixdown, scratch, stderr, write_stem};

/// The lines of a render's log that say where the file went and whether it clipped.
fn output_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.starts_with("wrote ") || l.contains("is up to date") || l.contains("clipped"))
        .collect()
}

#[test]
fn a_track_at_plus_30_db_warns_of_clipping_with_the_same_count_fresh_and_up_to_date() {
    let work = scratch();
    write_stem(&work.path().join("vox.wav"), 48_000, 2.0, 5);
    std::fs::write(
        work.path().join("song.yaml"),
        "mix: Song\nsample_rate: 48 kHz\ntracks:\n  vox: { source: vox.wav, gain: 30 dB }\n",
    )
    .unwrap();
    let fresh = mixdown(work.path(), &["render", "song.yaml"]);
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    let fresh_log = stderr(&fresh);
    let fresh_lines = output_lines(&fresh_log);
    assert_eq!(fresh_lines.len(), 2, "{fresh_log}");
    assert_eq!(fresh_lines[0], "wrote out/song.wav");
    let warning = fresh_lines[1];
    assert!(warning.starts_with("warning: `out/song.wav` clipped: "), "{warning}");
    assert!(warning.contains("dBFS"), "{warning}");
    let count: u64 = warning
        .split("clipped: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(count > 10_000, "a +30 dB stem clips most of its samples: {count}");

    let again = mixdown(work.path(), &["render", "song.yaml"]);
    let again_log = stderr(&again);
    assert_eq!(output_lines(&again_log), ["out/song.wav is up to date", warning]);
}

#[test]
fn a_render_that_does_not_clip_says_only_where_its_file_went() {
    let work = scratch();
    write_stem(&work.path().join("vox.wav"), 48_000, 1.0, 5);
    std::fs::write(
        work.path().join("song.yaml"),
        "mix: Song\nsample_rate: 48 kHz\ntracks:\n  vox: { source: vox.wav }\n",
    )
    .unwrap();
    let render = mixdown(work.path(), &["render", "song.yaml"]);
    assert_eq!(output_lines(&stderr(&render)), ["wrote out/song.wav"]);
}
