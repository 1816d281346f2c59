//! The contract songs render and sound like a mix: measured length, loudness, peaks and the
//! kick/bass ducking.

use std::path::Path;

use mixdown::audio::loudness::LoudnessMeter;

use crate::support::{mixdown, read_audio, root, scratch, stderr};

/// A decoded render: planar stereo at its rate.
struct Audio {
    rate: u32,
    left: Vec<f32>,
    right: Vec<f32>,
}

fn read(path: &Path) -> Audio {
    let (rate, left, right) = read_audio(path);
    Audio { rate, left, right }
}

fn render(work: &Path, project: &Path, extra: &[&str]) -> Audio {
    let name = project.file_stem().unwrap().to_str().unwrap().to_string();
    let mut args = vec![
        "render",
        project.to_str().unwrap(),
        "--cache",
        "cache",
        "--out",
        "out",
        "--format",
        "float32",
    ];
    args.extend_from_slice(extra);
    let out = mixdown(work, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    read(&work.join("out").join(format!("{name}.wav")))
}

fn loudness(audio: &Audio) -> f64 {
    let mut meter = LoudnessMeter::new(audio.rate).unwrap();
    meter.add(&audio.left, &audio.right);
    meter.record().integrated.expect("the render is not silent")
}

fn peak(audio: &Audio) -> f32 {
    audio.left.iter().chain(&audio.right).fold(0.0, |m, x| m.max(x.abs()))
}

fn seconds(audio: &Audio) -> f64 {
    audio.left.len() as f64 / f64::from(audio.rate)
}

#[test]
fn first_light_renders_with_its_reverb_tail_at_a_mix_level() {
    let work = scratch();
    let audio = render(work.path(), &root().join("examples/songs/first-light.yaml"), &[]);
    let length = seconds(&audio);
    // The stems run 20 s; the hall (2.4 s RT60) keeps sounding after them, and the render
    // runs until the master decays below -90 dBFS, which a 2.4 s reverb reaches in ~3.6 s.
    assert!(length > 21.0 && length < 30.0, "length {length} s");
    let tail_start = audio.left.len() - (audio.rate / 10) as usize;
    let tail_peak = audio.left[tail_start..]
        .iter()
        .chain(&audio.right[tail_start..])
        .fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(tail_peak < 0.001, "the last 100 ms have faded out: {tail_peak}");
    // An unmastered mix sits some 2 to 12 dB under the -14 LUFS that mastering brings it
    // to, so -26 to -12 LUFS; outside that, a gain or a sum went wrong by a wide margin.
    let lufs = loudness(&audio);
    println!(
        "first-light: {length:.2} s, {lufs:.1} LUFS, peak {:.2} dBFS",
        20.0 * peak(&audio).log10()
    );
    assert!((-26.0..-12.0).contains(&lufs), "integrated loudness {lufs} LUFS");
    // The master has no limiter, but nothing in the mix should push it past full scale.
    assert!(peak(&audio) <= 1.0, "peak {}", peak(&audio));
}

#[test]
fn tidewater_renders_exactly_its_tail_after_the_stems() {
    let work = scratch();
    let audio = render(work.path(), &root().join("examples/songs/tidewater.yaml"), &[]);
    assert_eq!(audio.rate, 48_000, "a mix without `sample_rate` renders at 48 kHz");
    // 15 s stems + `tail: 3 s`.
    assert_eq!(audio.left.len(), 18 * 48_000);
    let lufs = loudness(&audio);
    println!("tidewater: {lufs:.1} LUFS, peak {:.2} dBFS", 20.0 * peak(&audio).log10());
    assert!((-26.0..-12.0).contains(&lufs), "integrated loudness {lufs} LUFS");
    assert!(peak(&audio) <= 1.0, "peak {}", peak(&audio));
}

/// The bass alone, rendered from a copy of first-light with every other track muted and,
/// optionally, the sidechain compressor removed.
fn bass_alone(work: &Path, with_sidechain: bool) -> Audio {
    let text = std::fs::read_to_string(root().join("examples/songs/first-light.yaml")).unwrap();
    let mut edited = String::new();
    let mut track = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            track = name.to_string();
        }
        if !with_sidechain && line.contains("sidechain: kick") {
            continue;
        }
        edited.push_str(line);
        edited.push('\n');
        let is_track_header =
            line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':');
        if is_track_header
            && track != "bass"
            && text.contains(&format!("stems/first-light/{track}"))
        {
            edited.push_str("    mute: true\n");
        }
    }
    let songs = work.join("songs");
    std::fs::create_dir_all(&songs).unwrap();
    let project = songs.join(if with_sidechain { "ducked.yaml" } else { "straight.yaml" });
    std::fs::write(
        &project,
        edited.replace("../stems/", &format!("{}/", root().join("examples/stems").display())),
    )
    .unwrap();
    render(work, &project, &[])
}

#[test]
fn the_kick_ducks_the_bass() {
    let work = scratch();
    let ducked = bass_alone(work.path(), true);
    let straight = bass_alone(work.path(), false);
    let kick = read(&root().join("examples/stems/first-light/kick.flac"));
    // Kick onsets: where the kick stem's level first crosses -20 dBFS after 100 ms of quiet.
    let threshold = 0.1;
    let mut onsets = Vec::new();
    let mut last = -1_000_000i64;
    for (i, x) in kick.left.iter().enumerate() {
        if x.abs() > threshold && i as i64 - last > 4800 {
            onsets.push(i);
        }
        if x.abs() > threshold {
            last = i as i64;
        }
    }
    assert!(onsets.len() >= 8, "the kick stem has hits: {}", onsets.len());
    let energy = |a: &Audio, from: usize, len: usize| -> f64 {
        a.left[from..from + len].iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>()
    };
    // Bass energy in the 40 ms after each kick, ducked against straight.
    let window = 1920;
    let (mut ducked_sum, mut straight_sum) = (0.0, 0.0);
    for &onset in &onsets {
        ducked_sum += energy(&ducked, onset + 96, window);
        straight_sum += energy(&straight, onset + 96, window);
    }
    let duck_db = 10.0 * (ducked_sum / straight_sum).log10();
    println!("bass under {} kicks: {duck_db:.1} dB", onsets.len());
    assert!(duck_db < -3.0, "the bass dips under the kick by {duck_db:.1} dB");
}
