//! The user agent core: owns the transactions and calls, turns received
//! bytes into responses and events, and fires timers. Requests we receive
//! are handled in `uas.rs`, requests we send and their responses in `uac.rs`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::compose::{self, Reply};
use super::dialog::Dialog;
use super::digest::DigestAuth;
use super::error::ParseError;
use super::header::NameAddr;
use super::ids::Ids;
use super::message::{Message, Request, parse_message, parse_raw};
use super::registrar::Registrar;
use super::sdp::{LocalMedia, Negotiated, SessionDescription};
use super::transaction::{ClientTransaction, ServerTransaction, T1, T2, TIMEOUT};
use super::types::{CallHandle, EndReason, EndpointConfig, Input, Output, Peer, SipEvent};

pub struct Endpoint {
    pub(super) config: EndpointConfig,
    pub(super) ids: Ids,
    pub(super) accepting: bool,
    next_call: u64,
    pub(super) calls: BTreeMap<CallHandle, Call>,
    /// Server transactions by RFC 3261 17.2.3 key.
    pub(super) servers: HashMap<String, ServerEntry>,
    /// Client transactions by `branch|method`.
    pub(super) clients: HashMap<String, ClientEntry>,
    pub(super) registrar: Registrar,
    pub(super) auth: DigestAuth,
    outputs: VecDeque<Output>,
}

pub(super) struct ServerEntry {
    pub tx: ServerTransaction,
    pub peer: Peer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Invite,
    Bye,
    Cancel,
    /// A BYE for a call already reported ended: nobody waits for it.
    Orphan,
    /// Our REFER: its final response is reported.
    Refer,
    /// Our NOTIFY about a REFER we accepted: nobody waits for it.
    Notify,
}

pub(super) struct ClientEntry {
    pub tx: ClientTransaction,
    pub peer: Peer,
    pub call: CallHandle,
    pub purpose: Purpose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallState {
    /// UAS: INVITE received, no final response yet.
    Offered,
    /// UAS: 2xx sent, waiting for the ACK.
    Answered,
    /// UAC: INVITE sent, no provisional response yet.
    Calling,
    /// UAC: provisional response received.
    Early,
    Confirmed,
    /// Our BYE is out.
    Terminating,
}

impl CallState {
    pub fn name(self) -> &'static str {
        match self {
            CallState::Offered => "offered",
            CallState::Answered => "answered, waiting for ACK",
            CallState::Calling => "calling",
            CallState::Early => "ringing",
            CallState::Confirmed => "confirmed",
            CallState::Terminating => "hanging up",
        }
    }
}

/// A 2xx to an INVITE that we resend until its ACK (RFC 3261 13.3.1.4).
pub(super) struct PendingAck {
    pub bytes: Vec<u8>,
    pub cseq: u32,
    /// None on TCP: no resends, only the give-up time.
    pub resend_at: Option<u64>,
    pub interval: u64,
    pub give_up_at: u64,
    /// The 2xx carried our offer (offerless re-INVITE): the ACK has the answer.
    pub offer_in_2xx: bool,
}

impl PendingAck {
    pub fn new(
        now_ms: u64,
        peer: Peer,
        bytes: Vec<u8>,
        cseq: u32,
        offer_in_2xx: bool,
    ) -> PendingAck {
        PendingAck {
            bytes,
            cseq,
            resend_at: (!peer.transport.is_reliable()).then_some(now_ms + T1),
            interval: T1,
            give_up_at: now_ms + TIMEOUT,
            offer_in_2xx,
        }
    }
}

pub(super) enum Role {
    Uas {
        invite: Box<Request>,
        key: String,
    },
    Uac {
        uri: String,
        branch: String,
        cseq: u32,
        /// To of the INVITE (no tag), for the CANCEL.
        to: NameAddr,
        hangup_requested: bool,
        cancel_sent: bool,
        ringing_reported: bool,
    },
}

pub(super) struct Call {
    pub role: Role,
    pub state: CallState,
    pub peer: Peer,
    pub dialog: Dialog,
    pub local: LocalMedia,
    pub remote_sdp: Option<SessionDescription>,
    pub negotiated: Option<Negotiated>,
    pub pending_ack: Option<PendingAck>,
    pub bye_after_ack: bool,
    /// The CSeq of a REFER from the peer whose outcome we still owe (the
    /// `id` of its NOTIFYs).
    pub incoming_refer: Option<u32>,
    /// We sent a REFER: the peer's NOTIFYs about it are welcome.
    pub outgoing_refer: bool,
}

impl Endpoint {
    pub fn new(config: EndpointConfig) -> Endpoint {
        Endpoint {
            ids: Ids::new(config.seed),
            registrar: Registrar::default(),
            auth: DigestAuth::new(&config.realm, config.seed),
            config,
            accepting: true,
            next_call: 1,
            calls: BTreeMap::new(),
            servers: HashMap::new(),
            clients: HashMap::new(),
            outputs: VecDeque::new(),
        }
    }

