//! The album's rules that need no audio: where songs fall on the timeline, in samples at
//! every delivery rate, CD time, CUE sheets, the Red Book's limits and the render's report.
//! Pure functions of the resolved album, the songs' lengths and what the render measured:
//! none reads or writes a file, measures audio or knows the graph, so the render can call
//! them and tests can pin them exactly.

pub mod cd_time;
pub mod cue;
pub mod red_book;
pub mod report;
pub mod sequence;
