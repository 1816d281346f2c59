//! mixdown: music production as code.
//!
//! A YAML project describes a mix; `project` reads it, `ir` resolves it, `graph` turns it
//! into a DAG of nodes (`compile` does all three for every front end), `render` runs the
//! nodes that the `cache` does not already hold, and `audio` reads and encodes the files.
//! `dsp` holds the processors; `album` the album's pure rules (CD time, CUE sheets, the
//! Red Book, the report); `watch` waits for files to change; `cli` is the command line.
//! `atomic_file` is how every file that must appear whole is written, and `file_identity`
//! tells whether a file changed without reading it.

pub mod album;
pub mod analysis;
pub mod atomic_file;
pub mod audio;
pub mod cache;
pub mod cli;
pub mod compile;
pub mod diag;
pub mod dsp;
pub mod file_identity;
pub mod graph;
pub mod ir;
pub mod project;
pub mod render;
pub mod units;
pub mod watch;
