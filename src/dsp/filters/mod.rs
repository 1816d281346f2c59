//! Filters and tone: highpass and lowpass, the parametric EQ and the Butterworth design
//! they share, stereo width and the mastering stereo tools, and saturation.

pub mod butterworth;
pub mod eq;
pub mod filter;
pub mod saturate;
pub mod stereo;
pub mod width;
