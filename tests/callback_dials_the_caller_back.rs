//! A booked callback is dialled out: a sipp caller asks for a person (0),
//! then for a callback (1, keyed as SIP INFO) while nobody is there to
//! answer, and the engine
//! confirms and hangs up. Later the agent's phone registers: it rings with
//! the callback's handoff, the agent answers, the engine calls the
//! caller's phone (a sipp UAS at the Contact of the first call), and once
//! it answers the two are bridged; the callback gets its own call record.

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
use people::{wait_until, waiting};
use server::TestServer;
use sipp::{SippPhone, listening_port, run_sipp};

#[test]
fn the_agent_is_rung_first_then_the_callers_phone_and_they_are_bridged() {
    let srv = TestServer::start_with_agents(
        "callback-dial",
        Language::En,
        vec![AgentCredential {
            user: "alice".into(),
            password: "s3cret".into(),
        }],
    );
    let phone_port = listening_port();
    let phone = SippPhone::listen(
        "agent_answers",
        &[("TALK_MS", "3000".to_string())],
        phone_port,
        &["-rtp_echo"],
        &srv.dir,
    );
    let booking = run_sipp(
        "caller_books_callback",
        &[
            ("CALLER", "5550123".to_string()),
            ("PHONE_PORT", phone_port.to_string()),
            ("SPEAK_AFTER_MS", "2500".to_string()),
            ("CALLBACK_AFTER_MS", "1500".to_string()),
        ],
        srv.sip_udp(),
        "u1",
        &srv.dir,
    );
    assert!(
        booking.success,
        "the engine hangs up after booking:\n{}\n{}\n{}",
        booking.output, booking.errors, booking.messages
    );
    let booked = waiting(&srv, "general");
    assert!(
        booked.len() == 1 && booked[0].callback,
        "a booked callback waits: {booked:?}"
    );
    let original = booked[0].call.clone();

    let agent = SippPhone::spawn(
        "agent_registers",
        "agent_answers",
        &[
            ("USER", "alice".to_string()),
            ("PASSWORD", "s3cret".to_string()),
            ("EXPIRES", "300".to_string()),
            ("WAIT_MS", "40000".to_string()),
            ("TALK_MS", "30000".to_string()),
        ],
        srv.sip_udp(),
        &["-rtp_echo"],
        &srv.dir,
    );
    assert!(
        agent.wait_for("X-IVR-Callback", Duration::from_secs(30)),
        "the agent is rung for the callback:\n{}",
        agent.messages()
    );
    assert!(
        phone.wait_for("INVITE sip:5550123@", Duration::from_secs(30)),
        "the caller's phone is called back:\n{}",
        phone.messages()
    );
    let id = format!("{original}-cb1");
    let mut record = None;
    let done = wait_until(Duration::from_secs(30), || {
        record = srv
            .calls()
            .into_iter()
            .find(|c| c.id == id && c.ended_unix_ms.is_some());
        record.is_some()
    });
    assert!(done, "the callback's record is stored: {:?}", srv.calls());
    let record = record.unwrap();
    let kinds: Vec<&str> = record.events.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "callback_of",
        "agent_answered",
        "caller_ringing",
        "caller_answered",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert_eq!(record.caller, "5550123");
    assert_eq!(record.end_reason.as_deref(), Some("caller_hung_up"));
    assert!(record.recording_caller.is_some());
    assert!(
        waiting(&srv, "general").is_empty(),
        "the callback is done: {:?}",
        waiting(&srv, "general")
    );
    let alice_done = wait_until(Duration::from_secs(20), || {
        people::agent(&srv, "alice").is_some_and(|a| a.calls_answered == 1 && a.state != "on_call")
    });
    assert!(alice_done, "{:?}", people::agent(&srv, "alice"));
}
