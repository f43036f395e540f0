//! The board's state machine: applies events, flags alerts, reports changes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::events::{AgentBoardView, CallPhase, LiveEvent, WaitingView};
use super::views::{
    AgitationPoint, BoardTotals, BoardUpdate, CallView, QueueView, Snapshot, TranscriptLine,
};

/// Lines and points kept per call: a long call must not grow without end.
const MAX_TRANSCRIPT_LINES: usize = 200;
const MAX_AGITATION_POINTS: usize = 100;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone)]
pub struct BoardConfig {
    /// The dialplan's agitation threshold: above it a caller is alerted.
    pub agitation_threshold: f32,
    /// Every queue with its answer target in seconds, in dialplan order.
    pub queues: Vec<(String, u64)>,
}

#[derive(Debug, Default)]
struct QueueState {
    target_answer_s: u64,
    waiting: Vec<WaitingView>,
    /// The UTC day (`unix_ms / DAY_MS`) the counters below belong to.
    day: i64,
    answered: u32,
    answered_in_target: u32,
    abandoned: u32,
}

impl QueueState {
    fn roll_day(&mut self, now: i64) {
        let day = now.div_euclid(DAY_MS);
        if day != self.day {
            self.day = day;
            self.answered = 0;
            self.answered_in_target = 0;
            self.abandoned = 0;
        }
    }
}

pub struct Board {
    config: BoardConfig,
    calls: HashMap<String, CallView>,
    /// Calls whose agitation alert was counted as an escalation.
    escalated: BTreeSet<String>,
    queues: BTreeMap<String, QueueState>,
    /// Queue names in dialplan order, then any others seen.
    queue_order: Vec<String>,
    agents: BTreeMap<String, AgentBoardView>,
    totals: BoardTotals,
    dirty_calls: BTreeSet<String>,
    gone: Vec<String>,
    dirty_queues: BTreeSet<String>,
    dirty_agents: BTreeSet<String>,
}

impl Board {
    pub fn new(config: BoardConfig) -> Board {
        let mut board = Board {
            calls: HashMap::new(),
            escalated: BTreeSet::new(),
            queues: BTreeMap::new(),
            queue_order: Vec::new(),
            agents: BTreeMap::new(),
            totals: BoardTotals::default(),
            dirty_calls: BTreeSet::new(),
            gone: Vec::new(),
            dirty_queues: BTreeSet::new(),
            dirty_agents: BTreeSet::new(),
            config,
        };
        for (name, target) in board.config.queues.clone() {
            board.queue_mut(&name).target_answer_s = target;
        }
        board
    }

