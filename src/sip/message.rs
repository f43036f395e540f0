//! SIP messages: parsing a datagram (or one framed TCP message) into a
//! request or response, and writing one back.
//!
//! Written by hand rather than with the `rsip` crate: fed the RFC 4475
//! torture messages, rsip 0.4 accepted 13 that must be rejected (badaspec,
//! baddn, badinv01, clerr, ncl, quotbal, ltgtruri, insuf, mcl01, multi01,
//! mismatch01, regbadct, baddate) and refused 7 valid ones (wsinv, intmeth,
//! esc01, esc02, longreq, semiuri, unkscm): it does not unfold LWS, treats
//! any method it does not know as an error and validates no header value.
//! The user agent needs the opposite: tolerant where RFC 3261 is, strict on
//! the headers it acts on, and a reason for every 400.

use super::error::ParseError;
use super::header::{self, CSeq, NameAddr, Via};
use super::syntax::{is_token, split_list};
use super::uri;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Info,
    Register,
    Subscribe,
    Notify,
    Refer,
    Message,
    Update,
    Prack,
    Publish,
    Other(String),
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "REGISTER" => Method::Register,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Register => "REGISTER",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Header fields in arrival order, names in their canonical long form
/// (compact forms expanded), values unfolded to one line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((canonical_name(name), value.into()));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every comma-separated entry of a list header, over all its lines.
    pub fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .flat_map(split_list)
            .filter(|v| !v.is_empty())
    }

    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// The expanded name of a compact or differently-cased known header.
pub fn canonical_name(name: &str) -> String {
    const COMPACT: &[(&str, &str)] = &[
        ("i", "Call-ID"),
        ("m", "Contact"),
        ("e", "Content-Encoding"),
        ("l", "Content-Length"),
        ("c", "Content-Type"),
        ("f", "From"),
        ("s", "Subject"),
        ("k", "Supported"),
        ("t", "To"),
        ("v", "Via"),
        ("r", "Refer-To"),
        ("o", "Event"),
        ("u", "Allow-Events"),
        ("x", "Session-Expires"),
        ("b", "Referred-By"),
        ("y", "Identity"),
    ];
    const KNOWN: &[&str] = &[
        "Accept",
        "Allow",
        "Call-ID",
        "Contact",
        "Content-Encoding",
        "Content-Length",
        "Content-Type",
        "CSeq",
        "Date",
        "From",
        "Max-Forwards",
        "Proxy-Require",
        "Record-Route",
        "Require",
        "Route",
        "Server",
        "Supported",
        "To",
        "Unsupported",
        "User-Agent",
        "Via",
    ];
    if name.len() == 1
        && let Some((_, long)) = COMPACT.iter().find(|(c, _)| c.eq_ignore_ascii_case(name))
    {
        return long.to_string();
    }
    match KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        Some(k) => k.to_string(),
        None => name.to_string(),
    }
}

/// The headers every request and response needs, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Core {
    pub via: Vec<Via>,
    pub from: NameAddr,
    pub to: NameAddr,
    pub call_id: String,
    pub cseq: CSeq,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: String,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub core: Core,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub core: Core,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// The message on the wire, Content-Length recomputed from the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = match self {
            Message::Request(r) => format!("{} {} SIP/2.0", r.method, r.uri),
            Message::Response(r) => format!("SIP/2.0 {} {}", r.status, r.reason),
        };
        write_message(&start, self.headers().iter(), self.body())
    }
}

/// Start line, headers (minus any Content-Length) and body as bytes.
pub fn write_message<'a>(
    start: &str,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    body: &[u8],
) -> Vec<u8> {
    let mut out = String::with_capacity(512);
    out.push_str(start);
    out.push_str("\r\n");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A message cut into start line, headers and the bytes after them, before
/// any header value is checked. Lets the endpoint answer 400 to a request
/// whose headers are broken.
#[derive(Debug, Clone)]
pub struct RawMessage<'a> {
    pub start_line: &'a str,
    pub headers: Headers,
    pub rest: &'a [u8],
}

impl RawMessage<'_> {
    /// Requests start with a method; responses with the SIP version.
    pub fn is_request(&self) -> bool {
        !self.start_line.starts_with("SIP/")
    }

    pub fn method(&self) -> &str {
        self.start_line.split(' ').next().unwrap_or("")
    }
}

