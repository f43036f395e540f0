//! Each queue strategy rings the agent it promises: longest idle, round
//! robin, fewest calls, and highest skill level; agents without a skill for
//! a queue are never rung for it.

mod queue_support;

use ivr::queue::{Input, Strategy};
use queue_support::{Rig, caller, config, queue, ring, rings};

const AGENTS: &[(&str, &[(&str, u8)])] = &[
    ("ann", &[("sales", 3), ("billing", 9)]),
    ("ben", &[("sales", 8)]),
    ("cat", &[("sales", 5)]),
];

fn rig(strategy: Strategy) -> Rig {
    let mut sales = queue("sales");
    sales.strategy = strategy;
    let mut billing = queue("billing");
    billing.strategy = strategy;
    let mut config = config(vec![sales, billing], AGENTS);
    config.wrap_up_ms = 0;
    let mut rig = Rig::new(config);
    // Logged in one after another: ann has been idle longest.
    for (t, agent) in [(0, "ann"), (1_000, "ben"), (2_000, "cat")] {
        rig.now = t;
        rig.ready(&[agent]);
    }
    rig.now = 10_000;
    rig
}

/// Queue a caller and have the rung agent take and finish the call.
fn serve(rig: &mut Rig, call: &str, queue: &str) -> String {
    let out = rig.input(caller(call, queue, "", 0.1));
    let rung = rings(&out);
    assert_eq!(rung.len(), 1, "{out:?}");
    let agent = rung[0].0.clone();
    rig.take_call(&agent, call);
    rig.now += 1_000;
    rig.input(Input::CallEnded { call: call.into() });
    rig.now += 1_000;
    agent
}

#[test]
fn longest_idle_rings_whoever_has_waited_longest() {
    let mut rig = rig(Strategy::LongestIdle);
    let order: Vec<String> = (0..4)
        .map(|i| serve(&mut rig, &format!("c{i}"), "sales"))
        .collect();
    // Each agent becomes the most recently idle after a call.
    assert_eq!(order, ["ann", "ben", "cat", "ann"]);
}

#[test]
fn round_robin_goes_round_in_configuration_order() {
    let mut rig = rig(Strategy::RoundRobin);
    let order: Vec<String> = (0..5)
        .map(|i| serve(&mut rig, &format!("c{i}"), "sales"))
        .collect();
    assert_eq!(order, ["ann", "ben", "cat", "ann", "ben"]);
}

#[test]
fn round_robin_skips_busy_agents() {
    let mut rig = rig(Strategy::RoundRobin);
    let out = rig.input(caller("c0", "sales", "", 0.1));
    assert_eq!(rings(&out), [ring("ann", "c0")]);
    rig.take_call("ann", "c0");
    let out = rig.input(caller("c1", "sales", "", 0.1));
    assert_eq!(rings(&out), [ring("ben", "c1")]);
    rig.take_call("ben", "c1");
    let out = rig.input(caller("c2", "sales", "", 0.1));
    assert_eq!(rings(&out), [ring("cat", "c2")]);
}

#[test]
fn fewest_calls_favours_the_agent_with_the_fewest_answered() {
    let mut rig = rig(Strategy::FewestCalls);
    // ann takes two billing calls (only she has billing), ben one sales call.
    assert_eq!(serve(&mut rig, "b0", "billing"), "ann");
    assert_eq!(serve(&mut rig, "b1", "billing"), "ann");
    let first = serve(&mut rig, "s0", "sales");
    // Ben and Cat had none; Ben has been idle longer.
    assert_eq!(first, "ben");
    assert_eq!(serve(&mut rig, "s1", "sales"), "cat");
    // Ann 2 calls, Ben 1, Cat 1: Ben (idle longer than Cat).
    assert_eq!(serve(&mut rig, "s2", "sales"), "ben");
}

#[test]
fn skills_rings_the_most_skilled_free_agent() {
    let mut rig = rig(Strategy::Skills);
    let out = rig.input(caller("c0", "sales", "", 0.1));
    assert_eq!(rings(&out), [ring("ben", "c0")]);
    rig.take_call("ben", "c0");
    // Ben is busy: next best level is Cat (5), then Ann (3).
    let out = rig.input(caller("c1", "sales", "", 0.1));
    assert_eq!(rings(&out), [ring("cat", "c1")]);
    rig.take_call("cat", "c1");
    let out = rig.input(caller("c2", "sales", "", 0.1));
    assert_eq!(rings(&out), [ring("ann", "c2")]);
}

#[test]
fn agents_without_the_skill_are_never_rung_for_the_queue() {
    for strategy in [
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::FewestCalls,
        Strategy::Skills,
    ] {
        let mut rig = rig(strategy);
        let out = rig.input(caller("b0", "billing", "", 0.1));
        assert_eq!(rings(&out), [ring("ann", "b0")], "{strategy:?}");
        rig.take_call("ann", "b0");
        // Ann is busy; Ben and Cat are free but have no billing skill.
        let out = rig.input(caller("b1", "billing", "", 0.1));
        assert!(rings(&out).is_empty(), "{strategy:?}: {out:?}");
    }
}

#[test]
fn a_free_agent_takes_the_best_caller_across_their_queues() {
    let mut rig = rig(Strategy::LongestIdle);
    // Everyone busy.
    for (call, agent) in [("x0", "ann"), ("x1", "ben"), ("x2", "cat")] {
        let out = rig.input(caller(call, "sales", "", 0.1));
        assert_eq!(rings(&out), [ring(agent, call)]);
        rig.take_call(agent, call);
    }
    rig.input(caller("s-early", "sales", "", 0.1));
    rig.now += 1_000;
    rig.input(caller("b-agitated", "billing", "", 0.9));
    // Ann takes both queues: the agitated billing caller goes first.
    let out = rig.input(Input::CallEnded { call: "x0".into() });
    assert_eq!(rings(&out), [ring("ann", "b-agitated")]);
}
