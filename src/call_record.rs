//! What is kept of one call: who called, what they said, what the engine
//! decided and why. The call core fills it, the store saves it, the API and
//! the agent's screen read it. Plain data, serialisable both ways.

use serde::{Deserialize, Serialize};

/// One caller utterance as understood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    /// ms from the start of the call.
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub intent: Option<String>,
    pub confidence: f32,
    pub agitation: f32,
    pub reasons: Vec<String>,
}

/// One routing decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// ms from the start of the call.
    pub at_ms: u64,
    pub intent: Option<String>,
    pub confidence: f32,
    /// `self_service`, `queue` or `clarify`.
    pub route: String,
    pub target: Option<String>,
    /// `understood`, `asked_for_person`, `pressed_zero`, ... (`DecisionReason`).
    pub reason: String,
    pub agitated: bool,
}

/// Something that happened on the call (prompt played, barge-in, DTMF,
/// hold, no input, hang-up), for the decision trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub at_ms: u64,
    pub kind: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CallRecord {
    /// The engine's id for the call (unique, URL-safe).
    pub id: String,
    /// The SIP Call-ID of the caller's leg.
    pub sip_call_id: String,
    /// The caller's number or SIP user.
    pub caller: String,
    pub called: String,
    /// `en` or `zh`.
    pub language: String,
    /// Wall-clock times (Unix ms), set by the runtime: the core has no clock.
    pub started_unix_ms: i64,
    pub answered_unix_ms: Option<i64>,
    pub ended_unix_ms: Option<i64>,
    /// Why the call ended: `caller_hung_up`, `goodbye`, `no_input`, `shutdown`, ...
    pub end_reason: Option<String>,
    pub turns: Vec<TurnRecord>,
    pub decisions: Vec<DecisionRecord>,
    pub events: Vec<EventRecord>,
    /// The decision that stood when the call ended.
    pub final_decision: Option<DecisionRecord>,
    /// The one-line handoff summary.
    pub summary: Option<String>,
    /// The full handoff summary (`HandoffSummary` as JSON).
    pub summary_json: Option<serde_json::Value>,
    pub agitation_peak: f32,
    /// The queue the caller was handed to, if any.
    pub queue: Option<String>,
    /// Recording files, relative to the recordings folder.
    pub recording_caller: Option<String>,
    pub recording_engine: Option<String>,
    /// RTP counters for the caller's stream (received, lost, late, ...).
    pub rtp_stats: Option<serde_json::Value>,
}