pub fn parse_raw(bytes: &[u8]) -> Result<RawMessage<'_>, ParseError> {
    // Empty lines before the start line are keep-alives (RFC 3261 7.5).
    let start = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .ok_or(ParseError::Empty)?;
    let bytes = &bytes[start..];
    let head_end = find_head_end(bytes).ok_or(ParseError::UnterminatedHeaders)?;
    let head = std::str::from_utf8(&bytes[..head_end.0]).map_err(|_| ParseError::NotUtf8)?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start_line = lines.next().ok_or(ParseError::Empty)?;
    let mut headers = Headers::default();
    let mut current: Option<(String, String)> = None;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match current.as_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                None => {
                    return Err(ParseError::BadHeaderLine(
                        "continuation before any header".into(),
                    ));
                }
            }
            continue;
        }
        if let Some((name, value)) = current.take() {
            headers.push(&name, value.trim().to_string());
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ParseError::BadHeaderLine(format!(
                "{:?} has no colon",
                excerpt(line)
            )));
        };
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            return Err(ParseError::BadHeaderLine(format!(
                "bad header name {:?}",
                excerpt(name)
            )));
        }
        current = Some((name.to_string(), value.trim().to_string()));
    }
    if let Some((name, value)) = current.take() {
        headers.push(&name, value.trim().to_string());
    }
    Ok(RawMessage {
        start_line,
        headers,
        rest: &bytes[head_end.1..],
    })
}

/// (end of the header lines, start of the body) at the first empty line.
pub(crate) fn find_head_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut line_start = 0;
    while let Some(nl) = bytes[line_start..].iter().position(|&b| b == b'\n') {
        let nl = line_start + nl;
        let line = &bytes[line_start..nl];
        if line.is_empty() || line == b"\r" {
            return Some((line_start, nl + 1));
        }
        line_start = nl + 1;
    }
    None
}

fn excerpt(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Parses one SIP message from a datagram: bytes past Content-Length are
/// ignored (RFC 4475 dblreq), a Content-Length past the end is an error.
pub fn parse_message(bytes: &[u8]) -> Result<Message, ParseError> {
    let raw = parse_raw(bytes)?;
    let request_line = match raw.is_request() {
        true => Some(parse_request_line(raw.start_line)?),
        false => None,
    };
    let body = body_of(&raw)?;
    let core = parse_core(&raw.headers)?;
    if let Some((method, uri)) = request_line {
        if core.cseq.method != method.as_str() {
            return Err(ParseError::CSeqMethodMismatch {
                method: method.to_string(),
                cseq: core.cseq.method.clone(),
            });
        }
        Ok(Message::Request(Request {
            method,
            uri,
            headers: raw.headers,
            body,
            core,
        }))
    } else {
        let (status, reason) = parse_status_line(raw.start_line)?;
        Ok(Message::Response(Response {
            status,
            reason,
            headers: raw.headers,
            body,
            core,
        }))
    }
}

pub fn parse_request_line(line: &str) -> Result<(Method, String), ParseError> {
    let bad = |why: &str| ParseError::BadStartLine(format!("{why} in {:?}", excerpt(line)));
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, uri, version] = parts[..] else {
        return Err(bad("not 'METHOD URI SIP/2.0' separated by single spaces"));
    };
    if !is_token(method) {
        return Err(bad("bad method"));
    }
    check_version(version)?;
    uri::check(uri).map_err(|e| ParseError::BadStartLine(format!("Request-URI: {e}")))?;
    if uri::is_sip_scheme(uri) {
        let sip = uri::parse_sip(uri)
            .map_err(|e| ParseError::BadStartLine(format!("Request-URI: {e}")))?;
        if sip.headers.is_some() {
            return Err(bad("headers in the Request-URI"));
        }
    }
    Ok((Method::parse(method), uri.to_string()))
}

fn check_version(version: &str) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let looks_like_version = version.len() > 4
        && version
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        && version[4..]
            .split('.')
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if looks_like_version {
        Err(ParseError::UnsupportedVersion(version.to_string()))
    } else {
        Err(ParseError::BadStartLine(format!(
            "bad SIP version {:?}",
            excerpt(version)
        )))
    }
}

fn parse_status_line(line: &str) -> Result<(u16, String), ParseError> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    check_version(version)?;
    let code = parts.next().unwrap_or("");
    let reason = parts.next().unwrap_or("");
    let status = match code.parse::<u16>() {
        Ok(s) if code.len() == 3 && (100..700).contains(&s) => s,
        _ => {
            return Err(ParseError::BadStartLine(format!(
                "bad status code {:?}",
                excerpt(code)
            )));
        }
    };
    Ok((status, reason.to_string()))
}

fn body_of(raw: &RawMessage<'_>) -> Result<Vec<u8>, ParseError> {
    let available = raw.rest.len();
    let Some(value) = single(&raw.headers, "Content-Length")? else {
        return Ok(raw.rest.to_vec());
    };
    let declared = header::parse_decimal(value, u32::MAX as u64)
        .map_err(|e| ParseError::header("Content-Length", e))? as usize;
    if declared > available {
        return Err(ParseError::BodyTruncated {
            declared,
            available,
        });
    }
    Ok(raw.rest[..declared].to_vec())
}

