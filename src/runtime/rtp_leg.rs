//! One RTP leg of a call (the caller's, or an agent's when bridged).

use std::net::SocketAddr;

use crate::rtp::{G711, MediaReceiver, MediaSender, ReceiverConfig};
use crate::runtime::clock::Clock;
use crate::runtime::rtp_socket::RtpSocket;
use crate::sip::{Codec, MediaOffer};

const FRAME: usize = 160;

pub fn g711(codec: Codec) -> G711 {
    match codec {
        Codec::Pcmu => G711::Pcmu,
        Codec::Pcma => G711::Pcma,
    }
}

/// One RTP stream of a call: its socket, the far end, the jitter buffer
/// and the sender.
pub struct RtpLeg {
    pub socket: RtpSocket,
    /// Codec, payload type and DTMF payload type in use.
    pub format: (Codec, u8, Option<u8>),
    pub remote: SocketAddr,
    pub on_hold: bool,
    pub receiver: MediaReceiver,
    pub sender: MediaSender,
    pub packet: Vec<u8>,
}

impl RtpLeg {
    pub fn new(socket: RtpSocket, offer: &MediaOffer, playout_delay_ms: u32, seed: u64) -> RtpLeg {
        let receiver = MediaReceiver::new(ReceiverConfig {
            codec: g711(offer.codec),
            payload_type: offer.payload_type,
            dtmf_payload_type: offer.dtmf_payload_type,
            playout_delay_ms,
        });
        let ssrc = (seed ^ (seed >> 32)) as u32;
        let sender = MediaSender::new(
            ssrc,
            g711(offer.codec),
            offer.payload_type,
            (seed >> 8) as u16,
            (seed >> 16) as u32,
        );
        RtpLeg {
            format: (offer.codec, offer.payload_type, offer.dtmf_payload_type),
            socket,
            remote: offer.remote_rtp,
            on_hold: offer.on_hold,
            receiver,
            sender,
            packet: Vec::with_capacity(12 + FRAME),
        }
    }

    pub fn send(&mut self, frame: &[i16; FRAME]) {
        if self.on_hold || self.remote.ip().is_unspecified() {
            self.sender.skip(FRAME as u32);
            return;
        }
        self.packet.clear();
        self.sender.packetize(frame, &mut self.packet);
        self.socket.send_to(&self.packet, self.remote);
    }

    /// Takes in what the far end sent since the last tick, each packet at
    /// its arrival on the runtime's `clock`.
    pub fn receive(&mut self, clock: &Clock) {
        let receiver = &mut self.receiver;
        self.socket
            .drain(|arrived, bytes| receiver.push_packet(clock.ms_at(arrived), bytes));
    }
}
