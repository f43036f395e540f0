//! Connects waiting callers to agents: owns the ACD (the sans-IO queue
//! core), rings agents' registered phones with the handoff in the INVITE,
//! and tells the caller's task when to bridge. Lives inside the SIP task,
//! which owns the endpoint it drives.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::board::{AgentBoardView, LiveEvent, WaitingView};
use crate::queue::{
    Acd, AcdConfig, AcdEvent, AgentState, AgentView, AwayReason, Input as AcdInput,
    Output as AcdOutput, WaitingCaller,
};
use crate::runtime::call_task::{CallMsg, QueuedCall};
use crate::runtime::clock::unix_ms;
use crate::runtime::live::LiveBoard;
use crate::runtime::rtp_ports::RtpPorts;
use crate::runtime::supervise::{AgentChange, SuperviseError, SupervisorAction};
use crate::sip::{CallHandle, EndReason, Endpoint, SipEvent};

/// An agent leg: the engine's INVITE to an agent's phone for a caller.
struct Leg {
    caller: CallHandle,
    call_id: String,
    agent: String,
    answered: bool,
}

pub struct Switchboard {
    acd: Acd,
    queued: HashMap<String, QueuedCall>,
    legs: HashMap<CallHandle, Leg>,
    /// The agent leg of each caller (by engine call id).
    leg_of: HashMap<String, CallHandle>,
    /// Agents whose phones are registered now.
    registered: std::collections::HashSet<String>,
    /// Base of the Call-Info URL (`http://host:port`), when the API runs.
    http_base: Option<String>,
    live: Arc<LiveBoard>,
}

impl Switchboard {
    pub fn new(config: AcdConfig, http_base: Option<String>, live: Arc<LiveBoard>) -> Switchboard {
        for warning in config.warnings() {
            tracing::warn!("queues: {warning}");
        }
        let acd = Acd::new(config);
        for agent in acd.agents() {
            live.publish(LiveEvent::Agent(agent_view(0, &agent)));
        }
        Switchboard {
            acd,
            queued: HashMap::new(),
            legs: HashMap::new(),
            leg_of: HashMap::new(),
            registered: Default::default(),
            http_base,
            live,
        }
    }

    /// A supervisor's action on a waiting caller or an agent.
    pub fn supervise(
        &mut self,
        now_ms: u64,
        action: SupervisorAction,
    ) -> Result<(), SuperviseError> {
        let input = match action {
            SupervisorAction::MoveCaller { call, queue } => AcdInput::MoveCaller { call, queue },
            SupervisorAction::ToFront { call } => AcdInput::ToFront { call },
            SupervisorAction::AgentState { agent, change } => match change {
                AgentChange::Login => AcdInput::AgentLogin { agent },
                AgentChange::Logout => AcdInput::AgentLogout { agent },
                AgentChange::Pause => AcdInput::AgentPause { agent },
                AgentChange::Resume => AcdInput::AgentResume { agent },
            },
            SupervisorAction::EndCall { .. } => {
                return Err(SuperviseError::Refused("not a queue action".into()));
            }
        };
        self.acd
            .handle_input(now_ms, input)
            .map_err(|e| SuperviseError::Refused(e.to_string()))
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.acd.poll_timeout()
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.acd.handle_timeout(now_ms);
    }

    pub fn caller_queued(&mut self, now_ms: u64, q: QueuedCall) {
        let input = AcdInput::CallerQueued {
            call: q.id.clone(),
            queue: q.queue.clone(),
            caller: q.caller.clone(),
            agitated: q.agitated,
            agitation: q.agitation,
            repeat: false,
            summary: q.summary.clone(),
        };
        self.queued.insert(q.id.clone(), q);
        self.acd_input(now_ms, input);
    }

    pub fn callback_requested(&mut self, now_ms: u64, call: String) {
        self.acd_input(now_ms, AcdInput::CallbackRequested { call });
    }

    /// The caller's leg ended: leave the queue, hang up their agent leg.
    pub fn caller_ended(&mut self, now_ms: u64, endpoint: &mut Endpoint, caller: CallHandle) {
        let Some(id) = self
            .queued
            .iter()
            .find(|(_, q)| q.handle == caller)
            .map(|(id, _)| id.clone())
        else {
            return;
        };
        self.queued.remove(&id);
        if let Some(leg) = self.leg_of.remove(&id) {
            let answered = self.legs.get(&leg).is_some_and(|l| l.answered);
            self.legs.remove(&leg);
            endpoint.hangup(now_ms, leg);
            if answered {
                self.acd_input(now_ms, AcdInput::CallEnded { call: id });
                return;
            }
        }
        self.acd_input(now_ms, AcdInput::CallerLeft { call: id });
    }

