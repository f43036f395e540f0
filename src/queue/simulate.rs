//! A busy hour on fake time: Poisson callers, agents who answer after a
//! short ring and talk for an exponential time. Each caller's expected wait
//! when queued is set against the wait they really had, which is how the
//! benchmark judges [`super::estimate`].

use std::collections::BTreeMap;

use super::{Acd, AcdConfig, AgentConfig, Input, Output, QueueConfig, Strategy};

/// The knobs of one simulated hour; [`busy_hour`] uses the defaults of
/// [`BusyHour::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct BusyHour {
    pub seed: u64,
    pub agents: usize,
    pub callers_per_hour: u32,
    /// Mean talk time (exponentially distributed).
    pub mean_handle_s: f64,
    /// Agents pick up after a uniform time in this range (below the ring
    /// timeout, so nobody is set away).
    pub ring_s: (f64, f64),
    pub wrap_up_s: u64,
}

/// `(estimated_wait_ms, real_wait_ms)` per caller, in order of arrival.
pub fn busy_hour(
    seed: u64,
    agents: usize,
    callers_per_hour: u32,
    mean_handle_s: f64,
) -> Vec<(u64, u64)> {
    BusyHour::new(seed, agents, callers_per_hour, mean_handle_s).run()
}

/// Simulated time stops here even if callers are still waiting (an
/// overloaded hour with too few agents).
const SIMULATION_LIMIT_MS: u64 = 24 * 3_600_000;

enum Due {
    Answer { agent: String, call: String },
    HangUp { call: String },
}

impl BusyHour {
    /// Agents ring 1-4 s and wrap up for 5 s.
    pub fn new(seed: u64, agents: usize, callers_per_hour: u32, mean_handle_s: f64) -> BusyHour {
        BusyHour {
            seed,
            agents,
            callers_per_hour,
            mean_handle_s,
            ring_s: (1.0, 4.0),
            wrap_up_s: 5,
        }
    }

    fn config(&self) -> AcdConfig {
        let mut queue = QueueConfig::named("general");
        queue.strategy = Strategy::LongestIdle;
        queue.max_wait_ms = 0;
        AcdConfig {
            queues: vec![queue],
            agents: (0..self.agents)
                .map(|i| AgentConfig {
                    id: format!("agent{i}"),
                    name: format!("Agent {i}"),
                    skills: Vec::new(),
                })
                .collect(),
            ring_timeout_ms: 15_000,
            wrap_up_ms: self.wrap_up_s * 1000,
            max_missed: 2,
            repeat_window_ms: 0,
            ..AcdConfig::default()
        }
    }

