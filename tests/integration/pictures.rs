//! Pictures: `render --report` draws each target beside its file (and an album's overview),
//! `diff --report` the difference; each has the size promised and is not blank.

use std::path::Path;

use crate::support::{mixdown, scratch, stderr, write_stem};

/// The picture's width, height and the variance of its pixels' brightness.
fn picture(path: &Path) -> (u32, u32, f64) {
    let (width, height, brightness) = pixels(path);
    let mean = brightness.iter().sum::<f64>() / brightness.len() as f64;
    let variance =
        brightness.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / brightness.len() as f64;
    (width, height, variance)
}

/// The picture's width, height and each pixel's brightness, row by row.
fn pixels(path: &Path) -> (u32, u32, Vec<f64>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let brightness = pixels[..info.buffer_size()]
        .chunks(3)
        .map(|p| p.iter().map(|&c| f64::from(c)).sum())
        .collect();
    (info.width, info.height, brightness)
}

fn write_mix(dir: &Path, gain: &str) {
    write_stem(&dir.join("keys.wav"), 48_000, 5.0, 3);
    let text = format!(
        "mix: song\nlength: 5 s\ntracks:\n  keys:\n    source: keys.wav\n    gain: {gain}\n"
    );
    std::fs::write(dir.join("song.yaml"), text).unwrap();
}

#[test]
fn render_report_draws_the_target_beside_its_file() {
    let work = scratch();
    write_mix(work.path(), "0 dB");
    let run = mixdown(work.path(), &["render", "song.yaml", "--report"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("drew out/song.png"), "{}", stderr(&run));
    let (width, height, variance) = picture(&work.path().join("out/song.png"));
    assert_eq!((width, height), (1200, 400));
    assert!(variance > 100.0, "a blank picture: variance {variance}");
    let first = std::fs::read(work.path().join("out/song.png")).unwrap();
    let again = mixdown(work.path(), &["render", "song.yaml", "--report"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let second = std::fs::read(work.path().join("out/song.png")).unwrap();
    assert!(first == second, "the same render draws the same bytes");
}

#[test]
fn diff_report_draws_the_difference_beside_the_second_file() {
    let work = scratch();
    write_mix(work.path(), "0 dB");
    let render = |out: &str| {
        let run =
            mixdown(work.path(), &["render", "song.yaml", "--format", "float32", "--out", out]);
        assert!(run.status.success(), "{}", stderr(&run));
    };
    render("before");
    write_mix(work.path(), "1 dB");
    render("after");
    let run = mixdown(work.path(), &["diff", "before/song.wav", "after/song.wav", "--report"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let (width, height, variance) = picture(&work.path().join("after/song.diff.png"));
    assert_eq!((width, height), (1200, 400));
    assert!(variance > 100.0, "a blank picture: variance {variance}");
}

#[test]
fn render_report_draws_an_albums_songs_side_by_side_in_one_overview() {
    let work = scratch();
    write_stem(&work.path().join("one.wav"), 48_000, 6.0, 5);
    write_stem(&work.path().join("two.wav"), 48_000, 12.0, 6);
    let album = "album: Pair\nartist: Duo\nsample_rate: 48 kHz\nsongs:\n  \
                 - { file: one.wav, title: One }\n  - { file: two.wav, title: Two, gap: 1 s }\n\
                 mastering:\n  loudness: { target: -16 LUFS, ceiling: -1 dBTP }\n\
                 deliver:\n  master: { format: wav, bit_depth: 24, split: album }\n";
    std::fs::write(work.path().join("album.yaml"), album).unwrap();
    let run = mixdown(work.path(), &["render", "album.yaml", "--report"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("drew out/overview.png"), "{}", stderr(&run));
    let (width, height, brightness) = pixels(&work.path().join("out/overview.png"));
    assert_eq!((width, height), (1200, 400));
    let column_is_blank = |x: usize| {
        let column: Vec<f64> = (0..height as usize).map(|y| brightness[y * 1200 + x]).collect();
        column.iter().all(|&b| b == column[0])
    };
    // Two panels, the second about twice as wide as the first (7 s of song and gap
    // against 12 s), with a blank gap between them and drawing in both.
    let gaps: Vec<usize> = (0..1200).filter(|&x| column_is_blank(x)).collect();
    let between = gaps.iter().copied().filter(|&x| (300..500).contains(&x)).count();
    assert!(between >= 4, "no gap between the songs' panels: {gaps:?}");
    assert!(!column_is_blank(100) && !column_is_blank(900), "a blank panel");
}
