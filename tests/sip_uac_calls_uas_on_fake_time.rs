//! Two endpoints wired together on fake time: one places calls (the dialer
//! side), the other answers them. Covers answer and hang-up from either end,
//! busy, cancel while ringing, lost datagrams, TCP and an unreachable peer.

mod sip_harness;

use ivr::sip::{CallHandle, EndReason, Endpoint, Input, Output, Peer, SipEvent, Transport};
use sip_harness::endpoint;

const CALLER: &str = "127.0.0.1:5070";
const SERVER: &str = "127.0.0.1:5060";

/// Both endpoints and the wire between them.
struct Net {
    caller: Endpoint,
    server: Endpoint,
    transport: Transport,
    now: u64,
    /// Datagrams still to drop (counted over both directions).
    drop_next: usize,
    caller_events: Vec<(u64, SipEvent)>,
    server_events: Vec<(u64, SipEvent)>,
    delivered: usize,
    /// When false the server is unplugged: what is sent to it is lost.
    server_up: bool,
}

impl Net {
    fn new(transport: Transport) -> Net {
        Net {
            caller: endpoint(CALLER, 1),
            server: endpoint(SERVER, 2),
            transport,
            now: 0,
            drop_next: 0,
            caller_events: Vec::new(),
            server_events: Vec::new(),
            delivered: 0,
            server_up: true,
        }
    }

    fn peer(&self, addr: &str) -> Peer {
        Peer {
            transport: self.transport,
            addr: addr.parse().unwrap(),
        }
    }

