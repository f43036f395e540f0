//! One call's incoming RTP: parse, account, split telephone-events from
//! audio, and hand out 20 ms frames and DTMF digits.

use super::codec::G711;
use super::dtmf::DtmfDetector;
use super::jitter::{Arrival, DEFAULT_PLAYOUT_DELAY_MS, FRAME_SAMPLES, JitterBuffer};
use super::packet::RtpPacket;
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
    /// duplicates and late audio are counted and dropped.
    pub fn push_packet(&mut self, now_ms: u64, bytes: &[u8]) {
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
        let Some(stream) = self.stream_for(packet.ssrc, packet.sequence) else {
            self.stats.late += 1;
            return;
        };
        if stream.sequence.on_sequence(packet.sequence) == SequenceVerdict::Duplicate {
            self.stats.duplicate += 1;
            return;
        }
        if is_dtmf {
            if self
                .dtmf
                .push(packet.marker, packet.timestamp, packet.payload)
                .is_err()
            {
                self.stats.malformed += 1;
            }
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
            ..self.stats
        }
    }
}
