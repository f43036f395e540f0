//! When the recogniser is so far behind that a caller's transcript is given
//! up, the caller is not left waiting or asked to repeat themselves: they
//! hear the transfer line and go to a person, whose summary says their words
//! were not transcribed. On fake time through the sans-IO call, and with a
//! real caller (sipp) against the running engine.

mod call_support;
mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/sipp.rs"]
mod sipp;

use std::time::Duration;

use call_support::{Harness, fixture};
use ivr::brain::asr::{Language, Transcript};
use ivr::call::Input;
use ivr::runtime::engine::CallSettings;
use ivr::session::{DecisionReason, RouteKind};
use server::TestServer;
use sipp::run_sipp;

#[test]
fn a_given_up_transcript_transfers_the_caller_on_fake_time() {
    let mut h = Harness::scripted(&["What time does your store close?"]);
    h.hold_transcripts = true;
    h.start();
    h.hear_greeting();
    h.feed(&fixture("en_store_01"));
    assert!(h.wait_for(5_000, |h| !h.held.is_empty()), "utterance ends");
    let asked = h.held.pop_front().unwrap();
    h.call.handle_input(
        h.now,
        Input::Transcript(Transcript::overloaded(asked.utterance)),
    );
    h.drain();
    assert!(h.wait_for(10_000, |h| !h.handoffs.is_empty()));
    assert_eq!(h.started(), ["en:greeting", "en:transfer"]);
    let handoff = &h.handoffs[0];
    assert_eq!(handoff.route.kind, RouteKind::Queue);
    assert_eq!(handoff.reason, DecisionReason::RecognitionOverloaded);
    assert!(
        handoff.summary.sentence.contains("not transcribed"),
        "{}",
        handoff.summary.sentence
    );
}

#[test]
fn a_real_caller_goes_to_a_person_when_the_recogniser_cannot_keep_up() {
    // Any transcript later than 1 ms after the caller stopped is given up:
    // every utterance is, unless it was guessed early, during the pause.
    let settings = CallSettings {
        give_up_after_ms: Some(1),
        one_moment_after_ms: None,
        early_recognition: false,
        ..CallSettings::default()
    };
    let srv = TestServer::start_with("asr-overload", Language::En, settings);
    let fixture = common::repo().join("audio-fixtures/en_store_01.wav");
    let run = run_sipp(
        "caller_streams_fixture",
        &[
            ("CALLER", "5550177".to_string()),
            ("AUDIO", fixture.display().to_string()),
            ("SPEAK_AFTER_MS", "1500".to_string()),
            ("LISTEN_MS", "9000".to_string()),
        ],
        srv.sip_udp(),
        "u1",
        &srv.dir,
    );
    assert!(run.success, "sipp failed:\n{}\n{}", run.output, run.errors);

    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(10));
    let call = calls.first().expect("a call record");
    let decision = call.final_decision.as_ref().expect("a decision");
    assert_eq!(decision.route, "queue", "{decision:?}");
    assert_eq!(decision.reason, "recognition_overloaded", "{decision:?}");
    assert!(
        call.turns.is_empty(),
        "nothing was transcribed: {:?}",
        call.turns
    );
    let summary = call.summary.as_deref().unwrap_or_default();
    assert!(summary.contains("not transcribed"), "{summary}");
    let metrics = srv.engine.metrics.render(&srv.engine.live.snapshot());
    assert!(
        metrics.contains("ivr_asr_given_up_utterances_total 1"),
        "{metrics}"
    );
}
