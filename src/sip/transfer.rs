//! Call transfer with REFER (RFC 3515), both ways. A REFER from the peer
//! inside a call is accepted (202), reported as `SipEvent::Refer` and
//! followed by NOTIFYs carrying a message/sipfrag status line; `refer`
//! sends one to the peer (a blind transfer) and the peer's NOTIFYs come
//! back as `ReferProgress`.

use super::compose::{Reply, reason_phrase};
use super::endpoint::{CallState, Endpoint, Purpose};
use super::error::SipError;
use super::header::parse_name_addr;
use super::message::Request;
use super::types::{CallHandle, SipEvent};
use super::uac::InDialog;
use super::uri;

const SIPFRAG: &str = "message/sipfrag;version=2.0";

/// How long the implicit subscription of a REFER we accepted lasts, in
/// seconds, until our last NOTIFY ends it.
const SUBSCRIPTION_S: u32 = 60;

/// A URI we can be asked to call or ask the peer to call.
fn transfer_target_ok(target: &str) -> bool {
    let scheme_ok = uri::scheme(target).is_some_and(|s| {
        ["sip", "sips", "tel"]
            .iter()
            .any(|k| s.eq_ignore_ascii_case(k))
    });
    scheme_ok && uri::check(target).is_ok() && !target.contains(['<', '>', '"'])
}

/// The Refer-To URI without its `?headers` (Replaces and the like are for
/// attended transfer, which we do not do).
fn refer_target(req: &Request) -> Result<String, String> {
    let mut values = req.headers.get_all("Refer-To");
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err("a REFER needs exactly one Refer-To".into());
    };
    let addr = parse_name_addr(value).map_err(|e| format!("malformed Refer-To: {e}"))?;
    let target = match addr.uri.split_once('?') {
        Some((base, _)) if uri::is_sip_scheme(&addr.uri) => base.to_string(),
        _ => addr.uri,
    };
    if !transfer_target_ok(&target) {
        return Err(format!(
            "Refer-To {target:?} is not a sip:, sips: or tel: URI"
        ));
    }
    Ok(target)
}

/// The status code of a message/sipfrag body's status line.
fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(body);
    let mut words = text.lines().next()?.split_whitespace();
    let version = words.next()?;
    let code = words.next()?;
    let status: u16 = code.parse().ok()?;
    (version.eq_ignore_ascii_case("SIP/2.0") && code.len() == 3 && (100..700).contains(&status))
        .then_some(status)
}

impl Endpoint {
    /// A REFER from the peer inside call `call`.
    pub(super) fn on_refer(&mut self, now_ms: u64, key: &str, call: CallHandle, req: Request) {
        let target = match refer_target(&req) {
            Ok(target) => target,
            Err(why) => {
                let reply = Reply::new(400).reason(format!("Bad Request: {why}"));
                return self.reply(now_ms, key, &req, reply);
            }
        };
        let contact = self.our_contact(call);
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let why = if c.state != CallState::Confirmed {
            Some("Forbidden: the call is not established")
        } else if c.incoming_refer.is_some() {
            Some("Forbidden: a transfer is already under way")
        } else {
            None
        };
        if let Some(why) = why {
            return self.reply(now_ms, key, &req, Reply::new(403).reason(why));
        }
        c.incoming_refer = Some(req.core.cseq.seq);
        self.reply(
            now_ms,
            key,
            &req,
            Reply::new(202).header("Contact", contact),
        );
        // RFC 3515 2.4.4: the first NOTIFY follows the 202 at once.
        self.send_refer_notify(now_ms, call, 100);
        self.emit(SipEvent::Refer { call, target });
    }

    /// A NOTIFY from the peer: progress of a REFER we sent.
    pub(super) fn on_notify(&mut self, now_ms: u64, key: &str, call: CallHandle, req: Request) {
        let event = req.headers.get("Event").unwrap_or_default();
        let package = event.split(';').next().unwrap_or_default().trim();
        if !package.eq_ignore_ascii_case("refer") {
            let reply = Reply::new(489).header("Allow-Events", "refer");
            return self.reply(now_ms, key, &req, reply);
        }
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if !c.outgoing_refer {
            let reply = Reply::new(481).reason("Subscription Does Not Exist");
            return self.reply(now_ms, key, &req, reply);
        }
        let terminated = req.headers.get("Subscription-State").is_some_and(|s| {
            s.trim_start()
                .to_ascii_lowercase()
                .starts_with("terminated")
        });
        if terminated {
            c.outgoing_refer = false;
        }
        self.reply(now_ms, key, &req, Reply::new(200));
        if let Some(status) = sipfrag_status(&req.body) {
            self.emit(SipEvent::ReferProgress { call, status });
        }
    }

