//! What the board shows: one view per live call, queue and agent, and the
//! messages that carry changes to open pages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::events::{AgentBoardView, CallPhase, Speaker, WaitingView};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub who: Speaker,
    pub text: String,
    pub at_unix_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgitationPoint {
    pub at_unix_ms: i64,
    pub score: f32,
}

/// One live call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallView {
    pub id: String,
    pub caller: String,
    pub called: String,
    pub phase: CallPhase,
    pub phase_since_unix_ms: i64,
    pub started_unix_ms: i64,
    pub intent: Option<String>,
    pub confidence: f32,
    /// The last decision's route (`self_service`, `queue`, `clarify`).
    pub route: Option<String>,
    pub transcript: Vec<TranscriptLine>,
    /// The agitation score after each utterance: the trend chart.
    pub agitation: Vec<AgitationPoint>,
    pub agitation_level: String,
    pub agitation_reasons: Vec<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// The one-line handoff summary, once the caller is handed to a queue.
    pub summary: Option<String>,
    /// The full handoff packet (intent, slots, the caller's words, ...).
    pub handoff: Option<serde_json::Value>,
    /// Why a supervisor should look now; alerted calls are listed first.
    pub alert: Option<String>,
    /// When this view last changed (what the engine-to-page latency is
    /// measured from).
    pub updated_unix_ms: i64,
}

/// One queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueView {
    pub name: String,
    /// In the queue's order (callers being rung included).
    pub waiting: Vec<WaitingView>,
    pub longest_wait_ms: u64,
    /// What a caller joining now would wait, as the queue estimates it.
    pub expected_wait_ms: u64,
    pub target_answer_s: u64,
    pub answered_today: u32,
    pub answered_in_target_today: u32,
    /// Share of today's answered callers answered within the target; `None`
    /// before the first answer.
    pub service_level: Option<f32>,
    pub abandoned_today: u32,
}

/// Counters since the engine started, for the metrics.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BoardTotals {
    pub calls: u64,
    /// Decisions by route (`queue`, `self_service`, `clarify`).
    pub decisions: BTreeMap<String, u64>,
    /// Calls whose agitation crossed the threshold (once per call).
    pub escalations: u64,
    pub answered: u64,
    pub abandoned: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub now_unix_ms: i64,
    /// Alerted calls first, then the longest in their state.
    pub calls: Vec<CallView>,
    pub queues: Vec<QueueView>,
    pub agents: Vec<AgentBoardView>,
    pub totals: BoardTotals,
}

/// A change for open pages: the new view of one call, queue or agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BoardUpdate {
    /// Boxed: a call view (its transcript) is far larger than the others.
    Call(Box<CallView>),
    CallGone {
        call: String,
    },
    Queue(QueueView),
    Agent(AgentBoardView),
}
