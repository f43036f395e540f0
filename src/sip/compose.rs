//! Writing the messages the endpoint sends: responses built from the request
//! they answer (RFC 3261 8.2.6), and requests from a dialog's state.

use super::header::{NameAddr, Via};
use super::message::{RawMessage, Request, write_message};
use super::types::{Peer, Transport};

pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => "Unknown",
    }
}

/// A reason phrase safe to put on a status line.
pub fn clean_reason(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

/// Methods we answer; the Allow header.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER, REFER, NOTIFY";

/// A response to be built for a request.
pub struct Reply {
    pub status: u16,
    pub reason: Option<String>,
    /// Added to To when the request had no tag (not on 100).
    pub to_tag: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<(&'static str, Vec<u8>)>,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            reason: None,
            to_tag: None,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Reply {
        self.reason = Some(reason.into());
        self
    }

    pub fn tag(mut self, tag: &str) -> Reply {
        self.to_tag = Some(tag.to_string());
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, content_type: &'static str, body: Vec<u8>) -> Reply {
        self.body = Some((content_type, body));
        self
    }
}

/// The top Via with `received` and `rport` filled in (RFC 3261 18.2.1,
/// RFC 3581), so the client sees where we saw it.
fn stamped_via(via: &Via, peer: Peer) -> Via {
    let mut via = via.clone();
    let ip = peer.addr.ip().to_string();
    if via.has_param("rport") {
        via.set_param("rport", Some(peer.addr.port().to_string()));
        via.set_param("received", Some(ip));
    } else if via.host.trim_matches(['[', ']']) != ip {
        via.set_param("received", Some(ip));
    }
    via
}

pub fn response(req: &Request, peer: Peer, reply: Reply, server: &str) -> Vec<u8> {
    let status = reply.status;
    let reason = reply
        .reason
        .unwrap_or_else(|| reason_phrase(status).to_string());
    let mut headers: Vec<(&str, String)> = Vec::new();
    for (i, via) in req.core.via.iter().enumerate() {
        let via = if i == 0 {
            stamped_via(via, peer)
        } else {
            via.clone()
        };
        headers.push(("Via", via.to_string()));
    }
    headers.push((
        "From",
        req.headers.get("From").unwrap_or_default().to_string(),
    ));
    let mut to = req.headers.get("To").unwrap_or_default().to_string();
    if let (None, Some(tag), true) = (req.core.to.tag(), reply.to_tag.as_deref(), status > 100) {
        to.push_str(";tag=");
        to.push_str(tag);
    }
    headers.push(("To", to));
    headers.push(("Call-ID", req.core.call_id.clone()));
    headers.push((
        "CSeq",
        format!("{} {}", req.core.cseq.seq, req.core.cseq.method),
    ));
    if (101..300).contains(&status) {
        for rr in req.headers.get_all("Record-Route") {
            headers.push(("Record-Route", rr.to_string()));
        }
    }
    headers.extend(reply.headers);
    headers.push(("Server", server.to_string()));
    let body = match reply.body {
        Some((content_type, body)) => {
            headers.push(("Content-Type", content_type.to_string()));
            body
        }
        None => Vec::new(),
    };
    write_message(
        &format!("SIP/2.0 {status} {}", clean_reason(&reason)),
        headers.iter().map(|(n, v)| (*n, v.as_str())),
        &body,
    )
}

/// A response to a request whose headers did not parse: the headers a
/// client matches on are copied as they came. None without a Via.
pub fn response_to_raw(
    raw: &RawMessage<'_>,
    status: u16,
    reason: &str,
    to_tag: &str,
    server: &str,
) -> Option<Vec<u8>> {
    let vias: Vec<&str> = raw.headers.get_all("Via").collect();
    if vias.is_empty() {
        return None;
    }
    let mut headers: Vec<(&str, String)> =
        vias.into_iter().map(|v| ("Via", v.to_string())).collect();
    for name in ["From", "To", "Call-ID", "CSeq"] {
        if let Some(v) = raw.headers.get(name) {
            let mut v = v.to_string();
            if name == "To" && !v.contains("tag=") {
                v.push_str(";tag=");
                v.push_str(to_tag);
            }
            headers.push((name, v));
        }
    }
    headers.push(("Server", server.to_string()));
    Some(write_message(
        &format!("SIP/2.0 {status} {}", clean_reason(reason)),
        headers.iter().map(|(n, v)| (*n, v.as_str())),
        &[],
    ))
}

/// A request we originate.
pub struct Outgoing<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub transport: Transport,
    pub local_addr: std::net::SocketAddr,
    pub branch: &'a str,
    pub from: &'a NameAddr,
    pub to: &'a NameAddr,
    pub call_id: &'a str,
    pub cseq: u32,
    pub contact: Option<String>,
    pub route: &'a [String],
    pub headers: &'a [(String, String)],
    pub body: Option<(&'static str, Vec<u8>)>,
    pub user_agent: &'a str,
}

pub fn request(o: Outgoing<'_>) -> Vec<u8> {
    let mut headers: Vec<(&str, String)> = vec![
        (
            "Via",
            format!(
                "SIP/2.0/{} {};branch={};rport",
                o.transport.via_name(),
                o.local_addr,
                o.branch
            ),
        ),
        ("Max-Forwards", "70".into()),
        ("From", o.from.to_string()),
        ("To", o.to.to_string()),
        ("Call-ID", o.call_id.to_string()),
        ("CSeq", format!("{} {}", o.cseq, o.method)),
    ];
    for r in o.route {
        headers.push(("Route", r.clone()));
    }
    if let Some(c) = o.contact {
        headers.push(("Contact", c));
    }
    headers.push(("User-Agent", o.user_agent.to_string()));
    for (n, v) in o.headers {
        headers.push((n.as_str(), v.clone()));
    }
    let body = match o.body {
        Some((content_type, body)) => {
            headers.push(("Content-Type", content_type.to_string()));
            body
        }
        None => Vec::new(),
    };
    write_message(
        &format!("{} {} SIP/2.0", o.method, o.uri),
        headers.iter().map(|(n, v)| (*n, v.as_str())),
        &body,
    )
}

/// Our Contact: where the peer sends requests in the dialog.
pub fn contact(user: &str, local_addr: std::net::SocketAddr, transport: Transport) -> String {
    match transport {
        Transport::Udp => format!("<sip:{user}@{local_addr}>"),
        Transport::Tcp => format!("<sip:{user}@{local_addr};transport=tcp>"),
    }
}
