//! Transfer inside an established call on fake time (RFC 3515). A REFER
//! from the phone is accepted with 202, reported as `Refer` with the
//! target (URI headers dropped) and followed by NOTIFYs whose sipfrag says
//! how the transfer goes; a malformed REFER is refused with the reason. Our
//! own `refer` (blind transfer) reaches the other endpoint, which accepts
//! it, and its NOTIFYs come back as `ReferProgress`; a REFER nobody answers
//! ends in `ReferResponse` 408.

mod sip_harness;

use ivr::sip::{CallHandle, Endpoint, Input, Output, Peer, Request, SipError, SipEvent, Transport};
use sip_harness::{OFFER, Phone, drain, endpoint, feed, local_rtp, run_until, udp};

const PHONE: &str = "127.0.0.1:5070";

/// The phone calls, the endpoint answers, the phone ACKs.
fn confirmed_call(ep: &mut Endpoint, phone: &mut Phone) -> CallHandle {
    let invite = phone.request("INVITE", None, None, "", OFFER);
    let out = feed(ep, 0, phone.peer, &invite);
    let call = out
        .events
        .iter()
        .find_map(|e| match e {
            SipEvent::IncomingCall { call, .. } => Some(*call),
            _ => None,
        })
        .expect("incoming call");
    ep.answer(10, call, local_rtp()).unwrap();
    let ok = drain(ep);
    phone.learn_tag(ok.response(200));
    let ack = phone.request("ACK", None, Some(1), "", "");
    let out = feed(ep, 20, phone.peer, &ack);
    assert_eq!(out.events, vec![SipEvent::CallConfirmed { call }]);
    call
}

/// The 200 a phone sends back for a request it received.
fn ok_for(req: &Request) -> String {
    format!(
        "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} {}\r\n\
Content-Length: 0\r\n\r\n",
        req.headers.get("Via").unwrap(),
        req.headers.get("From").unwrap(),
        req.headers.get("To").unwrap(),
        req.core.call_id,
        req.core.cseq.seq,
        req.method,
    )
}

fn notify_body(req: &Request) -> String {
    assert_eq!(req.method.as_str(), "NOTIFY");
    assert_eq!(
        req.headers.get("Content-Type"),
        Some("message/sipfrag;version=2.0")
    );
    String::from_utf8(req.body.clone()).unwrap()
}

#[test]
fn phone_transfers_the_caller_and_hears_how_it_went() {
    let mut ep = endpoint("127.0.0.1:5060", 21);
    let mut phone = Phone::new(udp(PHONE), "refer1");
    let call = confirmed_call(&mut ep, &mut phone);
    assert!(
        ep.refer_status(25, call, 200).is_err(),
        "nothing to report before a REFER"
    );

    let refer = phone.request(
        "REFER",
        None,
        None,
        "Refer-To: <sip:bob@192.0.2.7?Replaces=abc%40x>\r\nReferred-By: <sip:alice@127.0.0.1>\r\n",
        "",
    );
    let out = feed(&mut ep, 30, phone.peer, &refer);
    assert_eq!(out.statuses(), vec![202]);
    assert_eq!(
        out.events,
        vec![SipEvent::Refer {
            call,
            target: "sip:bob@192.0.2.7".into()
        }]
    );
    let notify = out.requests()[0].clone();
    assert_eq!(notify.headers.get("Event"), Some("refer;id=2"));
    assert!(
        notify
            .headers
            .get("Subscription-State")
            .unwrap()
            .starts_with("active")
    );
    assert_eq!(notify_body(&notify), "SIP/2.0 100 Trying\r\n");
    assert_eq!(notify.core.call_id, "refer1", "inside the call's dialog");
    assert!(
        feed(&mut ep, 40, phone.peer, &ok_for(&notify))
            .sent
            .is_empty()
    );

    // A second transfer while the first is under way is refused.
    let again = phone.request(
        "REFER",
        None,
        None,
        "Refer-To: <sip:carol@192.0.2.8>\r\n",
        "",
    );
    assert_eq!(feed(&mut ep, 45, phone.peer, &again).statuses(), vec![403]);

    ep.refer_status(50, call, 200).unwrap();
    let out = drain(&mut ep);
    let last = out.requests()[0].clone();
    assert_eq!(notify_body(&last), "SIP/2.0 200 OK\r\n");
    assert!(
        last.headers
            .get("Subscription-State")
            .unwrap()
            .starts_with("terminated")
    );
    assert!(last.core.cseq.seq > notify.core.cseq.seq);
    feed(&mut ep, 60, phone.peer, &ok_for(&last));
    assert!(matches!(
        ep.refer_status(70, call, 200),
        Err(SipError::InvalidState { .. })
    ));
    assert_eq!(ep.active_calls(), 1, "the call stays up until a BYE");
}

#[test]
fn malformed_or_misplaced_refers_are_refused() {
    let mut ep = endpoint("127.0.0.1:5060", 22);
    let mut phone = Phone::new(udp(PHONE), "refer2");
    let call = confirmed_call(&mut ep, &mut phone);
    for extra in [
        "",
        "Refer-To: <sip:a@192.0.2.1>\r\nRefer-To: <sip:b@192.0.2.1>\r\n",
        "Refer-To: <http://example.com/>\r\n",
        "Refer-To: <sip:a@exa mple.com>\r\n",
    ] {
        let refer = phone.request("REFER", None, None, extra, "");
        let out = feed(&mut ep, 30, phone.peer, &refer);
        assert_eq!(out.statuses(), vec![400], "{extra:?}");
        assert!(out.response(400).reason.len() > "Bad Request: ".len());
        assert!(out.events.is_empty());
    }
    // Out of any dialog.
    let mut stranger = Phone::new(udp("127.0.0.1:5090"), "refer3");
    let refer = stranger.request("REFER", None, None, "Refer-To: <sip:a@192.0.2.1>\r\n", "");
    assert_eq!(
        feed(&mut ep, 40, stranger.peer, &refer).statuses(),
        vec![481]
    );
    // NOTIFYs about a REFER we never sent.
    let notify = phone.request("NOTIFY", None, None, "Event: refer\r\n", "");
    assert_eq!(feed(&mut ep, 50, phone.peer, &notify).statuses(), vec![481]);
    let notify = phone.request("NOTIFY", None, None, "Event: presence\r\n", "");
    assert_eq!(feed(&mut ep, 60, phone.peer, &notify).statuses(), vec![489]);
    assert!(ep.refer(70, CallHandle(99), "sip:a@192.0.2.1").is_err());
    assert!(matches!(
        ep.refer(70, call, "mailto:a@example.com"),
        Err(SipError::BadTarget(_))
    ));
}

