//! Dynamics: the level follower and static curves they share, and the compressor, gate and
//! expander, limiter, clipper, multiband compressor and de-esser built on them.

pub mod clipper;
pub mod compressor;
pub mod deesser;
pub mod envelope;
pub mod gain_computer;
pub mod gate;
pub mod limiter;
pub mod multiband;
