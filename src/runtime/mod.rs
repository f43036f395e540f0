//! The runtime: the only layer that owns threads, the clock and Whisper.

pub mod asr_guards;
pub mod recorder;
pub mod replay;
pub mod tts;
pub mod whisper;