    /// Callers answered within the simulation limit, in order of arrival.
    pub fn run(&self) -> Vec<(u64, u64)> {
        let mut rng = SplitMix64(self.seed);
        let mut acd = Acd::new(self.config());
        let ids: Vec<String> = acd.config().agents.iter().map(|a| a.id.clone()).collect();
        for agent in ids {
            acd.handle_input(
                0,
                Input::AgentRegistered {
                    agent: agent.clone(),
                },
            )
            .ok();
            acd.handle_input(0, Input::AgentLogin { agent }).ok();
        }
        let mut arrivals = Vec::new();
        let mean_gap_ms = 3_600_000.0 / f64::from(self.callers_per_hour.max(1));
        let mut t = rng.exponential(mean_gap_ms);
        while t < 3_600_000.0 {
            arrivals.push(t as u64);
            t += rng.exponential(mean_gap_ms);
        }
        // Per caller: when queued, the estimate then, when answered.
        let mut callers: Vec<(u64, u64, Option<u64>)> = Vec::new();
        let mut due: BTreeMap<(u64, u64), Due> = BTreeMap::new();
        let mut seq = 0u64;
        let mut next_arrival = 0;
        loop {
            let candidates = [
                arrivals.get(next_arrival).copied(),
                due.keys().next().map(|&(at, _)| at),
                acd.poll_timeout(),
            ];
            let Some(now) = candidates.into_iter().flatten().min() else {
                break;
            };
            if now > SIMULATION_LIMIT_MS {
                break;
            }
            if arrivals.get(next_arrival) == Some(&now) {
                let call = format!("c{next_arrival}");
                next_arrival += 1;
                let queued = Input::CallerQueued {
                    call: call.clone(),
                    queue: "general".into(),
                    caller: String::new(),
                    agitated: false,
                    agitation: 0.0,
                    repeat: false,
                    summary: String::new(),
                };
                acd.handle_input(now, queued).ok();
                let estimate = acd
                    .waiting_caller(now, &call)
                    .map_or(0, |w| w.expected_wait_ms);
                callers.push((now, estimate, None));
            } else if let Some(entry) = due.first_entry().filter(|e| e.key().0 == now) {
                match entry.remove() {
                    Due::Answer { agent, call } => {
                        let index: usize = call[1..].parse().unwrap_or(usize::MAX);
                        if acd
                            .handle_input(
                                now,
                                Input::AgentAnswered {
                                    agent,
                                    call: call.clone(),
                                },
                            )
                            .is_ok()
                            && let Some(c) = callers.get_mut(index)
                        {
                            c.2 = Some(now);
                            let talk = rng.exponential(self.mean_handle_s * 1000.0) as u64;
                            seq += 1;
                            due.insert((now + talk.max(1), seq), Due::HangUp { call });
                        }
                    }
                    Due::HangUp { call } => {
                        acd.handle_input(now, Input::CallEnded { call }).ok();
                    }
                }
            } else {
                acd.handle_timeout(now);
            }
            while let Some(output) = acd.poll_output() {
                if let Output::RingAgent { agent, call, .. } = output {
                    let (low, high) = self.ring_s;
                    let ring = ((low + rng.unit() * (high - low)) * 1000.0) as u64;
                    seq += 1;
                    due.insert((now + ring.max(1), seq), Due::Answer { agent, call });
                }
            }
        }
        callers
            .into_iter()
            .filter_map(|(queued, estimate, answered)| Some((estimate, answered? - queued)))
            .collect()
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014), written out so that a seed gives
/// the same hour on every build: `rand` does not promise stable streams
/// across versions, and a benchmark must be comparable between commits.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_wait(samples: &[(u64, u64)]) -> f64 {
        samples.iter().map(|&(_, real)| real as f64).sum::<f64>() / samples.len() as f64
    }

    #[test]
    fn the_same_seed_gives_the_same_hour() {
        let a = busy_hour(7, 3, 60, 120.0);
        assert!(!a.is_empty());
        assert_eq!(a, busy_hour(7, 3, 60, 120.0));
        assert_ne!(a, busy_hour(8, 3, 60, 120.0));
    }

    #[test]
    fn every_caller_is_answered_when_agents_keep_up() {
        let hour = BusyHour::new(1, 4, 40, 120.0);
        let samples = hour.run();
        // Load 40 * 125 s / 3600 s = 1.4 Erlang on 4 agents: all served.
        assert!(samples.len() > 20, "{}", samples.len());
        let ring_ms = (hour.ring_s.1 * 1000.0) as u64;
        assert!(samples.iter().filter(|&&(_, real)| real <= ring_ms).count() > samples.len() / 2);
    }

    #[test]
    fn fewer_agents_make_longer_waits_and_longer_estimates() {
        let busy = busy_hour(3, 3, 80, 120.0);
        let staffed = busy_hour(3, 6, 80, 120.0);
        assert!(mean_wait(&busy) > mean_wait(&staffed));
        let estimates = |s: &[(u64, u64)]| s.iter().map(|&(e, _)| e).sum::<u64>();
        assert!(estimates(&busy) > estimates(&staffed));
    }

    #[test]
    fn random_numbers_are_uniform_enough() {
        let mut rng = SplitMix64(42);
        let mean = (0..10_000).map(|_| rng.unit()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
