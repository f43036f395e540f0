//! The call core on fake time: a caller re-routed to self-service while the
//! transfer line still plays leaves the queue they were put in at the
//! decision; and once bridged to a person the call stays silent, keeps what
//! the caller says without acting on it, and goes back on hold when the
//! person leaves.

mod call_support;

use call_support::{Harness, fixture};
use ivr::call::{CallEvent, Input};

#[test]
fn a_self_service_request_during_the_transfer_line_leaves_the_queue() {
    let mut h = Harness::scripted(&[
        "there is a charge on my bill I don't recognise",
        "what is my balance",
    ]);
    h.start();
    h.hear_greeting();
    // The transfer line's audio takes a while to come: the caller is queued
    // (at the decision) but not yet on hold when they ask something else.
    h.prompt_delay_ticks = 400;
    h.feed(&fixture("en_dispute_01"));
    h.feed(&fixture("en_balance_03"));
    assert!(
        h.wait_for(6_000, |h| h
            .events
            .iter()
            .any(|e| matches!(e, CallEvent::LeftQueue { .. }))),
        "{:?}",
        h.events
            .iter()
            .map(|e| format!("{e:?}").chars().take(90).collect::<String>())
            .collect::<Vec<_>>()
    );
    let left = h.events.iter().find_map(|e| match e {
        CallEvent::LeftQueue { queue, .. } => Some(queue.clone()),
        _ => None,
    });
    assert_eq!(left.as_deref(), Some("billing"));
    h.silence(10_000);
    assert!(h.handoffs.is_empty(), "never handed to the queue");
    assert_eq!(h.hangup, None);
}

#[test]
fn bridged_the_call_keeps_the_words_but_does_not_act_on_them() {
    let mut h = Harness::scripted(&["my internet is down"]);
    h.start();
    h.silence(500);
    h.dtmf('0');
    assert!(h.wait_for(20_000, |h| !h.handoffs.is_empty()));
    h.call.handle_input(h.now, Input::Bridged);
    h.drain();
    let heard = h.heard.len();
    let events = h.events.len();
    h.feed(&fixture("en_outage_01"));
    h.silence(3000);
    assert_eq!(h.heard.len(), heard, "nothing plays over the person");
    assert_eq!(h.transcripts, ["my internet is down"]);
    let turns = h.call.record().turns;
    assert_eq!(
        turns.last().map(|t| t.text.as_str()),
        Some("my internet is down")
    );
    assert!(
        !h.events[events..]
            .iter()
            .any(|e| matches!(e, CallEvent::Decision(_) | CallEvent::LeftQueue { .. })),
        "{:?}",
        &h.events[events..]
    );
    assert_eq!(h.handoffs.len(), 1);
    // Key 1 is for the person on the line, not a callback request.
    h.dtmf('1');
    assert_eq!(h.callback_requests, 0);

    h.call.handle_input(h.now, Input::Unbridged);
    h.drain();
    h.silence(3000);
    assert!(
        h.heard[heard..].iter().any(|f| f.key.is_none()),
        "back on hold: the chime plays"
    );
    assert_eq!(h.hangup, None);
}
