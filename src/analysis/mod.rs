//! Analysis of rendered audio: reading a signal wherever it lives (a cache entry, a
//! delivered file), measuring it (loudness, peaks, correlation, band energy), null tests
//! of two signals, and the assertions a mix or an album makes about its render.
//!
//! This module measures and judges; it does not render, print or choose an exit code.

mod album_audio;
pub mod assertions;
mod bands;
mod chained;
pub mod compare;
mod measure;
mod null_test;
pub mod overview;
mod span;
mod stream;

pub use album_audio::{AlbumAudio, SongSpan};
pub use bands::{BandEnergy, band_energy};
pub use measure::{Measurement, correlation, measure};
pub use null_test::{Residual, null_test};
pub use span::Span;
pub use stream::{AudioStream, FileStream};
