//! sipp replays the captures Debian's sip-tester ships: A-law speech
//! (g711a.pcap) on a PCMA call, then an RFC 2833 "0" (dtmf_2833_0.pcap).
//! Pressing 0 reaches a person: the stored call ends in a queue for reason
//! pressed_zero, with the A-law audio received and decoded on the way.

mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::Duration;

use ivr::brain::asr::Language;
use server::TestServer;
use sipp::{run_sipp, sip_tester_file};

#[test]
fn sipp_alaw_caller_pressing_zero_is_queued_for_a_person() {
    let srv = TestServer::start("sipp-pcap", Language::En);
    let run = run_sipp(
        "caller_plays_pcaps",
        &[
            ("CALLER", "5559876".to_string()),
            (
                "PCAP_AUDIO",
                sip_tester_file("g711a.pcap").display().to_string(),
            ),
            ("PCAP_AUDIO_MS", "7300".to_string()),
            (
                "PCAP_DTMF",
                sip_tester_file("dtmf_2833_0.pcap").display().to_string(),
            ),
            ("SPEAK_AFTER_MS", "1000".to_string()),
            ("LISTEN_MS", "3000".to_string()),
        ],
        srv.sip_udp(),
        "u1",
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
    eprintln!("turns: {:?}", call.turns);
    let stats = call.rtp_stats.as_ref().expect("RTP counters");
    assert!(stats["received"].as_u64().unwrap_or(0) > 200, "{stats}");
    assert_eq!(stats["malformed"].as_u64(), Some(0), "{stats}");
    let decision = call.final_decision.as_ref().expect("a decision");
    assert_eq!(decision.route, "queue", "{decision:?}");
    assert_eq!(decision.reason, "pressed_zero", "{decision:?}");
    assert!(
        call.events
            .iter()
            .any(|e| e.kind == "dtmf" && e.detail == "0"),
        "events: {:?}",
        call.events
    );
}
