//! YAML text → diagnostics or a render graph: the loader, lowering and graph building must
//! answer every input with diagnostics, never a panic or a hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mixdown::graph::build;
use mixdown::ir::lower;
use mixdown::project::{Rejected, parse_mix};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let loaded = match parse_mix(Path::new("fuzz.yaml"), text) {
        Ok(loaded) => loaded,
        Err(Rejected { remainder: Some(rest), .. }) => rest.mix,
        Err(Rejected { remainder: None, .. }) => return,
    };
    let (mix, diagnostics) = lower(&loaded);
    if !diagnostics.iter().any(mixdown::diag::Diagnostic::is_error) {
        let _ = build(&mix);
    }
});
