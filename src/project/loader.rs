//! Reading a mix file: the only place that names the YAML library.
//!
//! `serde_yaml` is no longer maintained upstream; keeping it behind this one file means it can
//! be swapped without touching anything else.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::mix::RawMix;
use super::source_map::{SourceMap, Span};
use crate::diag::{Diagnostic, Location, did_you_mean};
use crate::units::{Tempo, with_tempo};

/// A parsed mix file with what is needed to point at its text.
#[derive(Debug, Clone)]
pub struct LoadedMix {
    /// The raw model.
    pub raw: RawMix,
    /// The file as the user named it.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    /// YAML paths → positions.
    pub source_map: SourceMap,
}

impl LoadedMix {
    /// The location of the value at `yaml_path`, for a diagnostic.
    #[must_use]
    pub fn locate(&self, yaml_path: &str) -> Option<Location> {
        self.source_map.value(yaml_path).map(|span| location(&self.path, &self.text, span))
    }

    /// The location of the key that introduces `yaml_path`.
    #[must_use]
    pub fn locate_key(&self, yaml_path: &str) -> Option<Location> {
        self.source_map.key(yaml_path).map(|span| location(&self.path, &self.text, span))
    }
}

/// Reads and parses the mix file at `path`.
///
/// # Errors
/// A diagnostic when the file cannot be read or does not describe a mix.
pub fn load_mix(path: &Path) -> Result<LoadedMix, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![
            Diagnostic::error(
                "unreadable-project",
                format!("cannot read `{}`: {e}", path.display()),
            )
            .with_help("check the path; `mixdown check FILE` takes a mix file"),
        ]
    })?;
    parse_mix(path, &text)
}

/// Parses the text of a mix file; `path` is used for messages and nothing else.
///
/// # Errors
/// The first syntax or type error, located.
pub fn parse_mix(path: &Path, text: &str) -> Result<LoadedMix, Vec<Diagnostic>> {
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(vec![
            Diagnostic::error("empty-project", format!("`{}` is empty", path.display()))
                .with_help("a mix needs at least `mix: <title>` and some `tracks:`"),
        ]);
    }
    let raw = with_tempo(prescan_tempo(text), || serde_yaml::from_str::<RawMix>(text))
        .map_err(|e| vec![convert_error(path, text, &e)])?;
    let source_map = SourceMap::build(text);
    let duplicates: Vec<Diagnostic> = source_map
        .duplicate_keys()
        .iter()
        .map(|(yaml_path, span)| {
            let name = yaml_path.rsplit('.').next().unwrap_or(yaml_path);
            Diagnostic::error("duplicate-name", format!("`{name}` is defined twice"))
                .at(Some(location(path, text, *span)), Some(yaml_path.clone()))
                .with_label("second definition")
                .with_help("YAML keeps only the last of two equal keys; rename or merge them")
        })
        .collect();
    if !duplicates.is_empty() {
        return Err(duplicates);
    }
    Ok(LoadedMix { raw, path: path.to_path_buf(), text: text.to_string(), source_map })
}

/// Reads only `tempo:`, so that note values elsewhere can be converted while loading.
fn prescan_tempo(text: &str) -> Option<f64> {
    #[derive(Deserialize)]
    struct TempoOnly {
        tempo: Option<Tempo>,
    }
    serde_yaml::from_str::<TempoOnly>(text).ok()?.tempo.map(|t| t.0)
}

/// Builds a location from a span, with the text of its line for the snippet.
#[must_use]
pub fn location(path: &Path, text: &str, span: Span) -> Location {
    Location {
        file: path.to_path_buf(),
        line: span.line,
        column: span.column,
        width: span.width,
        source_line: text.lines().nth(span.line.saturating_sub(1)).unwrap_or("").to_string(),
    }
}

fn convert_error(path: &Path, text: &str, error: &serde_yaml::Error) -> Diagnostic {
    let message = without_own_location(&error.to_string());
    let (yaml_path, message) = split_yaml_path(&message);
    let (code, label, help) = classify(&message, yaml_path.as_deref());
    let named = backticked(&message).into_iter().next();
    let message = match (code, &named) {
        ("unknown-processor", Some(name)) => format!("unknown processor `{name}`"),
        ("unknown-key", Some(name)) => format!("unknown key `{name}`"),
        _ => message,
    };
    let location = error.location().map(|l| {
        let line_text = text.lines().nth(l.line().saturating_sub(1)).unwrap_or("");
        let at: String = line_text.chars().skip(l.column().saturating_sub(1)).collect();
        let width = match &named {
            Some(name) if code.starts_with("unknown") && at.starts_with(name.as_str()) => {
                name.chars().count()
            }
            _ => token_width(line_text, l.column()),
        };
        let span = Span { line: l.line(), column: l.column(), width };
        location(path, text, span)
    });
    let mut diagnostic =
        Diagnostic::error(code, message).at(location, yaml_path).with_help_opt(help);
    if let Some(label) = label {
        diagnostic = diagnostic.with_label(label);
    }
    diagnostic
}

