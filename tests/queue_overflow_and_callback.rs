//! A caller who waits too long moves to the overflow queue; where there is
//! no overflow a callback is offered, key 1 books it, the caller may hang
//! up, and the booked callback is dialled once an agent is free.

mod queue_support;

use ivr::queue::acd::CALLBACK_RETRY_MS;
use ivr::queue::{AgentState, Input, Output};
use queue_support::{Rig, caller, config, queue, rings};

/// billing (nobody takes it, 60 s max wait) overflows to general (Alice,
/// busy with an earlier call; 120 s max wait, no overflow).
fn billing_overflows_to_general() -> Rig {
    let mut billing = queue("billing");
    billing.max_wait_ms = 60_000;
    billing.overflow = Some("general".into());
    billing.callback_after_ms = 600_000;
    let mut general = queue("general");
    general.max_wait_ms = 120_000;
    general.callback_after_ms = 600_000;
    let mut rig = Rig::new(config(
        vec![billing, general],
        &[("alice", &[("general", 5)])],
    ));
    rig.ready(&["alice"]);
    rig.input(caller("earlier", "general", "+100", 0.1));
    rig.take_call("alice", "earlier");
    rig
}

fn overflows(out: &[Output]) -> Vec<(String, String, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Overflow { call, from, to } => Some((call.clone(), from.clone(), to.clone())),
            _ => None,
        })
        .collect()
}

fn has(out: &[Output], wanted: &Output) -> bool {
    out.contains(wanted)
}

#[test]
fn a_long_wait_overflows_then_is_offered_a_callback() {
    let mut rig = billing_overflows_to_general();
    let out = rig.input(caller("c1", "billing", "+4915112345", 0.1));
    assert!(!has(&out, &Output::OfferCallback { call: "c1".into() }));
    let out = rig.advance_to(59_999);
    assert!(overflows(&out).is_empty());
    let out = rig.advance_to(60_000);
    assert_eq!(
        overflows(&out),
        [("c1".into(), "billing".into(), "general".into())]
    );
    assert!(rig.order("billing").is_empty());
    let general = rig.order("general");
    assert_eq!(general.len(), 1);
    assert!(
        general[0].why.contains("overflowed from billing"),
        "{}",
        general[0].why
    );
    // Told their new position right away.
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Announce { call, position: 1, .. } if call == "c1"))
    );

    // General has no overflow: after its max wait the caller is offered a
    // callback instead, once.
    let offer = Output::OfferCallback { call: "c1".into() };
    assert!(!has(&rig.advance_to(179_999), &offer));
    assert!(has(&rig.advance_to(180_000), &offer));
    assert!(!has(&rig.advance_to(400_000), &offer));
}

#[test]
fn key_1_books_a_callback_that_is_dialled_when_an_agent_is_free() {
    let mut rig = billing_overflows_to_general();
    rig.input(caller("c1", "general", "+4915112345", 0.1));
    rig.advance_to(120_000);
    let out = rig.input(Input::CallbackRequested { call: "c1".into() });
    assert!(has(&out, &Output::CallbackAccepted { call: "c1".into() }));
    // The caller hangs up; the booked callback keeps its place.
    rig.input(Input::CallerLeft { call: "c1".into() });
    let order = rig.order("general");
    assert_eq!(order.len(), 1);
    assert!(order[0].callback);
    assert!(order[0].why.contains("callback booked"), "{}", order[0].why);
    // No more announcements for a caller who is not on the line.
    let out = rig.advance_to(300_000);
    assert!(
        !out.iter().any(|o| matches!(o, Output::Announce { .. })),
        "{out:?}"
    );

    // Alice's call ends; after wrap-up she is offered the callback.
    rig.input(Input::CallEnded {
        call: "earlier".into(),
    });
    let out = rig.advance_to(310_000);
    let due = Output::CallbackDue {
        call: "c1".into(),
        caller: "+4915112345".into(),
        queue: "general".into(),
        agent: "alice".into(),
    };
    assert!(has(&out, &due), "{out:?}");
    assert!(rings(&out).is_empty());
    // Alice answers, the engine dials the caller and bridges them.
    rig.take_call("alice", "c1");
    assert_eq!(rig.acd.agent("alice").unwrap().state, AgentState::OnCall);
    assert!(rig.order("general").is_empty());
    rig.input(Input::CallEnded { call: "c1".into() });
    assert_eq!(rig.acd.agent("alice").unwrap().state, AgentState::WrapUp);
}

#[test]
fn a_callback_nobody_answers_is_tried_again_later() {
    let mut rig = billing_overflows_to_general();
    rig.input(caller("c1", "general", "+4915112345", 0.1));
    rig.advance_to(120_000);
    rig.input(Input::CallbackRequested { call: "c1".into() });
    rig.input(Input::CallEnded {
        call: "earlier".into(),
    });
    rig.advance_to(130_000);
    rig.take_call("alice", "c1");
    rig.now = 150_000;
    rig.input(Input::CallbackFailed { call: "c1".into() });
    // Alice is free at once (nothing to wrap up); the callback waits.
    assert_eq!(rig.acd.agent("alice").unwrap().state, AgentState::Available);
    assert!(rig.order("general")[0].callback);
    let before = rig.advance_to(150_000 + CALLBACK_RETRY_MS - 1);
    assert!(
        !before
            .iter()
            .any(|o| matches!(o, Output::CallbackDue { .. }))
    );
    let out = rig.advance_to(150_000 + CALLBACK_RETRY_MS);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::CallbackDue { agent, .. } if agent == "alice")),
        "{out:?}"
    );
}

#[test]
fn key_1_is_ignored_while_the_wait_is_short() {
    let mut config = config(vec![queue("general")], &[("alice", &[])]);
    config.queues[0].callback_after_ms = 600_000;
    let mut rig = Rig::new(config);
    rig.ready(&["alice"]);
    rig.input(caller("earlier", "general", "+100", 0.1));
    rig.take_call("alice", "earlier");
    rig.input(caller("c1", "general", "+4915112345", 0.1));
    let out = rig.input(Input::CallbackRequested { call: "c1".into() });
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::CallbackAccepted { .. }))
    );
    assert!(!rig.order("general")[0].callback);
    // Hanging up now abandons the call: nothing is kept.
    rig.input(Input::CallerLeft { call: "c1".into() });
    assert!(rig.order("general").is_empty());
}

#[test]
fn a_long_expected_wait_is_offered_a_callback_at_once() {
    // Nobody takes the queue: the estimate is the prior handle time, above
    // the 60 s callback threshold.
    let mut general = queue("general");
    general.callback_after_ms = 60_000;
    let mut rig = Rig::new(config(vec![general], &[]));
    let out = rig.input(caller("c1", "general", "+4915112345", 0.1));
    assert!(has(&out, &Output::OfferCallback { call: "c1".into() }));
    // An anonymous caller cannot be called back: never offered.
    let out = rig.input(caller("c2", "general", "anonymous", 0.1));
    assert!(!has(&out, &Output::OfferCallback { call: "c2".into() }));
    let out = rig.input(Input::CallbackRequested { call: "c2".into() });
    assert!(!has(&out, &Output::CallbackAccepted { call: "c2".into() }));
}
