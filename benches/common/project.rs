//! A benchmark's mix project, and the values its incremental renders change.

use std::path::Path;

/// A mix to render, and the two values the incremental renders change.
pub struct Project {
    /// The project file's text.
    pub yaml: String,
    /// The first track's fader.
    pub fader: Knob,
    /// A band gain of the first track's EQ.
    pub eq: Knob,
}

/// A number in the project text, between the text that makes its first occurrence unique.
pub struct Knob {
    before: String,
    value: f64,
    after: String,
}

impl Knob {
    /// The knob at `value`, written between `before` and `after`.
    pub fn new(before: &str, value: f64, after: &str) -> Self {
        Self { before: before.to_owned(), value, after: after.to_owned() }
    }

    fn text(&self, value: f64) -> String {
        format!("{}{value}{}", self.before, self.after)
    }

    /// Moves the value by a tenth of a unit per run, so that every run renders anew.
    pub fn nudge(&self, dir: &Path, run: usize) {
        self.replace(dir, self.value, self.moved(run));
    }

    /// Moves the value that `nudge(dir, run)` left by another twentieth of a unit: the
    /// same parameter of the same track changes again.
    pub fn nudge_again(&self, dir: &Path, run: usize) {
        self.replace(dir, self.moved(run), self.moved(run) - 0.05);
    }

    fn moved(&self, run: usize) -> f64 {
        self.value - 0.1 * (run + 1) as f64
    }

    /// Replaces the first occurrence of the knob at `from` with the knob at `to`.
    fn replace(&self, dir: &Path, from: f64, to: f64) {
        let path = dir.join("mix.yaml");
        let text = std::fs::read_to_string(&path).expect("project");
        let (from, to) = (self.text(from), self.text(to));
        assert!(text.contains(&from), "the project holds {from}");
        std::fs::write(&path, text.replacen(&from, &to, 1)).expect("project");
    }
}
