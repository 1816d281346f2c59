//! Time and space: echoes, chorus, the algorithmic reverb and its feedback delay network,
//! and convolution with an impulse response.

pub mod chorus;
pub mod convolution;
pub mod delay;
pub mod fdn;
pub mod reverb;
