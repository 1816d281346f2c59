//! The mixing engine measured end to end: pan law, faders and their automation, latency
//! compensation, convolution with an impulse response file, clip placement and fades, and
//! the `--only`/`--dry-run` options.

use std::path::Path;

use mixdown::audio::wav::{WavFormat, WavWriter};

use crate::support::{mixdown, read_audio, scratch, stderr};

const RATE: u32 = 48_000;

/// Writes a mono-content file: the same `samples` on both channels, or one channel when
/// `mono` (a real mono file).
fn write_mono(path: &Path, samples: &[f32]) {
    let mut w = WavWriter::create(path, RATE, WavFormat::Float32).unwrap();
    w.write(samples, samples).unwrap();
    w.finish().unwrap();
}

fn render(dir: &Path, yaml: &str) -> (Vec<f32>, Vec<f32>) {
    std::fs::write(dir.join("song.yaml"), yaml).unwrap();
    let out = mixdown(dir, &["render", "song.yaml", "--format", "float32"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, left, right) = read_audio(&dir.join("out/song.wav"));
    (left, right)
}

fn constant(value: f32, frames: usize) -> Vec<f32> {
    vec![value; frames]
}

#[test]
fn a_centred_source_is_3_db_down_on_each_side_and_a_hard_pan_silences_the_other() {
    let work = scratch();
    write_mono(&work.path().join("dc.wav"), &constant(0.5, 4800));
    let (l, r) = render(
        work.path(),
        "mix: Pan\nlength: 0.1 s\ntracks:\n  a: { source: dc.wav }\n  b: { source: dc.wav, pan: 100% left, gain: -6 dB }\n",
    );
    // a: 0.5 · cos(π/4) on both sides; b: 0.5 · 10^(-6/20) on the left only.
    let b = 0.5 * 10f32.powf(-6.0 / 20.0);
    let a = 0.5 * std::f32::consts::FRAC_1_SQRT_2;
    assert!((l[100] - (a + b)).abs() < 1e-6, "{}", l[100]);
    assert!((r[100] - a).abs() < 1e-6, "{}", r[100]);
}

#[test]
fn fader_automation_ramps_in_db_between_its_points() {
    let work = scratch();
    write_mono(&work.path().join("dc.wav"), &constant(1.0, 48_000));
    let (l, _) = render(
        work.path(),
        "mix: Ride\nlength: 1 s\ntracks:\n  a: { source: dc.wav, pan: 100% left, gain: [[0 s, -20 dB], [1 s, 0 dB]] }\n",
    );
    for (frame, db) in [(0usize, -20.0f32), (12_000, -15.0), (24_000, -10.0), (36_000, -5.0)] {
        let measured = 20.0 * l[frame].log10();
        assert!((measured - db).abs() < 1e-3, "frame {frame}: {measured} dB, expected {db} dB");
    }
}

#[test]
fn a_fader_before_a_reverb_scales_its_return_and_leaves_the_room_as_it_was() {
    let work = scratch();
    // A burst of tone, then silence for the tail.
    let burst: Vec<f32> = (0..48_000)
        .map(|i| if i < 4_800 { 0.5 * (i as f32 * 0.0731).sin() } else { 0.0 })
        .collect();
    write_mono(&work.path().join("burst.wav"), &burst);
    let project = |fader_db: f32| {
        format!(
            "mix: Room\nlength: 1 s\ntracks:\n  a: {{ source: burst.wav, gain: {fader_db} dB, to: room }}\nbuses:\n  room:\n    chain:\n      - reverb: {{ size: 70%, decay: 1.2 s }}\n"
        )
    };
    let (left, right) = render(work.path(), &project(0.0));
    let (quiet_left, quiet_right) = render(work.path(), &project(-6.0));
    // The reverb is linear, so its return scales with its input, up to f32 rounding, as
    // long as the room (its modulation included) is the same one.
    let g = 10f32.powf(-6.0 / 20.0);
    let peak = left.iter().chain(&right).fold(0.0f32, |m, x| m.max(x.abs()));
    let worst = left
        .iter()
        .chain(&right)
        .zip(quiet_left.iter().chain(&quiet_right))
        .fold(0.0f32, |m, (loud, quiet)| m.max((quiet - g * loud).abs()));
    assert!(peak > 0.05, "the reverb returned {peak}");
    assert!(worst < 1e-5 * peak, "off by {worst} of a peak of {peak}");
}

#[test]
fn a_lookahead_limiter_does_not_move_the_music_in_time() {
    let work = scratch();
    let mut click = vec![0.0f32; 9600];
    click[4000] = 0.25;
    write_mono(&work.path().join("click.wav"), &click);
    let (l, _) = render(
        work.path(),
        "mix: Latency\nlength: 0.2 s\ntracks:\n  a:\n    source: click.wav\n    pan: 100% left\n    chain: [ { limiter: { ceiling: -1 dB, lookahead: 5 ms } } ]\n",
    );
    let peak = l
        .iter()
        .enumerate()
        .fold((0, 0.0f32), |m, (i, x)| if x.abs() > m.1 { (i, x.abs()) } else { m });
    assert_eq!(peak.0, 4000, "the click stays at frame 4000 after a 240-frame lookahead");
    assert!((peak.1 - 0.25).abs() < 1e-6, "a quiet click passes untouched: {}", peak.1);
}

#[test]
fn a_convolution_applies_its_impulse_response_file_in_time() {
    let work = scratch();
    let mut click = vec![0.0f32; 9600];
    click[4000] = 0.5;
    write_mono(&work.path().join("click.wav"), &click);
    let mut taps = vec![0.0f32; 2000];
    taps[0] = 0.5;
    taps[1000] = 0.25;
    std::fs::create_dir(work.path().join("irs")).unwrap();
    write_mono(&work.path().join("irs/taps.wav"), &taps);
    let (l, _) = render(
        work.path(),
        "mix: Room\nlength: 0.2 s\ntracks:\n  a:\n    source: click.wav\n    pan: 100% left\n    chain: [ { convolution: { ir: irs/taps.wav } } ]\n",
    );
    // The engine compensates the convolver's latency, so the taps land on the click's
    // frame and 1000 frames later. f32 FFT rounding: within 1e-6.
    assert!((l[4000] - 0.25).abs() < 1e-6, "{}", l[4000]);
    assert!((l[5000] - 0.125).abs() < 1e-6, "{}", l[5000]);
    let elsewhere = l.iter().enumerate().filter(|&(i, _)| i != 4000 && i != 5000);
    assert!(elsewhere.map(|(_, x)| x.abs()).fold(0.0, f32::max) < 1e-6);
}

#[test]
fn clips_land_on_their_frames_with_sample_accurate_fades() {
    let work = scratch();
    write_mono(&work.path().join("dc.wav"), &constant(1.0, 48_000));
    let (l, _) = render(
        work.path(),
        "mix: Clips\nlength: 1 s\ntracks:\n  a:\n    pan: 100% left\n    clips:\n      - { file: dc.wav, at: 0.1 s, start: 0.5 s, length: 0.2 s, fade_in: 10 ms, fade_out: 20 ms, gain: -6 dB }\n",
    );
    let g = 10f32.powf(-6.0 / 20.0);
    assert_eq!(l[4799], 0.0, "nothing before the clip");
    assert_eq!(l[4800], 0.0, "the fade-in starts from silence on the clip's first frame");
    assert!((l[4800 + 240] - 0.5 * g).abs() < 1e-6, "halfway through the 480-frame fade-in");
    assert!((l[4800 + 480] - g).abs() < 1e-6, "full level after the fade-in");
    assert!((l[4800 + 9600 - 1]).abs() < 1e-6, "the fade-out ends at silence on the last frame");
    assert_eq!(l[4800 + 9600], 0.0, "nothing after the clip");
}

#[test]
fn only_renders_the_named_node_into_a_file_of_its_own_and_dry_run_renders_nothing() {
    let work = scratch();
    write_mono(&work.path().join("dc.wav"), &constant(0.5, 4800));
    std::fs::write(
        work.path().join("song.yaml"),
        "mix: Only\ntracks:\n  a: { source: dc.wav }\n  b: { source: dc.wav, gain: -3 dB }\n",
    )
    .unwrap();
    let dry = mixdown(work.path(), &["render", "song.yaml", "--dry-run"]);
    let plan = String::from_utf8(dry.stdout).unwrap();
    assert!(
        plan.contains("render  song/track/a") && plan.contains("render  song/output"),
        "{plan}"
    );
    let entries = std::fs::read_dir(work.path().join("cache/entries")).map_or(0, Iterator::count);
    assert!(!work.path().join("out").exists() && entries == 0, "a dry run writes nothing");
    let only =
        mixdown(work.path(), &["render", "song.yaml", "--only", "song/track/a", "--verbose"]);
    assert!(only.status.success(), "{}", stderr(&only));
    assert_eq!(crate::support::ran(&only), vec!["song/track/a", "song/track/a/solo"]);
    let (rate, left, _) = read_audio(&work.path().join("out/a.wav"));
    assert_eq!((rate, left.len()), (48_000, 4800), "the track's own audio, playable");
    assert!(!work.path().join("out/song.wav").exists(), "the mix itself is not rendered");
    let typo = mixdown(work.path(), &["render", "song.yaml", "--only", "song/track/aa"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("did you mean `song/track/a`?"), "{}", stderr(&typo));
}

/// A 1 kHz sine at half scale, one second long.
fn sine_second() -> Vec<f32> {
    (0..RATE as usize)
        .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / RATE as f32).sin())
        .collect()
}

