//! The building blocks processors are made of: biquad and one-pole filters, allpasses,
//! Linkwitz–Riley crossovers, a linear-phase FIR low-pass, ring buffers and delay lines,
//! oversampling, and parameter curves over frames. None of them is a processor a chain can name.

pub mod allpass;
pub mod biquad;
pub mod crossover;
pub mod curve;
pub mod delay_line;
pub mod fir_lowpass;
pub mod kaiser;
pub mod one_pole;
pub mod oversample;
pub mod ring;
