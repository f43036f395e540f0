//! Requests the endpoint receives: new calls, in-dialog requests (for both
//! incoming and outgoing calls), ACK and CANCEL, and the answers RFC 3261
//! 8.2 asks for what we do not support; plus the UAS call controls.

use std::net::SocketAddr;

use super::compose::{self, ALLOW, Reply};
use super::dialog::{Dialog, contact_uri};
use super::endpoint::{
    Call, CallState, Endpoint, PendingAck, Purpose, Role, ServerEntry, server_key,
};
use super::error::SipError;
use super::message::{Method, Request};
use super::screening::{SDP, accepts_sdp, body_problem, info_digit, require_problem, sdp_problem};
use super::sdp::{self, Direction, LocalMedia};
use super::transaction::ServerTransaction;
use super::types::{CallHandle, EndReason, Peer, SipEvent};
use super::uri;

impl Endpoint {
    pub(super) fn on_request(&mut self, now_ms: u64, peer: Peer, req: Request) {
        match req.method {
            Method::Ack => return self.on_ack(now_ms, req),
            Method::Cancel => return self.on_cancel(now_ms, peer, req),
            _ => {}
        }
        let key = server_key(&req, req.method.as_str());
        if let Some(entry) = self.servers.get(&key) {
            if let Some(bytes) = entry.tx.retransmission() {
                self.transmit(entry.peer, bytes);
            }
            return;
        }
        let tx = ServerTransaction::new(req.method == Method::Invite, peer.transport);
        self.servers.insert(key.clone(), ServerEntry { tx, peer });
        // RFC 3261 8.2: method, then URI, then headers, then content.
        match &req.method {
            Method::Invite
            | Method::Bye
            | Method::Options
            | Method::Info
            | Method::Register
            | Method::Refer
            | Method::Notify => {}
            Method::Other(_) => {
                return self.reply(now_ms, &key, &req, Reply::new(501).header("Allow", ALLOW));
            }
            _ => return self.reply(now_ms, &key, &req, Reply::new(405).header("Allow", ALLOW)),
        }
        let scheme_ok = uri::scheme(&req.uri).is_some_and(|s| {
            ["sip", "sips", "tel"]
                .iter()
                .any(|k| s.eq_ignore_ascii_case(k))
        });
        if !scheme_ok {
            return self.reply(now_ms, &key, &req, Reply::new(416));
        }
        if req.method == Method::Register {
            // Never part of a dialog, whatever its To says.
            return match require_problem(&req) {
                Some(reply) => self.reply(now_ms, &key, &req, reply),
                None => self.on_register(now_ms, &key, peer, req),
            };
        }
        if req.core.to.tag().is_some() {
            return match self.find_dialog(&req) {
                Some(call) => self.in_dialog(now_ms, &key, call, req),
                None => self.reply(now_ms, &key, &req, Reply::new(481)),
            };
        }
        if let Some(reply) = require_problem(&req) {
            return self.reply(now_ms, &key, &req, reply);
        }
        match req.method {
            Method::Invite => self.new_invite(now_ms, &key, peer, req),
            Method::Options => {
                let reply = Reply::new(200)
                    .header("Allow", ALLOW)
                    .header("Accept", SDP)
                    .header("Accept-Encoding", "identity")
                    .header("Accept-Language", "en");
                self.reply(now_ms, &key, &req, reply)
            }
            // BYE, INFO, REFER and NOTIFY only make sense in a dialog.
            _ => self.reply(now_ms, &key, &req, Reply::new(481)),
        }
    }

