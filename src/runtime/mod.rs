//! The runtime: the only layer that owns threads, the clock and Whisper.

pub mod whisper;
