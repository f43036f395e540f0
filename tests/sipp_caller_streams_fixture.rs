//! A real SIP peer (sipp) calls the engine over loopback UDP, streams a
//! caller fixture as PCMU RTP over the greeting, and hangs up. The stored
//! call record holds what the caller said, the intent and the decision, and
//! the SIP flow is the usual INVITE / 200 / ACK / BYE / 200.

mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::Duration;

use ivr::brain::asr::Language;
use server::TestServer;
use sipp::run_sipp;

#[test]
fn sipp_caller_asking_to_pay_is_answered_and_recorded() {
    let srv = TestServer::start("sipp-stream", Language::En);
    let fixture = common::repo().join("audio-fixtures/en_pay_01.wav");
    let run = run_sipp(
        "caller_streams_fixture",
        &[
            ("CALLER", "5551234".to_string()),
            ("AUDIO", fixture.display().to_string()),
            ("SPEAK_AFTER_MS", "1500".to_string()),
            ("LISTEN_MS", "7000".to_string()),
        ],
        srv.sip_udp(),
        "u1",
        &srv.dir,
    );
    assert!(run.success, "sipp failed:\n{}\n{}", run.output, run.errors);
    let flow = run.flow();
    let joined = flow.join(" | ");
    for step in ["INVITE sip:hotline", "SIP/2.0 200", "ACK sip:", "BYE sip:"] {
        assert!(joined.contains(step), "SIP flow lacks {step}: {joined}");
    }

    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(10));
    assert_eq!(calls.len(), 1, "one call record");
    let call = &calls[0];
    assert_eq!(call.caller, "5551234");
    assert_eq!(call.end_reason.as_deref(), Some("caller_hung_up"));
    let said: Vec<&str> = call.turns.iter().map(|t| t.text.as_str()).collect();
    assert!(
        said.iter().any(|t| t.to_lowercase().contains("bill")),
        "transcript: {said:?}"
    );
    let decision = call.final_decision.as_ref().expect("a decision");
    assert_eq!(decision.intent.as_deref(), Some("pay_bill"));
    assert_eq!(decision.route, "self_service");
    let kinds: Vec<&str> = call.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"prompt_started"), "events: {kinds:?}");
    let stats = call.rtp_stats.as_ref().expect("RTP counters");
    assert!(stats["received"].as_u64().unwrap_or(0) > 100, "{stats}");
    // The engine's own pacing is recorded (how late its sends ran; a busy
    // test machine may make a few late, so only its presence is checked).
    assert!(stats["sent_late"].is_u64(), "{stats}");
    assert!(stats["sent_worst_lateness_ms"].is_u64(), "{stats}");
    let caller_wav = srv
        .dir
        .join("recordings")
        .join(call.recording_caller.as_ref().unwrap());
    let engine_wav = srv
        .dir
        .join("recordings")
        .join(call.recording_engine.as_ref().unwrap());
    assert!(caller_wav.metadata().unwrap().len() > 100_000);
    assert!(engine_wav.metadata().unwrap().len() > 100_000);
}
