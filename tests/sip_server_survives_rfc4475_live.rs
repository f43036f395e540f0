//! The running server, over loopback UDP and TCP, gets every RFC 4475
//! torture message: it never falls over, rejects what RFC 4475 says must be
//! rejected, answers the well-formed requests (calls included, which the
//! test then ends with ACK and BYE like a phone would), still answers an
//! OPTIONS afterwards and shuts down with no call left behind.

mod common;
#[path = "common/rfc4475.rs"]
mod rfc4475;
#[path = "common/server.rs"]
mod server;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ivr::brain::asr::Language;
use ivr::sip::codec::SipCodec;
use ivr::sip::{Message, parse_message};
use rfc4475::EXPECTED;
use server::TestServer;
use tokio_util::codec::Decoder;

/// Socket reads wake this often to check the bounds below.
const READ_STEP: Duration = Duration::from_millis(100);
/// Waiting this long with nothing heard means no answer is coming.
const QUIET: Duration = Duration::from_millis(600);
/// The longest one exchange may take, answered or not.
const EXCHANGE_LIMIT: Duration = Duration::from_secs(5);

fn messages() -> Vec<(String, Vec<u8>)> {
    let dir = common::shared().join("conformance/rfc4475");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn status_of(message: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(message.get(..12)?).ok()?;
    text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
}

/// The value of the first header called `name` (or its compact form).
fn header(message: &[u8], name: &str, compact: &str) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let head = text.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        let n = n.trim();
        (n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(compact))
            .then(|| v.trim().to_string())
    })
}

/// An in-dialog request (ACK or BYE) for the call a 2xx answered.
fn in_dialog(
    method: &str,
    ok: &[u8],
    cseq: u32,
    local: SocketAddr,
    transport: &str,
    branch: &str,
) -> Vec<u8> {
    let get = |name, compact| {
        header(ok, name, compact).unwrap_or_else(|| {
            panic!(
                "2xx without {name}:\n{}",
                String::from_utf8_lossy(ok).trim_end()
            )
        })
    };
    let contact = get("Contact", "m");
    let target = contact
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or(contact.as_str(), |(uri, _)| uri)
        .to_string();
    format!(
        "{method} {target} SIP/2.0\r\n\
Via: SIP/2.0/{transport} {local};branch=z9hG4bK{branch};rport\r\n\
Max-Forwards: 70\r\n\
From: {from}\r\n\
To: {to}\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} {method}\r\n\
Content-Length: 0\r\n\r\n",
        from = get("From", "f"),
        to = get("To", "t"),
        call_id = get("Call-ID", "i"),
    )
    .into_bytes()
}

/// The CSeq number a response carries.
fn cseq_of(message: &[u8]) -> u32 {
    header(message, "CSeq", "CSeq")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(1)
}

/// The RFC 3261 17.2.3 key of the server transaction a request makes (top
/// Via branch with the magic cookie, sent-by, method; ACK joins its
/// INVITE), for requests that parse. RFC 4475 reuses branches across
/// messages, so on a live server a later message can be a retransmission
/// of an earlier one.
fn transaction_key(bytes: &[u8]) -> Option<(String, String, String)> {
    let Ok(Message::Request(req)) = parse_message(bytes) else {
        return None;
    };
    let via = req.core.via.first()?;
    let branch = via.branch().filter(|b| b.starts_with("z9hG4bK"))?;
    let method = match req.method.as_str() {
        "ACK" => "INVITE".to_string(),
        m => m.to_string(),
    };
    Some((branch.to_string(), via.sent_by(), method))
}

/// What the server sent back for one message.
#[derive(Debug, Default)]
struct Exchange {
    /// Status of every response, in order (provisional ones too).
    statuses: Vec<u16>,
    /// The first final response.
    first_final: Option<Vec<u8>>,
    /// The server closed the TCP connection.
    closed: bool,
    /// The call it answered was ended with ACK and BYE, and the BYE got 200.
    hung_up: Option<bool>,
}

impl Exchange {
    fn final_status(&self) -> Option<u16> {
        self.statuses.iter().copied().find(|s| *s >= 200)
    }

    fn take(&mut self, message: &[u8]) {
        if let Some(status) = status_of(message) {
            self.statuses.push(status);
            if status >= 200 && self.first_final.is_none() {
                self.first_final = Some(message.to_vec());
            }
        }
    }

    /// The final response, if it answers an INVITE.
    fn invite_final(&self) -> Option<&[u8]> {
        let resp = self.first_final.as_deref()?;
        header(resp, "CSeq", "CSeq")
            .is_some_and(|c| c.ends_with("INVITE"))
            .then_some(resp)
    }
}

/// One client connection: a UDP socket of its own, or a TCP connection.
enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream, BytesMut),
}

impl Conn {
    fn open(transport: &str, server: SocketAddr) -> Conn {
        if transport == "UDP" {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.connect(server).unwrap();
            socket.set_read_timeout(Some(READ_STEP)).unwrap();
            Conn::Udp(socket)
        } else {
            let stream = TcpStream::connect(server).unwrap();
            stream.set_read_timeout(Some(READ_STEP)).unwrap();
            Conn::Tcp(stream, BytesMut::new())
        }
    }

