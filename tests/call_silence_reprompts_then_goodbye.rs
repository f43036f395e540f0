//! A silent caller is asked again once, then politely let go: the reprompt
//! comes `no_input_ms` after a prompt ends, the goodbye after the next
//! silence, and the engine hangs up once the goodbye has played.

mod call_support;

use call_support::{Harness, fixture};
use ivr::call::{CallConfig, CallEvent};

fn no_inputs(h: &Harness) -> Vec<(u32, u64)> {
    h.events
        .iter()
        .filter_map(|e| match e {
            CallEvent::NoInput { count, at_ms } => Some((*count, *at_ms)),
            _ => None,
        })
        .collect()
}

fn finished_at(h: &Harness, key: &str) -> Vec<u64> {
    h.events
        .iter()
        .filter_map(|e| match e {
            CallEvent::PromptFinished { key: k, at_ms } if k == key => Some(*at_ms),
            _ => None,
        })
        .collect()
}

#[test]
fn silence_gets_a_reprompt_then_a_goodbye_and_a_hangup() {
    let config = CallConfig::default();
    let wait = config.no_input_ms;
    let mut h = Harness::scripted_with(&[], config);
    h.start();
    assert!(h.wait_for(60_000, |h| h.hangup.is_some()));
    assert_eq!(h.started(), ["en:greeting", "en:no_input", "en:goodbye"]);
    assert_eq!(h.hangup.as_deref(), Some("no_input"));
    assert!(h.finished("en:goodbye"), "the goodbye is heard to its end");

    let timeouts = no_inputs(&h);
    assert_eq!(timeouts.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(timeouts[0].1 - finished_at(&h, "en:greeting")[0], wait);
    assert_eq!(timeouts[1].1 - finished_at(&h, "en:no_input")[0], wait);

    let heard = h.heard.len();
    h.silence(2000);
    assert_eq!(h.heard.len(), heard, "nothing plays after the hang-up");
    let record = h.call.record();
    assert_eq!(record.end_reason.as_deref(), Some("no_input"));
    assert!(record.turns.is_empty() && record.decisions.is_empty());
    assert_eq!(
        record
            .events
            .iter()
            .filter(|e| e.kind == "no_input")
            .count(),
        2
    );
}

#[test]
fn the_count_of_silences_starts_over_when_the_caller_speaks() {
    let mut h = Harness::scripted(&["What time does your store on Main Street close today?"]);
    h.start();
    assert!(h.wait_for(30_000, |h| h.started().len() == 2));
    assert_eq!(h.started()[1], "en:no_input");
    h.feed(&fixture("en_store_01"));
    assert!(h.wait_for(60_000, |h| h.hangup.is_some()));
    assert_eq!(
        h.started(),
        [
            "en:greeting",
            "en:no_input",
            "en:answer:store_hours",
            "en:anything_else",
            "en:no_input",
            "en:goodbye"
        ]
    );
    let counts: Vec<u32> = no_inputs(&h).iter().map(|t| t.0).collect();
    assert_eq!(counts, [1, 1, 2]);
    assert_eq!(
        h.hangup.as_deref(),
        Some("goodbye"),
        "a caller who was helped and then goes quiet is done, not lost"
    );
}

#[test]
fn speech_that_is_not_understood_as_words_does_not_count_as_an_answer() {
    // The recogniser hears nothing in the utterance (a cough that got
    // through, a mumble): the caller is waited for again from then on.
    let config = CallConfig {
        no_input_ms: 4000,
        ..CallConfig::default()
    };
    let wait = config.no_input_ms;
    let mut h = Harness::scripted_with(&[""], config);
    h.start();
    h.hear_greeting();
    h.silence(1000);
    h.feed(&fixture("en_agent_01"));
    assert!(h.wait_for(20_000, |h| !no_inputs(h).is_empty()));
    assert_eq!(h.transcripts, [""]);
    assert!(h.barge_ins().is_empty(), "nothing was playing");
    let greeting_end = finished_at(&h, "en:greeting")[0];
    assert!(
        no_inputs(&h)[0].1 > greeting_end + wait,
        "the wait started again after the utterance"
    );
}
