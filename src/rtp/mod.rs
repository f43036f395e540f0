//! RTP, sans-IO: packets, jitter buffer, RFC 4733 DTMF and the paced sender.
//!
//! The runtime owns the sockets and the 20 ms clock. Per call it feeds every
//! datagram to a [`MediaReceiver`] as it arrives and polls the caller's
//! frames on each tick, both with `now_ms` from the same clock (the jitter
//! buffer measures arrival against playout). It sends what a [`MediaSender`]
//! builds from the engine's frames, one packet per tick; a DTMF train from
//! [`MediaSender::dtmf`] goes out one packet per tick in place of audio.

pub mod codec;
pub mod conceal;
pub mod dtmf;
pub mod error;
pub mod jitter;
pub mod packet;
pub mod receiver;
pub mod sender;
pub mod stats;

pub use codec::G711;
pub use dtmf::DEFAULT_DTMF_PAYLOAD_TYPE;
pub use error::RtpError;
pub use jitter::{DEFAULT_PLAYOUT_DELAY_MS, FRAME_SAMPLES};
pub use packet::{HeaderExtension, RtpHeader, RtpPacket};
pub use receiver::{MediaReceiver, ReceiverConfig};
pub use sender::MediaSender;
pub use stats::RtpStats;
