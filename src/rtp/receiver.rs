//! One call's incoming RTP: parse, account, split telephone-events from
//! audio, and hand out 20 ms frames and DTMF digits.

use super::codec::G711;
use super::dtmf::DtmfDetector;
use super::jitter::{Arrival, DEFAULT_PLAYOUT_DELAY_MS, FRAME_SAMPLES, JitterBuffer};
use super::packet::{RtpPacket, is_rtcp};
use super::stats::{RtpStats, SequenceTracker, SequenceVerdict};

/// What was negotiated for the incoming stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    pub codec: G711,
    /// Payload type of the audio (0 or 8 unless the SDP mapped another).
    pub payload_type: u8,
    /// Payload type of telephone-event/8000, if negotiated.
    pub dtmf_payload_type: Option<u8>,
    /// How long audio waits before playout, absorbing network jitter.
    pub playout_delay_ms: u32,
}

impl ReceiverConfig {
    /// The codec on its static payload type, no DTMF, default delay.
    pub fn new(codec: G711) -> ReceiverConfig {
        ReceiverConfig {
            codec,
            payload_type: codec.static_payload_type(),
            dtmf_payload_type: None,
            playout_delay_ms: DEFAULT_PLAYOUT_DELAY_MS,
        }
    }
}

/// The SSRC being received and its sequence accounting.
#[derive(Debug)]
struct Stream {
    ssrc: u32,
    sequence: SequenceTracker,
}

/// Receives one call's RTP. Bad packets are counted, never errors.
#[derive(Debug)]
pub struct MediaReceiver {
    config: ReceiverConfig,
    jitter: JitterBuffer,
    dtmf: DtmfDetector,
    stream: Option<Stream>,
    /// The SSRC replaced by the current one: its stragglers are dropped
    /// instead of flipping the stream back.
    retired_ssrc: Option<u32>,
    /// Loss of earlier SSRCs.
    retired_lost: u64,
    stats: RtpStats,
}

impl MediaReceiver {
    pub fn new(config: ReceiverConfig) -> MediaReceiver {
        MediaReceiver {
            config,
            jitter: JitterBuffer::new(config.codec, config.playout_delay_ms),
            dtmf: DtmfDetector::new(),
            stream: None,
            retired_ssrc: None,
            retired_lost: 0,
            stats: RtpStats::default(),
        }
    }

    /// Apply a renegotiation (re-INVITE): codec and payload types change for
    /// the packets that follow; a new delay restarts the playout buffer.
    pub fn reconfigure(&mut self, config: ReceiverConfig) {
        if config.playout_delay_ms != self.config.playout_delay_ms {
            self.jitter = JitterBuffer::new(config.codec, config.playout_delay_ms);
        }
        self.jitter.set_codec(config.codec);
        self.config = config;
    }