/// Two endpoints on one wire: `a` calls `b`.
struct Pair {
    a: Endpoint,
    b: Endpoint,
    now: u64,
    a_events: Vec<SipEvent>,
    b_events: Vec<SipEvent>,
    /// While false, what `a` sends is lost.
    a_to_b: bool,
}

const A: &str = "127.0.0.1:5080";
const B: &str = "127.0.0.1:5060";

fn peer(addr: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: addr.parse().unwrap(),
    }
}

impl Pair {
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(out) = self.a.poll_output() {
                moved = true;
                match out {
                    Output::Transmit { bytes, .. } if self.a_to_b => {
                        let input = Input::Received {
                            peer: peer(A),
                            bytes: &bytes,
                        };
                        self.b.handle_input(self.now, input);
                    }
                    Output::Transmit { .. } => {}
                    Output::Event(e) => self.a_events.push(e),
                }
            }
            while let Some(out) = self.b.poll_output() {
                moved = true;
                match out {
                    Output::Transmit { bytes, .. } => {
                        let input = Input::Received {
                            peer: peer(B),
                            bytes: &bytes,
                        };
                        self.a.handle_input(self.now, input);
                    }
                    Output::Event(e) => self.b_events.push(e),
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn run_until(&mut self, until: u64) {
        self.pump();
        while let Some(t) = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .filter(|t| *t <= until)
        {
            self.now = self.now.max(t);
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
            self.pump();
        }
        self.now = until;
    }

    /// An answered call; (a's handle, b's handle).
    fn call() -> (Pair, CallHandle, CallHandle) {
        let mut p = Pair {
            a: endpoint(A, 31),
            b: endpoint(B, 32),
            now: 0,
            a_events: Vec::new(),
            b_events: Vec::new(),
            a_to_b: true,
        };
        let a_call =
            p.a.invite(
                0,
                "sip:agent@127.0.0.1:5060",
                peer(B),
                "ivr",
                "127.0.0.1:30000".parse().unwrap(),
                &[],
            )
            .unwrap();
        assert!(
            p.a.refer(0, a_call, "sip:x@192.0.2.1").is_err(),
            "not before the answer"
        );
        p.pump();
        let b_call = p
            .b_events
            .iter()
            .find_map(|e| match e {
                SipEvent::IncomingCall { call, .. } => Some(*call),
                _ => None,
            })
            .unwrap();
        p.b.answer(0, b_call, "127.0.0.1:20000".parse().unwrap())
            .unwrap();
        p.pump();
        assert!(
            p.b_events
                .contains(&SipEvent::CallConfirmed { call: b_call })
        );
        (p, a_call, b_call)
    }
}

#[test]
fn our_refer_is_accepted_and_its_progress_comes_back() {
    let (mut p, a_call, b_call) = Pair::call();
    p.now = 1_000;
    p.a.refer(p.now, a_call, "sip:carol@192.0.2.9:5060")
        .unwrap();
    p.pump();
    assert!(p.b_events.contains(&SipEvent::Refer {
        call: b_call,
        target: "sip:carol@192.0.2.9:5060".into()
    }));
    let progress: Vec<&SipEvent> = p
        .a_events
        .iter()
        .filter(|e| {
            matches!(
                e,
                SipEvent::ReferResponse { .. } | SipEvent::ReferProgress { .. }
            )
        })
        .collect();
    assert_eq!(
        progress,
        vec![
            &SipEvent::ReferResponse {
                call: a_call,
                status: 202
            },
            &SipEvent::ReferProgress {
                call: a_call,
                status: 100
            }
        ]
    );
    p.b.refer_status(p.now, b_call, 180).unwrap();
    p.b.refer_status(p.now, b_call, 200).unwrap();
    p.pump();
    assert!(p.a_events.ends_with(&[
        SipEvent::ReferProgress {
            call: a_call,
            status: 180
        },
        SipEvent::ReferProgress {
            call: a_call,
            status: 200
        }
    ]));
    // Every transaction completes: nothing is resent, no call ends.
    p.run_until(100_000);
    assert!(
        !p.a_events
            .iter()
            .chain(&p.b_events)
            .any(|e| matches!(e, SipEvent::CallEnded { .. }))
    );
    assert_eq!((p.a.active_calls(), p.b.active_calls()), (1, 1));
}

#[test]
fn a_refer_nobody_answers_times_out() {
    let (mut p, a_call, _) = Pair::call();
    p.a_to_b = false;
    p.a.refer(1_000, a_call, "tel:+15550100").unwrap();
    p.run_until(1_000 + 64 * 500);
    assert!(p.a_events.contains(&SipEvent::ReferResponse {
        call: a_call,
        status: 408
    }));
    let fired = run_until(&mut p.a, 200_000);
    assert!(fired.iter().all(|(_, d)| d.events.is_empty()));
}
