//! The progress bar on stderr (only when it is a terminal), or, with
//! `--message-format json`, a `node` message for each node about to run and for each
//! event of the render, printed as it happens by the thread it happens on.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::messages::{self, Message, NodeEvent, NodeMessage};
use crate::render::{Progress, RenderEvent};

/// A progress bar, or nothing when stderr is not a terminal.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar if stderr is a terminal and the output is for people.
    pub fn new() -> Self {
        if !std::io::stderr().is_terminal() || messages::json() {
            return Self(None);
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} nodes {wide_msg}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        Self(Some(bar))
    }

    /// No bar at all (`--quiet`).
    pub fn hidden() -> Self {
        Self(None)
    }

    /// Removes the bar from the terminal.
    pub fn clear(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn planned(&self, count: usize) {
        if let Some(bar) = &self.0 {
            bar.set_length(count as u64);
            bar.set_position(0);
        }
    }

    fn will_run(&self, id: &str) {
        if messages::json() {
            let event = NodeEvent::Planned;
            messages::emit(&Message::Node(NodeMessage { event, node: id.into(), seconds: None }));
        }
    }

    fn finished(&self, id: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(id.to_string());
            bar.inc(1);
        }
    }

    fn event(&self, event: &RenderEvent) {
        if messages::json() {
            messages::emit(&Message::Node(event.into()));
        }
    }
}