#[test]
fn a_length_cut_fades_out_to_silence_instead_of_clicking() {
    let work = scratch();
    write_mono(&work.path().join("sine.wav"), &sine_second());
    let mix = "mix: Cut\nlength: 0.5 s\ntracks:\n  a: { source: sine.wav, pan: 100% left }\n";
    let (faded, _) = render(work.path(), mix);
    let (hard, _) =
        render(work.path(), &mix.replace("length: 0.5 s", "length: 0.5 s\nlength_fade: 0 ms"));
    assert_eq!((faded.len(), hard.len()), (24_000, 24_000));
    let peak = |x: &[f32]| x.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak(&hard[24_000 - 48..]) > 0.4, "the hard cut ends at full level");
    assert_eq!(faded[24_000 - 1], 0.0, "the last sample is silent");
    assert!(peak(&faded[24_000 - 24..]) < 0.02, "the last 0.5 ms is near silence");
    let fade_start = 24_000 - 240;
    assert_eq!(faded[..fade_start], hard[..fade_start], "only the last 5 ms are faded");
    let (longer, _) =
        render(work.path(), &mix.replace("length: 0.5 s", "length: 0.5 s\nlength_fade: 20 ms"));
    assert_eq!(longer[..24_000 - 960], hard[..24_000 - 960], "the fade is as long as asked");
    assert_ne!(longer[24_000 - 480], hard[24_000 - 480]);
}

