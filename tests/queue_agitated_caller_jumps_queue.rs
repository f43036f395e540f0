//! Three callers wait for a busy agent; the agitated one, though last to
//! arrive, is put first, gets the agent first, and every position comes
//! with a reason in words.

mod queue_support;

use ivr::queue::{Input, Output, Priority};
use queue_support::{Rig, caller, config, queue, ring, rings};

/// One agent, busy with an earlier call, so everyone has to wait.
fn busy_agent() -> Rig {
    let mut rig = Rig::new(config(vec![queue("general")], &[("alice", &[])]));
    rig.ready(&["alice"]);
    rig.input(caller("earlier", "general", "+100", 0.1));
    rig.take_call("alice", "earlier");
    rig
}

#[test]
fn the_agitated_caller_goes_first_and_the_order_is_explained() {
    let mut rig = busy_agent();
    rig.now = 1_000;
    rig.input(caller("anna", "general", "+111", 0.2));
    rig.now = 11_000;
    rig.input(caller("bert", "general", "+222", 0.1));
    rig.now = 21_000;
    let out = rig.input(caller("cleo", "general", "+333", 0.85));
    // Cleo is told she is next.
    assert!(
        out.contains(&Output::Announce {
            call: "cleo".into(),
            position: 1,
            expected_wait_ms: rig
                .acd
                .waiting_caller(rig.now, "cleo")
                .unwrap()
                .expected_wait_ms,
        })
    );

    rig.now = 31_000;
    let order = rig.order("general");
    let calls: Vec<&str> = order.iter().map(|w| w.call.as_str()).collect();
    assert_eq!(calls, ["cleo", "anna", "bert"]);
    assert_eq!(order[0].priority, Priority::Agitated);
    assert_eq!(
        order[0].why,
        "agitated caller (agitation 0.85), moved ahead of 2 callers who arrived earlier; waiting 10 s"
    );
    assert!(
        order[1]
            .why
            .starts_with("in order of arrival, behind 1 prioritised caller who arrived later"),
        "{}",
        order[1].why
    );
    assert!(order[2].why.contains("waiting 20 s"), "{}", order[2].why);
    let positions: Vec<usize> = order.iter().map(|w| w.position).collect();
    assert_eq!(positions, [1, 2, 3]);
    // Further back, longer expected waits.
    assert!(order[0].expected_wait_ms < order[1].expected_wait_ms);
    assert!(order[1].expected_wait_ms < order[2].expected_wait_ms);

    // The agent's call ends; after wrap-up Cleo's phone rings, not Anna's.
    rig.input(Input::CallEnded {
        call: "earlier".into(),
    });
    let out = rig.advance_to(41_000);
    assert_eq!(rings(&out), [ring("alice", "cleo")]);
}

#[test]
fn a_repeat_caller_goes_behind_agitated_and_ahead_of_the_rest() {
    let mut rig = busy_agent();
    // +222 called an hour ago and hung up.
    rig.input(caller("first-try", "general", "+222", 0.1));
    rig.input(Input::CallerLeft {
        call: "first-try".into(),
    });
    rig.now = 3_600_000;
    rig.input(caller("anna", "general", "+111", 0.1));
    rig.input(caller("bert", "general", "+222", 0.1));
    rig.input(caller("cleo", "general", "+333", 0.9));
    assert_eq!(rig.calls_in("general"), ["cleo", "bert", "anna"]);
    let bert = rig.acd.waiting_caller(rig.now, "bert").unwrap();
    assert_eq!(bert.priority, Priority::Repeat);
    assert!(
        bert.why
            .starts_with("called before within 24 h, moved ahead of 1 caller who arrived earlier"),
        "{}",
        bert.why
    );
}

#[test]
fn queueing_again_keeps_the_place() {
    let mut rig = busy_agent();
    rig.input(caller("anna", "general", "+111", 0.1));
    rig.now = 5_000;
    rig.input(caller("bert", "general", "+222", 0.1));
    // Anna says "agent" while waiting: the runtime may queue her again.
    rig.now = 9_000;
    let out = rig.input(caller("anna", "general", "+111", 0.1));
    assert!(rings(&out).is_empty());
    assert_eq!(rig.calls_in("general"), ["anna", "bert"]);
    assert_eq!(
        rig.acd.waiting_caller(rig.now, "anna").unwrap().waited_ms,
        9_000
    );
    // Bert getting upset later moves him to the front.
    rig.input(caller("bert", "general", "+222", 0.8));
    assert_eq!(rig.calls_in("general"), ["bert", "anna"]);
}

#[test]
fn a_caller_sent_to_the_front_passes_even_agitated_callers() {
    let mut rig = busy_agent();
    rig.input(caller("anna", "general", "+111", 0.9));
    rig.input(caller("bert", "general", "+222", 0.1));
    rig.input(Input::ToFront {
        call: "bert".into(),
    });
    let order = rig.order("general");
    assert_eq!(order[0].call, "bert");
    assert!(
        order[0].why.starts_with("sent to the front"),
        "{}",
        order[0].why
    );
}
