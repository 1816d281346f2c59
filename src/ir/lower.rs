//! Lowering: raw model → resolved mix, with every error collected in one pass.

mod assertions;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::deliver::lower_delivery;
use super::levels::check_levels;
use super::routing::{Edge, find_cycle};
use super::{
    Bus, Clip, ContentDigest, ContentDigests, DEFAULT_CUT_FADE_SECONDS, DEFAULT_SAMPLE_RATE, Fader,
    Length, MASTER, Master, Mix, Normalisation, ResolvedFile, Send, Step, Target, Track,
    TrackInput,
};
use crate::diag::{Diagnostic, suggest};
use crate::project::{LoadedMix, RawSend, RawStep};
use crate::units::{Decibels, Pan, Param};

/// Resolves `loaded`. Returns the mix and every diagnostic found (warnings included). A
/// mix with errors is complete but not to be rendered: whatever was wrong stands in as
/// something harmless (an unknown bus as the master, a missing file as its path).
///
/// Each file a chain step reads is resolved once, with the digest `digests` gives of its
/// bytes (a missing or unreadable one stands in as an all-zero digest, with its error).
#[must_use]
pub fn lower(loaded: &LoadedMix, digests: &mut dyn ContentDigests) -> (Mix, Vec<Diagnostic>) {
    let mut cx = Lowering { loaded, digests, diagnostics: check_levels(loaded) };
    let mix = cx.mix();
    cx.diagnostics.sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.column)));
    (mix, cx.diagnostics)
}

struct Lowering<'a> {
    loaded: &'a LoadedMix,
    digests: &'a mut dyn ContentDigests,
    diagnostics: Vec<Diagnostic>,
}

