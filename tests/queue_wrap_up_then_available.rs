//! After a call the agent wraps up for the configured time, then takes the
//! next caller at once; pausing or logging out during a call takes effect
//! when it is over.

mod queue_support;

use ivr::queue::{AgentState, AwayReason, Input};
use queue_support::{Rig, caller, config, queue, ring, rings};

fn one_agent(wrap_up_ms: u64) -> Rig {
    let mut config = config(vec![queue("general")], &[("alice", &[])]);
    config.wrap_up_ms = wrap_up_ms;
    let mut rig = Rig::new(config);
    rig.ready(&["alice"]);
    rig
}

#[test]
fn the_next_caller_rings_when_wrap_up_ends() {
    let mut rig = one_agent(10_000);
    rig.input(caller("c1", "general", "+111", 0.1));
    rig.now = 2_000;
    rig.take_call("alice", "c1");
    rig.now = 5_000;
    rig.input(caller("c2", "general", "+222", 0.1));
    rig.advance_to(62_000);
    let out = rig.input(Input::CallEnded { call: "c1".into() });
    assert!(rings(&out).is_empty());
    let alice = rig.acd.agent("alice").unwrap();
    assert_eq!(
        (alice.state, alice.call.as_deref()),
        (AgentState::WrapUp, Some("c1"))
    );

    assert!(rings(&rig.advance_to(71_999)).is_empty());
    let out = rig.advance_to(72_000);
    assert_eq!(rings(&out), [ring("alice", "c2")]);
    // Ring, talk and wrap-up count as the handle time of the queue.
    let stats = rig.acd.queue_stats(rig.now, "general").unwrap();
    assert_eq!(stats.answered, 1);
    assert!(stats.average_handle_ms > 0);
}

#[test]
fn with_no_wrap_up_the_agent_is_available_right_away() {
    let mut rig = one_agent(0);
    rig.input(caller("c1", "general", "+111", 0.1));
    rig.take_call("alice", "c1");
    rig.input(caller("c2", "general", "+222", 0.1));
    let out = rig.input(Input::CallEnded { call: "c1".into() });
    assert_eq!(rings(&out), [ring("alice", "c2")]);
}

#[test]
fn the_idle_agent_is_available_after_wrap_up_without_callers() {
    let mut rig = one_agent(10_000);
    rig.input(caller("c1", "general", "+111", 0.1));
    rig.take_call("alice", "c1");
    rig.input(Input::CallerLeft { call: "c1".into() });
    rig.advance_to(10_000);
    let alice = rig.acd.agent("alice").unwrap();
    assert_eq!(
        (alice.state, alice.since_ms, alice.call),
        (AgentState::Available, 10_000, None)
    );
    assert_eq!(rig.acd.poll_timeout(), None);
}

#[test]
fn pausing_during_a_call_sends_the_agent_away_after_it() {
    let mut rig = one_agent(10_000);
    rig.input(caller("c1", "general", "+111", 0.1));
    rig.take_call("alice", "c1");
    rig.input(Input::AgentPause {
        agent: "alice".into(),
    });
    assert_eq!(rig.acd.agent("alice").unwrap().state, AgentState::OnCall);
    rig.input(caller("c2", "general", "+222", 0.1));
    rig.input(Input::CallEnded { call: "c1".into() });
    let out = rig.advance_to(10_000);
    assert!(rings(&out).is_empty());
    let alice = rig.acd.agent("alice").unwrap();
    assert_eq!(
        (alice.state, alice.away),
        (AgentState::Away, Some(AwayReason::Paused))
    );
}

#[test]
fn logging_out_during_wrap_up_ends_it() {
    let mut rig = one_agent(10_000);
    rig.input(caller("c1", "general", "+111", 0.1));
    rig.take_call("alice", "c1");
    rig.input(Input::CallEnded { call: "c1".into() });
    rig.now = 3_000;
    let logout = rig.acd.config().feature_input("alice", "*2").unwrap();
    rig.input(logout);
    assert_eq!(rig.acd.agent("alice").unwrap().state, AgentState::LoggedOut);
    assert_eq!(rig.acd.poll_timeout(), None);
    let out = rig.input(caller("c2", "general", "+222", 0.1));
    assert!(rings(&out).is_empty());
}
