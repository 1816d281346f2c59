//! The chain: the list of processors a `chain:` may name, running them in series and in
//! `parallel` branches, and the plain gain and polarity steps.

pub mod gain;
pub mod polarity;
pub mod series;
pub mod step;