impl Lowering<'_> {
    fn error(&mut self, code: &'static str, yaml_path: &str, message: String) -> &mut Diagnostic {
        let location = self.loaded.locate(yaml_path);
        self.diagnostics
            .push(Diagnostic::error(code, message).at(location, Some(yaml_path.into())));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn error_at_key(
        &mut self,
        code: &'static str,
        yaml_path: &str,
        message: String,
    ) -> &mut Diagnostic {
        let location = self.loaded.locate_key(yaml_path);
        self.diagnostics
            .push(Diagnostic::error(code, message).at(location, Some(yaml_path.into())));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn mix(&mut self) -> Mix {
        let raw = &self.loaded.raw;
        if raw.tracks.is_empty() {
            self.error("no-tracks", "tracks", "the mix has no tracks".into()).help =
                Some("add a `tracks:` map, e.g. `tracks: { kick: { source: kick.wav } }`".into());
        }
        self.check_names();
        let any_solo = raw.tracks.values().any(|t| t.solo);
        let tracks = raw.tracks.iter().map(|(name, t)| {
            let path = format!("tracks.{name}");
            let input = self.track_input(&path, t);
            Track {
                name: name.clone(),
                input,
                polarity: t.polarity,
                chain: self.chain(&format!("{path}.chain"), &t.chain),
                fader: fader(t.gain.as_ref(), t.pan.as_ref()),
                to: self.target(&path, t.to.as_deref()),
                sends: self.sends(&path, name, &t.sends),
                audible: !t.mute && (!any_solo || t.solo),
            }
        });
        let tracks: Vec<Track> = tracks.collect();
        if any_solo {
            let soloed: Vec<&str> = tracks
                .iter()
                .filter(|t| raw.tracks[&t.name].solo)
                .map(|t| t.name.as_str())
                .collect();
            let first = format!("tracks.{}.solo", soloed[0]);
            let location = self.loaded.locate(&first);
            self.diagnostics.push(
                Diagnostic::warning(
                    "solo-active",
                    format!("solo is on ({}); every other track is silent", soloed.join(", ")),
                )
                .at(location, Some(first))
                .with_help("remove `solo: true` before delivering the mix"),
            );
        }
        let buses: Vec<Bus> = raw
            .buses
            .iter()
            .map(|(name, b)| {
                let path = format!("buses.{name}");
                Bus {
                    name: name.clone(),
                    chain: self.chain(&format!("{path}.chain"), &b.chain),
                    fader: fader(b.gain.as_ref(), b.pan.as_ref()),
                    to: self.target(&path, b.to.as_deref()),
                    sends: self.sends(&path, name, &b.sends),
                    audible: !b.mute,
                }
            })
            .collect();
        self.check_sidechains();
        // A name clash already explains any loop it makes; reporting both would confuse.
        if !self.diagnostics.iter().any(|d| d.code == "duplicate-name") {
            self.check_cycles(&tracks, &buses);
        }
        let sample_rate = raw.sample_rate.map_or(DEFAULT_SAMPLE_RATE, |r| r.0);
        let (release, mut deliver) =
            lower_delivery(raw, sample_rate, &mut |path, message, help| {
                self.error("deliver", path, message).help = help;
            });
        let loudness = raw.master.loudness.as_ref().map(Normalisation::resolve);
        // Every file the mix delivers is held under the ceiling its master is limited to.
        if let Some(normalisation) = &loudness {
            for target in &mut deliver {
                target.ceiling_dbtp = normalisation.ceiling_dbtp;
            }
        }
        let assertions = self.assertions();
        Mix {
            title: raw.mix.clone(),
            id: mix_id(&self.loaded.path),
            sample_rate,
            length: match (raw.length, raw.tail) {
                (Some(length), _) => Length::Exact(length.0),
                (None, Some(tail)) => Length::Tail(tail.0),
                (None, None) => Length::Natural,
            },
            cut_fade_seconds: raw.length_fade.map_or(DEFAULT_CUT_FADE_SECONDS, |f| f.0),
            tracks,
            buses,
            master: Master {
                gain: raw.master.gain.clone().unwrap_or(Param::Constant(Decibels(0.0))),
                chain: self.chain("master.chain", &raw.master.chain),
                loudness,
            },
            release,
            deliver,
            assertions,
        }
    }

    fn check_names(&mut self) {
        let raw = &self.loaded.raw;
        let names: Vec<(String, &str)> = raw
            .tracks
            .keys()
            .map(|n| (format!("tracks.{n}"), n.as_str()))
            .chain(raw.buses.keys().map(|n| (format!("buses.{n}"), n.as_str())))
            .collect();
        for (path, name) in &names {
            if *name == MASTER {
                self.error_at_key(
                    "reserved-name",
                    path,
                    format!("`{MASTER}` is the master bus and cannot name a track or bus"),
                )
                .help = Some("pick another name; use `to: master` to feed the master".into());
            } else if name.is_empty() || name.contains(['/', '\\', ' ', '\t']) {
                self.error_at_key("invalid-name", path, format!("`{name}` is not a valid name"))
                    .help = Some("names may not be empty or contain spaces or slashes".into());
            }
        }
        for name in raw.buses.keys().filter(|n| raw.tracks.contains_key(*n)) {
            self.error_at_key(
                "duplicate-name",
                &format!("buses.{name}"),
                format!("`{name}` names both a track and a bus"),
            )
            .help = Some("track and bus names share one namespace; rename one".into());
        }
    }

    fn track_input(&mut self, path: &str, t: &crate::project::RawTrack) -> TrackInput {
        match (&t.source, &t.clips) {
            (Some(source), None) => {
                TrackInput::Source(self.file(&format!("{path}.source"), source))
            }
            (None, Some(clips)) => {
                if clips.is_empty() {
                    self.error("no-clips", &format!("{path}.clips"), "`clips` is empty".into())
                        .help = Some("add clips, or use `source:` for a single file".into());
                }
                let clips = clips
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let clip_path = format!("{path}.clips[{i}]");
                        let fade_in = c.fade_in.map_or(0.0, |f| f.0);
                        let fade_out = c.fade_out.map_or(0.0, |f| f.0);
                        if let Some(length) = c.length
                            && fade_in + fade_out > length.0
                        {
                            self.error("fades-too-long", &clip_path, format!(
                                "the fades ({fade_in} s + {fade_out} s) are longer than the clip ({} s)", length.0
                            ))
                            .help = Some("shorten `fade_in`/`fade_out` or lengthen the clip".into());
                        }
                        Clip {
                            file: self.file(&format!("{clip_path}.file"), &c.file),
                            at: c.at.map_or(0.0, |a| a.0),
                            start: c.start.map_or(0.0, |s| s.0),
                            length: c.length.map(|l| l.0),
                            fade_in,
                            fade_out,
                            gain_db: c.gain.unwrap_or(Decibels(0.0)),
                        }
                    })
                    .collect();
                TrackInput::Clips(clips)
            }
            (Some(_), Some(_)) => {
                self.error(
                    "track-input",
                    &format!("{path}.clips"),
                    "a track has either `source` or `clips`, not both".into(),
                )
                .help = Some("move the source into a clip, or drop `clips`".into());
                TrackInput::Clips(Vec::new())
            }
            (None, None) => {
                self.error_at_key(
                    "track-input",
                    path,
                    "the track has no audio: give it `source:` or `clips:`".into(),
                )
                .help = Some("e.g. `source: stems/kick.wav`".into());
                TrackInput::Clips(Vec::new())
            }
        }
    }

    /// A lowered chain, with the files its steps read resolved.
    fn chain(&mut self, yaml_path: &str, steps: &[RawStep]) -> Vec<Step> {
        let mut lowered = Vec::with_capacity(steps.len());
        for (i, raw) in steps.iter().enumerate() {
            let mut resolve = |at: &str, written: &str| self.resolve(at, written);
            lowered.push(Step::lower(raw, &format!("{yaml_path}[{i}]"), &mut resolve));
        }
        lowered
    }

    /// A file a step reads: resolved against the project file, checked, and its bytes'
    /// digest taken.
    fn resolve(&mut self, yaml_path: &str, written: &str) -> ResolvedFile {
        let path = self.file(yaml_path, written);
        let content = if path.is_file() {
            self.digests.digest(&path).unwrap_or_else(|e| {
                self.error(
                    "unreadable-file",
                    yaml_path,
                    format!("cannot read `{}`: {e}", path.display()),
                )
                .with_label_in_place("cannot be read")
                .help = Some("check that the file is readable, or point to another file".into());
                ContentDigest::default()
            })
        } else {
            ContentDigest::default()
        };
        ResolvedFile { path, content }
    }

    /// Resolves a file relative to the project file and checks that it exists.
    fn file(&mut self, yaml_path: &str, written: &str) -> PathBuf {
        let base = self.loaded.path.parent().unwrap_or(Path::new("."));
        let resolved = tidy(&base.join(written));
        if !resolved.is_file() {
            let help = missing_file_help(&resolved, written, base);
            self.error(
                "missing-file",
                yaml_path,
                format!("no audio file at `{}`", resolved.display()),
            )
            .with_label_in_place("file not found")
            .help = Some(help);
        }
        resolved
    }

    fn bus_names(&self) -> Vec<&str> {
        self.loaded.raw.buses.keys().map(String::as_str).collect()
    }

    fn target(&mut self, path: &str, to: Option<&str>) -> Target {
        let Some(to) = to else { return Target::Master };
        if to == MASTER {
            return Target::Master;
        }
        if self.loaded.raw.buses.contains_key(to) {
            return Target::Bus(to.to_string());
        }
        let is_track = self.loaded.raw.tracks.contains_key(to);
        let buses: Vec<String> =
            self.bus_names().iter().map(|s| (*s).to_string()).chain([MASTER.to_string()]).collect();
        let help = if is_track {
            Some(format!("`{to}` is a track; route to a bus, or add a bus named `{to}`"))
        } else {
            suggest(to, buses.iter().map(String::as_str))
        };
        self.error(
            "unknown-bus",
            &format!("{path}.to"),
            format!("`to` names unknown bus `{to}`"),
        )
        .with_label_in_place(&format!("no bus named `{to}`"))
        .help = help.or_else(|| Some(format!("known buses: {}", buses.join(", "))));
        Target::Master
    }

    fn sends(&mut self, path: &str, owner: &str, sends: &[RawSend]) -> Vec<Send> {
        sends
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let send_path = format!("{path}.sends[{i}].to");
                if s.to == owner {
                    self.error("send-to-self", &send_path, format!("`{owner}` sends to itself"))
                        .help = Some("a bus cannot feed its own input; send to another bus".into());
                    return None;
                }
                if !self.loaded.raw.buses.contains_key(&s.to) {
                    let help = suggest(&s.to, self.bus_names()).unwrap_or_else(|| {
                        format!("sends go to buses; known buses: {}", self.bus_names().join(", "))
                    });
                    self.error(
                        "unknown-send-target",
                        &send_path,
                        format!("send targets unknown bus `{}`", s.to),
                    )
                    .with_label_in_place(&format!("no bus named `{}`", s.to))
                    .help = Some(help);
                    return None;
                }
                Some(Send {
                    to: s.to.clone(),
                    level: s.level.clone().unwrap_or(Param::Constant(Decibels(0.0))),
                    pre_fader: s.pre_fader,
                })
            })
            .collect()
    }

    /// Every sidechain names a track or bus other than its owner.
    fn check_sidechains(&mut self) {
        let raw = &self.loaded.raw;
        let names: BTreeSet<&str> =
            raw.tracks.keys().chain(raw.buses.keys()).map(String::as_str).collect();
        for (owner, step_path, name) in sidechain_uses(self.loaded) {
            if name == owner {
                self.error(
                    "sidechain-self",
                    &step_path,
                    format!("`{owner}` keys its own sidechain"),
                )
                .help = Some("a sidechain listens to another track or bus".into());
            } else if !names.contains(name.as_str()) {
                let help = suggest(&name, names.iter().copied())
                    .unwrap_or_else(|| "a sidechain names a track or bus of this mix".into());
                self.error(
                    "unknown-sidechain",
                    &step_path,
                    format!("sidechain names unknown track or bus `{name}`"),
                )
                .help = Some(help);
            }
        }
    }

    fn check_cycles(&mut self, tracks: &[Track], buses: &[Bus]) {
        let mut edges = Vec::new();
        let mut route = |from: &str, to: &Target, sends: &[Send], path: &str| {
            if let Target::Bus(b) = to {
                edges.push(Edge {
                    from: from.into(),
                    to: b.clone(),
                    yaml_path: format!("{path}.to"),
                });
            }
            for (i, s) in sends.iter().enumerate() {
                edges.push(Edge {
                    from: from.into(),
                    to: s.to.clone(),
                    yaml_path: format!("{path}.sends[{i}].to"),
                });
            }
        };
        for t in tracks {
            route(&t.name, &t.to, &t.sends, &format!("tracks.{}", t.name));
        }
        for b in buses {
            route(&b.name, &b.to, &b.sends, &format!("buses.{}", b.name));
        }
        for (owner, step_path, name) in sidechain_uses(self.loaded) {
            if name != owner {
                edges.push(Edge { from: name, to: owner, yaml_path: step_path });
            }
        }
        if let Some((names, closing)) = find_cycle(&edges) {
            self.error(
                "routing-cycle",
                &closing.yaml_path,
                format!("routing cycle: {}", names.join(" → ")),
            )
            .help = Some(
                "nothing may depend on its own output through routing, sends or sidechains; break one link of the loop".into(),
            );
        }
    }
}

