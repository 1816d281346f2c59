//! `mixdown test`: render each named mix or album (only what the cache lacks), check every
//! assertion it makes, and end with a runner line, `4 passed, 1 failed`.
//!
//! Each result is a line on stdout (with `--message-format json`, an `assertion` message):
//! `ok` or `FAILED`, the file that writes it, the assertion's YAML path and what was
//! measured. An album's results include its songs' own mixes' assertions, each in its
//! mix file. Each
//! failure is also printed on stderr as a diagnostic at the line that set the bound. Exit
//! codes: 0 when every assertion holds, 1 when one fails or a render fails, 2 when a
//! project is invalid (the worst of all the files).

use std::path::PathBuf;

use super::messages;
use super::render_cmd::{RenderOptions, Sharing, render_file};
use super::{CacheArgs, DEFAULT_PROJECT, EXIT_FAILURE, EXIT_OK};
use crate::analysis::assertions::Outcome;

/// Arguments of `test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The mix or album files.
    #[arg(default_value = DEFAULT_PROJECT)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    options: RenderOptions,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Runs `test`.
pub fn run(args: &TestArgs) -> i32 {
    args.options.messages.install();
    let (mut passed, mut failed, mut code) = (0, 0, EXIT_OK);
    for file in &args.files {
        let setup = match args.cache.for_project(file) {
            Ok(setup) => setup,
            Err(invalid) => {
                code = code.max(invalid);
                continue;
            }
        };
        let rendered = render_file(file, &args.options, &setup.dir, false, &Sharing::default());
        code = code.max(rendered.code);
        for outcome in &rendered.outcomes {
            if !messages::json() {
                println!("{}", result_line(file, outcome));
            }
            if outcome.passed() { passed += 1 } else { failed += 1 }
        }
    }
    let code = if failed > 0 { code.max(EXIT_FAILURE) } else { code };
    if messages::json() {
        eprintln!("{passed} passed, {failed} failed");
    } else {
        println!("{passed} passed, {failed} failed");
    }
    messages::finish_test("test", code, Some((passed, failed)))
}

/// `ok     song.yaml master.assert.loudness: the master's integrated loudness is …`, naming
/// the file that writes the assertion (a song's own mix file, in an album).
fn result_line(file: &std::path::Path, outcome: &Outcome) -> String {
    let verdict = if outcome.passed() { "ok" } else { "FAILED" };
    let written_in = outcome.assertion.location.as_ref().map_or(file, |l| l.file.as_path());
    format!(
        "{verdict:<6} {} {}: {}",
        written_in.display(),
        outcome.assertion.yaml_path,
        outcome.message()
    )
}
