//! Range checks on the levels a mix sets and on its length, which the unit types cannot
//! make on their own: a fader and a compressor threshold are both [`Decibels`], but only a
//! level that amplifies has a most (a fader, a send, a clip's gain, a chain's `gain:` step
//! and a compressor's makeup). Checked over the values as loaded, so every point of an
//! automation list is reported at its own line.
//!
//! Nothing here reads files or knows a processor's settings.

use crate::diag::Diagnostic;
use crate::project::LoadedMix;
use crate::project::RawStep;
use crate::units::{Decibels, Param};

/// The loudest a fader, a send or a clip may be set (+48 dB, 250 times the amplitude):
/// twice what a console's trim offers, and far past what a mix needs.
pub const MAX_LEVEL_DB: f64 = 48.0;

/// Every level above [`MAX_LEVEL_DB`] and a `length:` of zero, located.
pub(super) fn check_levels(loaded: &LoadedMix) -> Vec<Diagnostic> {
    let raw = &loaded.raw;
    let mut levels: Vec<(String, &'static str, &Param<Decibels>)> = Vec::new();
    for (name, track) in &raw.tracks {
        levels.extend(track.gain.as_ref().map(|g| (format!("tracks.{name}.gain"), "a fader", g)));
        for (i, send) in track.sends.iter().enumerate() {
            let path = format!("tracks.{name}.sends[{i}].level");
            levels.extend(send.level.as_ref().map(|l| (path, "a send", l)));
        }
    }
    for (name, bus) in &raw.buses {
        levels.extend(bus.gain.as_ref().map(|g| (format!("buses.{name}.gain"), "a fader", g)));
        for (i, send) in bus.sends.iter().enumerate() {
            let path = format!("buses.{name}.sends[{i}].level");
            levels.extend(send.level.as_ref().map(|l| (path, "a send", l)));
        }
    }
    levels.extend(raw.master.gain.as_ref().map(|g| ("master.gain".to_owned(), "a fader", g)));
    for (name, track) in &raw.tracks {
        chain_levels(&format!("tracks.{name}.chain"), &track.chain, &mut levels);
    }
    for (name, bus) in &raw.buses {
        chain_levels(&format!("buses.{name}.chain"), &bus.chain, &mut levels);
    }
    chain_levels("master.chain", &raw.master.chain, &mut levels);
    let mut found: Vec<Diagnostic> = levels
        .into_iter()
        .flat_map(|(path, what, level)| too_loud(loaded, &path, what, level))
        .collect();
    let clips = raw.tracks.iter().flat_map(|(name, track)| {
        let clips = track.clips.iter().flatten().enumerate();
        clips.filter_map(move |(i, clip)| {
            Some((format!("tracks.{name}.clips[{i}].gain"), clip.gain?))
        })
    });
    for (path, gain) in clips {
        found.extend(too_loud(loaded, &path, "a clip's gain", &Param::Constant(gain)));
    }
    if raw.length.is_some_and(|length| length.0 == 0.0) {
        found.push(
            Diagnostic::error("zero-length", "a `length:` of 0 s renders an empty file")
                .at(loaded.locate("length"), Some("length".to_owned()))
                .with_label("renders nothing")
                .with_help(
                    "give the mix's length, or remove `length:` to render until it dies away",
                ),
        );
    }
    found
}

/// The levels that amplify in `chain` (written at `path`), inside parallel branches too.
fn chain_levels<'a>(
    path: &str,
    chain: &'a [RawStep],
    levels: &mut Vec<(String, &'static str, &'a Param<Decibels>)>,
) {
    for (i, step) in chain.iter().enumerate() {
        match step {
            RawStep::Gain(gain) => {
                levels.push((format!("{path}[{i}].gain"), "a gain step", &gain.0));
            }
            RawStep::Compressor(spec) => levels.push((
                format!("{path}[{i}].compressor.makeup"),
                "a compressor's makeup",
                &spec.makeup,
            )),
            RawStep::Parallel(branches) => {
                for (b, branch) in branches.iter().enumerate() {
                    chain_levels(&format!("{path}[{i}].parallel[{b}]"), branch, levels);
                }
            }
            _ => {}
        }
    }
}