/// Drops the first ` at line L column C` (the diagnostic shows it), keeping any context
/// after it, such as where an unclosed bracket was opened.
fn without_own_location(message: &str) -> String {
    let Some(start) = message.find(" at line ") else { return message.to_string() };
    let rest = &message[start + " at line ".len()..];
    let after_numbers = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ' ' || "column".contains(c)))
        .unwrap_or(rest.len());
    format!("{}{}", &message[..start], &rest[after_numbers..])
}

/// `serde_yaml` prefixes messages with the path of the value (`tracks.vox.gain: ...`).
fn split_yaml_path(message: &str) -> (Option<String>, String) {
    match message.split_once(": ") {
        Some((path, rest))
            if !path.contains(' ') && !path.is_empty() && path != "." && !path.contains('`') =>
        {
            (Some(path.to_string()), rest.to_string())
        }
        _ => (None, message.to_string()),
    }
}

/// Picks a code, a caret label and a suggestion for a serde message.
fn classify(
    message: &str,
    yaml_path: Option<&str>,
) -> (&'static str, Option<String>, Option<String>) {
    let candidates = backticked(message);
    let offending = candidates.first().cloned().unwrap_or_default();
    let suggestion = || {
        did_you_mean(&offending, candidates.iter().skip(1).map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
    };
    if message.starts_with("unknown field") {
        let help = suggestion().or_else(|| {
            Some(format!(
                "expected one of: {}",
                candidates.iter().skip(1).cloned().collect::<Vec<_>>().join(", ")
            ))
        });
        ("unknown-key", Some("unknown key".into()), help)
    } else if message.starts_with("unknown variant") {
        let in_chain = yaml_path.is_some_and(|p| p.contains("chain"));
        let code = if in_chain { "unknown-processor" } else { "unknown-value" };
        let help = suggestion().or_else(|| {
            Some(format!(
                "expected one of: {}",
                candidates.iter().skip(1).cloned().collect::<Vec<_>>().join(", ")
            ))
        });
        (code, Some("not known here".into()), help)
    } else if message.starts_with("missing field") {
        ("missing-key", None, Some(format!("add `{offending}:` here")))
    } else if message.starts_with("invalid type") || message.starts_with("invalid length") {
        ("wrong-type", Some("wrong type".into()), None)
    } else if message.contains("duplicate entry") {
        (
            "duplicate-name",
            Some("defined twice".into()),
            Some("names must be unique; rename one".into()),
        )
    } else if is_syntax(message) {
        ("syntax", None, Some("check indentation, colons and brackets on this line".into()))
    } else {
        ("invalid-value", Some("invalid value".into()), None)
    }
}

fn is_syntax(message: &str) -> bool {
    [
        "did not find expected",
        "mapping values are not allowed",
        "while parsing",
        "while scanning",
        "found character",
        "found unexpected",
        "control characters",
    ]
    .iter()
    .any(|s| message.contains(s))
}

/// The `quoted` names in a serde message, in order.
fn backticked(message: &str) -> Vec<String> {
    message.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// How wide the token at 1-based `column` is: up to the next flow delimiter or comment.
fn token_width(line: &str, column: usize) -> usize {
    let rest: String = line.chars().skip(column.saturating_sub(1)).collect();
    let end = rest.find([',', '}', ']', '#']).unwrap_or(rest.len());
    rest[..end].trim_end().chars().count().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> Diagnostic {
        parse_mix(Path::new("song.yaml"), text).unwrap_err().remove(0)
    }

    #[test]
    fn a_minimal_mix_loads() {
        let loaded =
            parse_mix(Path::new("song.yaml"), "mix: Demo\ntracks:\n  a: { source: a.wav }\n")
                .unwrap();
        assert_eq!(loaded.raw.tracks.len(), 1);
    }

    #[test]
    fn an_unknown_key_is_located_and_suggests_the_right_one() {
        let d = error_of("mix: Demo\ntracks:\n  a:\n    source: a.wav\n    gian: -3 dB\n");
        assert_eq!(d.code, "unknown-key");
        assert_eq!(d.location.as_ref().map(|l| l.line), Some(5));
        assert_eq!(d.help.as_deref(), Some("did you mean `gain`?"));
        assert_eq!(d.yaml_path.as_deref(), Some("tracks.a"));
    }

    #[test]
    fn a_note_value_reads_against_the_tempo_declared_after_it() {
        let text = "mix: Demo\ntracks:\n  a:\n    source: a.wav\n    chain: [ { gain: -3 dB } ]\n    clips: [ { file: a.wav, at: 1/4 } ]\ntempo: 120\n";
        let loaded = parse_mix(Path::new("song.yaml"), text).unwrap();
        let clip = &loaded.raw.tracks["a"].clips.as_ref().unwrap()[0];
        assert_eq!(clip.at.unwrap().0, 0.5);
    }
}
