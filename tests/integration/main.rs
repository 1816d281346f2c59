//! The integration tests: render real projects through the `mixdown` binary and assert
//! measured properties, render logs, diagnostics and determinism.

mod album_render;
mod assertions;
mod bad_audio;
mod bad_inputs;
mod cache_integrity;
mod cache_trust;
mod clipping;
mod contract_bytes;
mod contract_songs;
mod deliver;
mod determinism;
mod diagnostics;
mod diff;
mod dirty_reasons;
mod examples;
mod faults;
mod formats;
mod graph_plans;
mod loudness_cmd;
mod loudness_conformance;
mod many_targets;
mod mastering;
mod mixing;
mod normalise;
mod peers;
mod properties;
mod remote_cache;
mod render_log;
mod render_loudness;
mod schema;
mod shell;
mod showcase;
mod stem_changes;
mod support;
mod watch;
