//! The ACD state machine: callers in queues, agents, and the matching.
//!
//! Every input and timeout ends in [`Acd::settle`]: overflow callers past
//! their max wait, ring free agents for the best waiting callers, announce
//! positions, then report what changed. So a match made by an input comes
//! out of that same `handle_input` call, never after a timer.

use std::collections::{BTreeSet, VecDeque};

use super::AcdError;
use super::agent::{AfterCall, Agent, AgentState, AwayReason};
use super::config::AcdConfig;
use super::estimate::{HandleTimes, expected_wait_ms};
use super::messages::{AcdEvent, AgentView, Input, Output, QueueStats, WaitingCaller};
use super::priority::{Priority, Reasons, explain};
use super::strategy::Candidate;

/// Wait before dialling a callback again whose number did not answer.
pub const CALLBACK_RETRY_MS: u64 = 120_000;
/// Dial attempts before a callback is dropped.
pub const MAX_CALLBACK_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Waiting,
    Ringing {
        agent: usize,
    },
    /// With an agent; leaves on `CallEnded`.
    Connected {
        agent: usize,
    },
}

/// A booked callback: the caller is off the line and keeps their place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Callback {
    attempts: u32,
    /// Not dialled again before this (after a failed attempt).
    retry_at_ms: Option<u64>,
}

#[derive(Debug, Clone)]
struct Caller {
    call: String,
    queue: usize,
    number: String,
    summary: String,
    agitated: bool,
    agitation: f32,
    repeat: bool,
    front: bool,
    /// First queued: the order within a priority class.
    arrived_ms: u64,
    /// Breaks ties between callers queued in the same millisecond.
    seq: u64,
    /// Entered the current queue: its max wait counts from here.
    entered_queue_ms: u64,
    overflowed_from: Option<String>,
    stage: Stage,
    /// Agents who missed this caller; tried again only when no one else is free.
    tried: Vec<usize>,
    next_announce_ms: Option<u64>,
    max_wait_done: bool,
    offered_callback: bool,
    callback: Option<Callback>,
}

impl Caller {
    fn priority(&self) -> Priority {
        Priority::of(self.front, self.agitated, self.repeat)
    }

    fn order_key(&self) -> (Priority, u64, u64) {
        (self.priority(), self.arrived_ms, self.seq)
    }

    fn on_line(&self) -> bool {
        self.callback.is_none()
    }

    fn in_queue(&self) -> bool {
        !matches!(self.stage, Stage::Connected { .. })
    }

    fn waiting_on_line(&self) -> bool {
        self.stage == Stage::Waiting && self.on_line()
    }

    fn dialable(&self) -> bool {
        let n = self.number.trim();
        !n.is_empty() && !n.eq_ignore_ascii_case("anonymous")
    }
}

#[derive(Debug, Clone, Default)]
struct QueueState {
    handle_times: HandleTimes,
    last_rung: Option<usize>,
    answered: u32,
    answered_in_target: u32,
    abandoned: u32,
    overflowed: u32,
}

/// Position and expected wait of one caller still waiting for an agent.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    position: usize,
    expected_wait_ms: u64,
}

pub struct Acd {
    config: AcdConfig,
    queues: Vec<QueueState>,
    agents: Vec<Agent>,
    callers: Vec<Caller>,
    outputs: VecDeque<Output>,
    /// Numbers queued within the repeat window, oldest first.
    recent_numbers: VecDeque<(u64, String)>,
    next_seq: u64,
    dirty_queues: BTreeSet<usize>,
    dirty_agents: BTreeSet<usize>,
}

impl Acd {
    /// All agents start logged out and unregistered.
    pub fn new(config: AcdConfig) -> Acd {
        Acd {
            queues: vec![QueueState::default(); config.queues.len()],
            agents: config.agents.iter().cloned().map(Agent::new).collect(),
            callers: Vec::new(),
            outputs: VecDeque::new(),
            recent_numbers: VecDeque::new(),
            next_seq: 0,
            dirty_queues: BTreeSet::new(),
            dirty_agents: BTreeSet::new(),
            config,
        }
    }

    pub fn config(&self) -> &AcdConfig {
        &self.config
    }

