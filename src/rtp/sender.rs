//! One call's outgoing RTP stream: G.711 packets with continuous sequence
//! numbers and timestamps, the marker bit on each talkspurt's first packet,
//! and RFC 4733 telephone-events for dialled digits.

use super::codec::G711;
use super::dtmf::{DEFAULT_DTMF_PAYLOAD_TYPE, event_for_digit, event_packets};
use super::error::RtpError;
use super::jitter::{FRAME_SAMPLES, MAX_PACKET_SAMPLES};
use super::packet::RtpHeader;

/// Builds the packets the runtime sends, one call each; pacing them is the
/// runtime's job.
#[derive(Debug, Clone)]
pub struct MediaSender {
    ssrc: u32,
    codec: G711,
    payload_type: u8,
    dtmf_payload_type: u8,
    sequence: u16,
    timestamp: u32,
    /// The next packet starts a talkspurt.
    marker: bool,
}

impl MediaSender {
    /// `ssrc`, `initial_seq` and `initial_ts` should be random (RFC 3550
    /// 5.1); the caller draws them, this core has no randomness. Payload
    /// types above 127 do not exist and are masked to 7 bits.
    pub fn new(
        ssrc: u32,
        codec: G711,
        payload_type: u8,
        initial_seq: u16,
        initial_ts: u32,
    ) -> MediaSender {
        MediaSender {
            ssrc,
            codec,
            payload_type: payload_type & 0x7F,
            dtmf_payload_type: DEFAULT_DTMF_PAYLOAD_TYPE,
            sequence: initial_seq,
            timestamp: initial_ts,
            marker: true,
        }
    }

    /// The telephone-event payload type the peer negotiated (default 101).
    pub fn set_dtmf_payload_type(&mut self, payload_type: u8) {
        self.dtmf_payload_type = payload_type & 0x7F;
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Sequence number of the next packet.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// Timestamp of the next audio packet.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Encode one 20 ms frame into `out` (cleared first) as the next packet.
    pub fn packetize(&mut self, frame: &[i16; FRAME_SAMPLES], out: &mut Vec<u8>) {
        self.packetize_samples(frame, out);
    }

    /// Like [`packetize`](Self::packetize) for another packet length (a
    /// peer asking for 30 ms); at most [`MAX_PACKET_SAMPLES`] are sent.
    pub fn packetize_samples(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        let pcm = &pcm[..pcm.len().min(MAX_PACKET_SAMPLES)];
        let mut codes = [0u8; MAX_PACKET_SAMPLES];
        let n = self.codec.encode_into(pcm, &mut codes);
        out.clear();
        self.write(
            self.payload_type,
            self.marker,
            self.timestamp,
            &codes[..n],
            out,
        );
        self.timestamp = self.timestamp.wrapping_add(n as u32);
        self.marker = false;
    }

    /// `samples` of time pass with nothing sent (silence suppression, hold):
    /// the timestamp keeps counting and the next packet starts a talkspurt.
    pub fn skip(&mut self, samples: u32) {
        if samples > 0 {
            self.timestamp = self.timestamp.wrapping_add(samples);
            self.marker = true;
        }
    }

    /// The packets of one key press lasting `duration_ms` (clamped to 20 ms
    /// ..= 8 s, the longest single event): the start with the marker bit,
    /// updates, and the end packet three times. Send them 20 ms apart in
    /// place of audio; the audio timestamp moves past them.
    pub fn dtmf(&mut self, digit: char, duration_ms: u32) -> Result<Vec<Vec<u8>>, RtpError> {
        let event = event_for_digit(digit).ok_or(RtpError::NotDtmfDigit(digit))?;
        let duration = (duration_ms.clamp(20, 8000) * 8) as u16;
        let packets: Vec<Vec<u8>> = event_packets(event, duration, FRAME_SAMPLES as u16)
            .into_iter()
            .map(|(marker, payload)| {
                let mut out = Vec::with_capacity(16);
                self.write(
                    self.dtmf_payload_type,
                    marker,
                    self.timestamp,
                    &payload,
                    &mut out,
                );
                out
            })
            .collect();
        self.timestamp = self
            .timestamp
            .wrapping_add((packets.len() * FRAME_SAMPLES) as u32);
        self.marker = true;
        Ok(packets)
    }

    fn write(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) {
        let header = RtpHeader {
            marker,
            ..RtpHeader::new(payload_type, self.sequence, timestamp, self.ssrc)
        };
        // Cannot fail: 7-bit payload type, no CSRCs, no extension.
        header
            .write(payload, out)
            .expect("a plain RTP header is always writable");
        self.sequence = self.sequence.wrapping_add(1);
    }
}
