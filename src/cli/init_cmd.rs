//! `mixdown init [DIR]`: a first mix file from a folder of stems, so that a new user
//! renders something at once. One track per audio file, named after it; tracks whose names
//! say drums (kick, snare, hats…) or vocals (vox, voc…) go to a `drums` or `vocals` bus;
//! the schema is written beside the mix and named in its first line, so an editor completes
//! the file from the start. The result checks and renders as written.
//!
//! Nothing is overwritten: an existing mix file is an error, an existing schema is kept.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::schema::mix_schema;
use super::{EXIT_FAILURE, EXIT_INVALID, EXIT_OK, counted};
use crate::atomic_file;

/// The extensions of the audio files a mix reads.
const AUDIO_EXTENSIONS: [&str; 7] = ["wav", "flac", "aif", "aiff", "mp3", "ogg", "wave"];

/// The schema's file name, beside the mix.
const SCHEMA_FILE: &str = "mix.schema.json";

/// Names that send a track to the drums bus: a word of the stem's name starting with one.
const DRUM_WORDS: [&str; 15] = [
    "kick", "kik", "snare", "snr", "hat", "hihat", "tom", "cymbal", "crash", "ride", "overhead",
    "perc", "clap", "drum", "room",
];
/// Short drum names that must be a whole word (`bd`, not `bdrop`).
const DRUM_ABBREVIATIONS: [&str; 5] = ["bd", "sd", "hh", "oh", "kd"];
/// Names that send a track to the vocals bus.
const VOCAL_WORDS: [&str; 6] = ["vox", "voc", "vocal", "choir", "harmony", "backing"];
/// Short vocal names that must be a whole word.
const VOCAL_ABBREVIATIONS: [&str; 2] = ["bv", "bgv"];

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The folder of stems.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The mix file to write; the stems are named relative to its folder.
    #[arg(short, long, default_value = "mix.yaml")]
    output: PathBuf,
}

/// One stem and where it goes.
#[derive(Debug, PartialEq)]
struct Stem {
    track: String,
    /// The file, relative to the mix file's folder, with `/` between folders.
    path: String,
    bus: Option<&'static str>,
}

/// Runs `init`.
pub fn run(args: &InitArgs) -> i32 {
    if args.output.exists() {
        eprintln!(
            "error: `{}` already exists\n  = help: name another file with `--output`, or move it aside",
            args.output.display()
        );
        return EXIT_INVALID;
    }
    let stems = match find_stems(&args.dir, &args.output) {
        Ok(stems) if stems.is_empty() => {
            eprintln!(
                "error: `{}` holds no audio files ({})\n  = help: name the folder of stems: `mixdown init stems/`",
                args.dir.display(),
                AUDIO_EXTENSIONS.join(", ")
            );
            return EXIT_INVALID;
        }
        Ok(stems) => stems,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_FAILURE;
        }
    };
    let folder =
        args.output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // A folder called `stems` says nothing of the song; the mix's own folder may.
    let named = if title_of(&args.dir) == "Stems" { folder } else { args.dir.as_path() };
    let title = title_of(named);
    let schema = folder.join(SCHEMA_FILE);
    let written = (|| {
        if !schema.exists() {
            atomic_file::write_unflushed(&schema, mix_schema().as_bytes())?;
        }
        let mut file = atomic_file::AtomicFile::create(&args.output)?;
        std::io::Write::write_all(file.file(), mix_text(&title, &stems).as_bytes())?;
        file.commit()
    })();
    if let Err(e) = written {
        eprintln!("error: cannot write `{}`: {e}", args.output.display());
        return EXIT_FAILURE;
    }
    let buses = stems.iter().filter_map(|s| s.bus).collect::<std::collections::BTreeSet<_>>();
    eprintln!(
        "wrote {} ({}, {}); render it with `mixdown render {}`",
        args.output.display(),
        counted(stems.len(), "track", "tracks"),
        counted(buses.len(), "bus", "buses"),
        args.output.display()
    );
    EXIT_OK
}

/// The audio files in `dir`, sorted by name, as tracks of a mix written at `mix_file`.
fn find_stems(dir: &Path, mix_file: &Path) -> Result<Vec<Stem>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.is_file() && is_audio(p)).collect();
    files.sort();
    let from = mix_file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut stems: Vec<Stem> = Vec::new();
    for file in files {
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let mut track = track_name(&stem);
        let base = track.clone();
        let mut n = 2;
        while stems.iter().any(|s| s.track == track) {
            track = format!("{base}_{n}");
            n += 1;
        }
        let path = relative(from, &file)
            .ok_or_else(|| format!("cannot name `{}` from `{}`", file.display(), from.display()))?;
        stems.push(Stem { bus: bus_of(&base), track, path });
    }
    Ok(stems)
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A track name from a file's stem: lowercase letters, digits, `_` and `-`, starting with
/// a letter (`01 Lead Vox` → `lead_vox`).
fn track_name(stem: &str) -> String {
    let mut name = String::new();
    for c in stem.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '-' {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let name = name.trim_matches(|c: char| c == '_' || c.is_ascii_digit());
    if name.is_empty() { "track".to_owned() } else { name.to_owned() }
}

/// The bus a track's name suggests.
fn bus_of(track: &str) -> Option<&'static str> {
    let words: Vec<&str> = track.split(['_', '-']).filter(|w| !w.is_empty()).collect();
    let says = |prefixes: &[&str], whole: &[&str]| {
        words.iter().any(|w| prefixes.iter().any(|p| w.starts_with(p)) || whole.contains(w))
    };
    if says(&VOCAL_WORDS, &VOCAL_ABBREVIATIONS) {
        Some("vocals")
    } else if says(&DRUM_WORDS, &DRUM_ABBREVIATIONS) {
        Some("drums")
    } else {
        None
    }
}