    pub fn handle_event(&mut self, now: i64, event: LiveEvent) {
        match event {
            LiveEvent::CallStarted {
                call,
                caller,
                called,
            } => {
                self.totals.calls += 1;
                self.dirty_calls.insert(call.clone());
                self.calls.insert(
                    call.clone(),
                    CallView {
                        id: call,
                        caller,
                        called,
                        phase: CallPhase::InMenu,
                        phase_since_unix_ms: now,
                        started_unix_ms: now,
                        intent: None,
                        confidence: 0.0,
                        route: None,
                        transcript: Vec::new(),
                        agitation: Vec::new(),
                        agitation_level: "calm".to_string(),
                        agitation_reasons: Vec::new(),
                        queue: None,
                        agent: None,
                        summary: None,
                        handoff: None,
                        alert: None,
                        updated_unix_ms: now,
                    },
                );
            }
            LiveEvent::CallPhase {
                call,
                phase,
                queue,
                agent,
            } => self.update_call(now, &call, |c| {
                if c.phase != phase {
                    c.phase = phase;
                    c.phase_since_unix_ms = now;
                }
                if queue.is_some() {
                    c.queue = queue;
                }
                c.agent = agent;
            }),
            LiveEvent::Said { call, who, text } => self.update_call(now, &call, |c| {
                if c.transcript.len() >= MAX_TRANSCRIPT_LINES {
                    c.transcript.remove(0);
                }
                c.transcript.push(TranscriptLine {
                    who,
                    text,
                    at_unix_ms: now,
                });
            }),
            LiveEvent::Routed {
                call,
                intent,
                confidence,
                route,
                reason: _,
            } => {
                *self.totals.decisions.entry(route.clone()).or_default() += 1;
                self.update_call(now, &call, |c| {
                    if intent.is_some() {
                        c.intent = intent;
                        c.confidence = confidence;
                    }
                    c.route = Some(route);
                });
            }
            LiveEvent::Agitation {
                call,
                score,
                level,
                reasons,
            } => self.update_call(now, &call, |c| {
                if c.agitation.len() >= MAX_AGITATION_POINTS {
                    c.agitation.remove(0);
                }
                c.agitation.push(AgitationPoint {
                    at_unix_ms: now,
                    score,
                });
                c.agitation_level = level;
                c.agitation_reasons = reasons;
            }),
            LiveEvent::Handoff {
                call,
                queue,
                summary,
                details,
            } => self.update_call(now, &call, |c| {
                c.queue = Some(queue);
                c.summary = Some(summary);
                c.handoff = Some(details);
            }),
            LiveEvent::CallEnded { call, reason: _ } => {
                if self.calls.remove(&call).is_some() {
                    self.dirty_calls.remove(&call);
                    self.escalated.remove(&call);
                    self.gone.push(call);
                }
            }
            LiveEvent::Queue { queue, order } => {
                // A caller moved (supervisor, overflow) shows their new queue.
                for w in &order {
                    if let Some(c) = self.calls.get_mut(&w.call)
                        && c.queue.as_deref() != Some(queue.as_str())
                    {
                        c.queue = Some(queue.clone());
                        c.updated_unix_ms = now;
                        self.dirty_calls.insert(w.call.clone());
                    }
                }
                self.queue_mut(&queue).waiting = order;
                self.dirty_queues.insert(queue);
                // Waiting callers' alerts depend on their queue's target.
                self.refresh_alerts(now);
            }
            LiveEvent::Agent(view) => {
                self.dirty_agents.insert(view.id.clone());
                self.agents.insert(view.id.clone(), view);
            }
            LiveEvent::Answered {
                queue, waited_ms, ..
            } => {
                self.totals.answered += 1;
                let q = self.queue_mut(&queue);
                q.roll_day(now);
                q.answered += 1;
                if waited_ms <= q.target_answer_s * 1000 {
                    q.answered_in_target += 1;
                }
                self.dirty_queues.insert(queue);
            }
            LiveEvent::Abandoned { queue, .. } => {
                self.totals.abandoned += 1;
                let q = self.queue_mut(&queue);
                q.roll_day(now);
                q.abandoned += 1;
                self.dirty_queues.insert(queue);
            }
        }
    }

    /// Re-checks waits against their targets (a wait crosses it with no
    /// event); the runtime calls it at [`Board::poll_timeout`].
    pub fn handle_timeout(&mut self, now: i64) {
        self.refresh_alerts(now);
    }

    /// When the next waiting caller crosses their queue's target.
    pub fn poll_timeout(&self) -> Option<i64> {
        self.calls
            .values()
            .filter(|c| c.phase.is_waiting() && c.alert.is_none())
            .map(|c| c.phase_since_unix_ms + self.target_ms(c.queue.as_deref()) as i64)
            .min()
    }

    /// The next change for open pages.
    pub fn poll_update(&mut self) -> Option<BoardUpdate> {
        if let Some(call) = self.gone.pop() {
            return Some(BoardUpdate::CallGone { call });
        }
        if let Some(id) = self.dirty_calls.pop_first() {
            return match self.calls.get(&id) {
                Some(view) => Some(BoardUpdate::Call(Box::new(view.clone()))),
                None => self.poll_update(),
            };
        }
        if let Some(name) = self.dirty_queues.pop_first() {
            return Some(BoardUpdate::Queue(self.queue_view(0, &name)));
        }
        let id = self.dirty_agents.pop_first()?;
        match self.agents.get(&id) {
            Some(view) => Some(BoardUpdate::Agent(view.clone())),
            None => self.poll_update(),
        }
    }

    pub fn call(&self, id: &str) -> Option<&CallView> {
        self.calls.get(id)
    }

    pub fn snapshot(&self, now: i64) -> Snapshot {
        let mut calls: Vec<CallView> = self.calls.values().cloned().collect();
        calls.sort_by(|a, b| {
            b.alert
                .is_some()
                .cmp(&a.alert.is_some())
                .then(a.phase_since_unix_ms.cmp(&b.phase_since_unix_ms))
                .then(a.id.cmp(&b.id))
        });
        Snapshot {
            now_unix_ms: now,
            calls,
            queues: self
                .queue_order
                .iter()
                .map(|name| self.queue_view(now, name))
                .collect(),
            agents: self.agents.values().cloned().collect(),
            totals: self.totals.clone(),
        }
    }

