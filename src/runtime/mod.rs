//! The runtime: the only layer that owns threads, the clock and Whisper.

pub mod asr_guards;
pub mod asr_service;
pub mod call_task;
pub mod clock;
pub mod dialer;
pub mod engine;
pub mod http_api;
pub mod listen;
pub mod load;
pub mod prompt_cache;
pub mod recorder;
pub mod replay;
pub mod rtp_leg;
pub mod rtp_ports;
pub mod server;
pub mod sip_tcp;
pub mod store_writer;
pub mod switchboard;
pub mod tts;
pub mod whisper;
