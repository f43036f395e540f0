//! An agent whose phone rings and is never picked up is cancelled after the
//! ring timeout and the next agent's phone rings: two sipp agent phones,
//! bob's never answers, alice's does.

mod common;
#[path = "common/people.rs"]
mod people;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::Duration;

use ivr::brain::asr::Language;
use ivr::sip::AgentCredential;
use people::{Caller, silence_wav, wait_registered};
use server::TestServer;
use sipp::SippPhone;

fn phone(srv: &TestServer, user: &str, ooc: &str) -> SippPhone {
    let work = srv.dir.join(user);
    std::fs::create_dir_all(&work).unwrap();
    SippPhone::spawn(
        "agent_registers",
        ooc,
        &[
            ("USER", user.to_string()),
            ("PASSWORD", format!("{user}-pw")),
            ("EXPIRES", "300".to_string()),
            ("WAIT_MS", "60000".to_string()),
            ("TALK_MS", "30000".to_string()),
        ],
        srv.sip_udp(),
        &["-rtp_echo"],
        &work,
    )
}

#[test]
fn the_unanswered_phone_is_cancelled_and_the_next_agent_rings() {
    let agents = ["bob", "alice"]
        .iter()
        .map(|u| AgentCredential {
            user: u.to_string(),
            password: format!("{u}-pw"),
        })
        .collect();
    let srv = TestServer::start_tuned("ring-timeout-sip", Language::En, agents, &|acd| {
        acd.ring_timeout_ms = 3000;
    });
    // Bob is ready first, so he has been idle longest and is rung first.
    let bob = phone(&srv, "bob", "agent_never_answers");
    assert!(wait_registered(&srv, "bob"), "bob's phone registered");
    std::thread::sleep(Duration::from_millis(300));
    let alice = phone(&srv, "alice", "agent_answers");
    assert!(wait_registered(&srv, "alice"), "alice's phone registered");

    let report = Caller::dial(&srv, silence_wav(&srv.dir, 500), "0", 12_000).finish(&srv);
    assert!(report.answered);
    let bob_log = bob.messages();
    assert!(bob_log.contains("INVITE sip:"), "bob was rung:\n{bob_log}");
    assert!(
        bob_log.contains("CANCEL sip:"),
        "then cancelled:\n{bob_log}"
    );
    assert!(
        alice.messages().contains("INVITE sip:"),
        "then alice was rung:\n{}",
        alice.messages()
    );
    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(15));
    let trail: Vec<(&str, &str)> = calls[0]
        .events
        .iter()
        .map(|e| (e.kind.as_str(), e.detail.as_str()))
        .collect();
    let rung: Vec<&str> = trail
        .iter()
        .filter(|(k, _)| *k == "agent_ringing")
        .map(|(_, d)| d.split(',').next().unwrap_or(""))
        .collect();
    assert_eq!(rung, ["bob", "alice"], "{trail:?}");
    assert!(trail.contains(&("agent_answered", "alice")), "{trail:?}");
    let bob_now = people::agent(&srv, "bob").unwrap();
    assert_ne!(bob_now.state, "on_call");
}