fn single<'a>(headers: &'a Headers, name: &'static str) -> Result<Option<&'a str>, ParseError> {
    let mut all = headers.get_all(name);
    let first = all.next();
    if all.next().is_some() {
        return Err(ParseError::DuplicateHeader(name));
    }
    Ok(first)
}

fn required<'a>(headers: &'a Headers, name: &'static str) -> Result<&'a str, ParseError> {
    single(headers, name)?.ok_or(ParseError::MissingHeader(name))
}

/// Checks the headers the user agent acts on and returns the core ones.
pub fn parse_core(headers: &Headers) -> Result<Core, ParseError> {
    let mut via = Vec::new();
    for v in headers.list("Via") {
        via.push(header::parse_via(v).map_err(|e| ParseError::header("Via", e))?);
    }
    if via.is_empty() {
        return Err(ParseError::MissingHeader("Via"));
    }
    let from = header::parse_name_addr(required(headers, "From")?)
        .map_err(|e| ParseError::header("From", e))?;
    let to = header::parse_name_addr(required(headers, "To")?)
        .map_err(|e| ParseError::header("To", e))?;
    let call_id = required(headers, "Call-ID")?;
    header::check_call_id(call_id).map_err(|e| ParseError::header("Call-ID", e))?;
    let cseq = header::parse_cseq(required(headers, "CSeq")?)
        .map_err(|e| ParseError::header("CSeq", e))?;
    for name in ["Contact", "Route", "Record-Route"] {
        for entry in headers.list(name) {
            if name == "Contact" && entry == "*" {
                continue;
            }
            header::parse_name_addr(entry).map_err(|e| ParseError::header(name, e))?;
        }
    }
    if let Some(mf) = single(headers, "Max-Forwards")? {
        header::parse_decimal(mf, 255).map_err(|e| ParseError::header("Max-Forwards", e))?;
    }
    if let Some(ct) = single(headers, "Content-Type")? {
        header::parse_media_type(ct).map_err(|e| ParseError::header("Content-Type", e))?;
    }
    if let Some(date) = single(headers, "Date")? {
        // RFC 3261 20.17: SIP dates are always GMT.
        if !date.ends_with("GMT") {
            return Err(ParseError::header("Date", "time zone is not GMT"));
        }
    }
    Ok(Core {
        via,
        from,
        to,
        call_id: call_id.to_string(),
        cseq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:user@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\r\n\
To: sip:user@example.com\r\n\
From: <sip:caller@example.org>;tag=33242\r\n\
Call-ID: abc@host\r\n\
CSeq: 8 OPTIONS\r\n\
l: 0\r\n\r\n";

    #[test]
    fn parses_and_writes_back() {
        let Message::Request(req) = parse_message(OPTIONS).unwrap() else {
            panic!("not a request")
        };
        assert_eq!(req.method, Method::Options);
        assert_eq!(req.core.from.tag(), Some("33242"));
        let again = parse_message(&Message::Request(req.clone()).to_bytes()).unwrap();
        assert_eq!(again, Message::Request(req));
    }

    #[test]
    fn folded_lines_are_unfolded() {
        let raw = parse_raw(b"OPTIONS sip:a@b SIP/2.0\r\nSubject: one\r\n  two\r\n\r\n").unwrap();
        assert_eq!(raw.headers.get("subject"), Some("one two"));
    }

    #[test]
    fn request_line_rules() {
        assert!(parse_request_line("INVITE  sip:user@example.com SIP/2.0").is_err());
        assert!(parse_request_line("INVITE sip:user@example.com SIP/2.0 ").is_err());
        assert!(parse_request_line("INVITE <sip:user@example.com> SIP/2.0").is_err());
        assert!(parse_request_line("INVITE sip:user@example.com?Route=x SIP/2.0").is_err());
        assert!(matches!(
            parse_request_line("OPTIONS sip:t@example.org SIP/7.0"),
            Err(ParseError::UnsupportedVersion(_))
        ));
    }

    #[test]
    fn datagram_body_follows_content_length() {
        let mut msg = OPTIONS.to_vec();
        msg.extend_from_slice(b"trailing junk");
        assert!(parse_message(&msg).unwrap().body().is_empty());
        let long = String::from_utf8_lossy(OPTIONS).replace("l: 0", "l: 5");
        assert!(matches!(
            parse_message(long.as_bytes()),
            Err(ParseError::BodyTruncated { .. })
        ));
    }
}
