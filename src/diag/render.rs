//! Text rendering of diagnostics, rustc-style.

use std::fmt::Write as _;

use super::{Diagnostic, Severity};

/// The most characters of a source line shown; a longer line is cut to a window around the
/// problem, so that a minified or generated file does not flood the terminal.
const MAX_SNIPPET_CHARS: usize = 100;

/// How far into the window the problem starts when a line is cut.
const LEAD_CHARS: usize = 40;

/// The part of a source line shown, with the problem's column and width in it.
#[derive(Debug, PartialEq)]
struct Snippet {
    text: String,
    column: usize,
    width: usize,
}

impl Snippet {
    fn of(line: &str, column: usize, width: usize) -> Self {
        // A control character would move the terminal's cursor or vanish, not show.
        let line: String = line
            .chars()
            .map(|c| if c.is_control() && c != '\t' { char::REPLACEMENT_CHARACTER } else { c })
            .collect();
        let chars: Vec<char> = line.chars().collect();
        let width = width.max(1);
        if chars.len() <= MAX_SNIPPET_CHARS {
            return Self { text: line, column, width };
        }
        let at = column.saturating_sub(1).min(chars.len());
        let start = at.saturating_sub(LEAD_CHARS);
        let end = (start + MAX_SNIPPET_CHARS).min(chars.len());
        let (head, tail) =
            (if start > 0 { "..." } else { "" }, if end < chars.len() { "..." } else { "" });
        let text = format!("{head}{}{tail}", chars[start..end].iter().collect::<String>());
        let column = at - start + head.len() + 1;
        Self { text, column, width: width.min((end - at).max(1)) }
    }
}

/// Renders `diagnostic` as text; with `color`, the heading and caret use ANSI colours.
#[must_use]
pub fn render(diagnostic: &Diagnostic, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    };
    let (word, tone) = match diagnostic.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let mut out = String::new();
    let heading = format!("{word}[{}]", diagnostic.code);
    let _ = writeln!(out, "{}: {}", paint(tone, &heading), diagnostic.message);
    if let Some(loc) = &diagnostic.location {
        let number = loc.line.to_string();
        let gutter = " ".repeat(number.len());
        let _ = writeln!(out, "{gutter}--> {}:{}:{}", loc.file.display(), loc.line, loc.column);
        let _ = writeln!(out, "{gutter} |");
        let snippet = Snippet::of(loc.source_line.trim_end(), loc.column, loc.width);
        let _ = writeln!(out, "{number} | {}", snippet.text);
        let carets = "^".repeat(snippet.width);
        let label = diagnostic.label.as_deref().map(|l| format!(" {l}")).unwrap_or_default();
        let pad = " ".repeat(snippet.column.saturating_sub(1));
        let _ = writeln!(out, "{gutter} | {pad}{}", paint(tone, &format!("{carets}{label}")));
    }
    let gutter = diagnostic
        .location
        .as_ref()
        .map_or(String::new(), |l| " ".repeat(l.line.to_string().len()));
    if let Some(path) = &diagnostic.yaml_path {
        let _ = writeln!(out, "{gutter} = at: {path}");
    }
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "{gutter} = help: {help}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_line_is_shown_whole() {
        let snippet = Snippet::of("gain: loud", 7, 4);
        assert_eq!(snippet, Snippet { text: "gain: loud".into(), column: 7, width: 4 });
    }

    #[test]
    fn control_characters_in_a_line_are_shown_as_replacements() {
        assert_eq!(Snippet::of("gain: -3\0 dB", 9, 1).text, "gain: -3\u{fffd} dB");
    }

    #[test]
    fn a_long_line_is_cut_to_a_window_around_the_problem() {
        let line = format!("{}X{}", "a".repeat(5000), "b".repeat(200_000));
        let snippet = Snippet::of(&line, 5001, 200_001);
        assert_eq!(snippet.text.chars().count(), MAX_SNIPPET_CHARS + 6);
        assert!(snippet.text.starts_with("...") && snippet.text.ends_with("..."));
        assert_eq!(snippet.text.chars().nth(snippet.column - 1), Some('X'));
        assert!(snippet.width <= MAX_SNIPPET_CHARS);
    }

    #[test]
    fn a_long_line_with_the_problem_near_its_start_keeps_its_start() {
        let line = "x".repeat(500);
        let snippet = Snippet::of(&line, 3, 1);
        assert!(!snippet.text.starts_with("...") && snippet.text.ends_with("..."));
        assert_eq!(snippet.column, 3);
    }
}
