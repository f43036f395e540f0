//! Requests the endpoint sends (INVITE, ACK, BYE, CANCEL) and what their
//! responses do to the call.

use std::net::SocketAddr;

use super::compose::{self, Outgoing};
use super::dialog::{Dialog, contact_uri, with_tag};
use super::endpoint::{Call, CallState, ClientEntry, Endpoint, Purpose, Role};
use super::error::SipError;
use super::header::NameAddr;
use super::message::{Response, canonical_name};
use super::sdp::{self, Direction, LocalMedia};
use super::syntax::is_token;
use super::transaction::{ClientTransaction, TIMEOUT};
use super::types::{CallHandle, EndReason, Peer, SipEvent};
use super::uri;

/// What an in-dialog request carries beyond the dialog's own headers.
#[derive(Default)]
pub(super) struct InDialog {
    pub contact: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<(&'static str, Vec<u8>)>,
}

fn client_key(branch: &str, method: &str) -> String {
    format!("{branch}|{method}")
}

impl Endpoint {
    /// Places a call to `target` (a sip: URI) through `peer`, offering our
    /// codecs with RTP at `local_rtp`.
    pub fn invite(
        &mut self,
        now_ms: u64,
        target: &str,
        peer: Peer,
        from_user: &str,
        local_rtp: SocketAddr,
        extra_headers: &[(String, String)],
    ) -> Result<CallHandle, SipError> {
        if !uri::is_sip_scheme(target) || uri::check(target).is_err() {
            return Err(SipError::BadTarget(target.to_string()));
        }
        let local_uri = format!("sip:{from_user}@{}", self.config.local_addr);
        if from_user.is_empty()
            || from_user.contains(['@', '<', '>', ';', '?'])
            || uri::check(&local_uri).is_err()
        {
            return Err(SipError::BadTarget(local_uri));
        }
        for (name, value) in extra_headers {
            if !is_token(name) || value.contains(['\r', '\n']) || is_managed(name) {
                return Err(SipError::BadHeader(name.clone()));
            }
        }
        let call = self.new_handle();
        let local = NameAddr {
            display: None,
            uri: local_uri,
            params: vec![("tag".into(), Some(self.ids.tag()))],
        };
        let to = NameAddr {
            display: None,
            uri: target.to_string(),
            params: Vec::new(),
        };
        let call_id = self.ids.call_id(&self.config.local_addr.ip().to_string());
        let branch = self.ids.branch();
        let media = LocalMedia {
            rtp: local_rtp,
            session_id: self.ids.next_u64() >> 1,
            version: 1,
        };
        let offer = sdp::offer(&media, &self.config.codecs, Direction::SendRecv);
        let bytes = compose::request(Outgoing {
            method: "INVITE",
            uri: target,
            transport: peer.transport,
            local_addr: self.config.local_addr,
            branch: &branch,
            from: &local,
            to: &to,
            call_id: &call_id,
            cseq: 1,
            contact: Some(compose::contact(
                from_user,
                self.config.local_addr,
                peer.transport,
            )),
            route: &[],
            headers: extra_headers,
            body: Some(("application/sdp", offer.into_bytes())),
            user_agent: &self.config.user_agent,
        });
        self.start_client(
            now_ms,
            peer,
            call,
            Purpose::Invite,
            &branch,
            "INVITE",
            bytes,
        );
        let dialog = Dialog {
            call_id,
            local,
            remote: to.clone(),
            remote_target: target.to_string(),
            route_set: Vec::new(),
            local_cseq: 1,
            remote_cseq: None,
        };
        self.calls.insert(
            call,
            Call {
                role: Role::Uac {
                    uri: target.to_string(),
                    branch,
                    cseq: 1,
                    to,
                    hangup_requested: false,
                    cancel_sent: false,
                    ringing_reported: false,
                },
                state: CallState::Calling,
                peer,
                dialog,
                local: media,
                remote_sdp: None,
                negotiated: None,
                pending_ack: None,
                bye_after_ack: false,
                incoming_refer: None,
                outgoing_refer: false,
            },
        );
        Ok(call)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_client(
        &mut self,
        now_ms: u64,
        peer: Peer,
        call: CallHandle,
        purpose: Purpose,
        branch: &str,
        method: &str,
        bytes: Vec<u8>,
    ) {
        let tx = ClientTransaction::new(now_ms, method == "INVITE", peer.transport, bytes.clone());
        self.clients.insert(
            client_key(branch, method),
            ClientEntry {
                tx,
                peer,
                call,
                purpose,
            },
        );
        self.transmit(peer, bytes);
    }

    /// A request inside the call's dialog (BYE, ACK for a 2xx).
    fn in_dialog_request(
        &mut self,
        call: CallHandle,
        method: &str,
        branch: &str,
        cseq: u32,
    ) -> Option<(Peer, Vec<u8>)> {
        self.in_dialog_request_with(call, method, branch, cseq, InDialog::default())
    }

    /// A request inside the call's dialog with a Contact, headers or a body
    /// (REFER, NOTIFY).
    pub(super) fn in_dialog_request_with(
        &mut self,
        call: CallHandle,
        method: &str,
        branch: &str,
        cseq: u32,
        extra: InDialog,
    ) -> Option<(Peer, Vec<u8>)> {
        let c = self.calls.get(&call)?;
        let bytes = compose::request(Outgoing {
            method,
            uri: &c.dialog.remote_target,
            transport: c.peer.transport,
            local_addr: self.config.local_addr,
            branch,
            from: &c.dialog.local,
            to: &c.dialog.remote,
            call_id: &c.dialog.call_id,
            cseq,
            contact: extra.contact,
            route: &c.dialog.route_set,
            headers: &extra.headers,
            body: extra.body,
            user_agent: &self.config.user_agent,
        });
        Some((c.peer, bytes))
    }

    /// Sends BYE; `Purpose::Bye` ends the call with LocalBye when it completes.
    pub(super) fn send_bye(&mut self, now_ms: u64, call: CallHandle, purpose: Purpose) {
        let branch = self.ids.branch();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let cseq = c.dialog.next_cseq();
        c.state = CallState::Terminating;
        if let Some((peer, bytes)) = self.in_dialog_request(call, "BYE", &branch, cseq) {
            self.start_client(now_ms, peer, call, purpose, &branch, "BYE", bytes);
        }
    }

    pub(super) fn send_cancel(&mut self, now_ms: u64, call: CallHandle) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Role::Uac {
            uri,
            branch,
            cseq,
            to,
            cancel_sent,
            ..
        } = &mut c.role
        else {
            return;
        };
        if std::mem::replace(cancel_sent, true) {
            return;
        }
        // RFC 3261 9.1: same Request-URI, Call-ID, From, To, CSeq number
        // and Via branch as the INVITE.
        let bytes = compose::request(Outgoing {
            method: "CANCEL",
            uri,
            transport: c.peer.transport,
            local_addr: self.config.local_addr,
            branch,
            from: &c.dialog.local,
            to,
            call_id: &c.dialog.call_id,
            cseq: *cseq,
            contact: None,
            route: &[],
            headers: &[],
            body: None,
            user_agent: &self.config.user_agent,
        });
        let (peer, branch) = (c.peer, branch.clone());
        self.start_client(
            now_ms,
            peer,
            call,
            Purpose::Cancel,
            &branch,
            "CANCEL",
            bytes,
        );
        if let Some(invite) = self.clients.get_mut(&client_key(&branch, "INVITE")) {
            invite.tx.set_deadline(now_ms + TIMEOUT);
        }
    }

