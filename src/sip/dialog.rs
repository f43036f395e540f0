//! Dialog state (RFC 3261 12): the identifiers that tie requests to a call,
//! the CSeq counters and where in-dialog requests go.

use super::header::NameAddr;
use super::message::Request;

#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    /// Our side, with our tag.
    pub local: NameAddr,
    /// The peer's side, with its tag once known (an RFC 2543 peer has none).
    pub remote: NameAddr,
    /// The peer's Contact URI: the Request-URI of what we send in the dialog.
    pub remote_target: String,
    /// Route headers for what we send, in order.
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: Option<u32>,
}

/// A NameAddr with its `tag` parameter replaced.
pub fn with_tag(addr: &NameAddr, tag: Option<&str>) -> NameAddr {
    let mut addr = addr.clone();
    addr.params.retain(|(n, _)| !n.eq_ignore_ascii_case("tag"));
    if let Some(tag) = tag {
        addr.params.push(("tag".into(), Some(tag.to_string())));
    }
    addr
}

/// The URI of the first Contact, if any.
pub fn contact_uri(req_headers: &super::message::Headers) -> Option<String> {
    let first = req_headers.list("Contact").next()?;
    super::header::parse_name_addr(first).ok().map(|c| c.uri)
}

impl Dialog {
    /// The UAS side of a dialog created by `invite`, with our new tag.
    pub fn for_uas(invite: &Request, local_tag: &str) -> Dialog {
        Dialog {
            call_id: invite.core.call_id.clone(),
            local: with_tag(&invite.core.to, Some(local_tag)),
            remote: invite.core.from.clone(),
            remote_target: contact_uri(&invite.headers)
                .unwrap_or_else(|| invite.core.from.uri.clone()),
            route_set: invite
                .headers
                .list("Record-Route")
                .map(str::to_string)
                .collect(),
            local_cseq: 0,
            remote_cseq: Some(invite.core.cseq.seq),
        }
    }

    pub fn local_tag(&self) -> Option<&str> {
        self.local.tag()
    }

    pub fn remote_tag(&self) -> Option<&str> {
        self.remote.tag()
    }

    /// Does a request from the peer (its From is the remote side, its To
    /// ours) belong to this dialog?
    pub fn matches_request(&self, req: &Request) -> bool {
        req.core.call_id == self.call_id
            && req.core.to.tag() == self.local_tag()
            && req.core.from.tag() == self.remote_tag()
    }

    pub fn next_cseq(&mut self) -> u32 {
        self.local_cseq += 1;
        self.local_cseq
    }

    /// RFC 3261 12.2.2: a request with a lower CSeq than the last is out of
    /// order (500). Returns whether the request is acceptable.
    pub fn accept_remote_cseq(&mut self, seq: u32) -> bool {
        match self.remote_cseq {
            Some(last) if seq <= last => false,
            _ => {
                self.remote_cseq = Some(seq);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{Message, parse_message};

    fn invite() -> Request {
        let bytes = b"INVITE sip:ivr@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
From: \"Al\" <sip:al@127.0.0.1>;tag=abc\r\nTo: <sip:ivr@127.0.0.1>\r\n\
Call-ID: c1\r\nCSeq: 5 INVITE\r\nContact: <sip:al@127.0.0.1:5070>\r\n\
Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nContent-Length: 0\r\n\r\n";
        match parse_message(bytes).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    #[test]
    fn uas_dialog_from_invite() {
        let mut d = Dialog::for_uas(&invite(), "xyz");
        assert_eq!(d.local_tag(), Some("xyz"));
        assert_eq!(d.remote_tag(), Some("abc"));
        assert_eq!(d.remote_target, "sip:al@127.0.0.1:5070");
        assert_eq!(d.route_set, vec!["<sip:p1;lr>", "<sip:p2;lr>"]);
        assert!(!d.accept_remote_cseq(5));
        assert!(d.accept_remote_cseq(6));
        assert_eq!(d.next_cseq(), 1);
    }
}
