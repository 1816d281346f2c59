//! `--message-format json`: what `check`, `render`, `test`, `diff` and `watch` print for
//! machines, one JSON object per line on stdout, as cargo does, each tagged by its
//! `reason`. This module owns the shapes of those objects and the switch between human
//! text and JSON; the commands decide what to say.
//!
//! In JSON mode stdout carries nothing else: diagnostics become `diagnostic` messages
//! instead of text, and whatever else a command says for people goes to stderr.

use std::io::Write as _;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::diag::{Diagnostic, Severity, render};
use crate::render::RenderEvent;

/// How a command prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// Text for people (the default).
    Human,
    /// One JSON object per line on stdout.
    Json,
}

/// The `--message-format` flag of the commands that offer it.
#[derive(Debug, Clone, clap::Args)]
pub struct MessageArgs {
    /// How results are printed: `human` text, or `json`, one object per line on stdout.
    #[arg(long, value_enum, default_value = "human")]
    message_format: MessageFormat,
}

impl MessageArgs {
    /// Makes this the process's format. The first call decides; a process runs one command.
    pub fn install(&self) {
        let _ = FORMAT.set(self.message_format);
    }
}

static FORMAT: OnceLock<MessageFormat> = OnceLock::new();

/// Diagnostics printed so far, errors and warnings, for the summary.
static ERRORS: AtomicUsize = AtomicUsize::new(0);
static WARNINGS: AtomicUsize = AtomicUsize::new(0);

/// Whether this process prints JSON.
pub fn json() -> bool {
    FORMAT.get() == Some(&MessageFormat::Json)
}

/// One line of JSON output.
#[derive(Debug, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Message {
    /// A problem found in a project, or an assertion that failed.
    Diagnostic(DiagnosticMessage),
    /// Something that happened to one node of the render graph.
    Node(NodeMessage),
    /// A render finished, or failed.
    RenderFinished(RenderFinished),
    /// One assertion and what was measured against it.
    Assertion(AssertionMessage),
    /// Two renders of one signal compared.
    Diff(DiffMessage),
    /// `watch` waits for these files to change.
    Watching {
        /// How many files are watched.
        files: usize,
    },
    /// `watch` saw these files change and renders again.
    Changed {
        /// The files, as the watcher names them.
        files: Vec<String>,
    },
    /// The command's last line: how it ended.
    Summary(Summary),
}

/// A diagnostic, with its place and its text as a person would read it.
#[derive(Debug, Serialize)]
pub struct DiagnosticMessage {
    /// `error` or `warning`.
    pub severity: &'static str,
    /// The stable code, such as `unknown-bus`.
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file it is in, as the user named it.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// The YAML path of the value (`tracks.vox.chain[2].compressor.ratio`).
    pub yaml_path: Option<String>,
    /// The text under the caret.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// The whole diagnostic as text, without colours.
    pub rendered: String,
}

impl From<&Diagnostic> for DiagnosticMessage {
    fn from(d: &Diagnostic) -> Self {
        let location = d.location.as_ref();
        Self {
            severity: match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            code: d.code,
            message: d.message.clone(),
            file: location.map(|l| l.file.display().to_string()),
            line: location.map(|l| l.line),
            column: location.map(|l| l.column),
            yaml_path: d.yaml_path.clone(),
            label: d.label.clone(),
            help: d.help.clone(),
            rendered: render(d, false),
        }
    }
}

/// What happened to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeEvent {
    /// It is about to run.
    Planned,
    /// Its output was in the cache.
    Cached,
    /// It ran.
    Ran,
    /// Its cache entry was damaged, dropped and rendered again.
    Repaired,
    /// Its audio was measured as its file was written.
    Measured,
}

