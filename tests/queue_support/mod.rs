//! A fake-time rig around the ACD for the queue tests.
#![allow(dead_code)]

use ivr::queue::{Acd, AcdConfig, AgentConfig, Input, Output, QueueConfig, WaitingCaller};

pub struct Rig {
    pub acd: Acd,
    pub now: u64,
}

/// A queue with no max wait and announcements every 30 s.
pub fn queue(name: &str) -> QueueConfig {
    let mut q = QueueConfig::named(name);
    q.max_wait_ms = 0;
    q
}

/// Agents as `(id, [(queue, level)])`.
pub fn config(queues: Vec<QueueConfig>, agents: &[(&str, &[(&str, u8)])]) -> AcdConfig {
    AcdConfig {
        queues,
        agents: agents
            .iter()
            .map(|(id, skills)| AgentConfig {
                id: id.to_string(),
                name: id.to_string(),
                skills: skills.iter().map(|&(q, l)| (q.to_string(), l)).collect(),
            })
            .collect(),
        ring_timeout_ms: 15_000,
        wrap_up_ms: 10_000,
        max_missed: 2,
        repeat_window_ms: 24 * 3_600_000,
        ..AcdConfig::default()
    }
}

pub fn caller(call: &str, queue: &str, number: &str, agitation: f32) -> Input {
    Input::CallerQueued {
        call: call.to_string(),
        queue: queue.to_string(),
        caller: number.to_string(),
        agitated: agitation >= 0.6,
        agitation,
        repeat: false,
        summary: format!("{call} needs help"),
    }
}

impl Rig {
    pub fn new(config: AcdConfig) -> Rig {
        Rig {
            acd: Acd::new(config),
            now: 0,
        }
    }

    /// One input at the current time; the outputs it produced.
    pub fn input(&mut self, input: Input) -> Vec<Output> {
        self.acd
            .handle_input(self.now, input)
            .expect("the ACD accepts the input");
        self.drain()
    }

    /// Registers and logs in each agent.
    pub fn ready(&mut self, agents: &[&str]) -> Vec<Output> {
        let mut out = Vec::new();
        for agent in agents {
            let agent = agent.to_string();
            out.extend(self.input(Input::AgentRegistered {
                agent: agent.clone(),
            }));
            out.extend(self.input(Input::AgentLogin { agent }));
        }
        out
    }

    /// Runs every timeout up to `t` on fake time; all outputs in order.
    pub fn advance_to(&mut self, t: u64) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(due) = self.acd.poll_timeout().filter(|&d| d <= t) {
            assert!(
                due >= self.now,
                "a timeout in the past: {due} < {}",
                self.now
            );
            self.now = due;
            self.acd.handle_timeout(due);
            out.extend(self.drain());
        }
        self.now = t;
        out
    }

    pub fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.acd.poll_output()).collect()
    }

    pub fn order(&self, queue: &str) -> Vec<WaitingCaller> {
        self.acd.queue_snapshot(self.now, queue)
    }

    pub fn calls_in(&self, queue: &str) -> Vec<String> {
        self.order(queue).into_iter().map(|w| w.call).collect()
    }

    /// Answer, talk until `t`, hang up: the agent goes to wrap-up.
    pub fn take_call(&mut self, agent: &str, call: &str) -> Vec<Output> {
        self.input(Input::AgentAnswered {
            agent: agent.to_string(),
            call: call.to_string(),
        })
    }
}

/// The `(agent, call)` of every RingAgent.
pub fn rings(outputs: &[Output]) -> Vec<(String, String)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::RingAgent { agent, call, .. } => Some((agent.clone(), call.clone())),
            _ => None,
        })
        .collect()
}

pub fn cancels(outputs: &[Output]) -> Vec<(String, String)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::CancelRing { agent, call } => Some((agent.clone(), call.clone())),
            _ => None,
        })
        .collect()
}

pub fn ring(agent: &str, call: &str) -> (String, String) {
    (agent.to_string(), call.to_string())
}
