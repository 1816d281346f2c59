//! Diagnostics: what went wrong, where (file, line, column, YAML path), and how to fix it,
//! rendered rustc-style with the source line and a caret.

mod render;
mod suggest;

use std::path::PathBuf;

pub use render::render;
pub use suggest::{did_you_mean, suggest};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The project cannot be rendered.
    Error,
    /// The project renders, but probably not as meant.
    Warning,
}

/// A place in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user named it.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// How many characters to underline (at least 1).
    pub width: usize,
    /// The text of the line, for the snippet.
    pub source_line: String,
}

/// One problem found in a project.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable kebab-case code such as `unknown-bus`.
    pub code: &'static str,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Where, when the problem has a place in a file.
    pub location: Option<Location>,
    /// The YAML path of the offending value (`tracks.vox.chain[2].compressor.ratio`).
    pub yaml_path: Option<String>,
    /// A short text under the caret.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a code and a message and nothing else yet.
    #[must_use]
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: None,
            yaml_path: None,
            label: None,
            help: None,
        }
    }

    /// A warning with a code and a message.
    #[must_use]
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(code, message) }
    }

    /// Places the diagnostic.
    #[must_use]
    pub fn at(mut self, location: Option<Location>, yaml_path: Option<String>) -> Self {
        self.location = location;
        self.yaml_path = yaml_path;
        self
    }

    /// Adds the text under the caret.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a suggested fix.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a suggested fix when there is one.
    #[must_use]
    pub fn with_help_opt(self, help: Option<String>) -> Self {
        match help {
            Some(h) => self.with_help(h),
            None => self,
        }
    }

    /// Whether this is an error.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
