//! The two audio codecs RTP carries here: G.711 mu-law and A-law, 8 kHz.
//! The runtime maps the SIP layer's negotiated codec onto this one.

use crate::media::g711;

/// G.711 variant of an RTP audio stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711 {
    /// mu-law (PCMU).
    Pcmu,
    /// A-law (PCMA).
    Pcma,
}

impl G711 {
    /// The static RTP payload type of RFC 3551 (0 for PCMU, 8 for PCMA).
    pub fn static_payload_type(self) -> u8 {
        match self {
            G711::Pcmu => 0,
            G711::Pcma => 8,
        }
    }

    /// Decode `codes` into `out`; returns the number of samples written.
    pub fn decode_into(self, codes: &[u8], out: &mut [i16]) -> usize {
        match self {
            G711::Pcmu => g711::decode_ulaw_into(codes, out),
            G711::Pcma => g711::decode_alaw_into(codes, out),
        }
    }

    /// Encode `pcm` into `out`; returns the number of codes written.
    pub fn encode_into(self, pcm: &[i16], out: &mut [u8]) -> usize {
        match self {
            G711::Pcmu => g711::encode_ulaw_into(pcm, out),
            G711::Pcma => g711::encode_alaw_into(pcm, out),
        }
    }
}
