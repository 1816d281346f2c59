//! Where each value of a YAML document sits in the text, by YAML path.
//!
//! serde reports positions only for the errors it finds itself. Semantic errors found later
//! (an unknown bus, a cycle) are attached to a path such as `tracks.vox.sends[0].to`, and
//! this map turns the path back into a line and column. It is built from a position-aware
//! parse of the same text.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in the text: 1-based line and column, and the width of the token there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Characters the token spans (1 for a mapping or sequence).
    pub width: usize,
}

/// YAML paths to the spans of their values and of their keys.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    values: BTreeMap<String, Span>,
    keys: BTreeMap<String, Span>,
    duplicates: Vec<(String, Span)>,
}

impl SourceMap {
    /// Maps `text`. A document that does not parse gives an empty map (the loader reports the
    /// syntax error itself).
    #[must_use]
    pub fn build(text: &str) -> Self {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut builder, false).is_err() {
            return Self::default();
        }
        builder.map
    }

    /// The span of the value at `path`, or of its nearest mapped ancestor.
    #[must_use]
    pub fn value(&self, path: &str) -> Option<Span> {
        let mut path = path;
        loop {
            if let Some(span) = self.values.get(path) {
                return Some(*span);
            }
            path = parent(path)?;
        }
    }

    /// Keys written twice in one mapping (YAML would silently keep the last), with the
    /// span of the second.
    #[must_use]
    pub fn duplicate_keys(&self) -> &[(String, Span)] {
        &self.duplicates
    }

    /// The span of the key that introduces `path` (the `vox` in `tracks: { vox: ... }`).
    #[must_use]
    pub fn key(&self, path: &str) -> Option<Span> {
        self.keys.get(path).copied().or_else(|| self.value(path))
    }
}

/// `tracks.vox.sends[0]` → `tracks.vox.sends`; `tracks.vox` → `tracks`.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

enum Frame {
    Map { path: String, next_key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Builder {
    map: SourceMap,
    stack: Vec<Frame>,
}

fn span_of(mark: Marker, width: usize) -> Span {
    Span { line: mark.line(), column: mark.col() + 1, width: width.max(1) }
}

impl Builder {
    /// The path of the node that starts now, or `None` when it is a mapping key.
    fn next_path(&mut self, scalar_key: Option<(&str, Marker, usize)>) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                Some(p)
            }
            Some(Frame::Map { path, next_key }) => {
                if let Some(key) = next_key.take() {
                    return Some(join(path, &key));
                }
                if let Some((key, mark, width)) = scalar_key {
                    let full = join(path, key);
                    let span = span_of(mark, width);
                    let inside_duplicate =
                        self.map.duplicates.iter().any(|(d, _)| full.starts_with(&format!("{d}.")));
                    if self.map.keys.insert(full.clone(), span).is_some() && !inside_duplicate {
                        self.map.duplicates.push((full, span));
                    }
                    *next_key = Some(key.to_string());
                }
                None
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, style, ..) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                let width = value.chars().count() + if quoted { 2 } else { 0 };
                if let Some(path) = self.next_path(Some((&value, mark, width))) {
                    self.map.values.insert(path, span_of(mark, width));
                }
            }
            Event::MappingStart(..) => {
                let path = self.next_path(None).unwrap_or_default();
                self.map.values.insert(path.clone(), span_of(mark, 1));
                self.stack.push(Frame::Map { path, next_key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.next_path(None).unwrap_or_default();
                self.map.values.insert(path.clone(), span_of(mark, 1));
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Alias(_) => {
                let _ = self.next_path(None);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "mix: Demo\ntracks:\n  vox:\n    sends:\n      - { to: verbb, level: -12 dB }\n    chain:\n      - eq:\n          - { type: peak, freq: 3 kHz }\n";

    #[test]
    fn values_in_flow_mappings_have_their_line_and_column() {
        let map = SourceMap::build(TEXT);
        assert_eq!(
            map.value("tracks.vox.sends[0].to"),
            Some(Span { line: 5, column: 15, width: 5 })
        );
        assert_eq!(map.value("tracks.vox.chain[0].eq[0].freq").map(|s| s.line), Some(8));
    }

    #[test]
    fn keys_are_mapped_separately_from_their_values() {
        let map = SourceMap::build(TEXT);
        assert_eq!(map.key("tracks.vox"), Some(Span { line: 3, column: 3, width: 3 }));
    }

    #[test]
    fn an_unmapped_path_falls_back_to_its_parent() {
        let map = SourceMap::build(TEXT);
        assert_eq!(map.value("tracks.vox.sends[0].missing"), map.value("tracks.vox.sends[0]"));
    }
}