    pub(super) fn on_refer_response(&mut self, call: CallHandle, status: u16) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if status >= 300 {
            c.outgoing_refer = false;
        }
        self.emit(SipEvent::ReferResponse { call, status });
    }

    /// NOTIFY about the REFER we accepted: "SIP/2.0 `status`"; a final
    /// status ends the subscription.
    fn send_refer_notify(&mut self, now_ms: u64, call: CallHandle, status: u16) {
        let branch = self.ids.branch();
        let contact = self.our_contact(call);
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(id) = c.incoming_refer else {
            return;
        };
        let cseq = c.dialog.next_cseq();
        let state = if status >= 200 {
            c.incoming_refer = None;
            "terminated;reason=noresource".to_string()
        } else {
            format!("active;expires={SUBSCRIPTION_S}")
        };
        let extra = InDialog {
            contact: Some(contact),
            headers: vec![
                ("Event".into(), format!("refer;id={id}")),
                ("Subscription-State".into(), state),
            ],
            body: Some((
                SIPFRAG,
                format!("SIP/2.0 {status} {}\r\n", reason_phrase(status)).into_bytes(),
            )),
        };
        if let Some((peer, bytes)) =
            self.in_dialog_request_with(call, "NOTIFY", &branch, cseq, extra)
        {
            self.start_client(
                now_ms,
                peer,
                call,
                Purpose::Notify,
                &branch,
                "NOTIFY",
                bytes,
            );
        }
    }

    /// Tells the peer that asked for a transfer (`SipEvent::Refer`) how it
    /// goes: 180 while the target rings, 200 once it answered (which ends
    /// the transfer), an error status when it failed.
    pub fn refer_status(
        &mut self,
        now_ms: u64,
        call: CallHandle,
        status: u16,
    ) -> Result<(), SipError> {
        let c = self.calls.get(&call).ok_or(SipError::UnknownCall(call.0))?;
        if c.incoming_refer.is_none() {
            return Err(SipError::InvalidState {
                call: call.0,
                action: "report a transfer",
                state: "without a REFER to answer",
            });
        }
        let status = if (100..700).contains(&status) {
            status
        } else {
            500
        };
        self.send_refer_notify(now_ms, call, status);
        Ok(())
    }

    /// Asks the peer of an established call to call `target` instead (a
    /// blind transfer). Its answer comes as `ReferResponse`, the progress
    /// as `ReferProgress`; the call itself stays up until one side hangs up.
    pub fn refer(&mut self, now_ms: u64, call: CallHandle, target: &str) -> Result<(), SipError> {
        if !transfer_target_ok(target) {
            return Err(SipError::BadTarget(target.to_string()));
        }
        let branch = self.ids.branch();
        let contact = self.our_contact(call);
        let c = self
            .calls
            .get_mut(&call)
            .ok_or(SipError::UnknownCall(call.0))?;
        if c.state != CallState::Confirmed {
            return Err(SipError::InvalidState {
                call: call.0,
                action: "refer",
                state: c.state.name(),
            });
        }
        c.outgoing_refer = true;
        let cseq = c.dialog.next_cseq();
        let referred_by = format!("<{}>", c.dialog.local.uri);
        let extra = InDialog {
            contact: Some(contact),
            headers: vec![
                ("Refer-To".into(), format!("<{target}>")),
                ("Referred-By".into(), referred_by),
            ],
            body: None,
        };
        if let Some((peer, bytes)) =
            self.in_dialog_request_with(call, "REFER", &branch, cseq, extra)
        {
            self.start_client(now_ms, peer, call, Purpose::Refer, &branch, "REFER", bytes);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sipfrag_status_lines() {
        assert_eq!(sipfrag_status(b"SIP/2.0 200 OK\r\n"), Some(200));
        assert_eq!(sipfrag_status(b"SIP/2.0 100 Trying"), Some(100));
        assert_eq!(sipfrag_status(b"SIP/2.0 99 x"), None);
        assert_eq!(sipfrag_status(b"INVITE sip:a@b SIP/2.0"), None);
        assert_eq!(sipfrag_status(b""), None);
        assert_eq!(sipfrag_status(&[0xff, 0xfe]), None);
    }

    #[test]
    fn targets() {
        assert!(transfer_target_ok("sip:bob@example.com"));
        assert!(transfer_target_ok("tel:+15551234"));
        assert!(!transfer_target_ok("http://example.com"));
        assert!(!transfer_target_ok("sip:bob@exa mple.com"));
        assert!(!transfer_target_ok("sip:bob@example.com>;x"));
    }
}
