//! RTP packets (RFC 3550 section 5.1): the fixed header, the CSRC list, the
//! header extension and padding.
//!
//! Parsing and writing go through `rtp-types`, which checks every length
//! against the buffer it borrows and never copies or allocates: this runs
//! for every packet of every call, 50 times a second each. webrtc-rs's `rtp`
//! crate was the other candidate; its `Packet::unmarshal` copies the payload
//! into `Bytes` and collects CSRCs and extensions into `Vec`s per packet.
//! The view below borrows the datagram, so the payload reaches the decoder
//! without a copy.

use rtp_types::{RtpPacketBuilder, RtpParseError, RtpWriteError};

use super::error::RtpError;

/// Fixed header length without CSRCs.
pub const RTP_HEADER_LEN: usize = 12;
/// The CSRC count is a 4-bit field.
pub const MAX_CSRCS: usize = 15;

/// A header extension: a profile-defined 16-bit id and whole 32-bit words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing the received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Contributing sources, big-endian 32-bit words (see [`RtpPacket::csrcs`]).
    pub csrc_bytes: &'a [u8],
    pub extension: Option<HeaderExtension<'a>>,
    /// The payload without padding.
    pub payload: &'a [u8],
    /// Padding bytes after the payload (0 without the P bit).
    pub padding: u8,
}

impl<'a> RtpPacket<'a> {
    /// Parse a datagram. Every inconsistency between the header and the
    /// buffer length is an error, never a panic.
    pub fn parse(bytes: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        let packet = rtp_types::RtpPacket::parse(bytes).map_err(parse_error)?;
        let csrc_end = RTP_HEADER_LEN + 4 * usize::from(packet.n_csrcs());
        let extension = packet.extension().map(|(profile, _)| HeaderExtension {
            profile,
            data: &bytes[csrc_end + 4..csrc_end + 4 + packet.extension_len()],
        });
        let payload_start = packet.payload_offset();
        Ok(RtpPacket {
            marker: packet.marker_bit(),
            payload_type: packet.payload_type(),
            sequence: packet.sequence_number(),
            timestamp: packet.timestamp(),
            ssrc: packet.ssrc(),
            csrc_bytes: &bytes[RTP_HEADER_LEN..csrc_end],
            extension,
            payload: &bytes[payload_start..payload_start + packet.payload_len()],
            padding: packet.padding().unwrap_or(0),
        })
    }

    /// The contributing sources, in header order.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.csrc_bytes
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Whether a datagram is RTCP multiplexed on the RTP port (RFC 5761: its
/// second byte, read as an RTP payload type, falls in 64..=95).
pub fn is_rtcp(bytes: &[u8]) -> bool {
    matches!(bytes, [first, second, ..] if first >> 6 == 2 && (64..=95).contains(&(second & 0x7F)))
}

fn parse_error(error: RtpParseError) -> RtpError {
    match error {
        RtpParseError::UnsupportedVersion(version) => RtpError::UnsupportedVersion(version),
        RtpParseError::Truncated { expected, actual } => RtpError::Truncated {
            needed: expected,
            got: actual,
        },
        RtpParseError::PaddingInvalid(length) => RtpError::InvalidPadding(length),
    }
}

/// What goes in front of a payload when writing a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader<'h> {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrcs: &'h [u32],
    pub extension: Option<HeaderExtension<'h>>,
    /// Padding bytes to append (0: none; the last byte holds the count).
    pub padding: u8,
}

impl RtpHeader<'static> {
    /// A plain header: no CSRCs, no extension, no padding, no marker.
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32) -> Self {
        RtpHeader {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: &[],
            extension: None,
            padding: 0,
        }
    }
}

