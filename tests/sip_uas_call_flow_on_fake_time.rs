//! Incoming calls on fake time, against a phone written by hand: INVITE,
//! 100/180/200 with the SDP answer, 200 resent until the ACK, re-INVITE
//! hold and unhold, BYE; CANCEL before the answer; OPTIONS; methods we do
//! not support; offers we cannot take; an ACK that never comes.

mod sip_harness;

use ivr::sip::{Codec, EndReason, Endpoint, SipEvent, sdp};
use sip_harness::{Drained, OFFER, Phone, drain, endpoint, feed, local_rtp, run_until, tcp, udp};

const PHONE: &str = "127.0.0.1:5070";

/// The phone invites; returns the call handle and what came back.
fn invite(
    ep: &mut Endpoint,
    phone: &mut Phone,
    now: u64,
) -> (ivr::sip::CallHandle, Drained, String) {
    let branch = phone.new_branch();
    let msg = phone.request("INVITE", Some(&branch), None, "", OFFER);
    let out = feed(ep, now, phone.peer, &msg);
    let call = out
        .events
        .iter()
        .find_map(|e| match e {
            SipEvent::IncomingCall { call, .. } => Some(*call),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no IncomingCall: {:?} {:?}", out.statuses(), out.events));
    (call, out, msg)
}

fn ack(phone: &mut Phone, cseq: u32) -> String {
    phone.request("ACK", None, Some(cseq), "", "")
}

fn count_200s(fired: &[(u64, Drained)]) -> Vec<u64> {
    fired
        .iter()
        .filter(|(_, d)| d.statuses().contains(&200))
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn answered_call_with_hold_unhold_and_bye() {
    let mut ep = endpoint("127.0.0.1:5060", 11);
    let mut phone = Phone::new(udp(PHONE), "flow1");
    let (call, out, invite_msg) = invite(&mut ep, &mut phone, 0);
    assert_eq!(out.statuses(), vec![100], "100 Trying right away");
    let Some(SipEvent::IncomingCall {
        from_uri,
        from_display,
        to_uri,
        call_id,
        offer,
        headers,
        ..
    }) = out.events.first()
    else {
        panic!("{:?}", out.events)
    };
    assert_eq!(from_uri, "sip:alice@127.0.0.1");
    assert_eq!(from_display.as_deref(), Some("Alice"));
    assert_eq!(to_uri, "sip:ivr@127.0.0.1");
    assert_eq!(call_id, "flow1");
    assert_eq!(offer.codec, Codec::Pcmu);
    assert_eq!(
        offer.remote_rtp,
        "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap()
    );
    assert_eq!(offer.dtmf_payload_type, Some(101));
    assert!(!offer.on_hold);
    assert!(headers.iter().any(|(n, v)| n == "Call-ID" && v == "flow1"));
    assert_eq!(ep.active_calls(), 1);

    ep.ringing(10, call);
    let ring = drain(&mut ep);
    let ringing = ring.response(180);
    assert!(ringing.core.to.tag().is_some());
    phone.learn_tag(ringing);

    ep.answer(20, call, local_rtp()).unwrap();
    let ok = drain(&mut ep);
    let ok = ok.response(200);
    assert_eq!(
        ok.core.to.tag(),
        phone.to_tag.as_deref(),
        "same tag as the 180"
    );
    assert_eq!(ok.headers.get("Content-Type"), Some("application/sdp"));
    let answer = sdp::negotiate(&sdp::parse(&ok.body).unwrap(), &[Codec::Pcmu]).unwrap();
    assert_eq!(answer.media.remote_rtp, local_rtp());
    assert_eq!(answer.media.payload_type, 0);
    assert_eq!(answer.media.dtmf_payload_type, Some(101));
    assert!(ok.headers.get("Contact").is_some());
    assert!(
        ep.answer(21, call, local_rtp()).is_err(),
        "answering twice is an error"
    );

    // No ACK yet: the 200 goes out again at T1, 2*T1, 4*T1...
    let fired = run_until(&mut ep, 4_000);
    assert_eq!(count_200s(&fired), vec![520, 1520, 3520]);
    // A retransmitted INVITE gets the 200 again, not a second call.
    let again = feed(&mut ep, 4_000, phone.peer, &invite_msg);
    assert_eq!(again.statuses(), vec![200]);
    assert!(again.events.is_empty());

    let confirmed = feed(&mut ep, 4_100, phone.peer, &ack(&mut phone, 1));
    assert_eq!(confirmed.events, vec![SipEvent::CallConfirmed { call }]);
    assert!(
        count_200s(&run_until(&mut ep, 10_000)).is_empty(),
        "no resend after the ACK"
    );

    // Hold: the phone offers sendonly, we answer recvonly.
    let held_offer = OFFER.replace("a=sendrecv", "a=sendonly");
    let hold = phone.request("INVITE", None, None, "", &held_offer);
    let out = feed(&mut ep, 10_000, phone.peer, &hold);
    let reply = out.response(200);
    assert!(String::from_utf8_lossy(&reply.body).contains("a=recvonly"));
    let Some(SipEvent::MediaChanged { call: c, offer }) = out.events.first() else {
        panic!("{:?}", out.events)
    };
    assert_eq!(*c, call);
    assert!(offer.on_hold);
    let cseq = phone.cseq;
    assert!(
        feed(&mut ep, 10_010, phone.peer, &ack(&mut phone, cseq))
            .events
            .is_empty()
    );

    // Unhold.
    let unhold = phone.request("INVITE", None, None, "", OFFER);
    let out = feed(&mut ep, 11_000, phone.peer, &unhold);
    assert!(String::from_utf8_lossy(&out.response(200).body).contains("a=sendrecv"));
    assert!(
        matches!(out.events.first(), Some(SipEvent::MediaChanged { offer, .. }) if !offer.on_hold)
    );
    let cseq = phone.cseq;
    feed(&mut ep, 11_010, phone.peer, &ack(&mut phone, cseq));

    // An old CSeq is out of order.
    let stale = phone.request("INFO", None, Some(1), "", "");
    assert_eq!(
        feed(&mut ep, 11_500, phone.peer, &stale).statuses(),
        vec![500]
    );

    let bye = phone.request("BYE", None, None, "", "");
    let out = feed(&mut ep, 12_000, phone.peer, &bye);
    assert_eq!(out.statuses(), vec![200]);
    assert_eq!(
        out.events,
        vec![SipEvent::CallEnded {
            call,
            reason: EndReason::RemoteBye
        }]
    );
    assert_eq!(ep.active_calls(), 0);
    // A retransmitted BYE gets the same 200, no second event.
    let out = feed(&mut ep, 12_500, phone.peer, &bye);
    assert_eq!(out.statuses(), vec![200]);
    assert!(out.events.is_empty());
    // Everything winds down.
    run_until(&mut ep, 100_000);
    assert_eq!(ep.poll_timeout(), None);
}

#[test]
fn engine_hangs_up_after_the_ack() {
    let mut ep = endpoint("127.0.0.1:5060", 12);
    let mut phone = Phone::new(udp(PHONE), "flow2");
    let (call, _, _) = invite(&mut ep, &mut phone, 0);
    ep.answer(0, call, local_rtp()).unwrap();
    phone.learn_tag(drain(&mut ep).response(200));
    // Hanging up before the ACK waits for it.
    ep.hangup(10, call);
    assert!(drain(&mut ep).requests().is_empty());
    let out = feed(&mut ep, 20, phone.peer, &ack(&mut phone, 1));
    let bye = out.requests()[0].clone();
    assert_eq!(bye.method.as_str(), "BYE");
    assert_eq!(bye.uri, "sip:alice@127.0.0.1:5070", "sent to the Contact");
    assert_eq!(bye.core.from.tag(), phone.to_tag.as_deref());
    assert_eq!(bye.core.to.tag(), Some("ph1"));
    assert_eq!(ep.active_calls(), 1, "until the BYE completes");
    let ok = format!(
        "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: flow2\r\nCSeq: {} BYE\r\nContent-Length: 0\r\n\r\n",
        bye.headers.get("Via").unwrap(),
        bye.headers.get("From").unwrap(),
        bye.headers.get("To").unwrap(),
        bye.core.cseq.seq
    );
    let out = feed(&mut ep, 30, phone.peer, &ok);
    assert_eq!(
        out.events,
        vec![SipEvent::CallEnded {
            call,
            reason: EndReason::LocalBye
        }]
    );
    assert_eq!(ep.active_calls(), 0);
}

#[test]
fn cancel_before_answer_gets_200_and_487() {
    let mut ep = endpoint("127.0.0.1:5060", 13);
    let mut phone = Phone::new(udp(PHONE), "flow3");
    let branch = phone.new_branch();
    let invite_msg = phone.request("INVITE", Some(&branch), None, "", OFFER);
    let out = feed(&mut ep, 0, phone.peer, &invite_msg);
    let Some(SipEvent::IncomingCall { call, .. }) = out.events.first().cloned() else {
        panic!()
    };
    ep.ringing(5, call);
    drain(&mut ep);
    let cancel = phone.request("CANCEL", Some(&branch), Some(1), "", "");
    let out = feed(&mut ep, 100, phone.peer, &cancel);
    assert_eq!(out.statuses(), vec![200, 487]);
    assert_eq!(out.response(200).core.cseq.method, "CANCEL");
    assert_eq!(out.response(487).core.cseq.method, "INVITE");
    assert_eq!(
        out.events,
        vec![SipEvent::CallEnded {
            call,
            reason: EndReason::Cancelled
        }]
    );
    assert!(ep.answer(110, call, local_rtp()).is_err());
    // The 487 is resent until its ACK (same branch), then never again.
    let fired = run_until(&mut ep, 700);
    assert!(fired.iter().any(|(_, d)| d.statuses() == vec![487]));
    phone.learn_tag(out.response(487));
    let ack = phone.request("ACK", Some(&branch), Some(1), "", "");
    assert!(feed(&mut ep, 700, phone.peer, &ack).sent.is_empty());
    let later = run_until(&mut ep, 100_000);
    assert!(later.iter().all(|(_, d)| d.sent.is_empty()));
    // A CANCEL for nothing we know.
    let stray = phone.request("CANCEL", None, Some(9), "", "");
    assert_eq!(
        feed(&mut ep, 200_000, phone.peer, &stray).statuses(),
        vec![481]
    );
}

#[test]
fn options_and_unsupported_methods() {
    let mut ep = endpoint("127.0.0.1:5060", 14);
    let mut phone = Phone::new(udp(PHONE), "flow4");
    let options = phone.request("OPTIONS", None, None, "", "");
    let out = feed(&mut ep, 0, phone.peer, &options);
    let ok = out.response(200);
    assert!(ok.headers.get("Allow").unwrap().contains("INVITE"));
    assert_eq!(ok.headers.get("Accept"), Some("application/sdp"));
    // Via: rport filled in, received added.
    let via = ok.headers.get("Via").unwrap();
    assert!(
        via.contains("rport=5070") && via.contains("received=127.0.0.1"),
        "{via}"
    );

    let subscribe = phone.request("SUBSCRIBE", None, None, "", "");
    let out = feed(&mut ep, 1, phone.peer, &subscribe);
    assert_eq!(out.statuses(), vec![405]);
    assert!(out.response(405).headers.get("Allow").is_some());
    let unknown = phone.request("FROBNICATE", None, None, "", "");
    assert_eq!(feed(&mut ep, 2, phone.peer, &unknown).statuses(), vec![501]);
    let bye = phone.request("BYE", None, None, "", "");
    assert_eq!(feed(&mut ep, 3, phone.peer, &bye).statuses(), vec![481]);
    let require = phone.request("OPTIONS", None, None, "Require: 100rel\r\n", "");
    let out = feed(&mut ep, 4, phone.peer, &require);
    assert_eq!(out.response(420).headers.get("Unsupported"), Some("100rel"));
    assert!(
        ep.poll_timeout().is_some(),
        "transactions linger for retransmissions"
    );
    assert_eq!(ep.active_calls(), 0);
}

#[test]
fn offers_we_cannot_take() {
    let mut ep = endpoint("127.0.0.1:5060", 15);
    let cases: &[(&str, &str, &str, u16)] = &[
        (
            "g729",
            "",
            &OFFER.replace("RTP/AVP 0 8 101", "RTP/AVP 18"),
            488,
        ),
        (
            "video",
            "",
            "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 4000 RTP/AVP 31\r\n",
            488,
        ),
        ("nosdp", "", "", 415),
        ("xml", "Content-Type: application/xml\r\n", "<audio/>", 415),
        (
            "badsdp",
            "",
            "v=0\r\nc=IN IP4 nowhere\r\nm=audio 4000 RTP/AVP 0\r\n",
            400,
        ),
        ("notsdp", "", "hello", 400),
        ("accept", "Accept: text/html\r\n", OFFER, 406),
    ];
    for (i, (name, extra, body, status)) in cases.iter().enumerate() {
        let mut phone = Phone::new(udp(PHONE), name);
        let msg = phone.request("INVITE", None, None, extra, body);
        let out = feed(&mut ep, i as u64, phone.peer, &msg);
        assert_eq!(out.statuses(), vec![*status], "{name}");
        assert!(out.events.is_empty(), "{name}: {:?}", out.events);
        let reply = out.response(*status);
        if *status == 400 {
            assert!(reply.reason.contains("SDP"), "{name}: {}", reply.reason);
        }
        if *status == 415 {
            assert_eq!(
                reply.headers.get("Accept"),
                Some("application/sdp"),
                "{name}"
            );
        }
    }
    assert_eq!(ep.active_calls(), 0);
    // A rejected INVITE's final response is resent (timer G) until timer H.
    let fired = run_until(&mut ep, 10_000);
    assert!(fired.iter().any(|(_, d)| d.statuses().contains(&488)));
}

#[test]
fn no_ack_ends_the_call_with_a_bye() {
    let mut ep = endpoint("127.0.0.1:5060", 16);
    let mut phone = Phone::new(udp(PHONE), "flow6");
    let (call, _, _) = invite(&mut ep, &mut phone, 0);
    ep.answer(0, call, local_rtp()).unwrap();
    drain(&mut ep);
    let fired = run_until(&mut ep, 40_000);
    let resends = count_200s(&fired);
    assert_eq!(
        resends,
        vec![
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    let (at, end) = fired
        .iter()
        .find(|(_, d)| !d.events.is_empty())
        .expect("the call ends");
    assert_eq!(*at, 32_000);
    assert_eq!(
        end.events,
        vec![SipEvent::CallEnded {
            call,
            reason: EndReason::NoAck
        }]
    );
    assert_eq!(end.requests()[0].method.as_str(), "BYE");
    assert_eq!(ep.active_calls(), 0);
}

#[test]
fn over_tcp_nothing_is_resent() {
    let mut ep = endpoint("127.0.0.1:5060", 17);
    let mut phone = Phone::new(tcp("127.0.0.1:40123"), "flow7");
    let (call, _, _) = invite(&mut ep, &mut phone, 0);
    ep.answer(0, call, local_rtp()).unwrap();
    let ok = drain(&mut ep);
    assert!(ok.sent.iter().all(|(p, _)| *p == phone.peer));
    assert!(
        ok.response(200)
            .headers
            .get("Contact")
            .unwrap()
            .contains("transport=tcp")
    );
    let fired = run_until(&mut ep, 40_000);
    assert!(count_200s(&fired).is_empty());
    assert!(
        fired
            .iter()
            .any(|(_, d)| d.events.contains(&SipEvent::CallEnded {
                call,
                reason: EndReason::NoAck
            }))
    );
}

#[test]
fn draining_refuses_new_calls_but_keeps_current_ones() {
    let mut ep = endpoint("127.0.0.1:5060", 18);
    let mut phone = Phone::new(udp(PHONE), "flow8");
    let (call, _, _) = invite(&mut ep, &mut phone, 0);
    ep.answer(0, call, local_rtp()).unwrap();
    phone.learn_tag(drain(&mut ep).response(200));
    feed(&mut ep, 10, phone.peer, &ack(&mut phone, 1));
    ep.set_accepting(false);
    let mut other = Phone::new(udp("127.0.0.1:5072"), "flow8b");
    let late = other.request("INVITE", None, None, "", OFFER);
    let out = feed(&mut ep, 20, other.peer, &late);
    assert_eq!(out.statuses(), vec![503]);
    assert!(out.events.is_empty());
    let bye = phone.request("BYE", None, None, "", "");
    let out = feed(&mut ep, 30, phone.peer, &bye);
    assert_eq!(out.statuses(), vec![200]);
    assert_eq!(ep.active_calls(), 0);
}

#[test]
fn rejected_and_abandoned_calls_end_once() {
    let mut ep = endpoint("127.0.0.1:5060", 19);
    let mut busy = Phone::new(udp(PHONE), "flow9a");
    let (call, _, _) = invite(&mut ep, &mut busy, 0);
    ep.reject(1, call, 486);
    let out = drain(&mut ep);
    assert_eq!(out.statuses(), vec![486]);
    assert_eq!(
        out.events,
        vec![SipEvent::CallEnded {
            call,
            reason: EndReason::Failed(486)
        }]
    );
    let mut gone = Phone::new(udp(PHONE), "flow9b");
    let (call, _, _) = invite(&mut ep, &mut gone, 2);
    ep.hangup(3, call);
    let out = drain(&mut ep);
    assert_eq!(out.statuses(), vec![487]);
    assert_eq!(
        out.events,
        vec![SipEvent::CallEnded {
            call,
            reason: EndReason::LocalBye
        }]
    );
    ep.hangup(4, call);
    ep.reject(4, call, 486);
    assert!(drain(&mut ep).sent.is_empty());
    assert_eq!(ep.active_calls(), 0);
}

#[test]
fn sip_info_carries_dtmf() {
    let mut ep = endpoint("127.0.0.1:5060", 20);
    let mut phone = Phone::new(udp(PHONE), "flow10");
    let (call, _, _) = invite(&mut ep, &mut phone, 0);
    ep.answer(0, call, local_rtp()).unwrap();
    phone.learn_tag(drain(&mut ep).response(200));
    feed(&mut ep, 10, phone.peer, &ack(&mut phone, 1));
    let info = phone.request(
        "INFO",
        None,
        None,
        "Content-Type: application/dtmf-relay\r\n",
        "Signal=0\r\nDuration=160\r\n",
    );
    let out = feed(&mut ep, 20, phone.peer, &info);
    assert_eq!(out.statuses(), vec![200]);
    assert_eq!(out.events, vec![SipEvent::Info { call, dtmf: '0' }]);
}
