//! The vocabulary the endpoint shares with its caller: peers, call handles,
//! negotiated media, inputs, outputs and events.

use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// Streams need no retransmissions (RFC 3261 17: timers A, E, G and the
    /// waits of D, I, J, K are for unreliable transports only).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// Where a message came from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551).
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }
}

/// What was negotiated from the remote SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaOffer {
    /// c= + m= of the audio stream (0.0.0.0 when the peer holds the call).
    pub remote_rtp: SocketAddr,
    pub codec: Codec,
    pub payload_type: u8,
    /// telephone-event/8000, if the peer offered it.
    pub dtmf_payload_type: Option<u8>,
    /// 20 unless a=ptime says otherwise.
    pub ptime_ms: u32,
    /// sendonly / inactive / 0.0.0.0: the peer does not want our audio.
    pub on_hold: bool,
}

#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Put in Via and Contact of what we send: the bound UDP address.
    pub local_addr: SocketAddr,
    pub user_agent: String,
    /// Preference order.
    pub codecs: Vec<Codec>,
    /// Seeds tags, branches, Call-IDs and digest nonces; give each run a
    /// different one (e.g. the wall clock) so a restarted endpoint does not
    /// reuse them.
    pub seed: u64,
    /// Who may REGISTER (digest authentication). Empty: every REGISTER is
    /// refused with 403.
    pub agents: Vec<AgentCredential>,
    /// The digest realm of our challenges.
    pub realm: String,
}

impl EndpointConfig {
    pub fn new(local_addr: SocketAddr) -> EndpointConfig {
        EndpointConfig {
            local_addr,
            user_agent: format!("ivr/{}", env!("CARGO_PKG_VERSION")),
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            seed: 0,
            agents: Vec::new(),
            realm: "ivr".to_string(),
        }
    }
}

/// A SIP user (an agent's phone) and the password it registers with.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentCredential {
    pub user: String,
    pub password: String,
}

/// Passwords stay out of logs that print the endpoint's configuration.
impl std::fmt::Debug for AgentCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCredential")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// A phone registered for a user (RFC 3261 10): where to send its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub user: String,
    /// The Contact URI the phone registered.
    pub contact: String,
    /// Where its REGISTER came from (the address to reach it behind NAT).
    pub peer: Peer,
    /// When the binding runs out (`now_ms` time), unless refreshed.
    pub expires_ms: u64,
}

pub enum Input<'a> {
    Received { peer: Peer, bytes: &'a [u8] },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Transmit { peer: Peer, bytes: Vec<u8> },
    Event(SipEvent),
}

/// Every call announced by `IncomingCall` or created by `invite` ends with
/// exactly one `CallEnded`, or with `Failed` when an outgoing call is never
/// answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipEvent {
    // Inbound calls (UAS). The endpoint sent 100 Trying already.
    IncomingCall {
        call: CallHandle,
        from_uri: String,
        from_display: Option<String>,
        to_uri: String,
        call_id: String,
        offer: MediaOffer,
        headers: Vec<(String, String)>,
    },
    /// The ACK for our 2xx arrived.
    CallConfirmed {
        call: CallHandle,
    },
    /// A re-INVITE (hold/unhold) changed the media; the endpoint answered it.
    MediaChanged {
        call: CallHandle,
        offer: MediaOffer,
    },
    CallEnded {
        call: CallHandle,
        reason: EndReason,
    },
    // Outbound calls (UAC).
    Ringing {
        call: CallHandle,
    },
    /// 2xx received; the endpoint sent the ACK.
    Answered {
        call: CallHandle,
        answer: MediaOffer,
    },
    /// Final non-2xx, or 408 on timeout.
    Failed {
        call: CallHandle,
        status: u16,
    },
    /// A digit from SIP INFO (application/dtmf-relay or application/dtmf).
    Info {
        call: CallHandle,
        dtmf: char,
    },
    // Registrar.
    /// A phone authenticated and registered (or refreshed) a binding.
    Registered {
        user: String,
        contact: String,
        peer: Peer,
        /// Absolute, `now_ms` time.
        expires_ms: u64,
    },
    /// The user's last binding is gone: removed with Expires: 0 (or `*`),
    /// or it ran out (reported by `handle_timeout`).
    Unregistered {
        user: String,
    },
    // Transfer (RFC 3515).
    /// The peer asked, inside the call, that we call `target` instead (a
    /// blind transfer; URI headers such as Replaces are dropped). The
    /// endpoint answered 202 and a NOTIFY "100 Trying"; report the outcome
    /// with `refer_status`.
    Refer {
        call: CallHandle,
        target: String,
    },
    /// The final response to our `refer`: 202 (the peer will call the
    /// target), an error status when it refused, 408 when nothing came.
    ReferResponse {
        call: CallHandle,
        status: u16,
    },
    /// How the transfer the peer accepted goes: the status line of each
    /// NOTIFY's message/sipfrag (100 Trying, 200 once the target answered,
    /// 486 busy...). A status of 200 or more is the last one.
    ReferProgress {
        call: CallHandle,
        status: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    RemoteBye,
    LocalBye,
    Cancelled,
    NoAck,
    Failed(u16),
}
