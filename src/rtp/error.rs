//! Errors of the RTP layer. A bad packet from the network never reaches the
//! call as an error: the receiver counts it (see `RtpStats`) and drops it.
//! These variants say why, for tests, logs and the packet writer's callers.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RtpError {
    #[error("truncated RTP packet: {needed} bytes needed, {got} present")]
    Truncated { needed: usize, got: usize },
    #[error("unsupported RTP version {0} (only version 2 exists)")]
    UnsupportedVersion(u8),
    #[error("invalid RTP padding length {0}")]
    InvalidPadding(u8),
    #[error("RTP payload type {0} is outside 0..=127")]
    InvalidPayloadType(u8),
    #[error("{0} contributing sources do not fit an RTP header (at most 15)")]
    TooManyCsrcs(usize),
    #[error("RTP header extension of {0} bytes is not a whole number of 32-bit words up to 65535")]
    BadExtensionLength(usize),
    #[error("telephone-event payload of {0} bytes is shorter than the 4-byte event")]
    ShortTelephoneEvent(usize),
    #[error("{0:?} is not a DTMF digit (0-9, *, #, A-D)")]
    NotDtmfDigit(char),
}