    /// Applies one input. On an error nothing changed.
    pub fn handle_input(&mut self, now_ms: u64, input: Input) -> Result<(), AcdError> {
        match input {
            Input::CallerQueued {
                call,
                queue,
                caller,
                agitated,
                agitation,
                repeat,
                summary,
            } => {
                let queue = self.queue_index(&queue)?;
                self.caller_queued(
                    now_ms, call, queue, caller, agitated, agitation, repeat, summary,
                );
            }
            Input::CallerLeft { call } => {
                let ci = self.caller_index(&call)?;
                self.caller_left(now_ms, ci);
            }
            Input::AgentLogin { agent } => {
                let ai = self.agent_index(&agent)?;
                self.login(now_ms, ai);
            }
            Input::AgentLogout { agent } => {
                let ai = self.agent_index(&agent)?;
                self.logout(now_ms, ai);
            }
            Input::AgentPause { agent } => {
                let ai = self.logged_in_agent(&agent)?;
                self.pause(now_ms, ai);
            }
            Input::AgentResume { agent } => {
                let ai = self.logged_in_agent(&agent)?;
                self.resume(now_ms, ai);
            }
            Input::AgentRegistered { agent } => {
                let ai = self.agent_index(&agent)?;
                self.agents[ai].registered = true;
                self.dirty_agents.insert(ai);
            }
            Input::AgentUnregistered { agent } => {
                let ai = self.agent_index(&agent)?;
                self.agents[ai].registered = false;
                self.dirty_agents.insert(ai);
                if self.agents[ai].state == AgentState::Ringing {
                    self.withdraw_ring(now_ms, ai, true);
                }
            }
            Input::AgentAnswered { agent, call } => {
                let ai = self.ringing_agent(&agent, &call)?;
                self.answered(now_ms, ai);
            }
            Input::AgentRejected { agent, call } | Input::AgentNoAnswer { agent, call } => {
                let ai = self.ringing_agent(&agent, &call)?;
                self.missed(now_ms, ai, false);
            }
            Input::CallEnded { call } => {
                let ci = self.caller_index(&call)?;
                self.caller_left(now_ms, ci);
            }
            Input::CallbackRequested { call } => {
                let ci = self.caller_index(&call)?;
                self.callback_requested(now_ms, ci);
            }
            Input::CallbackFailed { call } => {
                let ci = self.caller_index(&call)?;
                match (self.callers[ci].stage, self.callers[ci].callback) {
                    (Stage::Connected { agent }, Some(_)) => {
                        self.callback_failed(now_ms, ci, agent)
                    }
                    _ => return Err(AcdError::NotACallback(call)),
                }
            }
            Input::MoveCaller { call, queue } => {
                let qi = self.queue_index(&queue)?;
                let ci = self.caller_index(&call)?;
                if self.callers[ci].in_queue() && self.callers[ci].queue != qi {
                    self.move_caller(now_ms, ci, qi);
                }
            }
            Input::ToFront { call } => {
                let ci = self.caller_index(&call)?;
                self.callers[ci].front = true;
                self.dirty_queues.insert(self.callers[ci].queue);
            }
        }
        self.settle(now_ms);
        Ok(())
    }

