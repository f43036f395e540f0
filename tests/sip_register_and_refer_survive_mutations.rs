//! The registrar and transfer paths never panic the endpoint: a REGISTER
//! carrying valid digest credentials (so Authorization, Contact and Expires
//! are all read), a REFER inside a call (Refer-To) and a NOTIFY about our
//! REFER (Event, Subscription-State, sipfrag body) are truncated, mutated
//! byte by byte and doubled; each copy goes to an endpoint in the state
//! that reads it, whose timers then all run out.

#[path = "sip_harness/agent.rs"]
mod agent;
mod sip_harness;

use agent::{AgentPhone, challenge_of, registrar};
use ivr::sip::{CallHandle, Endpoint, Input, Output};
use sip_harness::{OFFER, Phone, drain, feed, local_rtp, udp};

const SEED: u64 = 41;

fn variants(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut doubled = bytes.to_vec();
    doubled.extend_from_slice(bytes);
    let mut out = vec![bytes.to_vec(), doubled];
    for i in (0..bytes.len()).step_by(2) {
        out.push(bytes[..i].to_vec());
        for probe in [b' ', b'\r', b',', b'=', b'"', b';', b'<', b'*', b'0', b'\\'] {
            let mut m = bytes.to_vec();
            m[i] = probe;
            out.push(m);
        }
        let mut m = bytes.to_vec();
        m.splice(i..i, "€".bytes());
        out.push(m);
    }
    out
}

/// Feeds one message, then lets every timer run out; returns the status
/// of the first response.
fn survive(ep: &mut Endpoint, peer: ivr::sip::Peer, bytes: &[u8]) -> Option<u16> {
    ep.handle_input(1_000, Input::Received { peer, bytes });
    let first = std::iter::from_fn(|| ep.poll_output()).find_map(|out| match out {
        Output::Transmit { bytes, .. } => {
            let text = String::from_utf8_lossy(&bytes).to_string();
            text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
        }
        Output::Event(_) => None,
    });
    let mut now = 1_000;
    while let Some(t) = ep.poll_timeout() {
        now = t.max(now);
        ep.handle_timeout(now);
        while let Some(out) = ep.poll_output() {
            if let Output::Event(e) = out {
                // Events name only what the message said; reading them is enough.
                let _ = format!("{e:?}");
            }
        }
    }
    assert_eq!(ep.poll_timeout(), None);
    first
}

/// A REGISTER answering the challenge a fresh endpoint issues at time 0.
fn authorized_register() -> String {
    let mut ep = registrar(SEED, &[("1001", "pw")]);
    let mut phone = AgentPhone::new("1001", "pw", "127.0.0.1:5071");
    let ch = challenge_of(feed(&mut ep, 0, phone.peer, &phone.register("")).response(401));
    let auth = phone.authorization(&ch, "sip:127.0.0.1:5060");
    phone.register(&format!(
        "Contact: <sip:1001@127.0.0.1:5071>;expires=120, <sip:1001@10.0.0.1;transport=tcp>\r\n\
         Expires: 300\r\nAuthorization: {auth}\r\n"
    ))
}

#[test]
fn mutated_registers_never_panic_the_registrar() {
    let message = authorized_register();
    let peer = udp("127.0.0.1:5071");
    // Unmutated, it registers: the mutations start from a message that
    // goes all the way through.
    let mut ep = registrar(SEED, &[("1001", "pw")]);
    assert_eq!(feed(&mut ep, 1_000, peer, &message).statuses(), vec![200]);
    let mut seen = std::collections::BTreeMap::new();
    for v in variants(message.as_bytes()) {
        let mut ep = registrar(SEED, &[("1001", "pw")]);
        *seen.entry(survive(&mut ep, peer, &v)).or_insert(0) += 1;
    }
    // The copies reach the digest check (401) and the registrar (200, 423).
    for status in [200, 401, 423] {
        assert!(seen.contains_key(&Some(status)), "{status}: {seen:?}");
    }
}

/// An endpoint with a confirmed incoming call on which it has sent a REFER.
fn call_with_refer(seed: u64) -> (Endpoint, Phone, CallHandle) {
    let mut ep = registrar(seed, &[]);
    let mut phone = Phone::new(udp("127.0.0.1:5070"), "mut1");
    let invite = phone.request("INVITE", None, None, "", OFFER);
    let call = match feed(&mut ep, 0, phone.peer, &invite).events.first() {
        Some(ivr::sip::SipEvent::IncomingCall { call, .. }) => *call,
        other => panic!("{other:?}"),
    };
    ep.answer(0, call, local_rtp()).unwrap();
    phone.learn_tag(drain(&mut ep).response(200));
    let ack = phone.request("ACK", None, Some(1), "", "");
    feed(&mut ep, 0, phone.peer, &ack);
    ep.refer(0, call, "sip:bob@192.0.2.7").unwrap();
    drain(&mut ep);
    (ep, phone, call)
}

#[test]
fn mutated_refers_and_notifies_never_panic_the_endpoint() {
    let (_, mut phone, _) = call_with_refer(SEED);
    let refer = phone.request(
        "REFER",
        None,
        Some(7),
        "Refer-To: \"Bob\" <sip:bob@192.0.2.7;user=phone?Replaces=a%40b&x=y>\r\n\
         Referred-By: <sip:alice@127.0.0.1>\r\n",
        "",
    );
    let notify = phone.request(
        "NOTIFY",
        None,
        Some(8),
        "Event: refer;id=2\r\nSubscription-State: terminated;reason=noresource\r\n\
         Content-Type: message/sipfrag;version=2.0\r\n",
        "SIP/2.0 200 OK\r\n",
    );
    for message in [refer, notify] {
        let (mut ep, _, _) = call_with_refer(SEED);
        let first = feed(&mut ep, 1_000, phone.peer, &message);
        assert!(
            matches!(first.statuses()[..], [202] | [200]),
            "{:?}",
            first.statuses()
        );
        let mut seen = std::collections::BTreeMap::new();
        for v in variants(message.as_bytes()) {
            let (mut ep, _, _) = call_with_refer(SEED);
            *seen.entry(survive(&mut ep, phone.peer, &v)).or_insert(0) += 1;
        }
        // Some copies are still taken, others refused by what reads them.
        let taken = seen.contains_key(&Some(202)) || seen.contains_key(&Some(200));
        assert!(taken && seen.contains_key(&Some(400)), "{seen:?}");
    }
}
