//! Pictures: `render --report` draws each target beside its file, `diff --report` the
//! difference; each has the size promised and is not blank.

use std::path::Path;

use crate::support::{mixdown, scratch, stderr, write_stem};

/// The picture's width, height and the variance of its pixels' brightness.
fn picture(path: &Path) -> (u32, u32, f64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let brightness: Vec<f64> = pixels[..info.buffer_size()]
        .chunks(3)
        .map(|p| p.iter().map(|&c| f64::from(c)).sum())
        .collect();
    let mean = brightness.iter().sum::<f64>() / brightness.len() as f64;
    let variance =
        brightness.iter().map(|b| (b - mean).powi(2)).sum::<f64>() / brightness.len() as f64;
    (info.width, info.height, variance)
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
