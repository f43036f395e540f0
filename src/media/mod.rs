//! Audio DSP for the caller's side of a call: codecs, resampling, WAV files,
//! voice activity detection and prosody. Pure functions and sans-IO state
//! machines only.

pub mod g711;
pub mod pitch;
pub mod prosody;
pub mod resample;
pub mod vad;
pub mod wav;