    pub fn handle_input(&mut self, now_ms: u64, input: Input<'_>) {
        let Input::Received { peer, bytes } = input;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return; // CRLF keep-alive
        }
        match parse_message(bytes) {
            Ok(Message::Request(req)) => self.on_request(now_ms, peer, req),
            Ok(Message::Response(resp)) => self.on_response(now_ms, resp),
            Err(err) => self.on_malformed(peer, bytes, err),
        }
    }

    /// 400 (505 for another SIP version) to a broken request that still has
    /// a Via to answer to; broken responses and ACKs are dropped.
    fn on_malformed(&mut self, peer: Peer, bytes: &[u8], err: ParseError) {
        let Ok(raw) = parse_raw(bytes) else { return };
        if !raw.is_request() || raw.method() == "ACK" {
            return;
        }
        let (status, reason) = match err {
            ParseError::UnsupportedVersion(_) => (505, "Version Not Supported".to_string()),
            other => (400, format!("Bad Request: {other}")),
        };
        let tag = self.ids.tag();
        if let Some(bytes) =
            compose::response_to_raw(&raw, status, &reason, &tag, &self.config.user_agent)
        {
            self.transmit(peer, bytes);
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let servers = self.servers.values().filter_map(|e| e.tx.next_timer());
        let clients = self.clients.values().filter_map(|e| e.tx.next_timer());
        let acks = self.calls.values().filter_map(|c| {
            c.pending_ack
                .as_ref()
                .map(|p| p.resend_at.map_or(p.give_up_at, |r| r.min(p.give_up_at)))
        });
        let bindings = self.registrar.next_expiry();
        servers.chain(clients).chain(acks).chain(bindings).min()
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        let mut sends = Vec::new();
        for entry in self.servers.values_mut() {
            if entry.tx.next_timer().is_some_and(|t| t <= now_ms) {
                sends.extend(entry.tx.on_timer(now_ms).resend.map(|b| (entry.peer, b)));
            }
        }
        self.servers.retain(|_, e| !e.tx.is_terminated());
        let mut timed_out = Vec::new();
        for entry in self.clients.values_mut() {
            if entry.tx.next_timer().is_some_and(|t| t <= now_ms) {
                let fired = entry.tx.on_timer(now_ms);
                sends.extend(fired.resend.map(|b| (entry.peer, b)));
                if fired.timed_out {
                    timed_out.push((entry.call, entry.purpose));
                }
            }
        }
        self.clients.retain(|_, e| !e.tx.is_terminated());
        let mut no_ack = Vec::new();
        for (handle, call) in self.calls.iter_mut() {
            let Some(p) = call.pending_ack.as_mut() else {
                continue;
            };
            if p.give_up_at <= now_ms {
                no_ack.push(*handle);
            } else if let Some(at) = p.resend_at.filter(|at| *at <= now_ms) {
                p.interval = (p.interval * 2).min(T2);
                p.resend_at = Some(at.max(now_ms) + p.interval);
                sends.push((call.peer, p.bytes.clone()));
            }
        }
        for (peer, bytes) in sends {
            self.transmit(peer, bytes);
        }
        for (call, purpose) in timed_out {
            self.on_client_timeout(now_ms, call, purpose);
        }
        for call in no_ack {
            // RFC 3261 13.3.1.4: no ACK, so end the dialog with a BYE.
            if let Some(c) = self.calls.get_mut(&call) {
                c.pending_ack = None;
            }
            self.send_bye(now_ms, call, Purpose::Orphan);
            self.end_call(call, EndReason::NoAck);
        }
        for user in self.registrar.expire(now_ms) {
            self.emit(SipEvent::Unregistered { user });
        }
    }

    /// false: new INVITEs get 503; calls in progress carry on.
    pub fn set_accepting(&mut self, accepting: bool) {
        self.accepting = accepting;
    }

    /// Calls announced and not yet ended.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Where a call's messages come from and go to (for an incoming call,
    /// the address its INVITE came from).
    pub fn peer_of(&self, call: CallHandle) -> Option<Peer> {
        self.calls.get(&call).map(|c| c.peer)
    }

    pub(super) fn new_handle(&mut self) -> CallHandle {
        let h = CallHandle(self.next_call);
        self.next_call += 1;
        h
    }

    pub(super) fn transmit(&mut self, peer: Peer, bytes: Vec<u8>) {
        self.outputs.push_back(Output::Transmit { peer, bytes });
    }

    pub(super) fn emit(&mut self, event: SipEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    /// Removes the call and reports how it ended.
    pub(super) fn end_call(&mut self, call: CallHandle, reason: EndReason) {
        if self.calls.remove(&call).is_some() {
            self.emit(SipEvent::CallEnded { call, reason });
        }
    }

    /// Sends a response on server transaction `key` (recording it there so
    /// retransmitted requests get it again).
    pub(super) fn reply(&mut self, now_ms: u64, key: &str, req: &Request, mut reply: Reply) {
        let Some(entry) = self.servers.get_mut(key) else {
            return;
        };
        if reply.to_tag.is_none() && reply.status > 100 && req.core.to.tag().is_none() {
            reply.to_tag = Some(self.ids.tag());
        }
        let status = reply.status;
        let bytes = compose::response(req, entry.peer, reply, &self.config.user_agent);
        let peer = entry.peer;
        if entry.tx.respond(now_ms, status, bytes.clone()) {
            self.transmit(peer, bytes);
        }
    }

    /// The call whose dialog a request from the peer belongs to.
    pub(super) fn find_dialog(&self, req: &Request) -> Option<CallHandle> {
        self.calls
            .iter()
            .find(|(_, c)| c.dialog.matches_request(req))
            .map(|(h, _)| *h)
    }
}

/// RFC 3261 17.2.3 server transaction key; ACK and CANCEL are looked up
/// under the INVITE's method. RFC 2543 peers (no magic cookie) are matched
/// on Call-ID, From tag, CSeq number and the Via sent-by.
pub(super) fn server_key(req: &Request, method: &str) -> String {
    let Some(via) = req.core.via.first() else {
        return format!("novia|{}|{}|{method}", req.core.call_id, req.core.cseq.seq);
    };
    match via.branch() {
        Some(b) if b.starts_with("z9hG4bK") => format!("{b}|{}|{method}", via.sent_by()),
        _ => format!(
            "2543|{}|{}|{}|{}|{method}",
            req.core.call_id,
            req.core.from.tag().unwrap_or(""),
            req.core.cseq.seq,
            via.sent_by()
        ),
    }
}
