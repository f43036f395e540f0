//! Once the caller talks to an agent, their words are transcribed into the
//! call record only when `[engine] transcribe_after_bridge` says so (off by
//! default, for privacy). The caller asks about a charge on their bill, is
//! bridged to a sipp agent phone that echoes, and then says something new.

mod common;
#[path = "common/people.rs"]
mod people;
#[path = "common/phone.rs"]
mod phone;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::Duration;

use ivr::brain::asr::Language;
use ivr::call_record::CallRecord;
use ivr::media::wav;
use ivr::sip::AgentCredential;
use people::{Caller, wait_registered};
use server::TestServer;
use sipp::SippPhone;

/// A call bridged to an echoing agent in which the caller, once bridged,
/// talks about their internet; the stored record.
fn bridged_call(name: &str, transcribe: bool) -> CallRecord {
    let srv = TestServer::start_tuned(
        name,
        Language::En,
        vec![AgentCredential {
            user: "alice".into(),
            password: "s3cret".into(),
        }],
        &|acd| acd.transcribe_after_bridge = transcribe,
    );
    let _agent = SippPhone::spawn(
        "agent_registers",
        "agent_answers",
        &[
            ("USER", "alice".to_string()),
            ("PASSWORD", "s3cret".to_string()),
            ("EXPIRES", "300".to_string()),
            ("WAIT_MS", "60000".to_string()),
            ("TALK_MS", "40000".to_string()),
        ],
        srv.sip_udp(),
        &["-rtp_echo"],
        &srv.dir,
    );
    assert!(wait_registered(&srv, "alice"), "alice's phone registered");
    let scratch = phone::Scratch::new(name);
    let later = phone::phone_wav(
        &scratch,
        "later",
        "en-us",
        &[],
        "My internet connection keeps dropping every evening.",
    );
    let fixture = common::repo().join("audio-fixtures/en_dispute_01.wav");
    let mut samples = wav::read_wav(&fixture).unwrap().samples;
    samples.extend(std::iter::repeat_n(0i16, 8000 * 9));
    samples.extend(wav::read_wav(&later).unwrap().samples);
    let play = scratch.path("caller.wav");
    wav::write_wav_pcm16(&play, 8000, &samples).unwrap();
    // Long enough after speaking for the last words to be transcribed.
    let report = Caller::dial(&srv, play, "", 12_000).finish(&srv);
    assert!(report.answered);
    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(20));
    let call = calls.into_iter().next().expect("a call record");
    let kinds: Vec<&str> = call.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"agent_answered"), "bridged: {kinds:?}");
    call
}

fn said(call: &CallRecord) -> Vec<String> {
    call.turns.iter().map(|t| t.text.to_lowercase()).collect()
}

#[test]
fn with_the_switch_on_the_words_after_the_bridge_are_kept() {
    let call = bridged_call("transcribe-on", true);
    let said = said(&call);
    assert!(
        said.iter()
            .any(|t| t.contains("internet") || t.contains("evening")),
        "turns: {said:?}"
    );
    // Kept, not acted on: the agent has the call.
    assert_eq!(call.queue.as_deref(), Some("billing"));
    let last = call.final_decision.as_ref().unwrap();
    assert_eq!(last.intent.as_deref(), Some("bill_dispute"));
}

#[test]
fn by_default_the_transcript_stops_at_the_bridge() {
    let call = bridged_call("transcribe-off", false);
    let said = said(&call);
    assert!(
        !said
            .iter()
            .any(|t| t.contains("internet") || t.contains("evening")),
        "turns: {said:?}"
    );
    assert!(!said.is_empty(), "the request before the bridge is kept");
}
