//! Screening a request against what the user agent supports (RFC 3261
//! 8.2): content type and encoding, Accept, Require, SDP problems, and the
//! DTMF digit of an INFO. Each check returns the response to send, if any.

use super::compose::Reply;
use super::error::SdpError;
use super::header::{parse_media_type, parse_token_list};
use super::message::Request;

pub const SDP: &str = "application/sdp";

/// Why the body of an INVITE cannot be used, as the response to send.
pub fn body_problem(req: &Request) -> Option<Reply> {
    let unsupported = |why: &str| {
        Reply::new(415)
            .reason(format!("Unsupported Media Type: {why}"))
            .header("Accept", SDP)
            .header("Accept-Encoding", "identity")
    };
    if req.body.is_empty() {
        return Some(unsupported("an SDP offer is required"));
    }
    let content_type = req
        .headers
        .get("Content-Type")
        .and_then(|c| parse_media_type(c).ok());
    if content_type.as_deref() != Some(SDP) {
        return Some(unsupported("only application/sdp"));
    }
    let encoding = req.headers.get("Content-Encoding").map(str::trim);
    if encoding.is_some_and(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity")) {
        return Some(unsupported("no content encodings"));
    }
    None
}

/// 400 for SDP that does not parse, 488 for SDP without a usable stream.
pub fn sdp_problem(err: &SdpError) -> Reply {
    match err {
        SdpError::NoUsableCodec | SdpError::NoAudio => Reply::new(488)
            .reason(format!("Not Acceptable Here: {err}"))
            .header("Warning", "305 ivr \"Incompatible media format\""),
        other => Reply::new(400).reason(format!("Bad Request: malformed SDP: {other}")),
    }
}

/// Does an Accept header (if any) allow an SDP answer?
pub fn accepts_sdp(req: &Request) -> bool {
    let mut entries = req.headers.list("Accept").peekable();
    if entries.peek().is_none() {
        return req.headers.get("Accept").is_none();
    }
    entries.any(|e| {
        let ty = e
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        ty == SDP || ty == "application/*" || ty == "*/*"
    })
}

/// A DTMF digit from an INFO body.
pub fn info_digit(req: &Request) -> Option<char> {
    let content_type = req
        .headers
        .get("Content-Type")
        .and_then(|c| parse_media_type(c).ok())?;
    let body = std::str::from_utf8(&req.body).ok()?;
    let signal = match content_type.as_str() {
        "application/dtmf-relay" => body.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
        })?,
        "application/dtmf" => body.trim(),
        _ => return None,
    };
    match signal {
        "10" => Some('*'),
        "11" => Some('#'),
        s if s.len() == 1 => s
            .chars()
            .next()
            .filter(|c| c.is_ascii_digit() || "*#ABCDabcd".contains(*c)),
        _ => None,
    }
    .map(|c| c.to_ascii_uppercase())
}

/// 420 when the request requires an extension (we support none).
pub fn require_problem(req: &Request) -> Option<Reply> {
    let required: Vec<String> = req
        .headers
        .get_all("Require")
        .flat_map(parse_token_list)
        .collect();
    (!required.is_empty()).then(|| Reply::new(420).header("Unsupported", required.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{Message, parse_message};

    fn request(extra: &str, body: &str) -> Request {
        let text = format!(
            "INFO sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n\
To: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 2 INFO\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match parse_message(text.as_bytes()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    #[test]
    fn dtmf_from_info_bodies() {
        let relay = request(
            "Content-Type: application/dtmf-relay\r\n",
            "Signal=5\r\nDuration=160\r\n",
        );
        assert_eq!(info_digit(&relay), Some('5'));
        let star = request("Content-Type: application/dtmf-relay\r\n", "Signal= 10\r\n");
        assert_eq!(info_digit(&star), Some('*'));
        let plain = request("Content-Type: application/dtmf\r\n", "#");
        assert_eq!(info_digit(&plain), Some('#'));
        assert_eq!(
            info_digit(&request("Content-Type: text/plain\r\n", "5")),
            None
        );
    }

    #[test]
    fn accept_header_rules() {
        assert!(accepts_sdp(&request("", "")));
        assert!(accepts_sdp(&request(
            "Accept: application/sdp;level=1, text/html\r\n",
            ""
        )));
        assert!(!accepts_sdp(&request(
            "Accept: text/nobodyKnowsThis\r\n",
            ""
        )));
        // An empty Accept means no body is acceptable (RFC 3261 20.1).
        assert!(!accepts_sdp(&request("Accept:\r\n", "")));
    }

    #[test]
    fn require_lists_what_we_do_not_support() {
        let r = request("Require: 100rel, timer\r\n", "");
        assert_eq!(require_problem(&r).unwrap().headers[0].1, "100rel, timer");
        assert!(require_problem(&request("", "")).is_none());
    }
}