    fn queue_mut(&mut self, name: &str) -> &mut QueueState {
        if !self.queues.contains_key(name) {
            self.queue_order.push(name.to_string());
        }
        self.queues.entry(name.to_string()).or_insert(QueueState {
            target_answer_s: 30,
            ..QueueState::default()
        })
    }

    /// `now` 0 leaves waits as of the last change (pages tick them).
    fn queue_view(&self, now: i64, name: &str) -> QueueView {
        let q = self.queues.get(name);
        let waiting = q.map(|q| q.waiting.clone()).unwrap_or_default();
        let latest = if now > 0 {
            now
        } else {
            waiting
                .iter()
                .map(|w| w.waiting_since_unix_ms)
                .max()
                .unwrap_or(0)
        };
        let on_line = || waiting.iter().filter(|w| !w.callback);
        let longest_wait_ms = on_line()
            .map(|w| latest.saturating_sub(w.waiting_since_unix_ms).max(0) as u64)
            .max()
            .unwrap_or(0);
        let (answered, in_target, abandoned, today) = q
            .map(|q| (q.answered, q.answered_in_target, q.abandoned, q.day))
            .unwrap_or_default();
        // Counters of an earlier day are not today's.
        let stale = now > 0 && now.div_euclid(DAY_MS) != today;
        let (answered, in_target, abandoned) = if stale {
            (0, 0, 0)
        } else {
            (answered, in_target, abandoned)
        };
        QueueView {
            name: name.to_string(),
            longest_wait_ms,
            expected_wait_ms: waiting.last().map_or(0, |w| w.expected_wait_ms),
            target_answer_s: q.map_or(30, |q| q.target_answer_s),
            answered_today: answered,
            answered_in_target_today: in_target,
            service_level: (answered > 0).then(|| in_target as f32 / answered as f32),
            abandoned_today: abandoned,
            waiting,
        }
    }

    fn target_ms(&self, queue: Option<&str>) -> u64 {
        queue
            .and_then(|q| self.queues.get(q))
            .map_or(30, |q| q.target_answer_s)
            * 1000
    }

    fn update_call(&mut self, now: i64, call: &str, change: impl FnOnce(&mut CallView)) {
        let Some(view) = self.calls.get_mut(call) else {
            return;
        };
        change(view);
        view.updated_unix_ms = now;
        self.dirty_calls.insert(call.to_string());
        self.refresh_alert(now, call);
    }

    fn refresh_alerts(&mut self, now: i64) {
        let ids: Vec<String> = self.calls.keys().cloned().collect();
        for id in ids {
            self.refresh_alert(now, &id);
        }
    }

