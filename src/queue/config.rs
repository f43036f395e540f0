//! What the ACD is told at start: queues (from the dialplan), agents and
//! ring/wrap-up timings (from the engine config).

use super::Input;
use super::strategy::Strategy;
use crate::config::{Config, FeatureCodes};
use crate::dialplan::Dialplan;

/// One queue; times in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    pub name: String,
    pub strategy: Strategy,
    /// Time in this queue before overflow (or a callback offer); 0: no limit.
    pub max_wait_ms: u64,
    pub overflow: Option<String>,
    /// Service level: answered within this counts as answered in time.
    pub target_answer_ms: u64,
    /// Position announcements; 0: never.
    pub announce_every_ms: u64,
    /// A wait (waited + expected) this long is offered a callback.
    pub callback_after_ms: u64,
    /// Callers are put through to this URI (an outside number) instead of
    /// the ACD's agents; the runtime dials it and bridges it like an agent.
    pub transfer: Option<String>,
}

impl QueueConfig {
    /// A queue with the dialplan's default settings.
    pub fn named(name: &str) -> QueueConfig {
        QueueConfig::from_settings(&crate::dialplan::QueueSettings::defaults(name))
    }

    pub fn from_settings(s: &crate::dialplan::QueueSettings) -> QueueConfig {
        QueueConfig {
            name: s.name.clone(),
            // Loading the dialplan rejected unknown names.
            strategy: Strategy::parse(&s.strategy).unwrap_or_default(),
            max_wait_ms: s.max_wait_s * 1000,
            overflow: s.overflow.clone(),
            target_answer_ms: s.target_answer_s * 1000,
            announce_every_ms: s.announce_every_s * 1000,
            callback_after_ms: s.callback_after_s * 1000,
            transfer: s.transfer.clone(),
        }
    }
}

/// One agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// The SIP user their phone registers as.
    pub id: String,
    pub name: String,
    /// Skill level 1-10 per queue name; empty: every queue at level 1.
    pub skills: Vec<(String, u8)>,
}

impl AgentConfig {
    /// The agent's level for `queue`, `None` when they do not take it.
    pub fn skill(&self, queue: &str) -> Option<u8> {
        if self.skills.is_empty() {
            return Some(1);
        }
        self.skills
            .iter()
            .find(|(q, _)| q == queue)
            .map(|&(_, level)| level.clamp(1, 10))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AcdConfig {
    pub queues: Vec<QueueConfig>,
    pub agents: Vec<AgentConfig>,
    pub ring_timeout_ms: u64,
    /// 0: agents are available again as soon as a call ends.
    pub wrap_up_ms: u64,
    /// Missed rings in a row that set an agent away.
    pub max_missed: u32,
    /// A number queued again within this window is a repeat caller; 0: off.
    pub repeat_window_ms: u64,
    pub feature_codes: FeatureCodes,
    /// Not the ACD's own business but read with it from the engine config,
    /// for the runtime that connects callers to people: whether the caller's
    /// words are still transcribed once bridged (privacy: off by default).
    pub transcribe_after_bridge: bool,
    /// Where calls to outside numbers (callbacks, transfers) are sent,
    /// `host:port`; `None`: straight to the URI's own host.
    pub outbound_proxy: Option<String>,
}

/// A staffing gap found at start: worth a warning, not a refusal (agents
/// can be added while the engine runs, and a test rig may have none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffingWarning {
    NoAgents,
    /// An agent has a skill for a queue the dialplan does not have.
    SkillForUnknownQueue {
        agent: String,
        queue: String,
    },
    /// No agent takes the queue, nor any queue it overflows to.
    Unstaffed {
        queue: String,
    },
}

impl std::fmt::Display for StaffingWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StaffingWarning::NoAgents => {
                write!(f, "no agents are configured: queued callers will wait")
            }
            StaffingWarning::SkillForUnknownQueue { agent, queue } => {
                write!(
                    f,
                    "agent {agent:?} has a skill for {queue:?}, which the dialplan has no queue for"
                )
            }
            StaffingWarning::Unstaffed { queue } => write!(
                f,
                "no agent takes queue {queue:?} or a queue it overflows to: its callers can only get a callback"
            ),
        }
    }
}

impl Default for AcdConfig {
    /// One `general` queue with default settings and no agents.
    fn default() -> Self {
        AcdConfig::from_parts(
            &Dialplan::empty("default", Default::default()),
            &Config::default(),
        )
    }
}

impl AcdConfig {
    /// Queues from the dialplan (each name in `queues`, with its `[[queue]]`
    /// settings or the defaults); agents and timings from the engine config.
    pub fn from_parts(dialplan: &Dialplan, config: &Config) -> AcdConfig {
        let acd = &config.acd;
        AcdConfig {
            queues: dialplan
                .queues
                .iter()
                .map(|name| QueueConfig::from_settings(&dialplan.queue_settings(name)))
                .collect(),
            agents: config
                .agents
                .iter()
                .map(|a| AgentConfig {
                    id: a.user.clone(),
                    name: a.display_name().to_string(),
                    skills: a.skills.iter().map(|(q, &l)| (q.clone(), l)).collect(),
                })
                .collect(),
            ring_timeout_ms: acd.ring_timeout_s * 1000,
            wrap_up_ms: acd.wrap_up_s * 1000,
            max_missed: acd.max_missed.max(1),
            repeat_window_ms: acd.repeat_caller_window_h * 3_600_000,
            feature_codes: acd.feature_codes.clone(),
            transcribe_after_bridge: config.engine.transcribe_after_bridge,
            outbound_proxy: config.sip.outbound_proxy.clone(),
        }
    }

