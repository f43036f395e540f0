//! One agent's state: the state machine of a person at a phone.
//!
//! ```text
//! LoggedOut --login--> Available --ring--> Ringing --answer--> OnCall
//!                         ^                   | miss (max_missed in a row: Away)
//!                         +-------------------+
//! OnCall --call ended--> WrapUp --wrap_up_ms--> Available (or Away / LoggedOut
//!                                               when paused / logged out on the call)
//! Away --resume or login--> Available
//! ```

use super::config::AgentConfig;
use super::messages::AgentView;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentState {
    LoggedOut,
    Available,
    Ringing,
    OnCall,
    WrapUp,
    Away,
}

impl AgentState {
    pub fn name(self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged_out",
            AgentState::Available => "available",
            AgentState::Ringing => "ringing",
            AgentState::OnCall => "on_call",
            AgentState::WrapUp => "wrap_up",
            AgentState::Away => "away",
        }
    }
}

/// Why an agent is away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwayReason {
    /// The agent paused (API or feature code).
    Paused,
    /// The phone went unanswered this many times in a row.
    Missed(u32),
}

/// Where an agent goes once their call and wrap-up are over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterCall {
    Available,
    Away,
    LoggedOut,
}

#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub config: AgentConfig,
    pub state: AgentState,
    pub since_ms: u64,
    pub away: Option<AwayReason>,
    pub registered: bool,
    pub call: Option<String>,
    /// End of ringing (ring timeout) or of wrap-up.
    pub deadline_ms: Option<u64>,
    /// When the agent last became free: the longest-idle order.
    pub idle_since_ms: u64,
    pub calls_answered: u32,
    pub missed_in_a_row: u32,
    pub after_call: AfterCall,
    /// When the current call first rang the agent, and its queue: the span
    /// the agent is taken by a call (the handle time) ends with wrap-up.
    pub taken_since_ms: u64,
    pub taken_for_queue: usize,
}

impl Agent {
    pub fn new(config: AgentConfig) -> Agent {
        Agent {
            config,
            state: AgentState::LoggedOut,
            since_ms: 0,
            away: None,
            registered: false,
            call: None,
            deadline_ms: None,
            idle_since_ms: 0,
            calls_answered: 0,
            missed_in_a_row: 0,
            after_call: AfterCall::Available,
            taken_since_ms: 0,
            taken_for_queue: 0,
        }
    }

    /// Can be rung now.
    pub fn is_free(&self) -> bool {
        self.state == AgentState::Available && self.registered
    }

    /// Counts toward a queue's capacity: logged in, registered, not away.
    pub fn is_serving(&self) -> bool {
        self.registered && !matches!(self.state, AgentState::LoggedOut | AgentState::Away)
    }

    pub fn set(&mut self, now_ms: u64, state: AgentState) {
        self.state = state;
        self.since_ms = now_ms;
        self.deadline_ms = None;
        if state != AgentState::Away {
            self.away = None;
        }
        if matches!(
            state,
            AgentState::Available | AgentState::Away | AgentState::LoggedOut
        ) {
            self.call = None;
        }
    }

    pub fn view(&self) -> AgentView {
        AgentView {
            id: self.config.id.clone(),
            name: self.config.name.clone(),
            state: self.state,
            since_ms: self.since_ms,
            away: self.away,
            registered: self.registered,
            call: self.call.clone(),
            calls_answered: self.calls_answered,
            missed_in_a_row: self.missed_in_a_row,
        }
    }
}
