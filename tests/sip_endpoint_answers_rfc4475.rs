//! A running endpoint fed every RFC 4475 message as a UDP datagram answers
//! each well-formed request the way a user agent should, answers malformed
//! requests with 400 (505 for another SIP version), drops what cannot be
//! answered, and never panics, also on truncated and mutated copies.

#[path = "common/rfc4475.rs"]
mod rfc4475;
mod sip_harness;

use ivr::sip::{Input, Message, SipEvent};
use rfc4475::{EXPECTED, endpoint_expectation};
use sip_harness::{drain_lenient as drain, endpoint, udp};

fn files() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/rfc4475");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn each_message_gets_the_answer_rfc_4475_asks_for() {
    let peer = udp("192.0.2.99:5060");
    let mut wrong = Vec::new();
    let files = files();
    assert_eq!(files.len(), EXPECTED.len());
    for (name, bytes) in &files {
        let expected = endpoint_expectation(name);
        let mut ep = endpoint("127.0.0.1:5060", 1);
        ep.handle_input(0, Input::Received { peer, bytes });
        let out = drain(&mut ep);
        let first = out.statuses.first().copied();
        if first != expected {
            wrong.push(format!(
                "{name}: expected {expected:?}, sent {:?}",
                out.statuses()
            ));
            continue;
        }
        // Every response goes back to where the request came from.
        assert!(out.sent.iter().all(|(p, _)| *p == peer), "{name}");
        assert!(out.unparsed.iter().all(|(p, _)| *p == peer), "{name}");
        // A 400 echoes broken headers; its status line still says what was wrong.
        for (_, bytes) in &out.unparsed {
            let text = String::from_utf8_lossy(bytes);
            let line = text.lines().next().unwrap();
            assert!(
                line.len() > "SIP/2.0 400 Bad Request: ".len(),
                "{name}: {line}"
            );
        }
        if let Some(resp) = out.responses().first() {
            // A 400 says what was wrong; every final response carries our tag.
            if resp.status == 400 {
                assert!(
                    resp.reason.len() > "Bad Request: ".len(),
                    "{name}: {}",
                    resp.reason
                );
            }
            if resp.status >= 200 && resp.status != 481 {
                assert!(resp.core.to.tag().is_some(), "{name}: no To tag");
            }
        }
        let calls = out
            .events
            .iter()
            .filter(|e| matches!(e, SipEvent::IncomingCall { .. }))
            .count();
        assert_eq!(
            calls,
            usize::from(expected == Some(100)),
            "{name}: {:?}",
            out.events
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn specific_answers_carry_the_headers_that_explain_them() {
    let peer = udp("192.0.2.99:5060");
    let answer = |name: &str| {
        let (_, bytes) = files().into_iter().find(|(n, _)| n == name).unwrap();
        let mut ep = endpoint("127.0.0.1:5060", 1);
        ep.handle_input(
            0,
            Input::Received {
                peer,
                bytes: &bytes,
            },
        );
        let out = drain(&mut ep);
        if let Some((_, bytes)) = out.unparsed.first() {
            return Err(String::from_utf8_lossy(bytes).to_string());
        }
        Ok(out.sent.into_iter().next().unwrap().1)
    };
    let Ok(Message::Response(bext)) = answer("bext01") else {
        panic!()
    };
    assert_eq!(
        bext.headers.get("Unsupported"),
        Some("nothingSupportsThis, nothingSupportsThisEither")
    );
    let Ok(Message::Response(invut)) = answer("invut") else {
        panic!()
    };
    assert_eq!(invut.headers.get("Accept"), Some("application/sdp"));
    let Ok(Message::Response(reg)) = answer("regaut01") else {
        panic!()
    };
    assert!(reg.reason.contains("no agents"), "{}", reg.reason);
    let Ok(Message::Response(clerr)) = answer("clerr") else {
        panic!()
    };
    assert!(clerr.reason.contains("Content-Length"), "{}", clerr.reason);
    // A 400 that echoes the broken To still names the culprit.
    let baddn = answer("baddn").unwrap_err();
    assert!(
        baddn.starts_with("SIP/2.0 400 Bad Request: malformed From header"),
        "{baddn}"
    );
    // rport style: the top Via says where the request really came from.
    let Ok(Message::Response(opt)) = answer("lwsdisp") else {
        panic!()
    };
    assert_eq!(opt.core.via[0].host, "funky.example.com");
    assert!(
        opt.headers
            .get("Via")
            .unwrap()
            .contains("received=192.0.2.99")
    );
}

/// Answers then hangs up every call the endpoint announced, so odd offers
/// also go through the SDP answer and the BYE.
fn answer_everything(ep: &mut ivr::sip::Endpoint, now: u64) {
    let out = drain(ep);
    for event in out.events {
        if let SipEvent::IncomingCall { call, .. } = event {
            ep.ringing(now, call);
            ep.answer(now, call, "127.0.0.1:20000".parse().unwrap())
                .unwrap();
            ep.hangup(now, call);
        }
    }
    drain(ep);
}

#[test]
fn truncated_mutated_and_doubled_messages_never_panic_the_endpoint() {
    let peer = udp("192.0.2.99:5060");
    let mut now = 0;
    for (_, bytes) in files() {
        let mut ep = endpoint("127.0.0.1:5060", 2);
        let mut doubled = bytes.clone();
        doubled.extend_from_slice(&bytes);
        let mut variants = vec![doubled];
        for i in (0..bytes.len()).step_by(3) {
            variants.push(bytes[..i].to_vec());
            for probe in [b' ', b'\r', b':', b';', b'<', b'"', b'0'] {
                let mut m = bytes.clone();
                m[i] = probe;
                variants.push(m);
            }
            let mut m = bytes.clone();
            m.splice(i..i, "€".bytes());
            variants.push(m);
        }
        for v in &variants {
            now += 1;
            ep.handle_input(now, Input::Received { peer, bytes: v });
            answer_everything(&mut ep, now);
            ep.handle_timeout(now);
        }
        // Let every transaction and retransmission run out.
        while let Some(t) = ep.poll_timeout() {
            now = t.max(now);
            ep.handle_timeout(now);
            answer_everything(&mut ep, now);
        }
        assert_eq!(ep.poll_timeout(), None);
    }
}
