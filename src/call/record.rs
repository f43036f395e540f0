//! The call record from what the conversation kept: turns, decisions and
//! the event trail, in ms from the start of the call.

use crate::call_record::{CallRecord, DecisionRecord, EventRecord, TurnRecord};
use crate::session::{Decision, DecisionReason, RouteKind, UtteranceReport};

use super::{CallConfig, CallEvent};

pub(crate) struct Parts<'a> {
    pub config: &'a CallConfig,
    pub turns: Vec<TurnRecord>,
    pub decisions: Vec<DecisionRecord>,
    pub events: Vec<EventRecord>,
    pub last: Option<&'a Decision>,
    pub queue: Option<String>,
    pub end_reason: Option<String>,
}

pub(crate) fn call(parts: Parts<'_>) -> CallRecord {
    let agitation_peak = parts.turns.iter().map(|t| t.agitation).fold(0.0, f32::max);
    let summary = parts.last.map(|d| &d.summary);
    CallRecord {
        id: parts.config.call_id.clone(),
        sip_call_id: parts.config.call_id.clone(),
        caller: parts.config.caller.clone(),
        language: parts.config.language.code().to_string(),
        end_reason: parts.end_reason,
        final_decision: parts.decisions.last().cloned(),
        summary: summary.map(|s| s.sentence.clone()),
        summary_json: summary.and_then(|s| serde_json::to_value(s).ok()),
        agitation_peak,
        queue: parts.queue,
        turns: parts.turns,
        decisions: parts.decisions,
        events: parts.events,
        ..CallRecord::default()
    }
}

pub(crate) fn turn(u: &UtteranceReport, start_ms: u64, end_ms: u64) -> TurnRecord {
    TurnRecord {
        start_ms,
        end_ms,
        text: u.text.clone(),
        intent: u.intent.clone(),
        confidence: u.confidence,
        agitation: u.agitation,
        reasons: u.reasons.clone(),
    }
}

pub(crate) fn decision(d: &Decision, at_ms: u64) -> DecisionRecord {
    DecisionRecord {
        at_ms,
        intent: d.intent.clone(),
        confidence: d.confidence,
        route: route_name(d.route.kind).to_string(),
        target: d.route.target.clone(),
        reason: reason_name(d.reason).to_string(),
        agitated: d.agitated,
    }
}

pub(crate) fn event(e: &CallEvent, at_ms: u64) -> EventRecord {
    let (kind, detail) = match e {
        CallEvent::PromptStarted { key, .. } => ("prompt_started", key.clone()),
        CallEvent::PromptFinished { key, .. } => ("prompt_finished", key.clone()),
        CallEvent::PromptStopped { key, why, .. } => {
            ("prompt_stopped", format!("{key} ({})", stop_name(*why)))
        }
        CallEvent::PromptMissing { key, .. } => ("prompt_missing", key.clone()),
        CallEvent::BargeIn { key, .. } => ("barge_in", key.clone()),
        CallEvent::Dtmf { digit, .. } => ("dtmf", digit.to_string()),
        CallEvent::Utterance(u) => ("utterance", u.text.clone()),
        CallEvent::Decision(d) => (
            "decision",
            format!(
                "{} {} ({})",
                route_name(d.route.kind),
                d.route.target.as_deref().unwrap_or("-"),
                reason_name(d.reason)
            ),
        ),
        CallEvent::AnswerStarted {
            key,
            speech_end_ms,
            first_frame_ms,
            ..
        } => {
            let detail = match speech_end_ms {
                Some(end) => format!(
                    "{key}, {} ms after the caller stopped",
                    first_frame_ms.saturating_sub(*end)
                ),
                None => key.clone(),
            };
            ("answer_started", detail)
        }
        CallEvent::NoInput { count, .. } => ("no_input", count.to_string()),
        CallEvent::CallerDone { text, .. } => ("caller_done", text.clone()),
        CallEvent::Queued { queue, .. } => ("queued", queue.clone()),
        CallEvent::LeftQueue { queue, .. } => ("left_queue", queue.clone()),
        CallEvent::QueuePosition {
            position,
            expected_wait_ms,
            ..
        } => (
            "queue_position",
            format!(
                "position {position}, expected wait {} s",
                expected_wait_ms / 1000
            ),
        ),
        CallEvent::CallbackOffered { .. } => ("callback_offered", String::new()),
        CallEvent::CallbackRequested { .. } => ("callback_requested", String::new()),
        CallEvent::CallbackAccepted { .. } => ("callback_accepted", String::new()),
        CallEvent::Ended { reason, .. } => ("ended", reason.clone()),
    };
    EventRecord {
        at_ms,
        kind: kind.to_string(),
        detail,
    }
}

fn route_name(kind: RouteKind) -> &'static str {
    match kind {
        RouteKind::SelfService => "self_service",
        RouteKind::Queue => "queue",
        RouteKind::Clarify => "clarify",
    }
}

fn reason_name(reason: DecisionReason) -> &'static str {
    match reason {
        DecisionReason::Understood => "understood",
        DecisionReason::AskedForPerson => "asked_for_person",
        DecisionReason::PressedZero => "pressed_zero",
        DecisionReason::Agitated => "agitated",
        DecisionReason::NotUnderstood => "not_understood",
        DecisionReason::TooManyAttempts => "too_many_attempts",
        DecisionReason::NoInput => "no_input",
        DecisionReason::RecognitionOverloaded => "recognition_overloaded",
    }
}

fn stop_name(why: super::StopReason) -> &'static str {
    match why {
        super::StopReason::BargeIn => "barge_in",
        super::StopReason::Decision => "decision",
        super::StopReason::Hangup => "hangup",
    }
}
