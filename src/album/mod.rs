//! The album's rules that need no audio: where songs fall on the timeline, in samples at
//! every delivery rate. Pure functions of the resolved album and the songs' lengths.

pub mod cd_time;
pub mod cue;
pub mod red_book;
pub mod report;
pub mod sequence;