    fn local(&self) -> SocketAddr {
        match self {
            Conn::Udp(s) => s.local_addr().unwrap(),
            Conn::Tcp(s, _) => s.local_addr().unwrap(),
        }
    }

    /// False when the server has closed the connection already.
    fn send(&mut self, bytes: &[u8]) -> bool {
        match self {
            Conn::Udp(s) => s.send(bytes).is_ok(),
            Conn::Tcp(s, _) => s.write_all(bytes).is_ok(),
        }
    }

    /// Reads responses until one with a status `until` accepts came, the
    /// server closed, nothing came for `QUIET`, or `EXCHANGE_LIMIT` passed.
    fn read(&mut self, exchange: &mut Exchange, until: impl Fn(u16) -> bool) {
        let started = Instant::now();
        let mut last = Instant::now();
        let mut buf = vec![0u8; 65_535];
        while started.elapsed() < EXCHANGE_LIMIT && last.elapsed() < QUIET && !exchange.closed {
            let mut messages = Vec::new();
            match self {
                // Errors are timeouts, or ICMP errors from earlier sends.
                Conn::Udp(socket) => {
                    if let Ok(n) = socket.recv(&mut buf) {
                        messages.push(buf[..n].to_vec());
                    }
                }
                Conn::Tcp(stream, pending) => {
                    match stream.read(&mut buf) {
                        Ok(0) => exchange.closed = true,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                        Err(_) => exchange.closed = true,
                    }
                    while let Ok(Some(message)) = SipCodec::default().decode(pending) {
                        messages.push(message);
                    }
                }
            }
            for message in messages {
                last = Instant::now();
                exchange.take(&message);
                if status_of(&message).is_some_and(&until) {
                    return;
                }
            }
        }
    }

    /// Ends our side of a TCP connection and reads until the server closes.
    fn finish(&mut self, exchange: &mut Exchange) {
        if let Conn::Tcp(stream, _) = self {
            // A message still waiting for its body ends here.
            let _ = stream.shutdown(Shutdown::Write);
            self.read(exchange, |_| false);
        }
    }
}

/// Sends one torture message on a fresh connection and behaves like the
/// phone that sent it: ACKs a final answer to an INVITE, and ends a call
/// it set up with BYE.
fn exchange(transport: &str, server: SocketAddr, name: &str, bytes: &[u8]) -> Exchange {
    let mut conn = Conn::open(transport, server);
    let local = conn.local();
    let mut exchange = Exchange::default();
    // The server may close on a message it cannot frame before all of it
    // is written; that is an answer too.
    if !conn.send(bytes) {
        exchange.closed = true;
        return exchange;
    }
    conn.read(&mut exchange, |s| s >= 200);
    if let Some(resp) = exchange.invite_final().map(<[u8]>::to_vec) {
        let status = status_of(&resp).unwrap_or(0);
        let cseq = cseq_of(&resp);
        if (200..300).contains(&status) {
            let ack = in_dialog("ACK", &resp, cseq, local, transport, &format!("{name}ack"));
            let bye = in_dialog(
                "BYE",
                &resp,
                cseq + 1,
                local,
                transport,
                &format!("{name}bye"),
            );
            let mut after = Exchange::default();
            if conn.send(&ack) && conn.send(&bye) {
                conn.read(&mut after, |s| s >= 200);
            }
            exchange.hung_up = Some(after.statuses.contains(&200));
        } else if let Some(ack) = ack_for_failure(bytes, &resp) {
            // Part of the INVITE transaction (RFC 3261 17.1.1.3); it stops
            // the server's retransmissions.
            conn.send(&ack);
        }
    }
    conn.finish(&mut exchange);
    exchange
}

/// The ACK of a non-2xx final response: the INVITE's Request-URI and top
/// Via, the response's From, To and Call-ID. None when the response does
/// not carry them (a 400 to a mangled request).
fn ack_for_failure(invite: &[u8], resp: &[u8]) -> Option<Vec<u8>> {
    let first_line = invite.split(|b| *b == b'\n').next()?;
    let uri = String::from_utf8_lossy(first_line)
        .split_whitespace()
        .nth(1)?
        .to_string();
    Some(
        format!(
            "ACK {uri} SIP/2.0\r\n\
Via: {via}\r\n\
Max-Forwards: 70\r\n\
From: {from}\r\n\
To: {to}\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} ACK\r\n\
Content-Length: 0\r\n\r\n",
            via = header(resp, "Via", "v")?,
            from = header(resp, "From", "f")?,
            to = header(resp, "To", "t")?,
            call_id = header(resp, "Call-ID", "i")?,
            cseq = cseq_of(resp),
        )
        .into_bytes(),
    )
}

/// Whether a stream carries `bytes` as exactly one SIP message: on TCP the
/// framing comes from Content-Length alone (RFC 3261 18.3), so a missing,
/// negative, doubled or too large one leaves the stream unframable.
fn frames_cleanly(bytes: &[u8]) -> bool {
    let mut buf = BytesMut::from(bytes);
    matches!(SipCodec::default().decode(&mut buf), Ok(Some(_))) && buf.is_empty()
}