/// The error for each point of `level` (written at `path`) above the most.
fn too_loud(
    loaded: &LoadedMix,
    path: &str,
    what: &str,
    level: &Param<Decibels>,
) -> Vec<Diagnostic> {
    let points = level.points();
    let automated = matches!(level, Param::Automated(_));
    points
        .iter()
        .enumerate()
        .filter(|(_, (_, db))| *db > MAX_LEVEL_DB)
        .map(|(i, &(_, db))| {
            let at = if automated { format!("{path}[{i}][1]") } else { path.to_owned() };
            Diagnostic::error(
                "level-out-of-range",
                format!("{what} can be at most +{MAX_LEVEL_DB} dB, not +{}", Decibels(db)),
            )
            .at(loaded.locate(&at), Some(at))
            .with_label("too loud")
            .with_help(format!("levels run from -inf dB to +{MAX_LEVEL_DB} dB"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::project::parse_mix;

    fn found(text: &str) -> Vec<(String, usize)> {
        let loaded = parse_mix(Path::new("song.yaml"), text).unwrap();
        check_levels(&loaded)
            .into_iter()
            .map(|d| (d.yaml_path.unwrap(), d.location.unwrap().line))
            .collect()
    }

    #[test]
    fn a_level_up_to_the_most_is_fine() {
        let text = "mix: A\ntracks:\n  a: { source: a.wav, gain: 48 dB, sends: [ { to: v, level: 0 dB } ] }\nbuses:\n  v: { gain: -inf dB }\nmaster: { gain: 12 dB }\nlength: 0.1\n";
        assert_eq!(found(text), []);
    }

    #[test]
    fn every_fader_send_and_clip_gain_past_the_most_is_reported_at_its_line() {
        let text = "mix: A\ntracks:\n  a:\n    source: a.wav\n    gain: 500 dB\n    sends:\n      - { to: v, level: +49 dB }\n  b:\n    clips: [ { file: b.wav, gain: 60 dB } ]\nbuses:\n  v:\n    gain: 100\nmaster:\n  gain: 48.5 dB\n";
        let paths: Vec<String> = found(text).into_iter().map(|(path, _)| path).collect();
        assert_eq!(
            paths,
            [
                "tracks.a.gain",
                "tracks.a.sends[0].level",
                "buses.v.gain",
                "master.gain",
                "tracks.b.clips[0].gain",
            ]
        );
    }

    #[test]
    fn an_automation_point_past_the_most_is_reported_at_its_own_line() {
        let text = "mix: A\ntracks:\n  a:\n    source: a.wav\n    gain:\n      - [0, -6 dB]\n      - [1, 500 dB]\n      - [2, 0 dB]\n";
        assert_eq!(found(text), [("tracks.a.gain[1][1]".to_owned(), 7)]);
    }

    #[test]
    fn gain_steps_and_makeup_past_the_most_are_reported_in_every_chain_and_branch() {
        let text = "\
mix: A
tracks:
  a:
    source: a.wav
    chain:
      - gain: 48 dB
      - gain: [[0, 0 dB], [1, 49 dB]]
      - compressor: { threshold: -20 dB, ratio: 2, makeup: 60 dB }
buses:
  v:
    chain:
      - parallel:
          - []
          - [ { gain: -3 dB }, { compressor: { threshold: -9 dB, ratio: 4, makeup: [[0, 3 dB], [2, 100 dB]] } } ]
master:
  chain:
    - gain: +500 dB
";
        assert_eq!(
            found(text),
            [
                ("tracks.a.chain[1].gain[1][1]".to_owned(), 7),
                ("tracks.a.chain[2].compressor.makeup".to_owned(), 8),
                ("buses.v.chain[0].parallel[1][1].compressor.makeup[1][1]".to_owned(), 14),
                ("master.chain[0].gain".to_owned(), 17),
            ]
        );
    }

    #[test]
    fn a_length_of_zero_is_an_error_at_its_line() {
        assert_eq!(found("mix: A\ntracks: {}\nlength: 0 s\n"), [("length".to_owned(), 3)]);
    }
}