    fn refresh_alert(&mut self, now: i64, id: &str) {
        let target_ms = self.target_ms(self.calls.get(id).and_then(|c| c.queue.as_deref()));
        let threshold = self.config.agitation_threshold;
        let Some(c) = self.calls.get_mut(id) else {
            return;
        };
        let score = c.agitation.last().map_or(0.0, |p| p.score);
        let waited = now.saturating_sub(c.phase_since_unix_ms).max(0) as u64;
        let alert = if score >= threshold {
            let why = if c.agitation_reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", c.agitation_reasons.join(", "))
            };
            Some(format!("agitated ({score:.2}){why}"))
        } else if c.phase.is_waiting() && waited >= target_ms {
            Some(format!(
                "waiting {} s, over the {} s target",
                waited / 1000,
                target_ms / 1000
            ))
        } else {
            None
        };
        if score >= threshold && self.escalated.insert(id.to_string()) {
            self.totals.escalations += 1;
        }
        if c.alert != alert {
            c.alert = alert;
            c.updated_unix_ms = now;
            self.dirty_calls.insert(id.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Speaker;

    fn board() -> Board {
        Board::new(BoardConfig {
            agitation_threshold: 0.6,
            queues: vec![("billing".into(), 30), ("tech".into(), 60)],
        })
    }

    fn start(b: &mut Board, now: i64, id: &str) {
        b.handle_event(
            now,
            LiveEvent::CallStarted {
                call: id.into(),
                caller: format!("+1555{id}"),
                called: "hotline".into(),
            },
        );
    }

    fn drain(b: &mut Board) -> Vec<BoardUpdate> {
        std::iter::from_fn(|| b.poll_update()).collect()
    }

    #[test]
    fn a_call_grows_its_transcript_and_trend() {
        let mut b = board();
        start(&mut b, 1_000, "a");
        b.handle_event(
            2_000,
            LiveEvent::Said {
                call: "a".into(),
                who: Speaker::Caller,
                text: "my card was charged twice".into(),
            },
        );
        b.handle_event(
            2_100,
            LiveEvent::Agitation {
                call: "a".into(),
                score: 0.3,
                level: "calm".into(),
                reasons: vec![],
            },
        );
        b.handle_event(
            2_200,
            LiveEvent::Routed {
                call: "a".into(),
                intent: Some("billing_dispute".into()),
                confidence: 0.8,
                route: "queue".into(),
                reason: "understood".into(),
            },
        );
        let updates = drain(&mut b);
        assert_eq!(
            updates.len(),
            1,
            "changes to one call coalesce: {updates:?}"
        );
        let BoardUpdate::Call(view) = &updates[0] else {
            panic!("{updates:?}")
        };
        assert_eq!(view.transcript[0].text, "my card was charged twice");
        assert_eq!(view.intent.as_deref(), Some("billing_dispute"));
        assert_eq!(view.agitation.len(), 1);
        assert_eq!(b.snapshot(3_000).totals.decisions["queue"], 1);
    }

    #[test]
    fn agitated_and_long_waiting_callers_are_alerted_and_listed_first() {
        let mut b = board();
        start(&mut b, 0, "calm");
        start(&mut b, 10, "angry");
        start(&mut b, 20, "waits");
        b.handle_event(
            100,
            LiveEvent::Agitation {
                call: "angry".into(),
                score: 0.8,
                level: "high".into(),
                reasons: vec!["shouting".into()],
            },
        );
        b.handle_event(
            200,
            LiveEvent::CallPhase {
                call: "waits".into(),
                phase: CallPhase::Waiting,
                queue: Some("billing".into()),
                agent: None,
            },
        );
        assert_eq!(b.poll_timeout(), Some(200 + 30_000));
        drain(&mut b);
        b.handle_timeout(30_200);
        let updates = drain(&mut b);
        assert!(
            matches!(&updates[..], [BoardUpdate::Call(v)] if v.id == "waits"),
            "{updates:?}"
        );
        let snap = b.snapshot(30_300);
        let order: Vec<&str> = snap.calls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(order, ["angry", "waits", "calm"]);
        assert!(snap.calls[0].alert.as_deref().unwrap().contains("shouting"));
        assert!(
            snap.calls[1]
                .alert
                .as_deref()
                .unwrap()
                .contains("30 s target")
        );
        assert_eq!(snap.totals.escalations, 1);
    }

    #[test]
    fn service_level_counts_today_only() {
        let mut b = board();
        let day = 20_000 * DAY_MS;
        for waited in [5_000, 10_000, 45_000] {
            b.handle_event(
                day + 1,
                LiveEvent::Answered {
                    call: "x".into(),
                    queue: "billing".into(),
                    agent: "alice".into(),
                    waited_ms: waited,
                },
            );
        }
        let q = &b.snapshot(day + 2).queues[0];
        assert_eq!((q.answered_today, q.answered_in_target_today), (3, 2));
        assert!((q.service_level.unwrap() - 2.0 / 3.0).abs() < 1e-6);
        let tomorrow = &b.snapshot(day + DAY_MS + 1).queues[0];
        assert_eq!(tomorrow.answered_today, 0);
        assert_eq!(tomorrow.service_level, None);
    }

    #[test]
    fn an_ended_call_leaves_the_board() {
        let mut b = board();
        start(&mut b, 0, "a");
        drain(&mut b);
        b.handle_event(
            5,
            LiveEvent::CallEnded {
                call: "a".into(),
                reason: "caller_hung_up".into(),
            },
        );
        assert_eq!(drain(&mut b), [BoardUpdate::CallGone { call: "a".into() }]);
        assert!(b.snapshot(6).calls.is_empty());
        // Late events for it change nothing.
        b.handle_event(
            7,
            LiveEvent::Said {
                call: "a".into(),
                who: Speaker::Engine,
                text: "bye".into(),
            },
        );
        assert!(drain(&mut b).is_empty());
    }

    #[test]
    fn messages_are_tagged_json() {
        let update = BoardUpdate::CallGone { call: "a".into() };
        let json = serde_json::to_value(&update).unwrap();
        assert_eq!(json["type"], "call_gone");
        let event: LiveEvent = serde_json::from_value(serde_json::json!({
            "type": "agent", "id": "alice", "name": "Alice", "state": "available",
            "since_unix_ms": 1, "away": null, "registered": true, "call": null, "calls_answered": 0
        }))
        .unwrap();
        assert!(matches!(event, LiveEvent::Agent(a) if a.id == "alice"));
    }
}
