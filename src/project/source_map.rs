//! Where each value of a YAML document sits in the text, by YAML path.
//!
//! serde reports positions only for the errors it finds itself. Semantic errors found later
//! (an unknown bus, a cycle) are attached to a path such as `tracks.vox.sends[0].to`, and
//! this map turns the path back into a line and column. It is built from a position-aware
//! parse of the same text.
//!
//! That parse is also the first to read a file, so it refuses, at the place where they are
//! passed, the shapes that would make any later parse slow or large: nesting deeper than
//! [`MAX_DEPTH`], aliases that add more than [`MAX_ALIAS_NODES`] values or replay more than
//! [`MAX_REPLAYS_PER_EVENT`] times per event written, keys longer than [`MAX_KEY_CHARS`], and a
//! second document.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, Parser};
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

/// How deeply mappings and sequences may nest. A mix nests about ten deep
/// (`master.chain[0].parallel[1][0].eq[2].gain[3][1]`); deeper nesting only slows every
/// parse down.
pub const MAX_DEPTH: usize = 64;

/// How many values aliases (`*name`) may add to a document when expanded. Reusing a chain
/// on every track adds a few thousand; nested aliases that multiply (a "billion laughs")
/// would otherwise take every parse that follows time and memory without bound.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// The longest mapping key, in characters. Keys are names, and every YAML path below a key
/// repeats it.
pub const MAX_KEY_CHARS: usize = 256;

/// A document shape the map refuses to read further, and where it was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Which limit was passed.
    pub limit: Limit,
    /// Where.
    pub span: Span,
}

/// A limit on the shape of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Nesting deeper than [`MAX_DEPTH`].
    Depth,
    /// Aliases expanding past [`MAX_ALIAS_NODES`] values.
    AliasExpansion,
    /// A key longer than [`MAX_KEY_CHARS`].
    KeyLength,
    /// A second YAML document in the file.
    SecondDocument,
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
    ///
    /// # Errors
    /// When the document passes one of the limits on its shape; reading stops there.
    pub fn build(text: &str) -> Result<Self, Refusal> {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        let mut documents = 0;
        loop {
            match parser.next_token() {
                Ok((Event::StreamEnd, _)) => return Ok(builder.map),
                Ok((Event::DocumentStart, mark)) => {
                    documents += 1;
                    if documents > 1 {
                        let span = span_of(mark, 1);
                        return Err(Refusal { limit: Limit::SecondDocument, span });
                    }
                }
                Ok((event, mark)) => builder.on_event(event, mark)?,
                // The scanner reads a flow collection ahead to its end, so it meets deep
                // flow nesting before the depth check here does.
                Err(error) if error.info() == "recursion limit exceeded" => {
                    let span = span_of(*error.marker(), 1);
                    return Err(Refusal { limit: Limit::Depth, span });
                }
                Err(_) => return Ok(Self::default()),
            }
        }
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
    /// Per open collection: its anchor id (0 for none) and what it holds so far, aliases
    /// expanded.
    sizes: Vec<(usize, Expansion)>,
    /// What each anchor holds, aliases expanded, by anchor id.
    anchored: BTreeMap<usize, Expansion>,
    /// What the aliases read so far add.
    added: Expansion,
    /// Events read so far.
    events: usize,
}

/// What a value holds once its aliases are expanded: how many values, and how many times an
/// alias is replayed on the way (each replay costs a later parse a jump back).
#[derive(Debug, Clone, Copy, Default)]
struct Expansion {
    values: usize,
    replays: usize,
}

impl Expansion {
    const ONE: Self = Self { values: 1, replays: 0 };

    fn plus(self, other: Self) -> Self {
        Self {
            values: self.values.saturating_add(other.values),
            replays: self.replays.saturating_add(other.replays),
        }
    }
}

/// The most alias replays per event written; `serde_yaml` gives up, without saying where, at
/// 100.
pub const MAX_REPLAYS_PER_EVENT: usize = 50;

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