impl Diagnostic {
    fn with_label_in_place(&mut self, label: &str) -> &mut Self {
        self.label = Some(label.to_string());
        self
    }
}

/// (owner name, step path, sidechain name) for every sidechain in the mix.
fn sidechain_uses(loaded: &LoadedMix) -> Vec<(String, String, String)> {
    let raw = &loaded.raw;
    let chains = raw
        .tracks
        .iter()
        .map(|(n, t)| (format!("tracks.{n}"), n.clone(), &t.chain))
        .chain(raw.buses.iter().map(|(n, b)| (format!("buses.{n}"), n.clone(), &b.chain)))
        .chain([(MASTER.to_string(), MASTER.to_string(), &raw.master.chain)]);
    let mut uses = Vec::new();
    for (path, owner, chain) in chains {
        for (i, step) in chain.iter().enumerate() {
            let names = step.sidechains();
            let step_path = format!("{path}.chain[{i}].{}.sidechain", step.kind());
            uses.extend(
                names.into_iter().map(|n| (owner.clone(), step_path.clone(), n.to_string())),
            );
        }
    }
    uses
}

fn fader(gain: Option<&Param<Decibels>>, pan: Option<&Param<Pan>>) -> Fader {
    Fader {
        gain: gain.cloned().unwrap_or(Param::Constant(Decibels(0.0))),
        pan: pan.cloned().unwrap_or(Param::Constant(Pan(0.0))),
    }
}

