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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::dtmf::TelephoneEvent;
    use crate::rtp::packet::RtpPacket;

    #[test]
    fn packets_count_on_and_mark_talkspurts() {
        let mut sender = MediaSender::new(0xCAFE, G711::Pcma, 8, u16::MAX, u32::MAX - 100);
        let frame = [1000i16; FRAME_SAMPLES];
        let mut out = Vec::new();
        let mut headers = Vec::new();
        for i in 0..4 {
            if i == 2 {
                sender.skip(800);
            }
            sender.packetize(&frame, &mut out);
            let packet = RtpPacket::parse(&out).unwrap();
            assert_eq!(packet.payload.len(), FRAME_SAMPLES);
            assert_eq!(packet.payload[0], crate::media::g711::alaw_encode(1000));
            headers.push((
                packet.marker,
                packet.sequence,
                packet.timestamp,
                packet.ssrc,
            ));
        }
        let start = u32::MAX - 100;
        assert_eq!(
            headers,
            vec![
                (true, u16::MAX, start, 0xCAFE),
                (false, 0, start.wrapping_add(160), 0xCAFE),
                (true, 1, start.wrapping_add(320 + 800), 0xCAFE),
                (false, 2, start.wrapping_add(480 + 800), 0xCAFE),
            ]
        );
    }

    #[test]
    fn a_digit_is_a_packet_train_and_audio_resumes_after_it() {
        let mut sender = MediaSender::new(7, G711::Pcmu, 0, 100, 8000);
        sender.set_dtmf_payload_type(96);
        let mut out = Vec::new();
        sender.packetize(&[0; FRAME_SAMPLES], &mut out);
        let train = sender.dtmf('#', 100).unwrap();
        let packets: Vec<RtpPacket> = train.iter().map(|p| RtpPacket::parse(p).unwrap()).collect();
        // 100 ms: five updates (the last one ends it), two more end copies.
        assert_eq!(packets.len(), 7);
        for (i, packet) in packets.iter().enumerate() {
            assert_eq!(packet.payload_type, 96);
            assert_eq!(packet.sequence, 101 + i as u16);
            assert_eq!(packet.timestamp, 8160);
            assert_eq!(packet.marker, i == 0);
            let event = TelephoneEvent::parse(packet.payload).unwrap();
            assert_eq!(event.event, 11);
            assert_eq!(event.end, i >= 4);
        }
        sender.packetize(&[0; FRAME_SAMPLES], &mut out);
        let next = RtpPacket::parse(&out).unwrap();
        assert_eq!(next.sequence, 108);
        assert_eq!(next.timestamp, 8160 + 7 * 160);
        assert!(next.marker);
        assert_eq!(sender.dtmf('x', 100), Err(RtpError::NotDtmfDigit('x')));
    }

    #[test]
    fn other_packet_lengths_advance_by_their_samples() {
        let mut sender = MediaSender::new(1, G711::Pcmu, 0, 0, 0);
        let mut out = Vec::new();
        sender.packetize_samples(&[0; 240], &mut out);
        assert_eq!(out.len(), 12 + 240);
        assert_eq!(sender.next_timestamp(), 240);
        assert_eq!(sender.next_sequence(), 1);
        assert_eq!(sender.ssrc(), 1);
    }
}