impl Builder {
    fn on_event(&mut self, event: Event, mark: Marker) -> Result<(), Refusal> {
        let refuse = |limit, width| Err(Refusal { limit, span: span_of(mark, width) });
        self.events += 1;
        match event {
            Event::Scalar(value, style, anchor, _) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                let chars = value.chars().count();
                let is_key = matches!(self.stack.last(), Some(Frame::Map { next_key: None, .. }));
                if is_key && chars > MAX_KEY_CHARS {
                    return refuse(Limit::KeyLength, 1);
                }
                let width = chars + if quoted { 2 } else { 0 };
                if let Some(path) = self.next_path(Some((&value, mark, width))) {
                    self.map.values.insert(path, span_of(mark, width));
                }
                self.close(anchor, Expansion::ONE);
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return refuse(Limit::Depth, 1);
                }
                let path = self.next_path(None).unwrap_or_default();
                self.map.values.insert(path.clone(), span_of(mark, 1));
                let frame = if matches!(event, Event::MappingStart(..)) {
                    Frame::Map { path, next_key: None }
                } else {
                    Frame::Seq { path, index: 0 }
                };
                self.stack.push(frame);
                self.sizes.push((anchor, Expansion::ONE));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                if let Some((anchor, size)) = self.sizes.pop() {
                    self.close(anchor, size);
                }
            }
            Event::Alias(id) => {
                let _ = self.next_path(None);
                let anchor = self.anchored.get(&id).copied().unwrap_or(Expansion::ONE);
                let replay = anchor.plus(Expansion { values: 0, replays: 1 });
                self.added = self.added.plus(replay);
                if self.added.values > MAX_ALIAS_NODES
                    || self.added.replays > self.events.saturating_mul(MAX_REPLAYS_PER_EVENT)
                {
                    return refuse(Limit::AliasExpansion, 1);
                }
                self.close(0, replay);
            }
            _ => {}
        }
        Ok(())
    }

    /// Counts a finished value (itself and what it holds) into the collection around it,
    /// and records it as its anchor's.
    fn close(&mut self, anchor: usize, size: Expansion) {
        if anchor != 0 {
            self.anchored.insert(anchor, size);
        }
        if let Some((_, outer)) = self.sizes.last_mut() {
            *outer = outer.plus(size);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    const TEXT: &str = "mix: Demo\ntracks:\n  vox:\n    sends:\n      - { to: verbb, level: -12 dB }\n    chain:\n      - eq:\n          - { type: peak, freq: 3 kHz }\n";

    #[test]
    fn values_in_flow_mappings_have_their_line_and_column() {
        let map = SourceMap::build(TEXT).unwrap();
        assert_eq!(
            map.value("tracks.vox.sends[0].to"),
            Some(Span { line: 5, column: 15, width: 5 })
        );
        assert_eq!(map.value("tracks.vox.chain[0].eq[0].freq").map(|s| s.line), Some(8));
    }

    #[test]
    fn keys_are_mapped_separately_from_their_values() {
        let map = SourceMap::build(TEXT).unwrap();
        assert_eq!(map.key("tracks.vox"), Some(Span { line: 3, column: 3, width: 3 }));
    }

    #[test]
    fn nesting_past_the_limit_is_refused_where_it_passes_it() {
        let nested = |depth: usize| format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
        assert!(SourceMap::build(&nested(MAX_DEPTH - 1)).is_ok());
        let refusal = SourceMap::build(&nested(MAX_DEPTH)).unwrap_err();
        assert_eq!(refusal.limit, Limit::Depth);
        assert_eq!((refusal.span.line, refusal.span.column), (1, 4 + MAX_DEPTH - 1));
        let deep = SourceMap::build(&nested(100_000)).unwrap_err();
        assert_eq!(deep.limit, Limit::Depth);
    }

    #[test]
    fn block_nesting_past_the_limit_is_refused_too() {
        let mut text = String::new();
        for level in 0..=MAX_DEPTH {
            let _ = writeln!(text, "{}k{level}:", "  ".repeat(level));
        }
        let refusal = SourceMap::build(&text).unwrap_err();
        assert_eq!((refusal.limit, refusal.span.line), (Limit::Depth, MAX_DEPTH + 1));
    }

    #[test]
    fn aliases_that_multiply_are_refused_at_the_alias_that_passes_the_limit() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (level, name) in ["b", "c", "d", "e", "f"].iter().enumerate() {
            let from = ["a", "b", "c", "d", "e"][level];
            let _ = writeln!(text, "{name}: &{name} [{}]", vec![format!("*{from}"); 10].join(", "));
        }
        let refusal = SourceMap::build(&text).unwrap_err();
        assert_eq!(refusal.limit, Limit::AliasExpansion);
        assert_eq!(refusal.span.line, 5, "{refusal:?}");
    }

    #[test]
    fn a_few_values_replayed_very_often_are_refused_too() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (from, name) in [("a", "b"), ("b", "c"), ("c", "d")] {
            let _ = writeln!(text, "{name}: &{name} [{}]", vec![format!("*{from}"); 10].join(", "));
        }
        let _ = writeln!(text, "e: [{}]", ["*d"; 8].join(", "));
        let refusal = SourceMap::build(&text).unwrap_err();
        assert_eq!((refusal.limit, refusal.span.line), (Limit::AliasExpansion, 5));
    }

    #[test]
    fn a_chain_reused_by_alias_on_many_tracks_is_fine() {
        let mut text = String::from("chain: &c [ { gain: -3 dB }, { eq: [ { freq: 1 kHz } ] } ]\n");
        for track in 0..500 {
            let _ = writeln!(text, "t{track}: {{ chain: *c }}");
        }
        assert!(SourceMap::build(&text).is_ok());
    }

    #[test]
    fn a_second_document_is_refused_at_its_start() {
        let refusal = SourceMap::build("mix: A\n---\nmix: B\n").unwrap_err();
        assert_eq!(refusal.limit, Limit::SecondDocument);
        assert_eq!(refusal.span.line, 2);
    }

    #[test]
    fn a_key_longer_than_a_name_is_refused() {
        let key = "k".repeat(MAX_KEY_CHARS + 1);
        assert!(SourceMap::build(&format!("{}: 1\n", &key[1..])).is_ok());
        let refusal = SourceMap::build(&format!("a:\n  {key}: 1\n")).unwrap_err();
        assert_eq!((refusal.limit, refusal.span.line), (Limit::KeyLength, 2));
    }

    #[test]
    fn an_unmapped_path_falls_back_to_its_parent() {
        let map = SourceMap::build(TEXT).unwrap();
        assert_eq!(map.value("tracks.vox.sends[0].missing"), map.value("tracks.vox.sends[0]"));
    }
}