fn options(transport: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:hotline@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/{transport} 127.0.0.1:5999;branch=z9hG4bKafter{transport};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:probe@127.0.0.1>;tag=after\r\n\
To: <sip:hotline@127.0.0.1>\r\n\
Call-ID: after-torture-{transport}\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Sends every message over `transport` and returns what was wrong, and how
/// many calls were set up (and hung up).
fn torture(srv: &TestServer, transport: &str) -> (Vec<String>, usize) {
    let server = if transport == "UDP" {
        srv.sip_udp()
    } else {
        srv.sip_tcp()
    };
    let mut wrong = Vec::new();
    let mut calls = 0;
    // Final status of each transaction this pass opened, by its key.
    let mut transactions: Vec<((String, String, String), Option<u16>)> = Vec::new();
    for (name, bytes) in &messages() {
        let expected = EXPECTED
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no expectation for {name}"))
            .1;
        let got = exchange(transport, server, name, bytes);
        let key = transaction_key(bytes);
        // Server transactions outlive this test on UDP (timer J, 32 s), and
        // after a 2xx to INVITE on either transport (timer L): a message with
        // the key of an earlier one may be its retransmission, answered by
        // resending the earlier response to the earlier sender.
        let earlier = key
            .as_ref()
            .and_then(|k| transactions.iter().find(|(t, _)| t == k))
            .map(|(_, status)| *status);
        let right = match earlier {
            Some(status) => got.final_status().is_none() || got.final_status() == status,
            None if transport == "TCP" && !frames_cleanly(bytes) => match got.final_status() {
                // Unframable on a stream: rejecting it or closing is right.
                None => got.closed || expected.is_none(),
                Some(status) => Some(status) == expected || status == 400,
            },
            None => got.final_status() == expected,
        };
        println!(
            "{transport} {name}: {:?}{}{}{}",
            got.statuses,
            if earlier.is_some() {
                " (repeats an earlier transaction)"
            } else {
                ""
            },
            if got.closed { " (closed)" } else { "" },
            match got.hung_up {
                Some(true) => " (call ended by BYE)",
                Some(false) => " (BYE unanswered)",
                None => "",
            }
        );
        if !right {
            wrong.push(format!(
                "{transport} {name}: expected {expected:?}, got {:?} (closed: {})",
                got.statuses, got.closed
            ));
        }
        if let (Some(k), None) = (key, earlier) {
            transactions.push((k, got.final_status()));
        }
        if let Some(hung_up) = got.hung_up {
            calls += 1;
            if !hung_up {
                wrong.push(format!("{transport} {name}: the BYE got no 200"));
            }
        }
        // A rejection says what was wrong, not just "Bad Request".
        if let Some(resp) = got
            .first_final
            .as_ref()
            .filter(|r| status_of(r) == Some(400))
        {
            let text = String::from_utf8_lossy(resp);
            let line = text.lines().next().unwrap_or_default();
            if line.len() <= "SIP/2.0 400 Bad Request".len() {
                wrong.push(format!("{transport} {name}: 400 without a reason: {line}"));
            }
        }
    }
    (wrong, calls)
}

/// The whole torture set over one transport to a fresh server, then an
/// OPTIONS, then shutdown.
fn server_survives(transport: &str) {
    let srv = TestServer::start(&format!("rfc4475-{transport}"), Language::En);
    assert_eq!(messages().len(), EXPECTED.len(), "one expectation per file");
    let (wrong, calls) = torture(&srv, transport);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Still alive. (The Via names no real port: answers go where requests
    // came from.)
    let server = if transport == "UDP" {
        srv.sip_udp()
    } else {
        srv.sip_tcp()
    };
    let after = exchange(transport, server, "options", &options(transport));
    assert_eq!(after.final_status(), Some(200), "{:?}", after.statuses);

    // Every call answered was hung up by its BYE and stored as ended.
    assert!(calls > 0, "the well-formed INVITEs were answered");
    // Generous: records of ended calls wait for their transcripts, and the
    // recogniser may share the cores with other test binaries.
    let stored = srv.wait_for_ended_calls(calls, Duration::from_secs(90));
    assert_eq!(stored.len(), calls, "one record per answered call");
    for call in &stored {
        assert_eq!(
            call.end_reason.as_deref(),
            Some("caller_hung_up"),
            "{}: {:?}",
            call.sip_call_id,
            call.end_reason
        );
    }

    // No call is left for shutdown to wait on.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let stopper = std::thread::spawn(move || {
        let mut srv = srv;
        srv.stop();
        let _ = done_tx.send(());
        srv
    });
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server shuts down");
    let srv = stopper.join().unwrap();
    assert!(srv.calls().iter().all(|c| c.ended_unix_ms.is_some()));
}

#[test]
fn every_torture_message_over_udp_is_answered_as_rfc_4475_asks() {
    server_survives("UDP");
}

#[test]
fn every_torture_message_over_tcp_is_answered_as_rfc_4475_asks() {
    server_survives("TCP");
}