    /// Moves every pending message across, in both directions, until quiet.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(out) = self.caller.poll_output() {
                moved = true;
                match out {
                    Output::Transmit { peer, bytes } => {
                        assert_eq!(peer.addr.to_string(), SERVER);
                        if self.drop_next > 0 {
                            self.drop_next -= 1;
                        } else if self.server_up {
                            let from = self.peer(CALLER);
                            self.server.handle_input(
                                self.now,
                                Input::Received {
                                    peer: from,
                                    bytes: &bytes,
                                },
                            );
                            self.delivered += 1;
                        }
                    }
                    Output::Event(e) => self.caller_events.push((self.now, e)),
                }
            }
            while let Some(out) = self.server.poll_output() {
                moved = true;
                match out {
                    Output::Transmit { peer, bytes } => {
                        assert_eq!(
                            peer.addr.to_string(),
                            CALLER,
                            "answers go back to the source"
                        );
                        if self.drop_next > 0 {
                            self.drop_next -= 1;
                        } else {
                            let from = self.peer(SERVER);
                            self.caller.handle_input(
                                self.now,
                                Input::Received {
                                    peer: from,
                                    bytes: &bytes,
                                },
                            );
                            self.delivered += 1;
                        }
                    }
                    Output::Event(e) => self.server_events.push((self.now, e)),
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Advances time to `until`, firing both endpoints' timers in order.
    fn run_until(&mut self, until: u64) {
        self.pump();
        loop {
            let next = [self.caller.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    self.caller.handle_timeout(self.now);
                    self.server.handle_timeout(self.now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    fn call(&mut self) -> CallHandle {
        let server = self.peer(SERVER);
        let call = self
            .caller
            .invite(
                self.now,
                "sip:ivr@127.0.0.1:5060",
                server,
                "dialer",
                "127.0.0.1:30000".parse().unwrap(),
                &[("X-Test".into(), "yes".into())],
            )
            .unwrap();
        self.pump();
        call
    }

    fn incoming(&self) -> Option<CallHandle> {
        self.server_events.iter().find_map(|(_, e)| match e {
            SipEvent::IncomingCall { call, .. } => Some(*call),
            _ => None,
        })
    }

    fn caller_saw(&self, want: &SipEvent) -> bool {
        self.caller_events.iter().any(|(_, e)| e == want)
    }

    fn server_saw(&self, want: &SipEvent) -> bool {
        self.server_events.iter().any(|(_, e)| e == want)
    }
}

#[test]
fn call_answered_then_caller_hangs_up() {
    let mut net = Net::new(Transport::Udp);
    let call = net.call();
    let incoming = net.incoming().expect("the server sees the call");
    let Some((
        _,
        SipEvent::IncomingCall {
            offer,
            headers,
            from_uri,
            ..
        },
    )) = net.server_events.first()
    else {
        panic!()
    };
    assert_eq!(
        offer.remote_rtp,
        "127.0.0.1:30000".parse::<std::net::SocketAddr>().unwrap()
    );
    assert_eq!(offer.dtmf_payload_type, Some(101));
    assert!(headers.iter().any(|(n, v)| n == "X-Test" && v == "yes"));
    assert_eq!(from_uri, "sip:dialer@127.0.0.1:5070");

    net.server.ringing(net.now, incoming);
    net.pump();
    assert!(net.caller_saw(&SipEvent::Ringing { call }));

    net.run_until(2_000);
    net.server
        .answer(net.now, incoming, "127.0.0.1:20002".parse().unwrap())
        .unwrap();
    net.pump();
    let answered = net.caller_events.iter().find_map(|(_, e)| match e {
        SipEvent::Answered { call: c, answer } if *c == call => Some(answer.clone()),
        _ => None,
    });
    let answer = answered.expect("the caller sees the answer");
    assert_eq!(
        answer.remote_rtp,
        "127.0.0.1:20002".parse::<std::net::SocketAddr>().unwrap()
    );
    assert_eq!(answer.payload_type, 0);
    assert!(
        net.server_saw(&SipEvent::CallConfirmed { call: incoming }),
        "the caller ACKed"
    );

    net.run_until(10_000);
    let before = net.delivered;
    net.run_until(20_000);
    assert_eq!(net.delivered, before, "a confirmed call is quiet");

    net.caller.hangup(net.now, call);
    net.pump();
    assert!(net.server_saw(&SipEvent::CallEnded {
        call: incoming,
        reason: EndReason::RemoteBye
    }));
    assert!(net.caller_saw(&SipEvent::CallEnded {
        call,
        reason: EndReason::LocalBye
    }));
    net.run_until(200_000);
    assert_eq!(
        (net.caller.active_calls(), net.server.active_calls()),
        (0, 0)
    );
    assert_eq!(
        (net.caller.poll_timeout(), net.server.poll_timeout()),
        (None, None)
    );
}

#[test]
fn server_hangs_up_and_caller_sees_remote_bye() {
    let mut net = Net::new(Transport::Udp);
    let call = net.call();
    let incoming = net.incoming().unwrap();
    net.server
        .answer(net.now, incoming, "127.0.0.1:20002".parse().unwrap())
        .unwrap();
    net.pump();
    net.server.hangup(net.now, incoming);
    net.pump();
    assert!(net.caller_saw(&SipEvent::CallEnded {
        call,
        reason: EndReason::RemoteBye
    }));
    assert!(net.server_saw(&SipEvent::CallEnded {
        call: incoming,
        reason: EndReason::LocalBye
    }));
}

#[test]
fn busy_server_fails_the_call() {
    let mut net = Net::new(Transport::Udp);
    let call = net.call();
    let incoming = net.incoming().unwrap();
    net.server.reject(net.now, incoming, 486);
    net.pump();
    assert!(net.caller_saw(&SipEvent::Failed { call, status: 486 }));
    // The caller's ACK stops the server's 486 resends.
    let before = net.delivered;
    net.run_until(60_000);
    assert_eq!(net.delivered, before);
    assert_eq!(net.caller.active_calls(), 0);
}

#[test]
fn hanging_up_while_ringing_cancels() {
    let mut net = Net::new(Transport::Udp);
    let call = net.call();
    let incoming = net.incoming().unwrap();
    net.server.ringing(net.now, incoming);
    net.pump();
    net.caller.hangup(net.now, call);
    net.pump();
    assert!(net.server_saw(&SipEvent::CallEnded {
        call: incoming,
        reason: EndReason::Cancelled
    }));
    assert!(net.caller_saw(&SipEvent::CallEnded {
        call,
        reason: EndReason::Cancelled
    }));
    assert!(
        !net.caller_events
            .iter()
            .any(|(_, e)| matches!(e, SipEvent::Failed { .. }))
    );
    net.run_until(100_000);
    assert_eq!(
        (net.caller.poll_timeout(), net.server.poll_timeout()),
        (None, None)
    );
}

#[test]
fn lost_datagrams_are_resent() {
    let mut net = Net::new(Transport::Udp);
    // The INVITE and its first resend are lost.
    net.drop_next = 2;
    let call = net.call();
    assert!(net.incoming().is_none());
    net.run_until(1_600);
    let incoming = net.incoming().expect("the third INVITE gets through");
    assert_eq!(net.server_events.len(), 1, "one call, not three");
    // The 200 and the first resend of it are lost; the ACK still comes.
    net.drop_next = 2;
    net.server
        .answer(net.now, incoming, "127.0.0.1:20002".parse().unwrap())
        .unwrap();
    net.run_until(5_000);
    assert!(net.server_saw(&SipEvent::CallConfirmed { call: incoming }));
    let answers = net
        .caller_events
        .iter()
        .filter(|(_, e)| matches!(e, SipEvent::Answered { .. }))
        .count();
    assert_eq!(answers, 1);
    // The BYE is lost once too.
    net.drop_next = 1;
    net.caller.hangup(net.now, call);
    net.run_until(10_000);
    assert!(net.caller_saw(&SipEvent::CallEnded {
        call,
        reason: EndReason::LocalBye
    }));
    assert!(net.server_saw(&SipEvent::CallEnded {
        call: incoming,
        reason: EndReason::RemoteBye
    }));
}

#[test]
fn over_tcp_the_call_works_without_resends() {
    let mut net = Net::new(Transport::Tcp);
    let call = net.call();
    let incoming = net.incoming().unwrap();
    net.server
        .answer(net.now, incoming, "127.0.0.1:20002".parse().unwrap())
        .unwrap();
    net.pump();
    assert!(net.server_saw(&SipEvent::CallConfirmed { call: incoming }));
    let before = net.delivered;
    net.run_until(60_000);
    assert_eq!(net.delivered, before);
    net.caller.hangup(net.now, call);
    net.pump();
    assert!(net.caller_saw(&SipEvent::CallEnded {
        call,
        reason: EndReason::LocalBye
    }));
}

#[test]
fn unreachable_server_times_out_with_408() {
    let mut net = Net::new(Transport::Udp);
    net.server_up = false;
    let call = net.call();
    net.run_until(31_999);
    assert!(net.caller_events.is_empty());
    net.run_until(32_000);
    assert_eq!(
        net.caller_events,
        vec![(32_000, SipEvent::Failed { call, status: 408 })]
    );
    assert_eq!(net.caller.active_calls(), 0);
}

#[test]
fn bad_targets_and_headers_are_refused() {
    let mut net = Net::new(Transport::Udp);
    let server = net.peer(SERVER);
    let rtp = "127.0.0.1:30000".parse().unwrap();
    assert!(
        net.caller
            .invite(0, "http://x", server, "me", rtp, &[])
            .is_err()
    );
    assert!(
        net.caller
            .invite(0, "sip:a b@c", server, "me", rtp, &[])
            .is_err()
    );
    assert!(
        net.caller
            .invite(0, "sip:a@c", server, "m e", rtp, &[])
            .is_err()
    );
    let injected = [("X-A".to_string(), "1\r\nVia: evil".to_string())];
    assert!(
        net.caller
            .invite(0, "sip:a@c", server, "me", rtp, &injected)
            .is_err()
    );
    let managed = [("Call-ID".to_string(), "mine".to_string())];
    assert!(
        net.caller
            .invite(0, "sip:a@c", server, "me", rtp, &managed)
            .is_err()
    );
    assert_eq!(net.caller.active_calls(), 0);
}
