//! A call follows the dialplan when driven on fake time through the
//! sans-IO core: greeting, listening, the answer, "anything else", the
//! clarify question, transfer and hold, from real caller recordings (and the
//! real Whisper model where recognition is part of what is tested).

mod call_support;
mod common;

use call_support::{Harness, fixture};
use ivr::brain::asr::Language;
use ivr::call::CallEvent;
use ivr::session::{DecisionReason, RouteKind};

fn decisions(h: &Harness) -> Vec<(RouteKind, Option<String>, DecisionReason)> {
    h.events
        .iter()
        .filter_map(|e| match e {
            CallEvent::Decision(d) => Some((d.route.kind, d.route.target.clone(), d.reason)),
            _ => None,
        })
        .collect()
}

fn answer_started(h: &Harness) -> Vec<(String, Option<u64>, u64, u64)> {
    h.events
        .iter()
        .filter_map(|e| match e {
            CallEvent::AnswerStarted {
                key,
                speech_end_ms,
                decided_ms,
                first_frame_ms,
            } => Some((key.clone(), *speech_end_ms, *decided_ms, *first_frame_ms)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_caller_asking_to_pay_a_bill_hears_the_greeting_then_the_answer() {
    let mut h = Harness::whisper(common::brain(Language::En));
    h.start();
    assert!(h.frames_of("en:greeting") == 0 || h.is_playing());
    h.hear_greeting();
    h.feed(&fixture("en_pay_01"));
    assert!(
        h.wait_for(3000, |h| h.frames_of("en:answer:pay_bill") > 0),
        "transcripts {:?}, events {:?}",
        h.transcripts,
        h.events
    );
    assert_eq!(h.started(), ["en:greeting", "en:answer:pay_bill"]);
    assert_eq!(
        decisions(&h),
        [(
            RouteKind::SelfService,
            Some("pay_bill".to_string()),
            DecisionReason::Understood
        )]
    );

    // Voice-to-voice: the answer's first frame goes out on the tick after
    // the decision, and the event says when the caller stopped speaking.
    let answers = answer_started(&h);
    assert_eq!(answers.len(), 1);
    let (key, speech_end, decided, first_frame) = answers[0].clone();
    assert_eq!(key, "en:answer:pay_bill");
    assert_eq!(first_frame, decided + 20);
    let speech_end = speech_end.expect("the answer replies to speech");
    assert!(speech_end < decided, "{speech_end} {decided}");

    // The payment answer asks for the account number: the call listens
    // (no "anything else") and is still up.
    h.wait_for(30_000, |h| h.finished("en:answer:pay_bill"));
    h.silence(1000);
    assert_eq!(h.hangup, None);
    assert!(!h.started().contains(&"en:anything_else".to_string()));

    let record = h.call.record();
    assert_eq!(record.id, "test-call");
    assert_eq!(record.caller, "+15550100");
    assert_eq!(record.language, "en");
    assert_eq!(record.turns.len(), 1);
    assert!(
        record.turns[0].text.to_lowercase().contains("bill"),
        "{:?}",
        record.turns[0]
    );
    assert!(record.turns[0].start_ms < record.turns[0].end_ms);
    let last = record.final_decision.expect("a decision");
    assert_eq!(last.route, "self_service");
    assert_eq!(last.intent.as_deref(), Some("pay_bill"));
    assert!(record.summary.is_some() && record.summary_json.is_some());
    assert!(record.events.iter().any(|e| e.kind == "answer_started"));
}

#[test]
fn a_self_service_answer_is_followed_by_anything_else_and_a_thanks_ends_the_call() {
    let mut h = Harness::scripted(&[
        "I'm travelling to Spain next week. Will my phone work over there?",
        "No, that's all, thanks.",
    ]);
    h.start();
    h.hear_greeting();
    h.feed(&fixture("en_roaming_01"));
    assert!(h.wait_for(60_000, |h| h.finished("en:anything_else")));
    assert_eq!(
        h.started(),
        ["en:greeting", "en:answer:roaming", "en:anything_else"]
    );
    h.feed(&fixture("en_agent_02")); // any short reply; the script says what it was
    assert!(h.wait_for(10_000, |h| h.hangup.is_some()));
    assert_eq!(h.hangup.as_deref(), Some("goodbye"));
    assert_eq!(h.started().last().map(String::as_str), Some("en:goodbye"));
    assert!(h.finished("en:goodbye"), "the goodbye plays to its end");
    let record = h.call.record();
    assert_eq!(record.end_reason.as_deref(), Some("goodbye"));
    assert_eq!(
        record.final_decision.map(|d| d.route),
        Some("self_service".to_string()),
        "declining more help is no new decision"
    );
}

#[test]
fn asking_for_an_agent_during_the_greeting_transfers_then_holds_and_keeps_listening() {
    let mut h = Harness::whisper(common::brain(Language::En));
    h.start();
    h.silence(1500);
    h.feed(&fixture("en_agent_02"));
    assert!(
        h.wait_for(20_000, |h| !h.handoffs.is_empty()),
        "{:?}",
        h.events
    );
    assert!(!h.finished("en:greeting"), "the greeting was cut short");
    assert_eq!(h.started(), ["en:greeting", "en:transfer"]);
    assert!(
        h.finished("en:transfer"),
        "the handoff comes after the notice"
    );
    let handoff = h.handoffs[0].clone();
    assert_eq!(handoff.route.kind, RouteKind::Queue);
    assert_eq!(handoff.reason, DecisionReason::AskedForPerson);

    // On hold the caller hears the chime, and what they say still reaches
    // the summary the agent will read.
    let heard = h.heard.len();
    h.silence(4000);
    assert!(
        h.heard[heard..].iter().any(|f| f.key.is_none()),
        "hold chime"
    );
    h.feed(&fixture("en_dispute_01"));
    h.silence(1500);
    assert_eq!(h.handoffs.len(), 1, "still in the same queue");
    let record = h.call.record();
    let summary = record.summary_json.expect("summary");
    assert_eq!(summary["utterances"].as_array().map(Vec::len), Some(2));
    assert_eq!(record.queue, handoff.route.target);
    assert_eq!(h.hangup, None);
}

#[test]
fn pressing_zero_during_the_greeting_cuts_it_off_and_transfers() {
    let mut h = Harness::scripted(&[]);
    h.start();
    h.silence(2000);
    h.dtmf('0');
    assert!(h.events.iter().any(|e| matches!(
        e,
        CallEvent::PromptStopped { key, .. } if key == "en:greeting"
    )));
    h.silence(20);
    let answers = answer_started(&h);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].0, "en:transfer");
    assert_eq!(answers[0].1, None, "a key press, not speech");
    assert_eq!(answers[0].3, answers[0].2 + 20, "on the next tick");
    assert!(h.wait_for(20_000, |h| !h.handoffs.is_empty()));
    assert_eq!(h.handoffs[0].reason, DecisionReason::PressedZero);
    assert_eq!(h.call.record().queue.as_deref(), Some("general"));
}

#[test]
fn an_unsure_router_asks_naming_the_two_likeliest_then_answers() {
    let mut h = Harness::scripted(&[
        "I have a question about my phone.",
        "What time does your store on Main Street close today?",
    ]);
    h.start();
    h.hear_greeting();
    h.feed(&fixture("en_pay_02"));
    assert!(
        h.wait_for(5000, |h| h.started().len() >= 2),
        "{:?}",
        h.events
    );
    h.feed(&fixture("en_store_01"));
    assert!(
        h.wait_for(5000, |h| h.started().len() >= 3),
        "{:?}",
        h.events
    );
    let (kind, target, _) = decisions(&h)[0].clone();
    assert_eq!(
        kind,
        RouteKind::Clarify,
        "precondition: the router is unsure"
    );
    let target = target.expect("two options");
    let clarify = format!("en:clarify:{target}");
    assert_eq!(h.started()[1], clarify);
    let text = h
        .events
        .iter()
        .find_map(|e| match e {
            CallEvent::PromptStarted { key, text, .. } if *key == clarify => Some(text.clone()),
            _ => None,
        })
        .unwrap();
    let (plan, _) = call_support::hotline();
    for option in target.split('|') {
        let label = plan.intent(option).unwrap().label(Language::En);
        assert!(text.contains(&label), "{text:?} names {label:?}");
    }
    assert_eq!(
        decisions(&h).last().unwrap().1.as_deref(),
        Some("store_hours")
    );
    assert!(h.started().contains(&"en:answer:store_hours".to_string()));
}

#[test]
fn out_of_scope_twice_goes_to_a_person() {
    let mut h = Harness::scripted(&[
        "Hi, I'd like to order a large pepperoni pizza for delivery.",
        "What's the weather going to be like tomorrow?",
    ]);
    h.start();
    h.hear_greeting();
    // Two sentences of one calm caller; what they said is scripted.
    h.feed(&fixture("en_multi_then_agent"));
    assert!(
        h.wait_for(30_000, |h| !h.handoffs.is_empty()),
        "{:?}",
        h.events
    );
    assert_eq!(
        h.started(),
        ["en:greeting", "en:not_understood", "en:transfer"]
    );
    assert_eq!(h.handoffs[0].reason, DecisionReason::TooManyAttempts);
}

#[test]
fn a_prompt_plays_only_once_its_audio_arrived_and_from_its_start() {
    let mut h = Harness::scripted(&[]);
    h.prompt_delay_ticks = 15;
    h.start();
    assert_eq!(h.rendered, ["en:greeting"]);
    h.silence(200);
    assert!(
        h.heard.is_empty(),
        "nothing to hear before the audio exists"
    );
    h.silence(200);
    assert!(!h.heard.is_empty());
    let first = h.heard[0].at_ms;
    let frames_so_far = h.heard.len() as u64;
    assert_eq!(
        frames_so_far,
        (h.now - first) / 20 + 1,
        "one frame per tick"
    );
}

#[test]
fn the_caller_hanging_up_ends_the_call_at_once() {
    let mut h = Harness::scripted(&[]);
    h.start();
    h.silence(1000);
    h.call.handle_input(h.now, ivr::call::Input::Hangup);
    h.drain();
    let heard = h.heard.len();
    h.silence(1000);
    assert_eq!(h.heard.len(), heard, "nothing plays after the caller left");
    assert_eq!(h.hangup, None, "the engine does not hang up a gone caller");
    assert!(h.call.is_ended());
    assert_eq!(
        h.call.record().end_reason.as_deref(),
        Some("caller_hung_up")
    );
}

#[test]
fn a_mandarin_caller_is_greeted_and_answered_in_mandarin() {
    let mut h = Harness::whisper(common::brain(Language::Zh));
    h.start();
    h.hear_greeting();
    h.feed(&fixture("zh_store_01"));
    assert!(
        h.wait_for(5000, |h| h.frames_of("zh:answer:store_hours") > 0),
        "transcripts {:?}",
        h.transcripts
    );
    assert_eq!(h.started(), ["zh:greeting", "zh:answer:store_hours"]);
    assert!(h.rendered.contains(&"zh:anything_else".to_string()));
}

#[test]
fn a_queued_caller_who_asks_for_something_answerable_leaves_the_queue() {
    let mut h = Harness::scripted(&[
        "My home internet has been down since this morning.",
        "What time does your store on Main Street close today?",
    ]);
    h.start();
    h.hear_greeting();
    // Two sentences of one caller, the second while on hold.
    h.feed(&fixture("en_multi_then_agent"));
    assert!(
        h.wait_for(10_000, |h| h.started().len() >= 3),
        "{:?}",
        h.events
    );
    assert_eq!(h.handoffs.len(), 1);
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, CallEvent::LeftQueue { .. }))
    );
    assert_eq!(
        h.started(),
        ["en:greeting", "en:transfer", "en:answer:store_hours"]
    );
}

#[test]
fn on_shutdown_the_caller_hears_goodbye_then_the_engine_hangs_up() {
    let mut h = Harness::scripted(&[]);
    h.start();
    h.silence(1000);
    h.call.handle_input(h.now, ivr::call::Input::Shutdown);
    h.drain();
    assert!(h.wait_for(10_000, |h| h.hangup.is_some()));
    assert_eq!(h.started(), ["en:greeting", "en:goodbye"]);
    assert!(h.finished("en:goodbye"));
    assert_eq!(h.hangup.as_deref(), Some("shutdown"));
}