    /// Ring timeouts, ends of wrap-up, max waits, announcements and callback
    /// offers that are due at `now_ms`.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        for ai in 0..self.agents.len() {
            if self.agents[ai].deadline_ms.is_none_or(|d| d > now_ms) {
                continue;
            }
            match self.agents[ai].state {
                AgentState::Ringing => self.missed(now_ms, ai, true),
                AgentState::WrapUp => self.finish_call(now_ms, ai, true),
                _ => self.agents[ai].deadline_ms = None,
            }
        }
        self.settle(now_ms);
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Acd::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<u64> {
        let agents = self.agents.iter().filter_map(|a| a.deadline_ms);
        let callers = self.callers.iter().flat_map(|c| {
            let q = &self.config.queues[c.queue];
            let waiting = c.waiting_on_line();
            let max_wait = (waiting && !c.max_wait_done && q.max_wait_ms > 0)
                .then(|| c.entered_queue_ms + q.max_wait_ms);
            let offer = (waiting && !c.offered_callback && c.dialable())
                .then(|| c.arrived_ms.saturating_add(q.callback_after_ms));
            let announce = c.next_announce_ms.filter(|_| c.on_line() && c.in_queue());
            let retry = c.callback.and_then(|cb| cb.retry_at_ms);
            [max_wait, offer, announce, retry].into_iter().flatten()
        });
        agents.chain(callers).min()
    }

    /// The queue's callers in order, with why each stands where they stand.
    /// Empty for an unknown queue.
    pub fn queue_snapshot(&self, now_ms: u64, queue: &str) -> Vec<WaitingCaller> {
        match self.queue_index(queue) {
            Ok(qi) => self.snapshot(now_ms, qi),
            Err(_) => Vec::new(),
        }
    }

    /// One waiting caller (or booked callback) as in [`Acd::queue_snapshot`].
    pub fn waiting_caller(&self, now_ms: u64, call: &str) -> Option<WaitingCaller> {
        let c = self
            .callers
            .iter()
            .find(|c| c.call == call && c.in_queue())?;
        self.snapshot(now_ms, c.queue)
            .into_iter()
            .find(|w| w.call == call)
    }

    pub fn agents(&self) -> Vec<AgentView> {
        self.agents.iter().map(Agent::view).collect()
    }

    pub fn agent(&self, id: &str) -> Option<AgentView> {
        self.agents
            .iter()
            .find(|a| a.config.id == id)
            .map(Agent::view)
    }

    pub fn queue_stats(&self, now_ms: u64, queue: &str) -> Option<QueueStats> {
        let qi = self.queue_index(queue).ok()?;
        let state = &self.queues[qi];
        let in_queue = || {
            self.callers
                .iter()
                .filter(|c| c.queue == qi && c.in_queue())
        };
        let (serving, free) = self.capacity(qi);
        Some(QueueStats {
            waiting: in_queue().filter(|c| c.on_line()).count(),
            callbacks_booked: in_queue().filter(|c| !c.on_line()).count(),
            longest_wait_ms: in_queue()
                .filter(|c| c.on_line())
                .map(|c| now_ms.saturating_sub(c.arrived_ms))
                .max()
                .unwrap_or(0),
            answered: state.answered,
            answered_in_target: state.answered_in_target,
            abandoned: state.abandoned,
            overflowed: state.overflowed,
            average_handle_ms: state.handle_times.average_ms(),
            serving_agents: serving,
            free_agents: free,
        })
    }

    // ---- inputs -------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn caller_queued(
        &mut self,
        now_ms: u64,
        call: String,
        queue: usize,
        number: String,
        agitated: bool,
        agitation: f32,
        repeat: bool,
        summary: String,
    ) {
        if let Some(ci) = self.callers.iter().position(|c| c.call == call) {
            // Queued again ("agent" said while waiting): keep the place.
            let c = &mut self.callers[ci];
            if !c.in_queue() {
                return;
            }
            c.agitated |= agitated;
            c.agitation = c.agitation.max(agitation);
            c.repeat |= repeat;
            self.dirty_queues.insert(c.queue);
            if c.queue != queue {
                self.move_caller(now_ms, ci, queue);
            }
            return;
        }
        let repeat = self.seen_recently(now_ms, &number) || repeat;
        let announce = self.config.queues[queue].announce_every_ms > 0;
        self.callers.push(Caller {
            call,
            queue,
            number,
            summary,
            agitated,
            agitation,
            repeat,
            front: false,
            arrived_ms: now_ms,
            seq: self.next_seq,
            entered_queue_ms: now_ms,
            overflowed_from: None,
            stage: Stage::Waiting,
            tried: Vec::new(),
            next_announce_ms: announce.then_some(now_ms),
            max_wait_done: false,
            offered_callback: false,
            callback: None,
        });
        self.next_seq += 1;
        self.dirty_queues.insert(queue);
    }

    /// Whether `number` was queued within the repeat window; remembers it.
    fn seen_recently(&mut self, now_ms: u64, number: &str) -> bool {
        let window = self.config.repeat_window_ms;
        let number = number.trim();
        if window == 0 || number.is_empty() || number.eq_ignore_ascii_case("anonymous") {
            return false;
        }
        while self
            .recent_numbers
            .front()
            .is_some_and(|(at, _)| at + window <= now_ms)
        {
            self.recent_numbers.pop_front();
        }
        let seen = self.recent_numbers.iter().any(|(_, n)| n == number);
        self.recent_numbers.push_back((now_ms, number.to_string()));
        seen
    }

    /// Hang-up or end of the bridged call.
    fn caller_left(&mut self, now_ms: u64, ci: usize) {
        let c = &self.callers[ci];
        let qi = c.queue;
        match c.stage {
            Stage::Connected { agent } => {
                self.callers.remove(ci);
                if self.config.wrap_up_ms == 0 {
                    self.finish_call(now_ms, agent, true);
                } else {
                    let a = &mut self.agents[agent];
                    let call = a.call.take();
                    a.set(now_ms, AgentState::WrapUp);
                    a.call = call;
                    a.deadline_ms = Some(now_ms + self.config.wrap_up_ms);
                    self.dirty_agents.insert(agent);
                }
                return;
            }
            // The caller hangs up after booking: the callback stays.
            _ if !c.on_line() => return,
            Stage::Ringing { agent } => self.withdraw_ring(now_ms, agent, true),
            Stage::Waiting => {}
        }
        let c = self.callers.remove(ci);
        self.queues[qi].abandoned += 1;
        self.dirty_queues.insert(qi);
        self.emit(AcdEvent::Abandoned {
            call: c.call,
            queue: self.config.queues[qi].name.clone(),
            waited_ms: now_ms.saturating_sub(c.arrived_ms),
        });
    }

    fn login(&mut self, now_ms: u64, ai: usize) {
        let a = &mut self.agents[ai];
        match a.state {
            AgentState::LoggedOut | AgentState::Away => {
                a.set(now_ms, AgentState::Available);
                a.idle_since_ms = now_ms;
                a.missed_in_a_row = 0;
            }
            AgentState::OnCall | AgentState::WrapUp => a.after_call = AfterCall::Available,
            AgentState::Available | AgentState::Ringing => {}
        }
        self.dirty_agents.insert(ai);
    }

    fn logout(&mut self, now_ms: u64, ai: usize) {
        self.leave(now_ms, ai, AfterCall::LoggedOut);
    }

    fn pause(&mut self, now_ms: u64, ai: usize) {
        self.leave(now_ms, ai, AfterCall::Away);
    }

    /// Pause or logout: at once, or after the call in progress.
    fn leave(&mut self, now_ms: u64, ai: usize, to: AfterCall) {
        self.dirty_agents.insert(ai);
        match self.agents[ai].state {
            AgentState::OnCall => {
                self.agents[ai].after_call = to;
                return;
            }
            AgentState::WrapUp => {
                self.agents[ai].after_call = to;
                self.finish_call(now_ms, ai, true);
                return;
            }
            AgentState::Ringing => self.withdraw_ring(now_ms, ai, true),
            AgentState::LoggedOut | AgentState::Available | AgentState::Away => {}
        }
        self.agents[ai].after_call = to;
        self.after_call(now_ms, ai);
    }

    fn resume(&mut self, now_ms: u64, ai: usize) {
        let a = &mut self.agents[ai];
        match a.state {
            AgentState::Away => {
                a.set(now_ms, AgentState::Available);
                a.idle_since_ms = now_ms;
                a.missed_in_a_row = 0;
            }
            AgentState::OnCall | AgentState::WrapUp => a.after_call = AfterCall::Available,
            _ => {}
        }
        self.dirty_agents.insert(ai);
    }

    fn answered(&mut self, now_ms: u64, ai: usize) {
        let Some(ci) = self
            .callers
            .iter()
            .position(|c| c.stage == Stage::Ringing { agent: ai })
        else {
            return;
        };
        let a = &mut self.agents[ai];
        a.state = AgentState::OnCall;
        a.since_ms = now_ms;
        a.deadline_ms = None;
        a.missed_in_a_row = 0;
        a.calls_answered += 1;
        let c = &mut self.callers[ci];
        c.stage = Stage::Connected { agent: ai };
        c.next_announce_ms = None;
        let qi = c.queue;
        let waited_ms = now_ms.saturating_sub(c.arrived_ms);
        let q = &mut self.queues[qi];
        q.answered += 1;
        if waited_ms <= self.config.queues[qi].target_answer_ms {
            q.answered_in_target += 1;
        }
        self.dirty_agents.insert(ai);
        self.dirty_queues.insert(qi);
        self.emit(AcdEvent::Answered {
            call: self.callers[ci].call.clone(),
            queue: self.config.queues[qi].name.clone(),
            agent: self.agents[ai].config.id.clone(),
            waited_ms,
        });
    }

    /// The agent did not pick up: the caller waits for the next agent, and
    /// the agent is set away after `max_missed` misses in a row.
    fn missed(&mut self, now_ms: u64, ai: usize, cancel: bool) {
        self.withdraw_ring(now_ms, ai, cancel);
        let max = self.config.max_missed;
        let a = &mut self.agents[ai];
        a.missed_in_a_row += 1;
        if a.missed_in_a_row >= max {
            a.set(now_ms, AgentState::Away);
            a.away = Some(AwayReason::Missed(a.missed_in_a_row));
        }
    }

    /// Stops a ring: the caller waits again, the agent is available (the
    /// caller of this decides whether it was a miss).
    fn withdraw_ring(&mut self, now_ms: u64, ai: usize, cancel: bool) {
        let call = self.agents[ai].call.clone().unwrap_or_default();
        if cancel {
            self.outputs.push_back(Output::CancelRing {
                agent: self.agents[ai].config.id.clone(),
                call,
            });
        }
        if let Some(c) = self
            .callers
            .iter_mut()
            .find(|c| c.stage == Stage::Ringing { agent: ai })
        {
            c.stage = Stage::Waiting;
            self.dirty_queues.insert(c.queue);
        }
        self.agents[ai].set(now_ms, AgentState::Available);
        self.dirty_agents.insert(ai);
    }

    fn callback_requested(&mut self, now_ms: u64, ci: usize) {
        let estimate = self.estimates()[ci];
        let c = &mut self.callers[ci];
        let callback_after = self.config.queues[c.queue].callback_after_ms;
        let waited = now_ms.saturating_sub(c.arrived_ms);
        let long = estimate.is_some_and(|e| waited + e.expected_wait_ms >= callback_after);
        // Only a caller still waiting for an agent, with a number to dial,
        // and only when the wait is long: otherwise the key is ignored.
        if !c.waiting_on_line() || !c.dialable() || !(long || c.offered_callback) {
            return;
        }
        c.callback = Some(Callback {
            attempts: 0,
            retry_at_ms: None,
        });
        c.next_announce_ms = None;
        self.dirty_queues.insert(c.queue);
        self.outputs.push_back(Output::CallbackAccepted {
            call: c.call.clone(),
        });
    }

    fn callback_failed(&mut self, now_ms: u64, ci: usize, agent: usize) {
        self.finish_call(now_ms, agent, false);
        let c = &mut self.callers[ci];
        let qi = c.queue;
        self.dirty_queues.insert(qi);
        let attempts = c.callback.map_or(0, |cb| cb.attempts) + 1;
        if attempts >= MAX_CALLBACK_ATTEMPTS {
            let c = self.callers.remove(ci);
            self.emit(AcdEvent::CallbackDropped {
                call: c.call,
                queue: self.config.queues[qi].name.clone(),
            });
            return;
        }
        c.stage = Stage::Waiting;
        c.tried.clear();
        c.callback = Some(Callback {
            attempts,
            retry_at_ms: Some(now_ms + CALLBACK_RETRY_MS),
        });
    }

    fn move_caller(&mut self, now_ms: u64, ci: usize, to: usize) {
        if let Stage::Ringing { agent } = self.callers[ci].stage {
            self.withdraw_ring(now_ms, agent, true);
        }
        let c = &mut self.callers[ci];
        self.dirty_queues.insert(c.queue);
        self.dirty_queues.insert(to);
        c.queue = to;
        c.entered_queue_ms = now_ms;
        c.max_wait_done = false;
        c.tried.clear();
        if c.on_line() && self.config.queues[to].announce_every_ms > 0 {
            c.next_announce_ms = Some(now_ms);
        }
    }

    // ---- agents after a call ------------------------------------------

    /// End of wrap-up (or of a call with no wrap-up): the time the agent was
    /// taken is a handle-time sample, then the agent goes where they asked.
    fn finish_call(&mut self, now_ms: u64, ai: usize, measured: bool) {
        let a = &self.agents[ai];
        if measured {
            let handle = now_ms.saturating_sub(a.taken_since_ms);
            self.queues[a.taken_for_queue].handle_times.record(handle);
        }
        self.after_call(now_ms, ai);
    }

    fn after_call(&mut self, now_ms: u64, ai: usize) {
        let a = &mut self.agents[ai];
        let to = std::mem::replace(&mut a.after_call, AfterCall::Available);
        match to {
            AfterCall::Available => {
                a.set(now_ms, AgentState::Available);
                a.idle_since_ms = now_ms;
            }
            AfterCall::Away => {
                a.set(now_ms, AgentState::Away);
                a.away = Some(AwayReason::Paused);
            }
            AfterCall::LoggedOut => a.set(now_ms, AgentState::LoggedOut),
        }
        self.dirty_agents.insert(ai);
    }

    // ---- after every input and timeout --------------------------------

    fn settle(&mut self, now_ms: u64) {
        self.overflow_long_waits(now_ms);
        self.dispatch(now_ms);
        self.announce_and_offer(now_ms);
        self.flush_events(now_ms);
    }

    /// Callers past their queue's max wait move to its overflow queue, or
    /// are offered a callback when it has none.
    fn overflow_long_waits(&mut self, now_ms: u64) {
        for ci in 0..self.callers.len() {
            let c = &self.callers[ci];
            let q = &self.config.queues[c.queue];
            if !c.waiting_on_line()
                || c.max_wait_done
                || q.max_wait_ms == 0
                || now_ms < c.entered_queue_ms + q.max_wait_ms
            {
                continue;
            }
            let overflow = q
                .overflow
                .as_deref()
                .and_then(|to| self.queue_index(to).ok());
            self.callers[ci].max_wait_done = true;
            match overflow {
                Some(to) if to != self.callers[ci].queue => {
                    let from = self.callers[ci].queue;
                    self.queues[from].overflowed += 1;
                    self.outputs.push_back(Output::Overflow {
                        call: self.callers[ci].call.clone(),
                        from: self.config.queues[from].name.clone(),
                        to: self.config.queues[to].name.clone(),
                    });
                    self.callers[ci].overflowed_from = Some(self.config.queues[from].name.clone());
                    self.move_caller(now_ms, ci, to);
                }
                _ => self.offer_callback(ci),
            }
        }
    }

    fn offer_callback(&mut self, ci: usize) {
        let c = &mut self.callers[ci];
        if c.offered_callback || !c.dialable() {
            return;
        }
        c.offered_callback = true;
        self.outputs.push_back(Output::OfferCallback {
            call: c.call.clone(),
        });
    }

    /// Rings a free agent for each waiting caller, best callers first across
    /// all queues (agents may serve several queues).
    fn dispatch(&mut self, now_ms: u64) {
        let mut order: Vec<usize> = (0..self.callers.len())
            .filter(|&ci| {
                let c = &self.callers[ci];
                c.stage == Stage::Waiting
                    && c.callback
                        .and_then(|cb| cb.retry_at_ms)
                        .is_none_or(|at| at <= now_ms)
            })
            .collect();
        order.sort_by_key(|&ci| self.callers[ci].order_key());
        for ci in order {
            if let Some(cb) = self.callers[ci].callback.as_mut() {
                cb.retry_at_ms = None;
            }
            if let Some(ai) = self.pick_agent(ci) {
                self.ring(now_ms, ci, ai);
            }
        }
    }

    /// The queue's strategy among free agents who take the queue, passing
    /// over agents who already missed this caller while others are free.
    fn pick_agent(&self, ci: usize) -> Option<usize> {
        let c = &self.callers[ci];
        let queue = &self.config.queues[c.queue];
        let free: Vec<Candidate> = self
            .agents
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_free())
            .filter_map(|(index, a)| {
                Some(Candidate {
                    index,
                    idle_since_ms: a.idle_since_ms,
                    calls_answered: a.calls_answered,
                    skill: a.config.skill(&queue.name)?,
                })
            })
            .collect();
        let fresh: Vec<Candidate> = free
            .iter()
            .filter(|a| !c.tried.contains(&a.index))
            .copied()
            .collect();
        let pool = if fresh.is_empty() { free } else { fresh };
        queue.strategy.choose(&pool, self.queues[c.queue].last_rung)
    }

    fn ring(&mut self, now_ms: u64, ci: usize, ai: usize) {
        let c = &mut self.callers[ci];
        if c.tried.contains(&ai) {
            // Everyone free has missed this caller once: start over.
            c.tried.clear();
        }
        c.tried.push(ai);
        c.stage = Stage::Ringing { agent: ai };
        let qi = c.queue;
        let a = &mut self.agents[ai];
        a.set(now_ms, AgentState::Ringing);
        a.call = Some(c.call.clone());
        a.deadline_ms = Some(now_ms + self.config.ring_timeout_ms);
        a.taken_since_ms = now_ms;
        a.taken_for_queue = qi;
        self.queues[qi].last_rung = Some(ai);
        let (agent, call, queue) = (
            a.config.id.clone(),
            c.call.clone(),
            self.config.queues[qi].name.clone(),
        );
        self.outputs.push_back(match c.callback {
            None => Output::RingAgent { agent, call, queue },
            Some(_) => Output::CallbackDue {
                call,
                caller: c.number.clone(),
                queue,
                agent,
            },
        });
        self.dirty_agents.insert(ai);
        self.dirty_queues.insert(qi);
    }

    /// Position announcements that are due, and callback offers once the
    /// wait (waited plus expected) reaches the queue's `callback_after`.
    fn announce_and_offer(&mut self, now_ms: u64) {
        let estimates = self.estimates();
        for (ci, estimate) in estimates.into_iter().enumerate() {
            let c = &mut self.callers[ci];
            if !c.on_line() || !c.in_queue() {
                continue;
            }
            let q = &self.config.queues[c.queue];
            if c.next_announce_ms.is_some_and(|at| at <= now_ms) {
                c.next_announce_ms = Some(now_ms + q.announce_every_ms);
                if let (Stage::Waiting, Some(e)) = (c.stage, estimate) {
                    self.outputs.push_back(Output::Announce {
                        call: c.call.clone(),
                        position: e.position,
                        expected_wait_ms: e.expected_wait_ms,
                    });
                }
            }
            let waited = now_ms.saturating_sub(c.arrived_ms);
            if let (Stage::Waiting, Some(e)) = (c.stage, estimate)
                && waited + e.expected_wait_ms >= q.callback_after_ms
            {
                self.offer_callback(ci);
            }
        }
    }

    fn flush_events(&mut self, now_ms: u64) {
        for ai in std::mem::take(&mut self.dirty_agents) {
            self.emit(AcdEvent::Agent(self.agents[ai].view()));
        }
        for qi in std::mem::take(&mut self.dirty_queues) {
            let order = self.snapshot(now_ms, qi);
            self.emit(AcdEvent::Queue {
                queue: self.config.queues[qi].name.clone(),
                order,
            });
        }
    }

    fn emit(&mut self, event: AcdEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    // ---- views --------------------------------------------------------

    /// Agents who count for the queue's capacity, and those free now.
    fn capacity(&self, qi: usize) -> (usize, usize) {
        let name = &self.config.queues[qi].name;
        let takes = self
            .agents
            .iter()
            .filter(|a| a.config.skill(name).is_some());
        let serving = takes.clone().filter(|a| a.is_serving()).count();
        let free = takes.filter(|a| a.is_free()).count();
        (serving, free)
    }

    /// Callers of a queue in order (bridged ones excluded).
    fn ordered(&self, qi: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.callers.len())
            .filter(|&ci| self.callers[ci].queue == qi && self.callers[ci].in_queue())
            .collect();
        order.sort_by_key(|&ci| self.callers[ci].order_key());
        order
    }

    /// Position and expected wait of each caller still waiting for an agent
    /// (indexed like `callers`; `None` for those rung or bridged). Booked
    /// callbacks count as callers ahead: they will take an agent too.
    fn estimates(&self) -> Vec<Option<Estimate>> {
        let mut out = vec![None; self.callers.len()];
        for qi in 0..self.config.queues.len() {
            let (serving, free) = self.capacity(qi);
            let average = self.queues[qi].handle_times.average_ms();
            let mut ahead = 0;
            for ci in self.ordered(qi) {
                if self.callers[ci].stage != Stage::Waiting {
                    continue;
                }
                ahead += 1;
                out[ci] = Some(Estimate {
                    position: ahead,
                    expected_wait_ms: expected_wait_ms(ahead, free, serving, average),
                });
            }
        }
        out
    }

    fn snapshot(&self, now_ms: u64, qi: usize) -> Vec<WaitingCaller> {
        let order = self.ordered(qi);
        let estimates = self.estimates();
        let arrival = |ci: usize| (self.callers[ci].arrived_ms, self.callers[ci].seq);
        let repeat_window_h = self.config.repeat_window_ms / 3_600_000;
        order
            .iter()
            .enumerate()
            .map(|(k, &ci)| {
                let c = &self.callers[ci];
                let ringing = match c.stage {
                    Stage::Ringing { agent } => Some(self.agents[agent].config.id.as_str()),
                    _ => None,
                };
                let waited_ms = now_ms.saturating_sub(c.arrived_ms);
                let why = explain(&Reasons {
                    front: c.front,
                    agitated: c.agitated,
                    agitation: c.agitation,
                    repeat: c.repeat,
                    repeat_window_h,
                    ahead_of_earlier: order[k + 1..]
                        .iter()
                        .filter(|&&o| arrival(o) < arrival(ci))
                        .count(),
                    behind_later: order[..k]
                        .iter()
                        .filter(|&&o| arrival(o) > arrival(ci))
                        .count(),
                    waited_ms,
                    overflowed_from: c.overflowed_from.as_deref(),
                    callback: !c.on_line(),
                    ringing,
                });
                WaitingCaller {
                    call: c.call.clone(),
                    queue: self.config.queues[qi].name.clone(),
                    position: k + 1,
                    waited_ms,
                    priority: c.priority(),
                    why,
                    expected_wait_ms: estimates[ci].map_or(0, |e| e.expected_wait_ms),
                    ringing: ringing.map(str::to_string),
                    callback: !c.on_line(),
                    caller: c.number.clone(),
                    agitation: c.agitation,
                    summary: c.summary.clone(),
                }
            })
            .collect()
    }

    // ---- lookups ------------------------------------------------------

    fn queue_index(&self, name: &str) -> Result<usize, AcdError> {
        self.config
            .queues
            .iter()
            .position(|q| q.name == name)
            .ok_or_else(|| AcdError::UnknownQueue(name.to_string()))
    }

    fn agent_index(&self, id: &str) -> Result<usize, AcdError> {
        self.agents
            .iter()
            .position(|a| a.config.id == id)
            .ok_or_else(|| AcdError::UnknownAgent(id.to_string()))
    }

    fn logged_in_agent(&self, id: &str) -> Result<usize, AcdError> {
        let ai = self.agent_index(id)?;
        if self.agents[ai].state == AgentState::LoggedOut {
            return Err(AcdError::NotLoggedIn(id.to_string()));
        }
        Ok(ai)
    }

    fn ringing_agent(&self, id: &str, call: &str) -> Result<usize, AcdError> {
        let ai = self.agent_index(id)?;
        let a = &self.agents[ai];
        if a.state != AgentState::Ringing || a.call.as_deref() != Some(call) {
            return Err(AcdError::NotRinging {
                agent: id.to_string(),
                call: call.to_string(),
            });
        }
        Ok(ai)
    }

    fn caller_index(&self, call: &str) -> Result<usize, AcdError> {
        self.callers
            .iter()
            .position(|c| c.call == call)
            .ok_or_else(|| AcdError::UnknownCall(call.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{AgentConfig, QueueConfig};

    fn acd(agents: &[&str]) -> Acd {
        let config = AcdConfig {
            queues: vec![QueueConfig::named("general")],
            agents: agents
                .iter()
                .map(|id| AgentConfig {
                    id: id.to_string(),
                    name: id.to_string(),
                    skills: Vec::new(),
                })
                .collect(),
            ..AcdConfig::default()
        };
        let mut acd = Acd::new(config);
        for id in agents {
            let agent = id.to_string();
            acd.handle_input(
                0,
                Input::AgentRegistered {
                    agent: agent.clone(),
                },
            )
            .unwrap();
            acd.handle_input(0, Input::AgentLogin { agent }).unwrap();
        }
        drain(&mut acd);
        acd
    }

    fn queued(call: &str) -> Input {
        Input::CallerQueued {
            call: call.to_string(),
            queue: "general".to_string(),
            caller: "+1".to_string(),
            agitated: false,
            agitation: 0.0,
            repeat: false,
            summary: String::new(),
        }
    }

    fn drain(acd: &mut Acd) -> Vec<Output> {
        std::iter::from_fn(|| acd.poll_output()).collect()
    }

    #[test]
    fn bad_inputs_are_errors_and_change_nothing() {
        let mut acd = acd(&["alice"]);
        let before = acd.agents();
        let bad = [
            (
                Input::MoveCaller {
                    call: "c1".into(),
                    queue: "nope".into(),
                },
                AcdError::UnknownQueue("nope".into()),
            ),
            (
                Input::AgentLogin {
                    agent: "zed".into(),
                },
                AcdError::UnknownAgent("zed".into()),
            ),
            (
                Input::CallEnded { call: "c9".into() },
                AcdError::UnknownCall("c9".into()),
            ),
            (
                Input::AgentAnswered {
                    agent: "alice".into(),
                    call: "c9".into(),
                },
                AcdError::NotRinging {
                    agent: "alice".into(),
                    call: "c9".into(),
                },
            ),
        ];
        for (input, error) in bad {
            assert_eq!(acd.handle_input(5, input), Err(error));
        }
        assert_eq!(acd.agents(), before);
        assert!(drain(&mut acd).is_empty());
        let paused = Input::AgentPause {
            agent: "alice".into(),
        };
        acd.handle_input(
            5,
            Input::AgentLogout {
                agent: "alice".into(),
            },
        )
        .unwrap();
        assert_eq!(
            acd.handle_input(6, paused),
            Err(AcdError::NotLoggedIn("alice".into()))
        );
    }

    #[test]
    fn a_caller_hanging_up_while_ringing_cancels_without_a_miss() {
        let mut acd = acd(&["alice"]);
        acd.handle_input(1_000, queued("c1")).unwrap();
        drain(&mut acd);
        acd.handle_input(3_000, Input::CallerLeft { call: "c1".into() })
            .unwrap();
        let out = drain(&mut acd);
        assert!(out.contains(&Output::CancelRing {
            agent: "alice".into(),
            call: "c1".into()
        }));
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Event(AcdEvent::Abandoned {
                waited_ms: 2_000,
                ..
            })
        )));
        let alice = acd.agent("alice").unwrap();
        assert_eq!(
            (alice.state, alice.missed_in_a_row),
            (AgentState::Available, 0)
        );
        assert_eq!(acd.queue_stats(3_000, "general").unwrap().abandoned, 1);
    }

    #[test]
    fn changes_are_reported_for_the_board() {
        let mut acd = acd(&["alice"]);
        acd.handle_input(0, queued("c1")).unwrap();
        let out = drain(&mut acd);
        let ringing = out.iter().any(
            |o| matches!(o, Output::Event(AcdEvent::Agent(v)) if v.state == AgentState::Ringing),
        );
        assert!(ringing, "{out:?}");
        let order = out.iter().find_map(|o| match o {
            Output::Event(AcdEvent::Queue { order, .. }) => Some(order.clone()),
            _ => None,
        });
        let order = order.expect("the queue order is reported");
        assert_eq!(order[0].ringing.as_deref(), Some("alice"));
        // The ring comes before the events describing it.
        assert!(matches!(out[0], Output::RingAgent { .. }));
    }

    #[test]
    fn no_timeout_is_left_due_after_handling() {
        let mut acd = acd(&["alice", "bob"]);
        let mut now = 0;
        for i in 0..6 {
            acd.handle_input(now, queued(&format!("c{i}"))).unwrap();
            now += 7_000;
        }
        for _ in 0..500 {
            let Some(due) = acd.poll_timeout() else { break };
            now = due.max(now);
            acd.handle_timeout(now);
            assert!(acd.poll_timeout().is_none_or(|d| d > now));
            drain(&mut acd);
        }
    }
}