    /// Handles the SIP events that concern agents; gives back the others.
    pub fn sip_event(
        &mut self,
        now_ms: u64,
        calls: &HashMap<CallHandle, mpsc::Sender<CallMsg>>,
        event: SipEvent,
    ) -> Option<SipEvent> {
        match event {
            SipEvent::Registered { user, .. } => {
                self.acd_input(
                    now_ms,
                    AcdInput::AgentRegistered {
                        agent: user.clone(),
                    },
                );
                // A phone that registers is an agent ready to work; a
                // refresh must not undo a pause or a logout by feature code.
                let first = !self.registered.contains(&user);
                if first
                    && self
                        .acd
                        .agent(&user)
                        .is_some_and(|a| a.state == AgentState::LoggedOut)
                {
                    self.acd_input(
                        now_ms,
                        AcdInput::AgentLogin {
                            agent: user.clone(),
                        },
                    );
                }
                self.registered.insert(user);
                None
            }
            SipEvent::Unregistered { user } => {
                self.registered.remove(&user);
                self.acd_input(now_ms, AcdInput::AgentUnregistered { agent: user });
                None
            }
            SipEvent::Answered { call, answer } if self.legs.contains_key(&call) => {
                let leg = self.legs.get_mut(&call)?;
                leg.answered = true;
                let (agent, call_id, caller) = (leg.agent.clone(), leg.call_id.clone(), leg.caller);
                if let Some(tx) = calls.get(&caller) {
                    let _ = tx.try_send(CallMsg::AgentAnswered {
                        agent: agent.clone(),
                        offer: answer,
                    });
                }
                self.acd_input(
                    now_ms,
                    AcdInput::AgentAnswered {
                        agent,
                        call: call_id,
                    },
                );
                None
            }
            SipEvent::Failed { call, status } if self.legs.contains_key(&call) => {
                let leg = self.end_leg(calls, call)?;
                let no_answer = status == 408 || status == 480;
                self.acd_input(now_ms, unanswered(leg, no_answer));
                None
            }
            SipEvent::CallEnded { call, reason } if self.legs.contains_key(&call) => {
                let leg = self.end_leg(calls, call)?;
                let input = if leg.answered {
                    self.queued.remove(&leg.call_id);
                    AcdInput::CallEnded { call: leg.call_id }
                } else {
                    let no_answer = matches!(reason, EndReason::Failed(408) | EndReason::Cancelled);
                    unanswered(leg, no_answer)
                };
                self.acd_input(now_ms, input);
                None
            }
            other => Some(other),
        }
    }

    /// Carries out what the ACD decided: ring, stop ringing, announce.
    pub async fn drain(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        ports: &RtpPorts,
        calls: &HashMap<CallHandle, mpsc::Sender<CallMsg>>,
    ) {
        while let Some(out) = self.acd.poll_output() {
            match out {
                AcdOutput::RingAgent { agent, call, .. } => {
                    if let Err(reason) = self
                        .ring(now_ms, endpoint, ports, calls, &agent, &call)
                        .await
                    {
                        tracing::warn!(%agent, %call, "cannot ring agent: {reason}");
                        self.acd_input(now_ms, AcdInput::AgentNoAnswer { agent, call });
                    }
                }
                AcdOutput::CancelRing { call, .. } => {
                    if let Some(leg) = self.leg_of.remove(&call) {
                        if let Some(l) = self.legs.remove(&leg)
                            && let Some(tx) = calls.get(&l.caller)
                        {
                            let _ = tx.try_send(CallMsg::AgentLegEnded);
                        }
                        endpoint.hangup(now_ms, leg);
                    }
                }
                AcdOutput::Announce {
                    call,
                    position,
                    expected_wait_ms,
                } => self.tell(
                    calls,
                    &call,
                    CallMsg::QueuePosition {
                        position,
                        expected_wait_ms,
                    },
                ),
                AcdOutput::OfferCallback { call } => {
                    self.tell(calls, &call, CallMsg::OfferCallback)
                }
                AcdOutput::CallbackAccepted { call } => {
                    self.tell(calls, &call, CallMsg::CallbackAccepted)
                }
                AcdOutput::Event(event) => self.publish(now_ms, event),
                other => tracing::debug!(?other, "queue"),
            }
        }
    }

    /// Shows the ACD's changes on the board.
    fn publish(&self, now_ms: u64, event: AcdEvent) {
        let live = match event {
            AcdEvent::Agent(view) => LiveEvent::Agent(agent_view(now_ms, &view)),
            AcdEvent::Queue { queue, order } => LiveEvent::Queue {
                queue,
                order: order.iter().map(waiting_view).collect(),
            },
            AcdEvent::Answered {
                call,
                queue,
                agent,
                waited_ms,
            } => LiveEvent::Answered {
                call,
                queue,
                agent,
                waited_ms,
            },
            AcdEvent::Abandoned {
                call,
                queue,
                waited_ms,
            } => LiveEvent::Abandoned {
                call,
                queue,
                waited_ms,
            },
            AcdEvent::CallbackDropped { call, queue } => {
                tracing::info!(%call, %queue, "callback dropped after repeated tries");
                return;
            }
        };
        self.live.publish(live);
    }

