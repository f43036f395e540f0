//! Whisper worker pool (whisper-rs).