    pub(super) fn on_response(&mut self, now_ms: u64, resp: Response) {
        let Some(branch) = resp.core.via.first().and_then(|v| v.branch()) else {
            return;
        };
        let key = client_key(branch, &resp.core.cseq.method);
        let Some(entry) = self.clients.get_mut(&key) else {
            return;
        };
        let (calls, config) = (&self.calls, &self.config);
        let action = entry.tx.on_response(now_ms, resp.status, || {
            non_2xx_ack(
                calls.get(&entry.call),
                &resp,
                config.local_addr,
                &config.user_agent,
            )
        });
        let (peer, call, purpose) = (entry.peer, entry.call, entry.purpose);
        if let Some(bytes) = action.send.filter(|b| !b.is_empty()) {
            self.transmit(peer, bytes);
        }
        if !action.pass_up {
            return;
        }
        match purpose {
            Purpose::Invite => self.on_invite_response(now_ms, call, &resp, &key),
            Purpose::Bye if resp.status >= 200 => self.end_call(call, EndReason::LocalBye),
            Purpose::Refer if resp.status >= 200 => self.on_refer_response(call, resp.status),
            _ => {}
        }
    }

    fn on_invite_response(&mut self, now_ms: u64, call: CallHandle, resp: &Response, key: &str) {
        let codecs = self.config.codecs.clone();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Role::Uac {
            hangup_requested,
            ringing_reported,
            ..
        } = &mut c.role
        else {
            return;
        };
        let hung_up = *hangup_requested;
        match resp.status {
            100..=199 => {
                if c.state == CallState::Calling {
                    c.state = CallState::Early;
                }
                let first_ring = resp.status >= 180 && !std::mem::replace(ringing_reported, true);
                if hung_up {
                    self.send_cancel(now_ms, call);
                } else if first_ring {
                    self.emit(SipEvent::Ringing { call });
                }
            }
            200..=299 => {
                if !matches!(c.state, CallState::Calling | CallState::Early) {
                    return;
                }
                c.dialog.remote = with_tag(&resp.core.to, resp.core.to.tag());
                if let Some(target) = contact_uri(&resp.headers) {
                    c.dialog.remote_target = target;
                }
                let mut routes: Vec<String> = resp
                    .headers
                    .list("Record-Route")
                    .map(str::to_string)
                    .collect();
                routes.reverse();
                c.dialog.route_set = routes;
                let answer = sdp::parse(&resp.body).and_then(|a| sdp::negotiate(&a, &codecs));
                c.state = CallState::Confirmed;
                let ack_branch = self.ids.branch();
                let cseq = resp.core.cseq.seq;
                if let Some((peer, ack)) = self.in_dialog_request(call, "ACK", &ack_branch, cseq) {
                    self.transmit(peer, ack.clone());
                    if let Some(entry) = self.clients.get_mut(key) {
                        entry.tx.set_ack_for_2xx(ack);
                    }
                }
                match (hung_up, answer) {
                    (true, _) => {
                        self.send_bye(now_ms, call, Purpose::Orphan);
                        self.end_call(call, EndReason::Cancelled);
                    }
                    (false, Ok(n)) => {
                        if let Some(c) = self.calls.get_mut(&call) {
                            c.negotiated = Some(n.clone());
                        }
                        self.emit(SipEvent::Answered {
                            call,
                            answer: n.media,
                        });
                    }
                    (false, Err(_)) => {
                        // Answered with media we cannot use: hang up at once.
                        self.send_bye(now_ms, call, Purpose::Orphan);
                        self.fail_call(call, 488);
                    }
                }
            }
            status => {
                if hung_up {
                    self.end_call(call, EndReason::Cancelled);
                } else {
                    self.fail_call(call, status);
                }
            }
        }
    }