impl RtpHeader<'_> {
    /// Append the packet (header, `payload`, padding) to `out`. Nothing is
    /// appended on error.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), RtpError> {
        // Checked here so the builder's inline CSRC list never spills to the
        // heap and every error names its cause.
        if self.csrcs.len() > MAX_CSRCS {
            return Err(RtpError::TooManyCsrcs(self.csrcs.len()));
        }
        if let Some(extension) = self.extension
            && (extension.data.len() % 4 != 0 || extension.data.len() > usize::from(u16::MAX))
        {
            return Err(RtpError::BadExtensionLength(extension.data.len()));
        }
        let mut builder = RtpPacketBuilder::<&[u8], &[u8]>::new()
            .marker_bit(self.marker)
            .payload_type(self.payload_type)
            .sequence_number(self.sequence)
            .timestamp(self.timestamp)
            .ssrc(self.ssrc)
            .payload(payload);
        for &csrc in self.csrcs {
            builder = builder.add_csrc(csrc);
        }
        if let Some(extension) = self.extension {
            builder = builder.extension(extension.profile, extension.data);
        }
        if self.padding > 0 {
            builder = builder.padding(self.padding);
        }
        builder.write_into_vec(out).map_err(|error| match error {
            RtpWriteError::InvalidPayloadType(pt) => RtpError::InvalidPayloadType(pt),
            RtpWriteError::TooManyContributionSources(n) => RtpError::TooManyCsrcs(n),
            RtpWriteError::InvalidPadding => RtpError::InvalidPadding(self.padding),
            // Extension checks ran above; a Vec never runs out of room.
            RtpWriteError::ExtensionDataNotPadded
            | RtpWriteError::PacketTooLarge
            | RtpWriteError::OutputTooSmall(_) => RtpError::BadExtensionLength(
                self.extension.map_or(0, |extension| extension.data.len()),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small deterministic generator for the fuzz-style tests.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn full_packet() -> Vec<u8> {
        let header = RtpHeader {
            marker: true,
            payload_type: 8,
            sequence: 0xFFFE,
            timestamp: 0xDEAD_BEEF,
            ssrc: 0x0102_0304,
            csrcs: &[11, 22, 33],
            extension: Some(HeaderExtension {
                profile: 0xBEDE,
                data: &[1, 2, 3, 4, 5, 6, 7, 8],
            }),
            padding: 3,
        };
        let mut out = Vec::new();
        header.write(&[9, 8, 7, 6, 5], &mut out).unwrap();
        out
    }

    #[test]
    fn written_packet_parses_back_field_by_field() {
        let bytes = full_packet();
        assert_eq!(bytes.len(), 12 + 12 + 4 + 8 + 5 + 3);
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert!(packet.marker);
        assert_eq!(packet.payload_type, 8);
        assert_eq!(packet.sequence, 0xFFFE);
        assert_eq!(packet.timestamp, 0xDEAD_BEEF);
        assert_eq!(packet.ssrc, 0x0102_0304);
        assert_eq!(packet.csrcs().collect::<Vec<_>>(), vec![11, 22, 33]);
        let extension = packet.extension.unwrap();
        assert_eq!(extension.profile, 0xBEDE);
        assert_eq!(extension.data, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(packet.payload, &[9, 8, 7, 6, 5]);
        assert_eq!(packet.padding, 3);
    }

    #[test]
    fn plain_header_is_twelve_bytes_in_network_order() {
        let mut out = vec![0xAA];
        RtpHeader::new(0, 0x1234, 0x0A0B_0C0D, 0x1122_3344)
            .write(&[0xFF; 2], &mut out)
            .unwrap();
        // Appends after what was already there.
        assert_eq!(
            out,
            [
                0xAA, 0x80, 0x00, 0x12, 0x34, 0x0A, 0x0B, 0x0C, 0x0D, 0x11, 0x22, 0x33, 0x44, 0xFF,
                0xFF
            ]
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = full_packet();
        for len in 0..bytes.len() {
            // Cutting the tail makes the padding count read a payload byte,
            // so some cuts parse as shorter packets; none may panic and the
            // short header cuts must say truncated.
            let result = RtpPacket::parse(&bytes[..len]);
            if len < RTP_HEADER_LEN + 12 + 4 {
                assert!(
                    matches!(result, Err(RtpError::Truncated { .. })),
                    "{len}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn malformed_headers_name_their_cause() {
        let bytes = full_packet();
        let mut version_1 = bytes.clone();
        version_1[0] = (version_1[0] & 0x3F) | 0x40;
        assert_eq!(
            RtpPacket::parse(&version_1),
            Err(RtpError::UnsupportedVersion(1))
        );

        let mut zero_padding = bytes.clone();
        *zero_padding.last_mut().unwrap() = 0;
        assert_eq!(
            RtpPacket::parse(&zero_padding),
            Err(RtpError::InvalidPadding(0))
        );

        let mut padding_past_start = bytes.clone();
        *padding_past_start.last_mut().unwrap() = 200;
        assert!(matches!(
            RtpPacket::parse(&padding_past_start),
            Err(RtpError::Truncated { .. })
        ));

        let mut extension_too_long = bytes;
        extension_too_long[12 + 12 + 3] = 50;
        assert!(matches!(
            RtpPacket::parse(&extension_too_long),
            Err(RtpError::Truncated { .. })
        ));
    }

    #[test]
    fn random_bytes_never_panic_and_parsed_fields_stay_in_bounds() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let len = (rng.next() % 80) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Bias half the inputs towards version 2 to reach deeper checks.
            if len > 0 && rng.next().is_multiple_of(2) {
                bytes[0] = (bytes[0] & 0x3F) | 0x80;
            }
            if let Ok(packet) = RtpPacket::parse(&bytes) {
                parsed += 1;
                let used = RTP_HEADER_LEN
                    + packet.csrc_bytes.len()
                    + packet.extension.map_or(0, |e| 4 + e.data.len())
                    + packet.payload.len()
                    + usize::from(packet.padding);
                assert_eq!(used, bytes.len());
            }
        }
        assert!(parsed > 100, "only {parsed} random inputs parsed");
    }

    #[test]
    fn rtcp_on_the_rtp_port_is_recognised() {
        // A receiver report (PT 201) and a sender report (PT 200).
        assert!(is_rtcp(&[0x81, 201, 0, 7]));
        assert!(is_rtcp(&[0x80, 200, 0, 6]));
        assert!(!is_rtcp(&full_packet()));
        assert!(!is_rtcp(&[0x80]));
    }

    #[test]
    fn unwritable_headers_are_refused() {
        let mut out = Vec::new();
        let mut header = RtpHeader::new(128, 0, 0, 0);
        assert_eq!(
            header.write(&[], &mut out),
            Err(RtpError::InvalidPayloadType(128))
        );
        header.payload_type = 0;
        let csrcs = [0u32; 16];
        header.csrcs = &csrcs;
        assert_eq!(header.write(&[], &mut out), Err(RtpError::TooManyCsrcs(16)));
        header.csrcs = &[];
        header.extension = Some(HeaderExtension {
            profile: 1,
            data: &[1, 2, 3],
        });
        assert_eq!(
            header.write(&[], &mut out),
            Err(RtpError::BadExtensionLength(3))
        );
        assert!(out.is_empty());
    }
}
