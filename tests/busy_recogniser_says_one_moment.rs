//! When the recogniser is busy with other callers, a caller who finished
//! speaking hears "one moment" once instead of silence, and the answer
//! follows as soon as the transcript comes; nothing is said over a prompt
//! or when no transcript is awaited. On fake time through the sans-IO call.

mod call_support;

use call_support::{Harness, fixture};
use ivr::call::Input;

const STORE: &str = "What time does your store on Main Street close today?";

/// Tells the call its transcript is late; a line it says starts on the
/// next tick.
fn busy(h: &mut Harness) {
    h.call.handle_input(h.now, Input::RecognitionBusy);
    h.drain();
    h.silence(40);
}

#[test]
fn a_late_transcript_gets_one_moment_then_the_answer() {
    let mut h = Harness::scripted(&[STORE]);
    h.hold_transcripts = true;
    h.start();
    h.hear_greeting();
    h.feed(&fixture("en_store_01"));
    assert!(h.wait_for(5_000, |h| !h.held.is_empty()), "utterance ends");
    h.silence(1_500);
    assert_eq!(h.started(), ["en:greeting"], "nothing said on its own");

    busy(&mut h);
    assert_eq!(h.started(), ["en:greeting", "en:one_moment"]);
    assert!(h.wait_for(5_000, |h| h.finished("en:one_moment")));
    busy(&mut h);
    assert_eq!(h.started().len(), 2, "said once per wait");
    h.silence(10_000);
    assert_eq!(
        h.started().len(),
        2,
        "no reprompt for silence while the caller's answer is pending"
    );

    h.release_transcripts();
    assert!(h.wait_for(2_000, |h| h.started().len() == 3));
    assert_eq!(h.started()[2], "en:answer:store_hours");
}

#[test]
fn the_answer_cuts_one_moment_short() {
    let mut h = Harness::scripted(&[STORE]);
    h.hold_transcripts = true;
    h.start();
    h.hear_greeting();
    h.feed(&fixture("en_store_01"));
    assert!(h.wait_for(5_000, |h| !h.held.is_empty()));
    busy(&mut h);
    h.silence(200);
    assert!(h.is_playing());
    h.release_transcripts();
    h.silence(100);
    assert_eq!(
        h.started(),
        ["en:greeting", "en:one_moment", "en:answer:store_hours"]
    );
    assert!(!h.finished("en:one_moment"), "stopped for the answer");
}

#[test]
fn busy_with_nothing_awaited_or_over_a_prompt_says_nothing() {
    let mut h = Harness::scripted(&[STORE]);
    h.start();
    h.silence(200);
    busy(&mut h); // the greeting plays
    h.hear_greeting();
    busy(&mut h); // no utterance waits for its transcript
    h.silence(500);
    assert_eq!(h.started(), ["en:greeting"]);
}