    fn new_invite(&mut self, now_ms: u64, key: &str, peer: Peer, req: Request) {
        if !self.accepting {
            let reply = Reply::new(503).header("Retry-After", "30");
            return self.reply(now_ms, key, &req, reply);
        }
        if !accepts_sdp(&req) {
            return self.reply(now_ms, key, &req, Reply::new(406).header("Accept", SDP));
        }
        if let Some(reply) = body_problem(&req) {
            return self.reply(now_ms, key, &req, reply);
        }
        let negotiated = sdp::parse(&req.body).and_then(|offer| {
            let n = sdp::negotiate(&offer, &self.config.codecs)?;
            Ok((offer, n))
        });
        let (offer, negotiated) = match negotiated {
            Ok(ok) => ok,
            Err(e) => return self.reply(now_ms, key, &req, sdp_problem(&e)),
        };
        let call = self.new_handle();
        let tag = self.ids.tag();
        let session_id = self.ids.next_u64() >> 1;
        let dialog = Dialog::for_uas(&req, &tag);
        self.reply(now_ms, key, &req, Reply::new(100));
        let event = SipEvent::IncomingCall {
            call,
            from_uri: req.core.from.uri.clone(),
            from_display: req.core.from.display.clone(),
            to_uri: req.core.to.uri.clone(),
            call_id: req.core.call_id.clone(),
            offer: negotiated.media.clone(),
            headers: req
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        };
        self.calls.insert(
            call,
            Call {
                role: Role::Uas {
                    invite: Box::new(req),
                    key: key.to_string(),
                },
                state: CallState::Offered,
                peer,
                dialog,
                local: LocalMedia {
                    rtp: sdp::unspecified(),
                    session_id,
                    version: 0,
                },
                remote_sdp: Some(offer),
                negotiated: Some(negotiated),
                pending_ack: None,
                bye_after_ack: false,
                incoming_refer: None,
                outgoing_refer: false,
            },
        );
        self.emit(event);
    }

    fn in_dialog(&mut self, now_ms: u64, key: &str, call: CallHandle, req: Request) {
        if let Some(reply) = require_problem(&req) {
            return self.reply(now_ms, key, &req, reply);
        }
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if !c.dialog.accept_remote_cseq(req.core.cseq.seq) {
            let reply = Reply::new(500).reason("Server Internal Error: CSeq out of order");
            return self.reply(now_ms, key, &req, reply);
        }
        let local_tag = c.dialog.local_tag().unwrap_or_default().to_string();
        match req.method {
            Method::Bye => {
                let unanswered = c.state == CallState::Offered;
                self.reply(now_ms, key, &req, Reply::new(200).tag(&local_tag));
                if unanswered {
                    self.final_to_invite(now_ms, call, 487);
                }
                self.end_call(call, EndReason::RemoteBye);
            }
            Method::Invite => self.reinvite(now_ms, key, call, req),
            Method::Refer => self.on_refer(now_ms, key, call, req),
            Method::Notify => self.on_notify(now_ms, key, call, req),
            Method::Info => {
                let digit = info_digit(&req);
                self.reply(now_ms, key, &req, Reply::new(200));
                if let Some(dtmf) = digit {
                    self.emit(SipEvent::Info { call, dtmf });
                }
            }
            _ => self.reply(
                now_ms,
                key,
                &req,
                Reply::new(200).header("Allow", ALLOW).header("Accept", SDP),
            ),
        }
    }

    /// Hold/unhold and other media updates: we answer ourselves.
    fn reinvite(&mut self, now_ms: u64, key: &str, call: CallHandle, req: Request) {
        let codecs = self.config.codecs.clone();
        let contact = self.our_contact(call);
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if c.state != CallState::Confirmed || c.pending_ack.is_some() {
            return self.reply(now_ms, key, &req, Reply::new(491));
        }
        if let Some(target) = contact_uri(&req.headers) {
            c.dialog.remote_target = target;
        }
        let (body, changed) = if req.body.is_empty() {
            // Offerless re-INVITE: our offer goes in the 2xx, the answer in the ACK.
            c.local.version += 1;
            (sdp::offer(&c.local, &codecs, Direction::SendRecv), None)
        } else {
            if let Some(reply) = body_problem(&req) {
                return self.reply(now_ms, key, &req, reply);
            }
            let parsed = sdp::parse(&req.body).and_then(|o| Ok((sdp::negotiate(&o, &codecs)?, o)));
            let (negotiated, offer) = match parsed {
                Ok(ok) => ok,
                Err(e) => return self.reply(now_ms, key, &req, sdp_problem(&e)),
            };
            c.local.version += 1;
            let answer = sdp::answer(&offer, &negotiated, &c.local);
            let media = negotiated.media.clone();
            c.remote_sdp = Some(offer);
            c.negotiated = Some(negotiated);
            (answer, Some(media))
        };
        let offer_in_2xx = changed.is_none();
        let peer = c.peer;
        let cseq = req.core.cseq.seq;
        let reply = Reply::new(200)
            .header("Contact", contact)
            .header("Allow", ALLOW)
            .body(SDP, body.into_bytes());
        self.reply(now_ms, key, &req, reply);
        let sent = self.servers.get(key).and_then(|e| e.tx.retransmission());
        if let (Some(c), Some(bytes)) = (self.calls.get_mut(&call), sent) {
            c.pending_ack = Some(PendingAck::new(now_ms, peer, bytes, cseq, offer_in_2xx));
        }
        if let Some(offer) = changed {
            self.emit(SipEvent::MediaChanged { call, offer });
        }
    }

