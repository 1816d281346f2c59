//! mixdown: music production as code.
//!
//! A YAML project describes a mix; `project` reads it, `ir` resolves it, `graph` turns it
//! into a DAG of nodes, `render` runs the nodes that the `cache` does not already hold,
//! and `audio` reads and writes the files. `dsp` holds the processors.

pub mod audio;
pub mod cache;
pub mod dsp;
pub mod units;
