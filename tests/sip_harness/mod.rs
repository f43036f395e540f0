//! Shared by the SIP tests: endpoints on fake time, a scripted phone that
//! writes SIP by hand, and helpers to read what the endpoint sent.
#![allow(dead_code)]

use std::net::SocketAddr;

use ivr::sip::{
    Endpoint, EndpointConfig, Input, Message, Output, Peer, Request, Response, SipEvent, Transport,
    parse_message,
};

pub fn udp(addr: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: addr.parse().unwrap(),
    }
}

pub fn tcp(addr: &str) -> Peer {
    Peer {
        transport: Transport::Tcp,
        addr: addr.parse().unwrap(),
    }
}

pub fn endpoint(local: &str, seed: u64) -> Endpoint {
    let mut config = EndpointConfig::new(local.parse().unwrap());
    config.seed = seed;
    Endpoint::new(config)
}

/// Everything the endpoint has to say right now.
#[derive(Debug, Default)]
pub struct Drained {
    pub sent: Vec<(Peer, Message)>,
    /// Sent bytes that do not parse (only `drain_lenient` keeps any).
    pub unparsed: Vec<(Peer, Vec<u8>)>,
    /// Status of every response sent, in order, parsed or not.
    pub statuses: Vec<u16>,
    pub events: Vec<SipEvent>,
}

impl Drained {
    pub fn responses(&self) -> Vec<&Response> {
        self.sent
            .iter()
            .filter_map(|(_, m)| match m {
                Message::Response(r) => Some(r),
                Message::Request(_) => None,
            })
            .collect()
    }

    pub fn statuses(&self) -> Vec<u16> {
        self.statuses.clone()
    }

    pub fn requests(&self) -> Vec<&Request> {
        self.sent
            .iter()
            .filter_map(|(_, m)| match m {
                Message::Request(r) => Some(r),
                Message::Response(_) => None,
            })
            .collect()
    }

    pub fn response(&self, status: u16) -> &Response {
        self.responses()
            .into_iter()
            .find(|r| r.status == status)
            .unwrap_or_else(|| panic!("no {status} in {:?}", self.statuses()))
    }
}

/// Collects outputs; every message the endpoint sends must parse.
pub fn drain(ep: &mut Endpoint) -> Drained {
    let d = drain_lenient(ep);
    if let Some((_, bytes)) = d.unparsed.first() {
        panic!(
            "endpoint sent unparseable bytes:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
    d
}

/// Collects outputs, keeping what does not parse: a 400 echoes the broken
/// headers of the request it answers.
pub fn drain_lenient(ep: &mut Endpoint) -> Drained {
    let mut d = Drained::default();
    while let Some(out) = ep.poll_output() {
        match out {
            Output::Transmit { peer, bytes } => {
                let text = String::from_utf8_lossy(&bytes);
                if let Some(code) = text.strip_prefix("SIP/2.0 ").and_then(|r| r.get(..3)) {
                    d.statuses.push(code.parse().expect("3-digit status"));
                }
                match parse_message(&bytes) {
                    Ok(msg) => d.sent.push((peer, msg)),
                    Err(_) => d.unparsed.push((peer, bytes)),
                }
            }
            Output::Event(e) => d.events.push(e),
        }
    }
    d
}

pub fn feed(ep: &mut Endpoint, now_ms: u64, peer: Peer, text: &str) -> Drained {
    ep.handle_input(
        now_ms,
        Input::Received {
            peer,
            bytes: text.as_bytes(),
        },
    );
    drain(ep)
}

/// Fires every timer due up to `until`, in order; returns what came out
/// with the time it came out.
pub fn run_until(ep: &mut Endpoint, until: u64) -> Vec<(u64, Drained)> {
    let mut out = Vec::new();
    while let Some(t) = ep.poll_timeout() {
        if t > until {
            break;
        }
        ep.handle_timeout(t);
        out.push((t, drain(ep)));
    }
    out
}

pub const OFFER: &str = "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n";

/// A hand-written SIP phone at 127.0.0.1:5070 calling the endpoint.
pub struct Phone {
    pub peer: Peer,
    pub call_id: String,
    pub from_tag: String,
    /// The endpoint's tag, once a response carried it.
    pub to_tag: Option<String>,
    pub cseq: u32,
    branch_counter: u32,
}

impl Phone {
    pub fn new(peer: Peer, call_id: &str) -> Phone {
        Phone {
            peer,
            call_id: call_id.to_string(),
            from_tag: "ph1".into(),
            to_tag: None,
            cseq: 0,
            branch_counter: 0,
        }
    }

    pub fn new_branch(&mut self) -> String {
        self.branch_counter += 1;
        format!("z9hG4bK{}b{}", self.call_id, self.branch_counter)
    }

    /// A request; `branch` None makes a new one, `cseq` None takes the next.
    pub fn request(
        &mut self,
        method: &str,
        branch: Option<&str>,
        cseq: Option<u32>,
        extra: &str,
        body: &str,
    ) -> String {
        let branch = branch
            .map(str::to_string)
            .unwrap_or_else(|| self.new_branch());
        let cseq = cseq.unwrap_or_else(|| {
            self.cseq += 1;
            self.cseq
        });
        let to_tag = self
            .to_tag
            .as_ref()
            .map(|t| format!(";tag={t}"))
            .unwrap_or_default();
        let transport = match self.peer.transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        };
        let content_type = if body.is_empty() || extra.contains("Content-Type") {
            String::new()
        } else {
            "Content-Type: application/sdp\r\n".to_string()
        };
        format!(
            "{method} sip:ivr@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/{transport} {addr};branch={branch};rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@127.0.0.1>;tag={from_tag}\r\n\
To: <sip:ivr@127.0.0.1>{to_tag}\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:alice@{addr}>\r\n\
{extra}{content_type}Content-Length: {len}\r\n\r\n{body}",
            addr = self.peer.addr,
            from_tag = self.from_tag,
            call_id = self.call_id,
            len = body.len(),
        )
    }

    /// Remembers the endpoint's To tag from a response.
    pub fn learn_tag(&mut self, resp: &Response) {
        if let Some(tag) = resp.core.to.tag() {
            self.to_tag = Some(tag.to_string());
        }
    }
}

pub fn local_rtp() -> SocketAddr {
    "127.0.0.1:20000".parse().unwrap()
}