/// A node event.
#[derive(Debug, Serialize)]
pub struct NodeMessage {
    /// What happened.
    pub event: NodeEvent,
    /// The node's id, as `mixdown graph` prints it.
    pub node: String,
    /// How long it ran, for `ran`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

impl From<&RenderEvent> for NodeMessage {
    fn from(event: &RenderEvent) -> Self {
        let (event, node, seconds) = match event {
            RenderEvent::Hit(id) => (NodeEvent::Cached, id, None),
            RenderEvent::Rendered(id, seconds) => (NodeEvent::Ran, id, Some(*seconds)),
            RenderEvent::Repaired(id) => (NodeEvent::Repaired, id, None),
            RenderEvent::Measured(id) => (NodeEvent::Measured, id, None),
        };
        Self { event, node: node.clone(), seconds }
    }
}

/// A finished render of one project.
#[derive(Debug, Serialize)]
pub struct RenderFinished {
    /// The project file.
    pub project: String,
    /// Whether every target rendered.
    pub success: bool,
    /// Nodes the targets need.
    pub nodes: usize,
    /// Nodes that ran.
    pub ran: usize,
    /// Nodes found in the cache.
    pub cached: usize,
    /// Wall-clock time of the render.
    pub seconds: f64,
    /// Each target's file and figures.
    pub targets: Vec<TargetMessage>,
}

/// One target of a render.
#[derive(Debug, Serialize)]
pub struct TargetMessage {
    /// The target's name.
    pub name: String,
    /// Its file.
    pub path: String,
    /// Whether the file was written now (`false`: it was up to date).
    pub written: bool,
    /// The picture `--report` drew of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Integrated loudness in LUFS; `null` for silence or under 0.4 s.
    pub integrated_lufs: Option<f64>,
    /// True peak in dBTP; `null` for silence.
    pub true_peak_dbtp: Option<f64>,
}

/// One assertion's result.
#[derive(Debug, Serialize)]
pub struct AssertionMessage {
    /// The project file.
    pub project: String,
    /// The file that writes the check: the project, or a song's own mix file in an album.
    pub file: Option<String>,
    /// The YAML path of the check (`master.assert.true_peak`).
    pub yaml_path: String,
    /// Whether it holds.
    pub passed: bool,
    /// The value measured, in `unit`; `null` when there is none.
    pub measured: Option<f64>,
    /// The unit of the value and its bounds (empty for a correlation).
    pub unit: &'static str,
    /// The lowest value that passes.
    pub min: Option<f64>,
    /// The highest value that passes.
    pub max: Option<f64>,
    /// The result in words.
    pub message: String,
    /// The line of the check.
    pub line: Option<usize>,
}

/// Two renders of one signal compared: the null test, the change in loudness, true peak,
/// loudness range and band energy, and the verdict. Levels of silence are `null`.
#[derive(Debug, Serialize)]
pub struct DiffMessage {
    /// What was compared: a node id, or the two files `a → b`.
    pub subject: String,
    /// `identical`, `inaudible` or `changed`.
    pub verdict: &'static str,
    /// The difference signal's peak, in dBFS.
    pub difference_peak_dbfs: Option<f64>,
    /// The difference signal's RMS, in dBFS.
    pub difference_rms_dbfs: Option<f64>,
    /// After minus before, in LU.
    pub loudness_change_lu: Option<f64>,
    /// After minus before, in dB.
    pub true_peak_change_db: Option<f64>,
    /// After minus before, in LU.
    pub loudness_range_change_lu: Option<f64>,
    /// The change in energy below 250 Hz, in dB.
    pub low_change_db: Option<f64>,
    /// The change in energy from 250 Hz to 4 kHz, in dB.
    pub mid_change_db: Option<f64>,
    /// The change in energy above 4 kHz, in dB.
    pub high_change_db: Option<f64>,
}

/// How a command ended.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The command: `check`, `render`, `test`, `diff` or `watch`.
    pub command: &'static str,
    /// Whether it succeeded.
    pub success: bool,
    /// Its exit code.
    pub exit_code: i32,
    /// Error diagnostics printed.
    pub errors: usize,
    /// Warning diagnostics printed.
    pub warnings: usize,
    /// Assertions that held (`test` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passed: Option<usize>,
    /// Assertions that failed (`test` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<usize>,
}

/// Prints `message` as one line on stdout, whole: stdout is locked for the line, so the
/// lines of threads that emit at once never interleave. A reader that went away is not an
/// error here: the command's exit code still says how it ended.
pub fn emit(message: &Message) {
    let mut line = serde_json::to_string(message).expect("messages hold only serialisable data");
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

/// Prints `diagnostics`: as JSON messages in JSON mode, else as text on stderr.
pub fn diagnostics(diagnostics: &[Diagnostic], color: bool) {
    for d in diagnostics {
        let counter = if d.is_error() { &ERRORS } else { &WARNINGS };
        counter.fetch_add(1, Ordering::Relaxed);
        if json() {
            emit(&Message::Diagnostic(d.into()));
        } else {
            eprint!("{}", render(d, color));
        }
    }
}

/// Ends `command` with exit code `code`: prints the summary in JSON mode, returns the code.
pub fn finish(command: &'static str, code: i32) -> i32 {
    finish_test(command, code, None)
}

/// [`finish`], with the assertions that held and failed when the command counts them.
pub fn finish_test(command: &'static str, code: i32, counts: Option<(usize, usize)>) -> i32 {
    if json() {
        emit(&Message::Summary(Summary {
            command,
            success: code == 0,
            exit_code: code,
            errors: ERRORS.load(Ordering::Relaxed),
            warnings: WARNINGS.load(Ordering::Relaxed),
            passed: counts.map(|(p, _)| p),
            failed: counts.map(|(_, f)| f),
        }));
    }
    code
}

/// A path as messages show it.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// A level for a message: `None` for silence (JSON has no infinity).
pub fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_is_one_line_tagged_by_its_reason() {
        let node = Message::Node(NodeMessage {
            event: NodeEvent::Ran,
            node: "song/track/vox".into(),
            seconds: Some(0.5),
        });
        let line = serde_json::to_string(&node).unwrap();
        assert_eq!(
            line,
            r#"{"reason":"node","event":"ran","node":"song/track/vox","seconds":0.5}"#
        );
        let cached = Message::Node(NodeMessage {
            event: NodeEvent::Cached,
            node: "song/master".into(),
            seconds: None,
        });
        let line = serde_json::to_string(&cached).unwrap();
        assert_eq!(line, r#"{"reason":"node","event":"cached","node":"song/master"}"#);
        let finished = serde_json::to_string(&Message::Watching { files: 3 }).unwrap();
        assert_eq!(finished, r#"{"reason":"watching","files":3}"#);
    }

    #[test]
    fn a_diagnostic_carries_its_place_and_its_rendered_text() {
        let d = Diagnostic::error("unknown-bus", "send targets unknown bus `verbb`")
            .at(None, Some("tracks.vox.sends[0].to".into()))
            .with_help("did you mean `verb`?");
        let value = serde_json::to_value(Message::Diagnostic((&d).into())).unwrap();
        assert_eq!(value["reason"], "diagnostic");
        assert_eq!(value["severity"], "error");
        assert_eq!(value["code"], "unknown-bus");
        assert_eq!(value["yaml_path"], "tracks.vox.sends[0].to");
        assert_eq!(value["line"], serde_json::Value::Null);
        assert!(value["rendered"].as_str().unwrap().contains("= help: did you mean `verb`?"));
    }

    #[test]
    fn silence_has_no_level() {
        assert_eq!(finite(f64::NEG_INFINITY), None);
        assert_eq!(finite(-3.0), Some(-3.0));
    }
}