/// The mix's title from the stems' folder: `first-light` → `First Light`.
fn title_of(dir: &Path) -> String {
    let name = std::path::absolute(dir)
        .ok()
        .and_then(|d| {
            d.components().next_back().map(|c| c.as_os_str().to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let words: Vec<String> = name
        .split(['-', '_', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
        })
        .collect();
    if words.is_empty() { "Untitled".to_owned() } else { words.join(" ") }
}

/// `file` as seen from the folder `from`, with `/` between folders.
fn relative(from: &Path, file: &Path) -> Option<String> {
    let (from, file) = (std::path::absolute(from).ok()?, std::path::absolute(file).ok()?);
    let (from, file) = (normal(&from), normal(&file));
    let shared = from.iter().zip(&file).take_while(|(a, b)| a == b).count();
    let ups = std::iter::repeat_n("..".to_owned(), from.len() - shared);
    let downs = file[shared..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned());
    Some(ups.chain(downs).collect::<Vec<_>>().join("/"))
}

/// A path's parts without `.`.
fn normal(path: &Path) -> Vec<Component<'_>> {
    path.components().filter(|c| !matches!(c, Component::CurDir)).collect()
}

/// The mix file: the modeline, the title, each track at unity gain routed to its bus.
fn mix_text(title: &str, stems: &[Stem]) -> String {
    let mut text = format!(
        "# yaml-language-server: $schema={SCHEMA_FILE}\n# Written by `mixdown init`: one track per stem, at unity gain.\nmix: {}\ntail: 2 s\n\ntracks:\n",
        quoted(title)
    );
    for stem in stems {
        let _ = writeln!(text, "  {}:\n    source: {}", stem.track, quoted(&stem.path));
        if let Some(bus) = stem.bus {
            let _ = writeln!(text, "    to: {bus}");
        }
    }
    let buses: std::collections::BTreeSet<&str> = stems.iter().filter_map(|s| s.bus).collect();
    if !buses.is_empty() {
        text += "\nbuses:\n";
        for bus in buses {
            let _ = writeln!(text, "  {bus}: {{}}");
        }
    }
    text += "\nmaster:\n  chain:\n    - limiter: { ceiling: -1 dB }\n";
    text
}

/// `text` as a YAML scalar: plain when it reads back as itself, else double-quoted.
fn quoted(text: &str) -> String {
    let plain = text.chars().all(|c| c.is_alphanumeric() || " ._/-()'".contains(c))
        && !text.starts_with([' ', '-', '.', '\''])
        && !text.ends_with(' ')
        && text.parse::<f64>().is_err()
        && !["yes", "no", "true", "false", "null", "on", "off"]
            .contains(&text.to_ascii_lowercase().as_str());
    if plain { text.to_owned() } else { serde_json::to_string(text).expect("strings serialise") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drum_and_vocal_stems_are_sent_to_their_buses() {
        for (name, bus) in [
            ("kick", Some("drums")),
            ("snare_top", Some("drums")),
            ("hats", Some("drums")),
            ("oh", Some("drums")),
            ("lead_vox", Some("vocals")),
            ("vocals", Some("vocals")),
            ("bv_2", Some("vocals")),
            ("bass", None),
            ("keys", None),
            ("bdrop", None),
        ] {
            assert_eq!(bus_of(name), bus, "{name}");
        }
    }

    #[test]
    fn a_stems_file_name_becomes_a_plain_track_name() {
        assert_eq!(track_name("01 Lead Vox"), "lead_vox");
        assert_eq!(track_name("Kick-In"), "kick-in");
        assert_eq!(track_name("!!!"), "track");
    }

    #[test]
    fn a_folder_name_becomes_a_title() {
        assert_eq!(title_of(Path::new("stems/first-light")), "First Light");
    }

    #[test]
    fn a_stem_is_named_relative_to_the_mix() {
        assert_eq!(relative(Path::new("a/b"), Path::new("a/c/k.wav")).unwrap(), "../c/k.wav");
        assert_eq!(relative(Path::new("."), Path::new("stems/k.wav")).unwrap(), "stems/k.wav");
    }

    #[test]
    fn only_text_that_reads_back_as_itself_goes_unquoted() {
        assert_eq!(quoted("First Light"), "First Light");
        assert_eq!(quoted("a: b"), "\"a: b\"");
        assert_eq!(quoted("yes # no"), "\"yes # no\"");
        assert_eq!(quoted("1999"), "\"1999\"");
        assert_eq!(quoted("True"), "\"True\"");
    }
}
