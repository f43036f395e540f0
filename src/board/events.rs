//! What the runtime reports to the board.

use serde::{Deserialize, Serialize};

/// Where a live call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// Talking to the engine (greeting, questions, self-service).
    InMenu,
    /// Queued for a person, hearing hold audio.
    Waiting,
    /// An agent's phone rings for this caller.
    Ringing,
    /// Bridged to an agent.
    WithAgent,
    Ended,
}

impl CallPhase {
    /// Waiting for a person: the phases the queue's answer target applies to.
    pub fn is_waiting(self) -> bool {
        matches!(self, CallPhase::Waiting | CallPhase::Ringing)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Caller,
    Engine,
}

/// One caller in a queue's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitingView {
    pub call: String,
    pub caller: String,
    /// 1 = next.
    pub position: usize,
    pub waiting_since_unix_ms: i64,
    /// Why the caller stands here, in words.
    pub why: String,
    pub expected_wait_ms: u64,
    /// The agent being rung for them.
    pub ringing: Option<String>,
    /// A booked callback: the caller is not on the line.
    pub callback: bool,
    pub agitation: f32,
    pub summary: String,
}

/// One agent as the board shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentBoardView {
    pub id: String,
    pub name: String,
    /// `logged_out`, `available`, `ringing`, `on_call`, `wrap_up` or `away`.
    pub state: String,
    pub since_unix_ms: i64,
    /// Why the agent is away (`paused`, `missed 2 calls`).
    pub away: Option<String>,
    pub registered: bool,
    /// The call being rung, talked or wrapped up.
    pub call: Option<String>,
    pub calls_answered: u32,
}

/// Something that happened, reported by the runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    CallStarted {
        call: String,
        caller: String,
        called: String,
    },
    CallPhase {
        call: String,
        phase: CallPhase,
        queue: Option<String>,
        agent: Option<String>,
    },
    /// A line of the conversation: what the caller said (as recognised) or
    /// what the engine said.
    Said {
        call: String,
        who: Speaker,
        text: String,
    },
    Routed {
        call: String,
        intent: Option<String>,
        confidence: f32,
        /// `self_service`, `queue` or `clarify`.
        route: String,
        /// Why (`understood`, `asked_for_person`, `pressed_zero`, ...).
        reason: String,
    },
    Agitation {
        call: String,
        score: f32,
        level: String,
        reasons: Vec<String>,
    },
    /// The handoff packet the agent gets.
    Handoff {
        call: String,
        queue: String,
        summary: String,
        details: serde_json::Value,
    },
    CallEnded {
        call: String,
        reason: String,
    },
    /// A queue's order changed.
    Queue {
        queue: String,
        order: Vec<WaitingView>,
    },
    Agent(AgentBoardView),
    Answered {
        call: String,
        queue: String,
        agent: String,
        waited_ms: u64,
    },
    Abandoned {
        call: String,
        queue: String,
        waited_ms: u64,
    },
}