    /// Ends an outgoing call that was never answered.
    fn fail_call(&mut self, call: CallHandle, status: u16) {
        if self.calls.remove(&call).is_some() {
            self.emit(SipEvent::Failed { call, status });
        }
    }

    pub(super) fn on_client_timeout(&mut self, _now_ms: u64, call: CallHandle, purpose: Purpose) {
        match purpose {
            Purpose::Invite => {
                let hung_up = self.calls.get(&call).is_some_and(|c| {
                    matches!(
                        c.role,
                        Role::Uac {
                            hangup_requested: true,
                            ..
                        }
                    )
                });
                if hung_up {
                    self.end_call(call, EndReason::Cancelled);
                } else {
                    self.fail_call(call, 408);
                }
            }
            Purpose::Bye => self.end_call(call, EndReason::LocalBye),
            Purpose::Refer => self.on_refer_response(call, 408),
            Purpose::Cancel | Purpose::Orphan | Purpose::Notify => {}
        }
    }
}

/// Headers the endpoint writes itself and callers may not add.
fn is_managed(name: &str) -> bool {
    let name = canonical_name(name);
    [
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Max-Forwards",
    ]
    .iter()
    .any(|m| m.eq_ignore_ascii_case(&name))
}

/// The ACK for a non-2xx final response (RFC 3261 17.1.1.3): the INVITE's
/// branch, Request-URI and CSeq number, the response's To.
fn non_2xx_ack(
    call: Option<&Call>,
    resp: &Response,
    local_addr: SocketAddr,
    user_agent: &str,
) -> Vec<u8> {
    let Some(c) = call else { return Vec::new() };
    let Role::Uac {
        uri, branch, cseq, ..
    } = &c.role
    else {
        return Vec::new();
    };
    compose::request(Outgoing {
        method: "ACK",
        uri,
        transport: c.peer.transport,
        local_addr,
        branch,
        from: &c.dialog.local,
        to: &resp.core.to,
        call_id: &c.dialog.call_id,
        cseq: *cseq,
        contact: None,
        route: &[],
        headers: &[],
        body: None,
        user_agent,
    })
}