    fn on_ack(&mut self, now_ms: u64, req: Request) {
        // An ACK for a non-2xx belongs to the INVITE transaction.
        if let Some(entry) = self.servers.get_mut(&server_key(&req, "INVITE"))
            && entry.tx.ack(now_ms)
        {
            return;
        }
        let Some(call) = self.find_dialog(&req) else {
            return;
        };
        let codecs = self.config.codecs.clone();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(pending) = c.pending_ack.take_if(|p| p.cseq == req.core.cseq.seq) else {
            return;
        };
        let mut events = Vec::new();
        if c.state == CallState::Answered {
            c.state = CallState::Confirmed;
            events.push(SipEvent::CallConfirmed { call });
        }
        if pending.offer_in_2xx
            && !req.body.is_empty()
            && let Ok(n) = sdp::parse(&req.body).and_then(|a| sdp::negotiate(&a, &codecs))
        {
            c.negotiated = Some(n.clone());
            events.push(SipEvent::MediaChanged {
                call,
                offer: n.media,
            });
        }
        let bye = std::mem::take(&mut c.bye_after_ack);
        for e in events {
            self.emit(e);
        }
        if bye {
            self.send_bye(now_ms, call, Purpose::Bye);
        }
    }

    fn on_cancel(&mut self, now_ms: u64, peer: Peer, req: Request) {
        let key = server_key(&req, "CANCEL");
        if let Some(entry) = self.servers.get(&key) {
            if let Some(bytes) = entry.tx.retransmission() {
                self.transmit(entry.peer, bytes);
            }
            return;
        }
        let tx = ServerTransaction::new(false, peer.transport);
        self.servers.insert(key.clone(), ServerEntry { tx, peer });
        let invite_key = server_key(&req, "INVITE");
        if !self.servers.contains_key(&invite_key) {
            return self.reply(now_ms, &key, &req, Reply::new(481));
        }
        let call = self.calls.iter().find_map(|(h, c)| match &c.role {
            Role::Uas { key, .. } if *key == invite_key => {
                Some((*h, c.state, c.dialog.local_tag().map(str::to_string)))
            }
            _ => None,
        });
        let mut reply = Reply::new(200);
        if let Some((_, _, Some(tag))) = &call {
            reply = reply.tag(tag);
        }
        self.reply(now_ms, &key, &req, reply);
        if let Some((handle, CallState::Offered, _)) = call {
            self.final_to_invite(now_ms, handle, 487);
            self.end_call(handle, EndReason::Cancelled);
        }
    }

