//! `ivr`: a voice IVR / call-center engine.
//!
//! The crate is split the way sans-IO protocol stacks (str0m, quinn-proto) are:
//! - the **core** (`media`, `brain`, `dialplan`, `session`, `sip`, `rtp`,
//!   `queue`, `call`) is plain state machines and DSP. It never reads the
//!   clock, never touches a socket or a
//!   thread, and never calls Whisper. It is driven with
//!   `handle_input(now, input)` / `poll_output()` / `poll_timeout()`.
//! - the **runtime** (`runtime`) owns threads, the clock and the Whisper
//!   worker pool. It feeds audio and finished transcripts into the core and
//!   carries out what the core asks for.
//!
//! Tests drive the core directly on fake time from recorded audio and get the
//! same answer every run.

pub mod auth;
pub mod board;
pub mod brain;
pub mod call;
pub mod call_record;
pub mod cli;
pub mod config;
pub mod dialplan;
pub mod eval_datasets;
pub mod eval_fixtures;
pub mod media;
pub mod models;
pub mod queue;
pub mod rtp;
pub mod runtime;
pub mod session;
pub mod sip;
pub mod store;
