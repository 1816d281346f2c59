//! Text rendering of diagnostics, rustc-style.

use std::fmt::Write as _;

use super::{Diagnostic, Severity};

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
        let _ = writeln!(out, "{number} | {}", loc.source_line.trim_end());
        let carets = "^".repeat(loc.width.max(1));
        let label = diagnostic.label.as_deref().map(|l| format!(" {l}")).unwrap_or_default();
        let pad = " ".repeat(loc.column.saturating_sub(1));
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