    async fn ring(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        ports: &RtpPorts,
        calls: &HashMap<CallHandle, mpsc::Sender<CallMsg>>,
        agent: &str,
        call: &str,
    ) -> Result<(), String> {
        let q = self
            .queued
            .get(call)
            .ok_or("caller no longer waiting")?
            .clone();
        let (contact, peer) = endpoint
            .registration(agent)
            .ok_or("agent's phone is not registered")?;
        let socket = ports.bind().await.ok_or("no free RTP port")?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let headers = handoff_headers(&q, self.http_base.as_deref());
        let leg = endpoint
            .invite(now_ms, &contact, peer, "ivr", local, &headers)
            .map_err(|e| e.to_string())?;
        self.legs.insert(
            leg,
            Leg {
                caller: q.handle,
                call_id: q.id.clone(),
                agent: agent.to_string(),
                answered: false,
            },
        );
        self.leg_of.insert(q.id.clone(), leg);
        if let Some(tx) = calls.get(&q.handle) {
            let after_ms = now_ms.saturating_sub(q.decided_at_ms);
            tracing::info!(%agent, call = %q.id, after_ms, "agent ringing");
            let _ = tx.try_send(CallMsg::AgentRinging {
                agent: agent.to_string(),
                socket,
                after_ms,
            });
        }
        Ok(())
    }

    /// Forgets an agent leg and tells its caller's task it is over.
    fn end_leg(
        &mut self,
        calls: &HashMap<CallHandle, mpsc::Sender<CallMsg>>,
        call: CallHandle,
    ) -> Option<Leg> {
        let leg = self.legs.remove(&call)?;
        self.leg_of.remove(&leg.call_id);
        if let Some(tx) = calls.get(&leg.caller) {
            let _ = tx.try_send(CallMsg::AgentLegEnded);
        }
        Some(leg)
    }

    /// Sends a message to a waiting caller's task.
    fn tell(&self, calls: &HashMap<CallHandle, mpsc::Sender<CallMsg>>, call: &str, msg: CallMsg) {
        if let Some(q) = self.queued.get(call)
            && let Some(tx) = calls.get(&q.handle)
        {
            let _ = tx.try_send(msg);
        }
    }

    fn acd_input(&mut self, now_ms: u64, input: AcdInput) {
        if let Err(e) = self.acd.handle_input(now_ms, input) {
            // A late answer after a cancelled ring and the like: nothing changed.
            tracing::debug!("queue: {e}");
        }
    }
}

/// An agent as the board shows them; ACD times become wall-clock times.
fn agent_view(now_ms: u64, a: &AgentView) -> AgentBoardView {
    AgentBoardView {
        id: a.id.clone(),
        name: a.name.clone(),
        state: a.state.name().to_string(),
        since_unix_ms: unix_ms() - now_ms.saturating_sub(a.since_ms) as i64,
        away: a.away.map(|r| match r {
            AwayReason::Paused => "paused".to_string(),
            AwayReason::Missed(n) => format!("missed {n} calls"),
        }),
        registered: a.registered,
        call: a.call.clone(),
        calls_answered: a.calls_answered,
    }
}

fn waiting_view(w: &WaitingCaller) -> WaitingView {
    WaitingView {
        call: w.call.clone(),
        caller: w.caller.clone(),
        position: w.position,
        waiting_since_unix_ms: unix_ms() - w.waited_ms as i64,
        why: w.why.clone(),
        expected_wait_ms: w.expected_wait_ms,
        ringing: w.ringing.clone(),
        callback: w.callback,
        agitation: w.agitation,
        summary: w.summary.clone(),
    }
}

/// What the ACD hears of a ring that was not answered.
fn unanswered(leg: Leg, no_answer: bool) -> AcdInput {
    let (agent, call) = (leg.agent, leg.call_id);
    if no_answer {
        AcdInput::AgentNoAnswer { agent, call }
    } else {
        AcdInput::AgentRejected { agent, call }
    }
}

/// The handoff an agent's phone receives with the call.
pub fn handoff_headers(q: &QueuedCall, http_base: Option<&str>) -> Vec<(String, String)> {
    let mut headers = vec![
        (
            "X-IVR-Intent".to_string(),
            header_safe(q.intent.as_deref().unwrap_or("none"), 64),
        ),
        (
            "X-IVR-Agitation".to_string(),
            format!(
                "{:.2}; level={}",
                q.agitation,
                header_safe(&q.agitation_level, 16)
            ),
        ),
        ("X-IVR-Summary".to_string(), header_safe(&q.summary, 300)),
        ("X-IVR-Queue".to_string(), header_safe(&q.queue, 64)),
    ];
    if let Some(base) = http_base {
        headers.push((
            "Call-Info".to_string(),
            format!("<{base}/api/calls/{}>;purpose=info", q.id),
        ));
    }
    headers
}

/// One line of printable text, at most `max` characters: no CR/LF or other
/// control characters can reach a SIP header.
pub fn header_safe(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let line = words.join(" ");
    match line.char_indices().nth(max) {
        Some((cut, _)) => line[..cut].trim_end().to_string(),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_safe_strips_line_breaks_and_limits_length() {
        assert_eq!(header_safe("a\r\nInjected: x", 100), "a Injected: x");
        assert_eq!(header_safe("  spaced\tout  ", 100), "spaced out");
        assert_eq!(header_safe("转人工转人工", 3), "转人工");
    }
}
