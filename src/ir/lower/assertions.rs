//! Lowering the `assert:` blocks of tracks, buses and the master into [`Assertion`]s, in
//! the order the mix file writes them; each block is lowered by
//! [`crate::ir::assertion_lower`], as an album's are.

use std::path::PathBuf;

use super::Lowering;
use crate::diag::{Diagnostic, Location};
use crate::ir::assertion_lower::{AssertSite, in_file_order, lower_block};
use crate::ir::{Assertion, MASTER, Subject};
use crate::project::RawAssert;

impl Lowering<'_> {
    /// Every check of every `assert:` block: tracks, then buses, then the master.
    pub(super) fn assertions(&mut self) -> Vec<Assertion> {
        let raw = &self.loaded.raw;
        let blocks: Vec<(Subject, String, RawAssert)> = raw
            .tracks
            .iter()
            .filter_map(|(n, t)| {
                Some((Subject::Track(n.clone()), format!("tracks.{n}"), t.assert.clone()?))
            })
            .chain(raw.buses.iter().filter_map(|(n, b)| {
                Some((Subject::Bus(n.clone()), format!("buses.{n}"), b.assert.clone()?))
            }))
            .chain(raw.master.assert.clone().map(|a| (Subject::Master, MASTER.to_string(), a)))
            .collect();
        let mut assertions = Vec::new();
        for (subject, owner, block) in blocks {
            assertions.extend(lower_block(self, &subject, &format!("{owner}.assert"), &block));
        }
        in_file_order(&mut assertions);
        assertions
    }
}

impl AssertSite for Lowering<'_> {
    fn locate(&self, yaml_path: &str) -> Option<Location> {
        self.loaded.locate(yaml_path)
    }

    fn error(&mut self, code: &'static str, yaml_path: &str, message: String) -> &mut Diagnostic {
        Lowering::error(self, code, yaml_path, message)
    }

    fn reference_file(&mut self, yaml_path: &str, written: &str) -> PathBuf {
        self.file(yaml_path, written)
    }
}
