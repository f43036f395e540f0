//! A real softphone (baresip, headless) calls the engine over loopback UDP.
//! The caller listens to the whole greeting, asks for a self-service
//! intent, and listens on. The engine's own recogniser, run on what baresip
//! heard, finds the greeting and then that intent's answer; the stored call
//! record holds what the caller said, the intent and the decision.

#[path = "common/baresip.rs"]
mod baresip;
mod common;
#[path = "common/server.rs"]
mod server;

use std::time::Duration;

use ivr::brain::asr::Language;
use ivr::dialplan::Action;
use ivr::media::wav::read_wav;
use ivr::runtime::listen::transcribe_heard;
use server::TestServer;

/// Lower-case words of `text`, letters and digits only.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The longer words of `prompt` that `other` lacks: what tells the two
/// prompts apart in a transcript.
fn distinct_words(prompt: &str, other: &str) -> Vec<String> {
    let other = words(other);
    let mut distinct: Vec<String> = words(prompt)
        .into_iter()
        .filter(|w| w.len() >= 5 && !other.contains(w))
        .collect();
    distinct.sort();
    distinct.dedup();
    distinct
}

/// How many of `keywords` occur in `heard`: Whisper transcripts of 8 kHz
/// TTS vary, so the check counts a few content words, not the wording.
fn found(keywords: &[String], heard: &str) -> usize {
    let heard = words(heard);
    keywords.iter().filter(|w| heard.contains(w)).count()
}

#[test]
fn baresip_caller_hears_greeting_then_the_answer_to_its_question() {
    let srv = TestServer::start("baresip", Language::En);
    let brain = common::brain(Language::En);
    let fixture = common::fixtures()
        .into_iter()
        .find(|f| f.id == "en_balance_01")
        .expect("fixture en_balance_01");
    let intent_name = fixture.intent.clone().expect("a self-service fixture");
    let intent = brain
        .dialplan
        .intent(&intent_name)
        .expect("intent in the dialplan");
    let Action::Answer { prompt } = &intent.action else {
        panic!("{intent_name} is not a self-service answer in the dialplan");
    };
    let answer_text = prompt
        .text(Language::En)
        .expect("English answer")
        .to_string();
    let greeting_text = brain
        .dialplan
        .greeting
        .text(Language::En)
        .expect("English greeting")
        .to_string();

    // 10 s of silence covers the greeting; 10 s after the question is when
    // the caller listens to the answer before baresip hangs up.
    let source =
        baresip::padded_caller_wav(&fixture.wav, 10_000, 10_000, &srv.dir.join("caller.wav"));
    let target = format!("sip:hotline@{}", srv.sip_udp());
    let run = baresip::call(
        &target,
        "5550100",
        &source,
        &srv.dir,
        Duration::from_secs(60),
        || srv.calls().iter().any(|c| c.ended_unix_ms.is_some()),
    );
    assert!(run.clean_exit, "baresip did not end cleanly:\n{}", run.log);
    assert!(
        run.log.contains("Call established"),
        "no call:\n{}",
        run.log
    );

    let calls = srv.wait_for_ended_calls(1, Duration::from_secs(10));
    assert_eq!(calls.len(), 1, "one call record");
    let call = &calls[0];
    assert_eq!(call.caller, "5550100");
    assert_eq!(
        call.end_reason.as_deref(),
        Some("caller_hung_up"),
        "{call:?}"
    );
    let said: Vec<&str> = call.turns.iter().map(|t| t.text.as_str()).collect();
    assert!(!said.is_empty(), "the caller's words were not transcribed");
    let reference = fixture.utterances.join(" ");
    assert!(
        said.iter()
            .any(|t| found(&distinct_words(&reference, ""), t) >= 1),
        "transcript {said:?} shares no word with {reference:?}"
    );
    let decision = call.final_decision.as_ref().expect("a decision");
    assert_eq!(decision.intent.as_deref(), Some(intent_name.as_str()));
    assert_eq!(decision.route, "self_service");

    let heard_wav = run.heard.as_ref().expect("baresip dumped what it heard");
    let heard = read_wav(heard_wav).expect("the dump reads");
    assert_eq!(heard.sample_rate, 8000);
    let lines = transcribe_heard(&brain.pool, &heard.samples, Language::En).expect("transcribes");
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    eprintln!("caller said {said:?}; heard {texts:?}");
    let greeting_words = distinct_words(&greeting_text, &answer_text);
    let answer_words = distinct_words(&answer_text, &greeting_text);
    let greeting_at = lines
        .iter()
        .position(|l| found(&greeting_words, &l.text) >= 2)
        .unwrap_or_else(|| panic!("greeting ({greeting_words:?}) not heard: {texts:?}"));
    let answer_at = lines
        .iter()
        .position(|l| found(&answer_words, &l.text) >= 2)
        .unwrap_or_else(|| panic!("answer ({answer_words:?}) not heard: {texts:?}"));
    assert!(greeting_at < answer_at, "answer before greeting: {texts:?}");
}
