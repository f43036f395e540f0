//! An agent who does not pick up is passed over after the ring timeout, the
//! next agent rings at once, and an agent who misses `max_missed` calls in a
//! row is set away until they resume.

mod queue_support;

use ivr::queue::{AgentState, AwayReason, Input};
use queue_support::{Rig, caller, cancels, config, queue, ring, rings};

fn two_agents() -> Rig {
    let mut rig = Rig::new(config(
        vec![queue("general")],
        &[("alice", &[]), ("bob", &[])],
    ));
    rig.ready(&["alice", "bob"]);
    rig
}

#[test]
fn the_phone_rings_in_the_same_step_as_the_caller_is_queued() {
    let mut rig = two_agents();
    rig.now = 5_000;
    let out = rig.input(caller("c1", "general", "+111", 0.1));
    // Alice logged in first and has been idle longest.
    assert_eq!(rings(&out), [ring("alice", "c1")]);
    assert_eq!(rig.acd.agent("alice").unwrap().state, AgentState::Ringing);
    assert_eq!(rig.acd.poll_timeout(), Some(5_000 + 15_000));
}

#[test]
fn after_the_ring_timeout_the_next_agent_rings() {
    let mut rig = two_agents();
    rig.input(caller("c1", "general", "+111", 0.1));
    // Nothing happens before the timeout.
    assert!(rig.advance_to(14_999).is_empty());
    let out = rig.advance_to(15_000);
    assert_eq!(cancels(&out), [ring("alice", "c1")]);
    assert_eq!(rings(&out), [ring("bob", "c1")]);
    let alice = rig.acd.agent("alice").unwrap();
    assert_eq!(
        (alice.state, alice.missed_in_a_row),
        (AgentState::Available, 1)
    );

    rig.take_call("bob", "c1");
    assert_eq!(rig.acd.agent("bob").unwrap().state, AgentState::OnCall);
    assert!(rig.order("general").is_empty());
}

#[test]
fn a_declined_ring_moves_on_at_once() {
    let mut rig = two_agents();
    rig.input(caller("c1", "general", "+111", 0.1));
    let out = rig.input(Input::AgentRejected {
        agent: "alice".into(),
        call: "c1".into(),
    });
    // The phone already stopped ringing: nothing to cancel.
    assert!(cancels(&out).is_empty());
    assert_eq!(rings(&out), [ring("bob", "c1")]);
}

#[test]
fn an_agent_who_misses_twice_in_a_row_is_set_away() {
    let mut rig = Rig::new(config(vec![queue("general")], &[("alice", &[])]));
    rig.ready(&["alice"]);
    let out = rig.input(caller("c1", "general", "+111", 0.1));
    assert_eq!(rings(&out), [ring("alice", "c1")]);
    // Nobody else: Alice is tried again after the first timeout.
    let out = rig.advance_to(15_000);
    assert_eq!(rings(&out), [ring("alice", "c1")]);
    let out = rig.advance_to(30_000);
    assert_eq!(cancels(&out), [ring("alice", "c1")]);
    assert!(rings(&out).is_empty());
    let alice = rig.acd.agent("alice").unwrap();
    assert_eq!(alice.state, AgentState::Away);
    assert_eq!(alice.away, Some(AwayReason::Missed(2)));
    // The caller keeps waiting, first in line.
    let waiting = rig.order("general");
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].ringing, None);
    assert!(rings(&rig.advance_to(120_000)).is_empty());

    // Alice is back (feature code *4): her phone rings at once.
    let resume = rig.acd.config().feature_input("alice", "*4").unwrap();
    let out = rig.input(resume);
    assert_eq!(rings(&out), [ring("alice", "c1")]);
    assert_eq!(rig.acd.agent("alice").unwrap().missed_in_a_row, 0);
}

#[test]
fn an_answered_call_resets_the_misses() {
    let mut rig = Rig::new(config(vec![queue("general")], &[("alice", &[])]));
    rig.ready(&["alice"]);
    rig.input(caller("c1", "general", "+111", 0.1));
    rig.advance_to(15_000);
    rig.take_call("alice", "c1");
    assert_eq!(rig.acd.agent("alice").unwrap().missed_in_a_row, 0);
}

#[test]
fn an_unregistered_phone_is_not_rung_and_its_ring_moves_on() {
    let mut rig = two_agents();
    rig.input(caller("c1", "general", "+111", 0.1));
    let out = rig.input(Input::AgentUnregistered {
        agent: "alice".into(),
    });
    assert_eq!(cancels(&out), [ring("alice", "c1")]);
    assert_eq!(rings(&out), [ring("bob", "c1")]);
    // Not a miss: the phone was gone, not ignored.
    assert_eq!(rig.acd.agent("alice").unwrap().missed_in_a_row, 0);
    let out = rig.input(caller("c2", "general", "+222", 0.1));
    assert!(rings(&out).is_empty(), "{out:?}");
}
