//! Dynamics: the level follower and static curves they share, and the compressor, gate and
//! expander, limiter and de-esser built on them.

pub mod compressor;
pub mod deesser;
pub mod envelope;
pub mod gain_computer;
pub mod gate;
pub mod limiter;
