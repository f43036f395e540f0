//! Which free agent a queue rings: the four classic ACD strategies.

/// How a queue picks among its free agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The agent free for the longest time (spreads work evenly in time).
    #[default]
    LongestIdle,
    /// The next agent after the one rung last, in configuration order.
    RoundRobin,
    /// The agent who answered the fewest calls so far.
    FewestCalls,
    /// The agent with the highest skill level for the queue.
    Skills,
}

/// A free agent as the strategies see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Position of the agent in the configuration.
    pub index: usize,
    pub idle_since_ms: u64,
    pub calls_answered: u32,
    /// 1-10 for the queue in question.
    pub skill: u8,
}

impl Strategy {
    pub const NAMES: [&'static str; 4] = ["longest_idle", "round_robin", "fewest_calls", "skills"];

    /// The dialplan name (`longest_idle`...), `-` accepted for `_`.
    pub fn parse(name: &str) -> Option<Strategy> {
        match name.trim().replace('-', "_").as_str() {
            "longest_idle" => Some(Strategy::LongestIdle),
            "round_robin" => Some(Strategy::RoundRobin),
            "fewest_calls" => Some(Strategy::FewestCalls),
            "skills" => Some(Strategy::Skills),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest_idle",
            Strategy::RoundRobin => "round_robin",
            Strategy::FewestCalls => "fewest_calls",
            Strategy::Skills => "skills",
        }
    }

    /// The agent index to ring, or `None` with no candidates. Ties go to the
    /// longest idle, then to configuration order, so the pick is always the
    /// same for the same state.
    pub fn choose(self, candidates: &[Candidate], last_rung: Option<usize>) -> Option<usize> {
        let idle = |c: &&Candidate| (c.idle_since_ms, c.index);
        let best = match self {
            Strategy::LongestIdle => candidates.iter().min_by_key(idle),
            Strategy::FewestCalls => candidates
                .iter()
                .min_by_key(|c| (c.calls_answered, c.idle_since_ms, c.index)),
            Strategy::Skills => candidates
                .iter()
                .min_by_key(|c| (std::cmp::Reverse(c.skill), c.idle_since_ms, c.index)),
            Strategy::RoundRobin => {
                let after = |c: &&Candidate| last_rung.is_none_or(|last| c.index > last);
                candidates
                    .iter()
                    .filter(after)
                    .min_by_key(|c| c.index)
                    .or_else(|| candidates.iter().min_by_key(|c| c.index))
            }
        };
        best.map(|c| c.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(index: usize, idle_since_ms: u64, calls_answered: u32, skill: u8) -> Candidate {
        Candidate {
            index,
            idle_since_ms,
            calls_answered,
            skill,
        }
    }

    #[test]
    fn names_round_trip() {
        for name in Strategy::NAMES {
            assert_eq!(Strategy::parse(name).unwrap().name(), name);
        }
        assert_eq!(Strategy::parse("round-robin"), Some(Strategy::RoundRobin));
        assert_eq!(Strategy::parse("random"), None);
    }

    #[test]
    fn each_strategy_has_its_own_favourite() {
        let all = [c(0, 500, 1, 3), c(1, 100, 4, 5), c(2, 900, 0, 9)];
        assert_eq!(Strategy::LongestIdle.choose(&all, None), Some(1));
        assert_eq!(Strategy::FewestCalls.choose(&all, None), Some(2));
        assert_eq!(Strategy::Skills.choose(&all, None), Some(2));
        assert_eq!(Strategy::RoundRobin.choose(&all, Some(0)), Some(1));
        assert_eq!(Strategy::RoundRobin.choose(&all, Some(2)), Some(0));
        assert_eq!(Strategy::RoundRobin.choose(&all, None), Some(0));
        assert_eq!(Strategy::Skills.choose(&[], None), None);
    }

    #[test]
    fn ties_go_to_the_longest_idle() {
        let all = [c(0, 700, 2, 8), c(1, 300, 2, 8)];
        assert_eq!(Strategy::FewestCalls.choose(&all, None), Some(1));
        assert_eq!(Strategy::Skills.choose(&all, None), Some(1));
    }
}