#[test]
fn a_hard_cut_is_the_uncut_render_stopped_at_the_length() {
    let work = scratch();
    write_mono(&work.path().join("sine.wav"), &sine_second());
    let mix = "mix: Cut\ntracks:\n  a: { source: sine.wav }\n";
    let (whole, _) = render(work.path(), mix);
    let (cut, _) = render(work.path(), &format!("{mix}length: 0.5 s\nlength_fade: 0\n"));
    assert_eq!(cut.len(), 24_000);
    assert_eq!(cut[..], whole[..24_000], "a hard cut changes no sample before it");
}

#[test]
fn quiet_prints_warnings_and_errors_only() {
    let work = scratch();
    write_mono(&work.path().join("dc.wav"), &constant(0.5, 4800));
    let mix = "mix: Quiet\ntracks:\n  a: { source: dc.wav }\n";
    std::fs::write(work.path().join("song.yaml"), mix).unwrap();
    let loud = mixdown(work.path(), &["render", "song.yaml"]);
    assert!(stderr(&loud).contains("rendered 3 of 3 nodes"), "{}", stderr(&loud));
    std::fs::remove_dir_all(work.path().join("out")).unwrap();
    let quiet = mixdown(work.path(), &["render", "song.yaml", "-q"]);
    assert!(quiet.status.success() && work.path().join("out/song.wav").exists());
    assert_eq!(stderr(&quiet), "", "no progress, no summary");
    std::fs::write(work.path().join("song.yaml"), mix.replace("dc.wav }", "dc.wav, solo: true }"))
        .unwrap();
    let warned = mixdown(work.path(), &["render", "song.yaml", "--quiet"]);
    assert!(stderr(&warned).starts_with("warning[solo-active]"), "{}", stderr(&warned));
    assert!(!stderr(&warned).contains("rendered"), "{}", stderr(&warned));
    let broken = mixdown(work.path(), &["render", "song.yaml", "-q", "--only", "nothing"]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(stderr(&broken).contains("error: no node `nothing`"), "{}", stderr(&broken));
}

#[test]
fn check_counts_one_track_as_one_track() {
    let work = scratch();
    write_mono(&work.path().join("dc.wav"), &constant(0.5, 480));
    std::fs::write(work.path().join("song.yaml"), "mix: One\ntracks:\n  a: { source: dc.wav }\n")
        .unwrap();
    let out = mixdown(work.path(), &["check", "song.yaml"]);
    assert!(stderr(&out).contains("song.yaml: ok (1 track, 0 buses, 4 nodes)"), "{}", stderr(&out));
}

#[test]
fn only_takes_the_name_the_mix_uses_and_writes_a_file_named_after_it() {
    let work = scratch();
    write_mono(&work.path().join("dc.wav"), &constant(0.5, 4800));
    std::fs::write(
        work.path().join("song.yaml"),
        "mix: Only\ntracks:\n  a: { source: dc.wav, to: drums }\nbuses:\n  drums: { gain: -6 dB }\n",
    )
    .unwrap();
    for (name, file) in [("drums", "drums"), ("master", "master"), ("track/a", "a")] {
        let out =
            mixdown(work.path(), &["render", "song.yaml", "--only", name, "--format", "float32"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let (_, left, _) = read_audio(&work.path().join(format!("out/{file}.wav")));
        assert_eq!(left.len(), 4800, "{name}");
    }
    // Each file is its node's own audio: the bus pans the track (centre, -3 dB), and the
    // bus's fader belongs to the master that reads it.
    let centre = std::f32::consts::FRAC_1_SQRT_2;
    let audio = |file: &str| read_audio(&work.path().join(format!("out/{file}.wav"))).1[100];
    let (track, bus, master) = (audio("a"), audio("drums"), audio("master"));
    assert!((bus / track - centre).abs() < 1e-5, "{bus} {track}");
    assert!((master / bus - centre * 10f32.powf(-6.0 / 20.0)).abs() < 1e-5, "{master} {bus}");
}