/// What to tell of a file `written` in the project file in `base` that is not at
/// `resolved`: the nearest name in its folder, or where paths start from.
pub(super) fn missing_file_help(resolved: &Path, written: &str, base: &Path) -> String {
    let siblings = resolved
        .parent()
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|entries| {
            entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let file_name = resolved.file_name().and_then(|n| n.to_str()).unwrap_or(written);
    suggest(file_name, siblings.iter().map(String::as_str)).unwrap_or_else(|| {
        format!("paths are relative to the project file's folder (`{}`)", base.display())
    })
}

/// `a/b/../c` → `a/c`, lexically (the file system is not asked), so paths in messages and
/// node ids read the way the user would write them.
pub(super) fn tidy(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The project file's stem, used in node ids and output names.
fn mix_id(path: &Path) -> String {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("mix").to_string()
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::project::load_mix;

    const MIX: &str = "mix: Room\ntracks:\n  a:\n    source: a.wav\n    chain:\n      - convolution: { ir: irs/plate.wav }\n";

    fn lowered_with(digests: &mut dyn ContentDigests) -> (Mix, Vec<Diagnostic>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("irs")).unwrap();
        std::fs::write(dir.path().join("a.wav"), b"").unwrap();
        std::fs::write(dir.path().join("irs/plate.wav"), b"").unwrap();
        std::fs::write(dir.path().join("song.yaml"), MIX).unwrap();
        let loaded = load_mix(&dir.path().join("song.yaml")).unwrap();
        lower(&loaded, digests)
    }

    #[test]
    fn a_file_a_step_reads_is_lowered_with_its_digest() {
        let mut asked = Vec::new();
        let mut digests = |path: &Path| {
            asked.push(path.to_path_buf());
            Ok(ContentDigest([3; 32]))
        };
        let (mix, diagnostics) = lowered_with(&mut digests);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let files = mix.tracks[0].chain[0].files();
        assert_eq!(files.len(), 1);
        assert!(files[0].path.ends_with("irs/plate.wav"), "{}", files[0].path.display());
        assert_eq!(files[0].content, ContentDigest([3; 32]));
        assert_eq!(asked, [files[0].path.clone()]);
    }

    #[test]
    fn an_unreadable_file_is_an_error_at_the_line_that_names_it() {
        let mut digests =
            |_: &Path| Err::<ContentDigest, _>(io::Error::from(io::ErrorKind::PermissionDenied));
        let (_, diagnostics) = lowered_with(&mut digests);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        let error = &diagnostics[0];
        assert_eq!(error.code, "unreadable-file");
        assert_eq!(error.yaml_path.as_deref(), Some("tracks.a.chain[0].convolution.ir"));
        assert_eq!(error.location.as_ref().map(|l| l.line), Some(6));
    }
}
