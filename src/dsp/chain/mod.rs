//! The chain: running processors in series and in `parallel` branches, and the plain gain
//! and polarity steps. The list of processors a `chain:` may name is `ir::step`.

pub mod gain;
pub mod polarity;
pub mod series;
