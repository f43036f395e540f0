//! The same real caller (sipp) over SIP/TCP: the engine answers on its TCP
//! listener, the dialog's ACK and BYE travel on the connection, and the
//! call is routed and stored as over UDP.

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
fn sipp_caller_over_tcp_is_answered_routed_and_recorded() {
    let srv = TestServer::start("sipp-tcp", Language::En);
    let fixture = common::repo().join("audio-fixtures/en_roaming_01.wav");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.with_extension("json")).unwrap())
            .unwrap();
    // rtp_stream plays in the background: listen for the whole fixture and
    // the answer after it.
    let listen_ms = (expected["duration_s"].as_f64().unwrap() * 1000.0) as u64 + 3500;
    let run = run_sipp(
        "caller_streams_fixture",
        &[
            ("CALLER", "5550100".to_string()),
            ("AUDIO", fixture.display().to_string()),
            ("SPEAK_AFTER_MS", "1500".to_string()),
            ("LISTEN_MS", listen_ms.to_string()),
        ],
        srv.sip_tcp(),
        "t1",
        &srv.dir,
    );
    assert!(run.success, "sipp failed:\n{}\n{}", run.output, run.errors);
    let flow = run.flow().join(" | ");
    assert!(
        flow.contains("SIP/2.0 200") && flow.contains("BYE sip:"),
        "{flow}"
    );

    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(10));
    let call = calls.first().expect("a call record");
    assert_eq!(call.caller, "5550100");
    assert_eq!(call.end_reason.as_deref(), Some("caller_hung_up"));
    let decision = call.final_decision.as_ref().expect("a decision");
    assert_eq!(
        decision.intent.as_deref(),
        expected["intent"].as_str(),
        "turns: {:?}",
        call.turns
    );
}
