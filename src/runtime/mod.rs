//! The runtime: the only layer that owns threads, the clock and Whisper.

pub mod asr_guards;
pub mod replay;
pub mod whisper;