    /// One received datagram. Malformed packets, unknown payload types,
    /// duplicates and late audio are counted and dropped; multiplexed RTCP
    /// is ignored.
    pub fn push_packet(&mut self, now_ms: u64, bytes: &[u8]) {
        // RTCP sharing the port (rtcp-mux) is not media and not an error.
        if is_rtcp(bytes) {
            return;
        }
        let Ok(packet) = RtpPacket::parse(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        let is_audio = packet.payload_type == self.config.payload_type;
        let is_dtmf = Some(packet.payload_type) == self.config.dtmf_payload_type;
        if !is_audio && !is_dtmf {
            self.stats.wrong_payload_type += 1;
            return;
        }
        self.stats.received += 1;
        if is_dtmf {
            self.push_dtmf(&packet);
            return;
        }
        let Some(stream) = self.stream_for(packet.ssrc, packet.sequence) else {
            self.stats.late += 1;
            return;
        };
        if stream.sequence.on_sequence(packet.sequence) == SequenceVerdict::Duplicate {
            self.stats.duplicate += 1;
            return;
        }
        // Arrival in timestamp units; wrapping is what RFC 3550 A.8 expects.
        let arrival = now_ms.wrapping_mul(8) as u32;
        stream.sequence.on_audio_arrival(arrival, packet.timestamp);
        match self
            .jitter
            .push(now_ms, packet.timestamp, packet.marker, packet.payload)
        {
            Arrival::Buffered | Arrival::Resynced => {}
            Arrival::Late => self.stats.late += 1,
            Arrival::TooLong => self.stats.malformed += 1,
        }
    }

    /// A telephone-event packet. Some gateways send events under an SSRC
    /// of their own: those never switch the audio stream, and only events
    /// in the audio's numbering are checked for duplicates (the detector
    /// dedupes retransmitted events by timestamp anyway).
    fn push_dtmf(&mut self, packet: &RtpPacket<'_>) {
        if self.stream.is_none() {
            self.stream = Some(Stream {
                ssrc: packet.ssrc,
                sequence: SequenceTracker::new(packet.sequence),
            });
        }
        if let Some(stream) = &mut self.stream
            && stream.ssrc == packet.ssrc
            && stream.sequence.on_sequence(packet.sequence) == SequenceVerdict::Duplicate
        {
            self.stats.duplicate += 1;
            return;
        }
        if self
            .dtmf
            .push(packet.marker, packet.timestamp, packet.payload)
            .is_err()
        {
            self.stats.malformed += 1;
        }
    }

    /// The stream a packet belongs to, switching to a new SSRC (which
    /// restarts playout); `None` for stragglers of the replaced SSRC.
    fn stream_for(&mut self, ssrc: u32, sequence: u16) -> Option<&mut Stream> {
        match &self.stream {
            Some(stream) if stream.ssrc == ssrc => {}
            Some(_) if self.retired_ssrc == Some(ssrc) => return None,
            current => {
                if let Some(old) = current {
                    self.retired_ssrc = Some(old.ssrc);
                    self.retired_lost += old.sequence.total_lost();
                    self.stats.ssrc_changes += 1;
                    self.jitter.reset();
                    self.dtmf.reset();
                }
                self.stream = Some(Stream {
                    ssrc,
                    sequence: SequenceTracker::new(sequence),
                });
            }
        }
        self.stream.as_mut()
    }

    /// The next 20 ms of decoded audio when one is due at `now_ms` (call
    /// again until `None` after a late tick): concealed where packets were
    /// lost, silence before the first packet and during long gaps.
    pub fn poll_frame(&mut self, now_ms: u64) -> Option<[i16; FRAME_SAMPLES]> {
        self.jitter.poll_frame(now_ms)
    }

    /// Whether the last frame from [`poll_frame`](Self::poll_frame) had no
    /// audio in it: no packet yet, or a gap longer than concealment covers.
    pub fn last_frame_empty(&self) -> bool {
        self.jitter.last_frame_empty()
    }

    /// The next DTMF digit received (RFC 4733), one per key press.
    pub fn poll_dtmf(&mut self) -> Option<char> {
        self.dtmf.poll_digit()
    }

    pub fn stats(&self) -> RtpStats {
        let current = self.stream.as_ref();
        RtpStats {
            lost: self.retired_lost + current.map_or(0, |s| s.sequence.total_lost()),
            jitter_ms: current.map_or(0.0, |s| s.sequence.jitter() / 8.0),
            resyncs: self.jitter.resyncs(),
            concealed_frames: self.jitter.concealed_frames(),
            shed_frames: self.jitter.shed_frames(),
            ..self.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::packet::RtpHeader;
    use crate::rtp::sender::MediaSender;

    fn config() -> ReceiverConfig {
        ReceiverConfig {
            dtmf_payload_type: Some(101),
            ..ReceiverConfig::new(G711::Pcmu)
        }
    }

    /// 20 ms frames of a steady tone level.
    fn frames(sender: &mut MediaSender, count: usize, level: i16) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| {
                let frame: [i16; FRAME_SAMPLES] = std::array::from_fn(|j| {
                    if (i * 160 + j) % 16 < 8 {
                        level
                    } else {
                        -level
                    }
                });
                let mut out = Vec::new();
                sender.packetize(&frame, &mut out);
                out
            })
            .collect()
    }

    #[test]
    fn junk_wrong_types_duplicates_and_late_packets_are_counted() {
        let mut receiver = MediaReceiver::new(config());
        let mut sender = MediaSender::new(42, G711::Pcmu, 0, 10, 0);
        let packets = frames(&mut sender, 20, 4000);
        receiver.push_packet(0, &[0x80, 0, 1]);
        receiver.push_packet(0, b"not rtp at all, just text");
        let mut comfort_noise = Vec::new();
        RtpHeader::new(13, 9, 0, 42)
            .write(&[40], &mut comfort_noise)
            .unwrap();
        receiver.push_packet(0, &comfort_noise);
        // A receiver report on the same port is neither media nor junk.
        receiver.push_packet(0, &[0x81, 201, 0, 1, 0, 0, 0, 42]);
        for (i, packet) in packets.iter().enumerate() {
            // Packet 5 lost, packet 7 sent twice, packet 2 arrives 300 ms late.
            let now = i as u64 * 20;
            if i != 5 && i != 2 {
                receiver.push_packet(now, packet);
            }
            if i == 7 {
                receiver.push_packet(now + 1, packet);
            }
            if i == 17 {
                receiver.push_packet(now, &packets[2]);
            }
            while receiver.poll_frame(now).is_some() {}
        }
        let stats = receiver.stats();
        assert_eq!(stats.malformed, 2);
        assert_eq!(stats.wrong_payload_type, 1);
        assert_eq!(stats.received, 20);
        assert_eq!(stats.duplicate, 1);
        assert_eq!(stats.late, 1);
        assert_eq!(stats.lost, 1);
        assert_eq!(stats.ssrc_changes, 0);
        assert_eq!(stats.resyncs, 0);
    }

    #[test]
    fn a_new_ssrc_takes_over_and_the_old_one_is_ignored() {
        let mut receiver = MediaReceiver::new(config());
        let mut first = MediaSender::new(1, G711::Pcmu, 0, 100, 5000);
        let mut second = MediaSender::new(2, G711::Pcmu, 0, 60_000, 3_000_000_000);
        let loud = frames(&mut first, 10, 8000);
        let quiet = frames(&mut second, 20, 1000);
        let mut out = Vec::new();
        for i in 0..40u64 {
            let now = i * 20;
            match i {
                0..10 => receiver.push_packet(now, &loud[i as usize]),
                10..30 => receiver.push_packet(now, &quiet[i as usize - 10]),
                _ => {}
            }
            if i == 12 {
                // A straggler of the old stream.
                receiver.push_packet(now, &loud[9]);
            }
            out.extend(receiver.poll_frame(now).unwrap());
        }
        let stats = receiver.stats();
        assert_eq!(stats.ssrc_changes, 1);
        assert_eq!(stats.late, 1);
        assert_eq!(stats.lost, 0);
        // The old stream plays out, then the new one, with no gap between.
        let peak = |frame: usize| {
            out[frame * 160..(frame + 1) * 160]
                .iter()
                .map(|s| s.abs())
                .max()
        };
        let first_frame = 3;
        assert!((first_frame..first_frame + 10).all(|f| peak(f) > Some(6000)));
        assert!(
            (first_frame + 10..first_frame + 30)
                .all(|f| peak(f) < Some(1200) && peak(f) > Some(800))
        );
    }

    #[test]
    fn dtmf_digits_come_out_once_and_audio_goes_on() {
        let mut receiver = MediaReceiver::new(config());
        let mut sender = MediaSender::new(9, G711::Pcmu, 0, 0, 0);
        sender.set_dtmf_payload_type(101);
        let mut now = 0;
        let mut send_all = |receiver: &mut MediaReceiver, packets: Vec<Vec<u8>>| {
            for packet in packets {
                receiver.push_packet(now, &packet);
                while receiver.poll_frame(now).is_some() {}
                now += 20;
            }
        };
        let audio = frames(&mut sender, 5, 3000);
        send_all(&mut receiver, audio);
        let digit_1 = sender.dtmf('1', 120).unwrap();
        send_all(&mut receiver, digit_1);
        let digit_again = sender.dtmf('1', 60).unwrap();
        send_all(&mut receiver, digit_again);
        let digit_star = sender.dtmf('*', 200).unwrap();
        send_all(&mut receiver, digit_star);
        let audio = frames(&mut sender, 5, 3000);
        send_all(&mut receiver, audio);
        let digits: String = std::iter::from_fn(|| receiver.poll_dtmf()).collect();
        assert_eq!(digits, "11*");
        let stats = receiver.stats();
        assert_eq!(stats.lost, 0);
        assert_eq!(stats.late, 0);
        assert_eq!(stats.resyncs, 0);
    }

    #[test]
    fn events_under_their_own_ssrc_leave_the_audio_alone() {
        let mut receiver = MediaReceiver::new(config());
        let mut audio = MediaSender::new(1, G711::Pcmu, 0, 0, 0);
        let mut events = MediaSender::new(2, G711::Pcmu, 0, 500, 77);
        events.set_dtmf_payload_type(101);
        let mut digits = events.dtmf('7', 100).unwrap().into_iter();
        for i in 0..30u64 {
            let now = i * 20;
            let frame = frames(&mut audio, 1, 3000).remove(0);
            receiver.push_packet(now, &frame);
            if i >= 10
                && let Some(event) = digits.next()
            {
                receiver.push_packet(now, &event);
            }
            while receiver.poll_frame(now).is_some() {}
        }
        assert_eq!(receiver.poll_dtmf(), Some('7'));
        assert_eq!(receiver.poll_dtmf(), None);
        let stats = receiver.stats();
        assert_eq!(stats.ssrc_changes + stats.late + stats.lost, 0, "{stats:?}");
        assert_eq!(stats.concealed_frames, 0);
    }

    #[test]
    fn a_telephone_event_without_negotiation_is_a_wrong_payload_type() {
        let mut receiver = MediaReceiver::new(ReceiverConfig::new(G711::Pcmu));
        let mut sender = MediaSender::new(9, G711::Pcmu, 0, 0, 0);
        for packet in sender.dtmf('5', 100).unwrap() {
            receiver.push_packet(0, &packet);
        }
        assert_eq!(receiver.poll_dtmf(), None);
        assert_eq!(receiver.stats().wrong_payload_type, 7);
    }

    #[test]
    fn reconfiguring_switches_codec_for_what_follows() {
        let mut receiver = MediaReceiver::new(config());
        receiver.reconfigure(ReceiverConfig {
            codec: G711::Pcma,
            payload_type: 8,
            ..config()
        });
        let mut sender = MediaSender::new(3, G711::Pcma, 8, 0, 0);
        let mut out = Vec::new();
        sender.packetize(&[2000; FRAME_SAMPLES], &mut out);
        receiver.push_packet(0, &out);
        let frames: Vec<_> = (0..4).filter_map(|i| receiver.poll_frame(i * 20)).collect();
        assert_eq!(frames.len(), 4);
        let decoded = crate::media::g711::alaw_decode(crate::media::g711::alaw_encode(2000));
        assert!(frames[3].iter().all(|&s| s == decoded));
        assert_eq!(receiver.stats().wrong_payload_type, 0);
    }
}