    /// A final response to the INVITE of an incoming call, with our tag.
    fn final_to_invite(&mut self, now_ms: u64, call: CallHandle, status: u16) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let Role::Uas { invite, key } = &c.role else {
            return;
        };
        let (invite, key) = (invite.clone(), key.clone());
        let tag = c.dialog.local_tag().unwrap_or_default().to_string();
        self.reply(now_ms, &key, &invite, Reply::new(status).tag(&tag));
    }

    pub(super) fn our_contact(&self, call: CallHandle) -> String {
        let transport = self
            .calls
            .get(&call)
            .map(|c| c.peer.transport)
            .unwrap_or(super::types::Transport::Udp);
        compose::contact("ivr", self.config.local_addr, transport)
    }

    /// 180 Ringing for an incoming call not answered yet.
    pub fn ringing(&mut self, now_ms: u64, call: CallHandle) {
        let contact = self.our_contact(call);
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let Role::Uas { invite, key } = &c.role else {
            return;
        };
        if c.state != CallState::Offered {
            return;
        }
        let (invite, key) = (invite.clone(), key.clone());
        let tag = c.dialog.local_tag().unwrap_or_default().to_string();
        self.reply(
            now_ms,
            &key,
            &invite,
            Reply::new(180).tag(&tag).header("Contact", contact),
        );
    }

    /// 200 with our SDP answer; RTP is expected at `local_rtp`.
    pub fn answer(
        &mut self,
        now_ms: u64,
        call: CallHandle,
        local_rtp: SocketAddr,
    ) -> Result<(), SipError> {
        let contact = self.our_contact(call);
        let c = self
            .calls
            .get_mut(&call)
            .ok_or(SipError::UnknownCall(call.0))?;
        let (Role::Uas { invite, key }, CallState::Offered) = (&c.role, c.state) else {
            return Err(SipError::InvalidState {
                call: call.0,
                action: "answer",
                state: c.state.name(),
            });
        };
        let (Some(offer), Some(negotiated)) = (&c.remote_sdp, &c.negotiated) else {
            return Err(SipError::InvalidState {
                call: call.0,
                action: "answer",
                state: "without an offer",
            });
        };
        c.local.rtp = local_rtp;
        c.local.version += 1;
        let body = sdp::answer(offer, negotiated, &c.local);
        let (invite, key) = (invite.clone(), key.clone());
        let tag = c.dialog.local_tag().unwrap_or_default().to_string();
        let (peer, cseq) = (c.peer, invite.core.cseq.seq);
        c.state = CallState::Answered;
        let reply = Reply::new(200)
            .tag(&tag)
            .header("Contact", contact)
            .header("Allow", ALLOW)
            .body(SDP, body.into_bytes());
        self.reply(now_ms, &key, &invite, reply);
        let sent = self.servers.get(&key).and_then(|e| e.tx.retransmission());
        if let (Some(c), Some(bytes)) = (self.calls.get_mut(&call), sent) {
            c.pending_ack = Some(PendingAck::new(now_ms, peer, bytes, cseq, false));
        }
        Ok(())
    }

    /// A final error response (486, 503, 603...) to an incoming call not
    /// answered yet; the call ends with `Failed(status)`.
    pub fn reject(&mut self, now_ms: u64, call: CallHandle, status: u16) {
        let offered = self
            .calls
            .get(&call)
            .is_some_and(|c| c.state == CallState::Offered && matches!(c.role, Role::Uas { .. }));
        if !offered {
            return;
        }
        let status = if (300..700).contains(&status) {
            status
        } else {
            500
        };
        self.final_to_invite(now_ms, call, status);
        self.end_call(call, EndReason::Failed(status));
    }

    /// Ends a call the way its state allows: BYE once confirmed (after the
    /// ACK if it is still due), 487 before answering, CANCEL while ringing out.
    pub fn hangup(&mut self, now_ms: u64, call: CallHandle) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        match (c.state, &mut c.role) {
            (CallState::Offered, Role::Uas { .. }) => {
                self.final_to_invite(now_ms, call, 487);
                self.end_call(call, EndReason::LocalBye);
            }
            (CallState::Answered, _) => c.bye_after_ack = true,
            (CallState::Confirmed, _) => self.send_bye(now_ms, call, Purpose::Bye),
            (
                CallState::Calling | CallState::Early,
                Role::Uac {
                    hangup_requested, ..
                },
            ) => {
                *hangup_requested = true;
                // CANCEL may only follow a provisional response (RFC 3261 9.1).
                if c.state == CallState::Early {
                    self.send_cancel(now_ms, call);
                }
            }
            _ => {}
        }
    }
}