    pub fn queue(&self, name: &str) -> Option<&QueueConfig> {
        self.queues.iter().find(|q| q.name == name)
    }

    /// Gaps in staffing: callers of an unstaffed queue would wait forever.
    pub fn warnings(&self) -> Vec<StaffingWarning> {
        let mut warnings = Vec::new();
        if self.agents.is_empty() {
            warnings.push(StaffingWarning::NoAgents);
            return warnings;
        }
        for agent in &self.agents {
            for (queue, _) in &agent.skills {
                if self.queue(queue).is_none() {
                    warnings.push(StaffingWarning::SkillForUnknownQueue {
                        agent: agent.id.clone(),
                        queue: queue.clone(),
                    });
                }
            }
        }
        // A queue put through to an outside number needs no agents.
        let staffed = |name: &str| {
            self.queue(name).is_some_and(|q| q.transfer.is_some())
                || self.agents.iter().any(|a| a.skill(name).is_some())
        };
        for queue in &self.queues {
            let mut chain = vec![queue.name.as_str()];
            let mut at = queue;
            while let Some(next) = at.overflow.as_deref().and_then(|n| self.queue(n)) {
                if chain.contains(&next.name.as_str()) {
                    break;
                }
                chain.push(&next.name);
                at = next;
            }
            if !chain.iter().any(|q| staffed(q)) {
                warnings.push(StaffingWarning::Unstaffed {
                    queue: queue.name.clone(),
                });
            }
        }
        warnings
    }

    /// The input for digits an agent dialled or keyed, if they are one of the
    /// feature codes (login, logout, pause, resume).
    pub fn feature_input(&self, agent: &str, dialed: &str) -> Option<Input> {
        let codes = &self.feature_codes;
        let dialed = dialed.trim();
        let agent = agent.to_string();
        if dialed == codes.login {
            Some(Input::AgentLogin { agent })
        } else if dialed == codes.logout {
            Some(Input::AgentLogout { agent })
        } else if dialed == codes.pause {
            Some(Input::AgentPause { agent })
        } else if dialed == codes.resume {
            Some(Input::AgentResume { agent })
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentAccount;

    fn account(user: &str, skills: &[(&str, u8)]) -> AgentAccount {
        AgentAccount {
            user: user.to_string(),
            password: "pw".to_string(),
            name: String::new(),
            skills: skills.iter().map(|&(q, l)| (q.to_string(), l)).collect(),
        }
    }

    fn plan(queues: &[&str]) -> Dialplan {
        let mut plan = Dialplan::empty("t", Default::default());
        plan.queues = queues.iter().map(|q| q.to_string()).collect();
        plan
    }

    #[test]
    fn defaults_are_one_general_queue_and_no_agents() {
        let config = AcdConfig::default();
        assert_eq!(config.queues.len(), 1);
        assert_eq!(config.queues[0].name, "general");
        assert_eq!(config.ring_timeout_ms, 15_000);
        assert_eq!(config.warnings(), vec![StaffingWarning::NoAgents]);
    }

    #[test]
    fn builds_from_dialplan_and_engine_config() {
        let mut plan = plan(&["billing", "general"]);
        let mut billing = crate::dialplan::QueueSettings::defaults("billing");
        billing.strategy = "skills".into();
        billing.max_wait_s = 90;
        billing.overflow = Some("general".into());
        plan.queue_settings.push(billing);
        let mut config = Config::default();
        config.agents.push(account("alice", &[("billing", 8)]));
        config.agents.push(account("bob", &[]));
        let acd = AcdConfig::from_parts(&plan, &config);
        let q = acd.queue("billing").unwrap();
        assert_eq!((q.strategy, q.max_wait_ms), (Strategy::Skills, 90_000));
        assert_eq!(q.overflow.as_deref(), Some("general"));
        assert_eq!(
            acd.queue("general").unwrap().strategy,
            Strategy::LongestIdle
        );
        assert_eq!(acd.agents[0].skill("billing"), Some(8));
        assert_eq!(acd.agents[0].skill("general"), None);
        assert_eq!(acd.agents[1].skill("general"), Some(1));
        assert_eq!(acd.agents[1].name, "bob");
        assert!(acd.warnings().is_empty());
    }

    #[test]
    fn warns_about_unstaffed_queues_unless_they_overflow_to_staff() {
        let mut plan = plan(&["billing", "tech", "general"]);
        let mut billing = crate::dialplan::QueueSettings::defaults("billing");
        billing.overflow = Some("general".into());
        plan.queue_settings.push(billing);
        let mut config = Config::default();
        config
            .agents
            .push(account("alice", &[("general", 5), ("salse", 3)]));
        let warnings = AcdConfig::from_parts(&plan, &config).warnings();
        assert_eq!(
            warnings,
            vec![
                StaffingWarning::SkillForUnknownQueue {
                    agent: "alice".into(),
                    queue: "salse".into()
                },
                StaffingWarning::Unstaffed {
                    queue: "tech".into()
                },
            ]
        );
    }

    #[test]
    fn feature_codes_map_to_inputs() {
        let acd = AcdConfig::default();
        assert_eq!(
            acd.feature_input("alice", "*3"),
            Some(Input::AgentPause {
                agent: "alice".into()
            })
        );
        assert_eq!(acd.feature_input("alice", "*9"), None);
    }
}
