//! Connects callers to people. Owns the ACD (the sans-IO queue core), rings
//! agents' registered phones with the handoff in the INVITE and tells the
//! caller's task when to bridge; puts callers through to outside numbers
//! (queues that transfer, and agents passing a caller on with REFER);
//! carries out booked callbacks (the agent first, then the caller's number);
//! and takes agents' feature codes, dialled or keyed during a call. Lives
//! inside the SIP task, which owns the endpoint it drives.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::board::LiveEvent;
use crate::queue::{
    Acd, AcdConfig, AcdEvent, AgentState, Input as AcdInput, KeyedCodes, Output as AcdOutput,
};
use crate::runtime::call_task::{CallMsg, QueuedCall};
use crate::runtime::callback_call::{self, CallbackMsg, CallbackSetup};
use crate::runtime::clock::Clock;
use crate::runtime::engine::SharedEngine;
use crate::runtime::feature_call;
use crate::runtime::handoff_headers::{handoff_headers, header_safe};
use crate::runtime::live::{LiveBoard, agent_view, waiting_view};
use crate::runtime::outbound::{self, OutboundRoute};
use crate::runtime::rtp_ports::RtpPorts;
use crate::runtime::rtp_socket::RtpSocket;
use crate::runtime::server::user_of;
use crate::runtime::supervise::{AgentChange, SuperviseError, SupervisorAction};
use crate::sip::{CallHandle, EndReason, Endpoint, SipEvent};

/// How long a callback's number may ring before the try counts as
/// unanswered (the ACD tries again later).
const CALLBACK_RING_MS: u64 = 30_000;
/// How long an outside number may ring before the caller goes back to
/// waiting for an agent.
const OUTSIDE_RING_MS: u64 = 45_000;

type Calls = HashMap<CallHandle, mpsc::Sender<CallMsg>>;

// Placing legs (agents' phones, outside numbers, callbacks) and what
// happens when they fail or end.
#[path = "switchboard_dial.rs"]
mod dial;

/// Who a leg the engine placed reaches, and for what.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    /// An agent's phone rung for a waiting caller.
    Agent { agent: String },
    /// An outside number the caller is put through to. Should it fail the
    /// caller waits in `fallback`, or stays with the agent who passed them
    /// on (`referred_by`, their leg) if that agent is still there.
    Outside {
        target: String,
        fallback: String,
        referred_by: Option<CallHandle>,
    },
    /// An agent's phone rung for a booked callback.
    CallbackAgent { agent: String },
    /// The callback's number, dialled once the agent answered.
    CallbackCaller,
}

/// A leg the engine placed (UAC).
struct Leg {
    /// The engine call id of the caller, or of the booked callback.
    call_id: String,
    /// The caller's own leg; `None` for callbacks (the caller hung up).
    caller: Option<CallHandle>,
    role: Role,
    answered: bool,
    /// The agent passed the caller on: this leg ending leaves the caller on
    /// the line.
    released: bool,
    /// Not answered by then: given up (outside numbers and callbacks; the
    /// ACD times agents' rings itself).
    give_up_at: Option<u64>,
}

/// A booked callback being carried out.
struct CallbackRun {
    agent: String,
    agent_leg: CallHandle,
    /// The agent leg's RTP socket, until the agent answers.
    agent_socket: Option<RtpSocket>,
    caller_leg: Option<CallHandle>,
    task: Option<mpsc::Sender<CallbackMsg>>,
}

/// Dialling that must await (a port, a name look-up) before SIP goes out.
#[derive(Debug)]
enum Dial {
    Outside {
        call: String,
        target: String,
        fallback: String,
        referred_by: Option<CallHandle>,
    },
    CallbackCaller {
        call: String,
    },
}

pub struct Switchboard {
    engine: SharedEngine,
    clock: Clock,
    acd: Acd,
    /// Callers on the line who were queued (or put through), by call id.
    queued: HashMap<String, QueuedCall>,
    legs: HashMap<CallHandle, Leg>,
    /// The current leg of each caller or callback (ringing or bridged).
    leg_of: HashMap<String, CallHandle>,
    /// Agents whose phones are registered now.
    registered: HashSet<String>,
    /// Base of the Call-Info URL (`http://host:port`), when the API runs.
    http_base: Option<String>,
    live: Arc<LiveBoard>,
    /// Booked callbacks, by the id of the call that booked them.
    callbacks: HashMap<String, QueuedCall>,
    runs: HashMap<String, CallbackRun>,
    /// Tries per callback, for the callback records' ids.
    tries: HashMap<String, u32>,
    /// Digits each agent keyed during calls, gathered into feature codes.
    keyed: HashMap<String, KeyedCodes>,
    dials: Vec<Dial>,
    /// Callbacks in progress (each stores its record when it ends).
    tasks: JoinSet<()>,
}

impl Switchboard {
    pub fn new(
        engine: SharedEngine,
        clock: Clock,
        config: AcdConfig,
        http_base: Option<String>,
    ) -> Switchboard {
        for warning in config.warnings() {
            tracing::warn!("queues: {warning}");
        }
        let live = engine.live.clone();
        let acd = Acd::new(config);
        for agent in acd.agents() {
            live.publish(LiveEvent::Agent(agent_view(0, &agent)));
        }
        Switchboard {
            engine,
            clock,
            acd,
            queued: HashMap::new(),
            legs: HashMap::new(),
            leg_of: HashMap::new(),
            registered: HashSet::new(),
            http_base,
            live,
            callbacks: HashMap::new(),
            runs: HashMap::new(),
            tries: HashMap::new(),
            keyed: HashMap::new(),
            dials: Vec::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Earlier calls from a number within this window make a repeat caller.
    pub fn repeat_window_ms(&self) -> u64 {
        self.acd.config().repeat_window_ms
    }

    pub fn transcribe_after_bridge(&self) -> bool {
        self.acd.config().transcribe_after_bridge
    }

    /// Callbacks in progress; each ends by storing its record.
    pub fn tasks_running(&self) -> usize {
        self.tasks.len()
    }

    /// Waits for the next callback task to end (forever when none runs).
    pub async fn join_next(&mut self) {
        if self.tasks.join_next().await.is_none() {
            std::future::pending::<()>().await;
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
            SupervisorAction::EndCall { .. } | SupervisorAction::ListenIn { .. } => {
                return Err(SuperviseError::Refused("not a queue action".into()));
            }
        };
        self.acd
            .handle_input(now_ms, input)
            .map_err(|e| SuperviseError::Refused(e.to_string()))
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let give_up = self.legs.values().filter_map(|l| l.give_up_at).min();
        match (self.acd.poll_timeout(), give_up) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// ACD timers, and outside numbers or callbacks that rang too long
    /// (hung up here; their end is handled as any unanswered leg's).
    pub fn handle_timeout(&mut self, now_ms: u64, endpoint: &mut Endpoint) {
        self.acd.handle_timeout(now_ms);
        for (handle, leg) in self.legs.iter_mut() {
            if leg.give_up_at.is_some_and(|at| at <= now_ms) {
                leg.give_up_at = None;
                if !leg.answered {
                    endpoint.hangup(now_ms, *handle);
                }
            }
        }
    }

    pub fn caller_queued(&mut self, now_ms: u64, q: QueuedCall, calls: &Calls) {
        // The caller may have hung up while this was on its way.
        if !calls.contains_key(&q.handle) {
            return;
        }
        let transfer = self
            .acd
            .config()
            .queue(&q.queue)
            .and_then(|c| c.transfer.clone());
        let id = q.id.clone();
        let current = self.leg_of.get(&id).and_then(|h| self.legs.get(h));
        let outside_to = current.and_then(|l| match &l.role {
            Role::Outside { target, .. } => Some(target.clone()),
            _ => None,
        });
        match transfer {
            Some(target) => {
                self.queued.insert(id.clone(), q.clone());
                if outside_to.as_deref() == Some(target.as_str()) {
                    return; // already on the way there
                }
                // Out of the ACD (a ring in progress is cancelled).
                if self.acd.waiting_caller(now_ms, &id).is_some() {
                    self.acd_input(now_ms, AcdInput::CallerLeft { call: id.clone() });
                }
                let fallback = self.fallback_queue(&q.queue);
                self.dials.push(Dial::Outside {
                    call: id,
                    target,
                    fallback,
                    referred_by: None,
                });
            }
            None => {
                let input = AcdInput::CallerQueued {
                    call: id.clone(),
                    queue: q.queue.clone(),
                    caller: q.caller.clone(),
                    agitated: q.agitated,
                    agitation: q.agitation,
                    repeat: q.repeat,
                    summary: q.summary.clone(),
                };
                self.queued.insert(id, q);
                self.acd_input(now_ms, input);
            }
        }
    }

    pub fn callback_requested(&mut self, now_ms: u64, call: String) {
        self.acd_input(now_ms, AcdInput::CallbackRequested { call });
    }

    /// The caller was re-routed to self-service: out of the queue, and any
    /// leg placed for them (ringing, or answered during the transfer line)
    /// is hung up.
    pub fn caller_left_queue(&mut self, now_ms: u64, endpoint: &mut Endpoint, id: &str) {
        if self.queued.remove(id).is_none() {
            return;
        }
        let connected = self.drop_legs_of(now_ms, endpoint, id);
        self.leave_acd(now_ms, id, connected);
    }

    /// The caller's leg ended: leave the queue, hang up every leg placed
    /// for them.
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
        let connected = self.drop_legs_of(now_ms, endpoint, &id);
        self.leave_acd(now_ms, &id, connected);
    }

    /// An agent keyed a digit during a call (RTP event or SIP INFO).
    pub fn agent_keyed(&mut self, now_ms: u64, agent: &str, digit: char) {
        let codes = &self.acd.config().feature_codes;
        let keyed = self.keyed.entry(agent.to_string()).or_default();
        let Some(code) = keyed.push(now_ms, digit, codes) else {
            return;
        };
        if let Some(input) = self.acd.config().feature_input(agent, &code) {
            tracing::info!(%agent, %code, "feature code keyed during a call");
            self.acd_input(now_ms, input);
        }
    }

    /// An INVITE that is an agent's phone dialling a feature code: applies
    /// it and gives the prompt key and line the agent hears. `None`: an
    /// ordinary call. Only the agent's own registered phone counts (the
    /// INVITE comes from where its digest-authenticated REGISTER came
    /// from): a From header alone is easy to forge.
    pub fn feature_code(
        &mut self,
        now_ms: u64,
        endpoint: &Endpoint,
        call: CallHandle,
        from_uri: &str,
        to_uri: &str,
    ) -> Option<(String, String)> {
        let agent = user_of(from_uri);
        let dialled = unescape_keys(&user_of(to_uri));
        let input = self.acd.config().feature_input(&agent, &dialled)?;
        let (_, phone) = endpoint.registration(&agent)?;
        let from = endpoint.peer_of(call)?;
        if phone.addr != from.addr {
            tracing::warn!(%agent, %dialled, from = %from.addr, "feature code not from the agent's registered phone");
            return None;
        }
        tracing::info!(%agent, code = %dialled, "feature code dialled");
        self.acd_input(now_ms, input);
        let state = self.acd.agent(&agent).map(|a| a.state);
        Some(feature_call::confirmation(self.engine.language, state))
    }

    /// Handles the SIP events that concern agents and the legs placed here;
    /// gives back the others.
    pub fn sip_event(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        calls: &Calls,
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
                self.answered(now_ms, endpoint, calls, call, answer);
                None
            }
            SipEvent::Failed { call, status } if self.legs.contains_key(&call) => {
                let no_answer = status == 408 || status == 480;
                self.leg_over(now_ms, endpoint, calls, call, status, no_answer);
                None
            }
            SipEvent::CallEnded { call, reason } if self.legs.contains_key(&call) => {
                let no_answer = matches!(reason, EndReason::Failed(408) | EndReason::Cancelled);
                let status = match reason {
                    EndReason::Failed(code) => code,
                    EndReason::Cancelled => 487,
                    _ => 200,
                };
                self.leg_over(now_ms, endpoint, calls, call, status, no_answer);
                None
            }
            SipEvent::Refer { call, target } if self.legs.contains_key(&call) => {
                self.referred(endpoint, now_ms, call, target);
                None
            }
            SipEvent::Refer { call, .. } => {
                // Callers cannot send the engine elsewhere.
                let _ = endpoint.refer_status(now_ms, call, 603);
                None
            }
            SipEvent::Info { call, dtmf } if self.legs.contains_key(&call) => {
                let agent = match self.legs.get(&call).map(|l| &l.role) {
                    Some(Role::Agent { agent } | Role::CallbackAgent { agent }) => agent.clone(),
                    _ => return None,
                };
                self.agent_keyed(now_ms, &agent, dtmf);
                None
            }
            SipEvent::Ringing { call } if self.legs.contains_key(&call) => {
                if let Some(Role::Outside {
                    referred_by: Some(agent_leg),
                    ..
                }) = self.legs.get(&call).map(|l| &l.role)
                {
                    let _ = endpoint.refer_status(now_ms, *agent_leg, 180);
                }
                None
            }
            other => Some(other),
        }
    }

    /// Carries out what the ACD decided (ring, stop ringing, announce, call
    /// back), then the dialling that needs awaiting.
    pub async fn drain(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        ports: &RtpPorts,
        calls: &Calls,
    ) {
        loop {
            while let Some(out) = self.acd.poll_output() {
                self.acd_output(now_ms, endpoint, ports, calls, out).await;
            }
            let dials = std::mem::take(&mut self.dials);
            if dials.is_empty() {
                break;
            }
            for dial in dials {
                self.dial(now_ms, endpoint, ports, calls, dial).await;
            }
        }
    }

    /// The engine is stopping: callbacks in progress end and store their
    /// records.
    pub fn shutdown(&mut self, now_ms: u64, endpoint: &mut Endpoint) {
        for (_, run) in self.runs.drain() {
            for leg in [Some(run.agent_leg), run.caller_leg].into_iter().flatten() {
                self.legs.remove(&leg);
                endpoint.hangup(now_ms, leg);
            }
            if let Some(task) = run.task {
                let reason = "shutdown".to_string();
                let _ = task.try_send(CallbackMsg::Ended { reason });
            }
        }
    }

    async fn acd_output(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        ports: &RtpPorts,
        calls: &Calls,
        out: AcdOutput,
    ) {
        match out {
            AcdOutput::RingAgent { agent, call, .. } => {
                let rung = match self.queued.get(&call).cloned() {
                    Some(q) => {
                        self.ring(now_ms, endpoint, ports, calls, &agent, &q, false)
                            .await
                    }
                    None => Err("caller no longer waiting".to_string()),
                };
                if let Err(reason) = rung {
                    tracing::warn!(%agent, %call, "cannot ring agent: {reason}");
                    self.acd_input(now_ms, AcdInput::AgentNoAnswer { agent, call });
                }
            }
            AcdOutput::CallbackDue { call, agent, .. } => {
                let rung = match self.callbacks.get(&call).cloned() {
                    Some(q) => {
                        self.ring(now_ms, endpoint, ports, calls, &agent, &q, true)
                            .await
                    }
                    None => Err("no such callback".to_string()),
                };
                if let Err(reason) = rung {
                    tracing::warn!(%agent, %call, "cannot ring agent for a callback: {reason}");
                    self.acd_input(now_ms, AcdInput::AgentNoAnswer { agent, call });
                }
            }
            AcdOutput::CancelRing { call, .. } => {
                self.runs.remove(&call);
                if let Some(leg) = self.leg_of.remove(&call) {
                    if let Some(l) = self.legs.remove(&leg) {
                        tell_leg_ended(calls, &l, leg, false);
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
            AcdOutput::OfferCallback { call } => self.tell(calls, &call, CallMsg::OfferCallback),
            AcdOutput::CallbackAccepted { call } => {
                if let Some(q) = self.queued.get(&call) {
                    self.callbacks.insert(call.clone(), q.clone());
                }
                self.tell(calls, &call, CallMsg::CallbackAccepted);
            }
            AcdOutput::Overflow { call, to, .. } => {
                // Overflowing into a queue that puts callers through.
                let transfer = self
                    .acd
                    .config()
                    .queue(&to)
                    .and_then(|q| q.transfer.clone());
                if let (Some(target), Some(q)) = (transfer, self.queued.get_mut(&call)) {
                    q.queue = to.clone();
                    self.acd_input(now_ms, AcdInput::CallerLeft { call: call.clone() });
                    let fallback = self.fallback_queue(&to);
                    self.dials.push(Dial::Outside {
                        call,
                        target,
                        fallback,
                        referred_by: None,
                    });
                }
            }
            AcdOutput::Event(event) => self.publish(now_ms, event),
        }
    }

    /// Rings `agent`'s registered phone for caller (or callback) `q`.
    #[allow(clippy::too_many_arguments)]
    async fn ring(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        ports: &RtpPorts,
        calls: &Calls,
        agent: &str,
        q: &QueuedCall,
        callback: bool,
    ) -> Result<(), String> {
        let (contact, peer) = endpoint
            .registration(agent)
            .ok_or("agent's phone is not registered")?;
        let socket = ports.bind().ok_or("no free RTP port")?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let mut headers = handoff_headers(q, self.http_base.as_deref());
        if callback {
            headers.push(("X-IVR-Callback".to_string(), header_safe(&q.caller, 64)));
        }
        let leg = endpoint
            .invite(now_ms, &contact, peer, "ivr", local, &headers)
            .map_err(|e| e.to_string())?;
        let agent = agent.to_string();
        let role = match callback {
            true => Role::CallbackAgent {
                agent: agent.clone(),
            },
            false => Role::Agent {
                agent: agent.clone(),
            },
        };
        self.legs.insert(
            leg,
            Leg {
                call_id: q.id.clone(),
                caller: (!callback).then_some(q.handle),
                role,
                answered: false,
                released: false,
                give_up_at: None,
            },
        );
        self.leg_of.insert(q.id.clone(), leg);
        if callback {
            tracing::info!(%agent, call = %q.id, "agent ringing for a callback");
            self.runs.insert(
                q.id.clone(),
                CallbackRun {
                    agent,
                    agent_leg: leg,
                    agent_socket: Some(socket),
                    caller_leg: None,
                    task: None,
                },
            );
        } else if let Some(tx) = calls.get(&q.handle) {
            let after_ms = now_ms.saturating_sub(q.decided_at_ms);
            tracing::info!(%agent, call = %q.id, after_ms, "agent ringing");
            let _ = tx.try_send(CallMsg::AgentRinging {
                leg,
                agent,
                socket,
                after_ms,
            });
        }
        Ok(())
    }

    fn answered(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        calls: &Calls,
        call: CallHandle,
        answer: crate::sip::MediaOffer,
    ) {
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        leg.answered = true;
        leg.give_up_at = None;
        let (id, caller, role) = (leg.call_id.clone(), leg.caller, leg.role.clone());
        match role {
            Role::Agent { agent } => {
                if let Some(tx) = caller.and_then(|c| calls.get(&c)) {
                    let _ = tx.try_send(CallMsg::AgentAnswered {
                        leg: call,
                        agent: agent.clone(),
                        offer: answer,
                    });
                }
                self.acd_input(now_ms, AcdInput::AgentAnswered { agent, call: id });
            }
            Role::Outside {
                target,
                referred_by,
                ..
            } => {
                tracing::info!(call = %id, %target, "put through");
                if let Some(tx) = caller.and_then(|c| calls.get(&c)) {
                    let _ = tx.try_send(CallMsg::AgentAnswered {
                        leg: call,
                        agent: target,
                        offer: answer,
                    });
                }
                // The agent who passed the caller on hears it worked, and
                // their leg ends (most phones hang up by themselves).
                if let Some(agent_leg) = referred_by
                    && self.legs.contains_key(&agent_leg)
                {
                    let _ = endpoint.refer_status(now_ms, agent_leg, 200);
                    endpoint.hangup(now_ms, agent_leg);
                }
            }
            Role::CallbackAgent { agent } => {
                self.acd_input(
                    now_ms,
                    AcdInput::AgentAnswered {
                        agent: agent.clone(),
                        call: id.clone(),
                    },
                );
                let Some(run) = self.runs.get_mut(&id) else {
                    return;
                };
                let Some(socket) = run.agent_socket.take() else {
                    return;
                };
                let Some(q) = self.callbacks.get(&id) else {
                    return;
                };
                let tries = self.tries.entry(id.clone()).or_default();
                *tries += 1;
                let (tx, rx) = mpsc::channel(16);
                let setup = CallbackSetup {
                    id: format!("{id}-cb{tries}"),
                    of_call: id.clone(),
                    caller: q.caller.clone(),
                    agent,
                    queue: q.queue.clone(),
                    summary: q.summary.clone(),
                    agent_socket: socket,
                    agent_offer: answer,
                };
                run.task = Some(tx);
                self.tasks.spawn(callback_call::run(
                    self.engine.clone(),
                    self.clock,
                    setup,
                    rx,
                ));
                self.dials.push(Dial::CallbackCaller { call: id });
            }
            Role::CallbackCaller => {
                if let Some(task) = self.runs.get(&id).and_then(|r| r.task.as_ref()) {
                    let _ = task.try_send(CallbackMsg::CallerAnswered { offer: answer });
                }
            }
        }
    }

    /// A leg placed here ended or failed. `status`: the final status of an
    /// unanswered leg (487 when we gave up).
    fn leg_over(
        &mut self,
        now_ms: u64,
        endpoint: &mut Endpoint,
        calls: &Calls,
        call: CallHandle,
        status: u16,
        no_answer: bool,
    ) {
        let Some(leg) = self.end_leg(call) else {
            return;
        };
        let id = leg.call_id.clone();
        match (&leg.role, leg.answered) {
            (Role::Agent { .. }, false) => {
                tell_leg_ended(calls, &leg, call, false);
                self.acd_input(now_ms, unanswered(&leg, no_answer));
            }
            (Role::Agent { .. }, true) if leg.released => {
                // The agent passed the caller on and left: their call is
                // over, the caller's is not.
                tell_leg_ended(calls, &leg, call, true);
                self.acd_input(now_ms, AcdInput::CallEnded { call: id });
            }
            (Role::Agent { .. } | Role::Outside { .. }, true) => {
                self.queued.remove(&id);
                tell_leg_ended(calls, &leg, call, false);
                if matches!(leg.role, Role::Agent { .. }) {
                    self.acd_input(now_ms, AcdInput::CallEnded { call: id });
                }
            }
            (
                Role::Outside {
                    target,
                    fallback,
                    referred_by,
                },
                false,
            ) => {
                tracing::info!(call = %id, %target, status, "outside number not reached");
                tell_leg_ended(calls, &leg, call, true);
                self.outside_failed(now_ms, endpoint, &id, fallback, *referred_by, status);
            }
            (Role::CallbackAgent { .. }, false) => {
                self.runs.remove(&id);
                self.acd_input(now_ms, unanswered(&leg, no_answer));
            }
            (Role::CallbackAgent { .. }, true) => {
                let caller_answered = self
                    .runs
                    .get(&id)
                    .and_then(|r| r.caller_leg)
                    .and_then(|h| self.legs.get(&h))
                    .is_some_and(|l| l.answered);
                if caller_answered {
                    self.callback_over(now_ms, endpoint, &id, "agent_hung_up");
                } else {
                    // The agent gave up before the caller answered: try later.
                    self.callback_failed(now_ms, endpoint, &id, "agent_hung_up");
                }
            }
            (Role::CallbackCaller, true) => {
                self.callback_over(now_ms, endpoint, &id, "caller_hung_up")
            }
            (Role::CallbackCaller, false) => {
                let reason = format!("caller_not_reached_{status}");
                self.callback_failed(now_ms, endpoint, &id, &reason);
            }
        }
    }

    /// The agent's phone asked (REFER) that the caller be put through to
    /// `target`: a new leg is dialled; the agent's own leg ends without
    /// ending the caller's call.
    fn referred(
        &mut self,
        endpoint: &mut Endpoint,
        now_ms: u64,
        agent_leg: CallHandle,
        target: String,
    ) {
        let Some(leg) = self.legs.get_mut(&agent_leg) else {
            return;
        };
        let allowed = matches!(leg.role, Role::Agent { .. }) && leg.answered && !leg.released;
        if !allowed || !self.queued.contains_key(&leg.call_id) {
            let _ = endpoint.refer_status(now_ms, agent_leg, 603);
            return;
        }
        leg.released = true;
        let call = leg.call_id.clone();
        tracing::info!(%call, %target, "agent transfers the caller");
        let fallback = self
            .queued
            .get(&call)
            .map(|q| self.fallback_queue(&q.queue))
            .unwrap_or_default();
        self.dials.push(Dial::Outside {
            call,
            target,
            fallback,
            referred_by: Some(agent_leg),
        });
    }

    /// Hangs up every leg placed for caller `id`; whether an agent was
    /// talking to them.
    fn drop_legs_of(&mut self, now_ms: u64, endpoint: &mut Endpoint, id: &str) -> bool {
        let mine: Vec<CallHandle> = self
            .legs
            .iter()
            .filter(|(_, l)| l.call_id == id && l.caller.is_some())
            .map(|(h, _)| *h)
            .collect();
        let mut connected = false;
        for handle in mine {
            if let Some(leg) = self.legs.remove(&handle) {
                connected |= leg.answered && matches!(leg.role, Role::Agent { .. });
            }
            endpoint.hangup(now_ms, handle);
        }
        self.leg_of.remove(id);
        connected
    }

    /// Tells the ACD the caller is gone: the agent they talked to goes to
    /// wrap-up; a waiting caller leaves (a ring in progress is cancelled).
    fn leave_acd(&mut self, now_ms: u64, id: &str, connected: bool) {
        let call = id.to_string();
        let input = if connected {
            AcdInput::CallEnded { call }
        } else {
            AcdInput::CallerLeft { call }
        };
        self.acd_input(now_ms, input);
    }

    /// Forgets a leg (and its caller's pointer to it).
    fn end_leg(&mut self, call: CallHandle) -> Option<Leg> {
        let leg = self.legs.remove(&call)?;
        if self.leg_of.get(&leg.call_id) == Some(&call) {
            self.leg_of.remove(&leg.call_id);
        }
        Some(leg)
    }

    /// Where a caller of `queue` waits when its outside number fails: its
    /// overflow, else the dialplan's default queue, if those do not put
    /// callers through themselves.
    fn fallback_queue(&self, queue: &str) -> String {
        let config = self.acd.config();
        let staffed = |name: &str| config.queue(name).is_some_and(|q| q.transfer.is_none());
        let overflow = config.queue(queue).and_then(|q| q.overflow.clone());
        let default = self.engine.dialplan.default_queue.clone();
        [overflow, Some(default)]
            .into_iter()
            .flatten()
            .find(|q| staffed(q))
            .or_else(|| {
                config
                    .queues
                    .iter()
                    .find(|q| q.transfer.is_none())
                    .map(|q| q.name.clone())
            })
            .unwrap_or_else(|| queue.to_string())
    }

    /// Shows the ACD's changes on the board.
    fn publish(&mut self, now_ms: u64, event: AcdEvent) {
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
                self.callbacks.remove(&call);
                self.tries.remove(&call);
                return;
            }
        };
        self.live.publish(live);
    }

    /// Sends a message to a waiting caller's task.
    fn tell(&self, calls: &Calls, call: &str, msg: CallMsg) {
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

/// Tells the caller's task a leg placed for them is over.
fn tell_leg_ended(calls: &Calls, leg: &Leg, handle: CallHandle, caller_stays: bool) {
    if let Some(tx) = leg.caller.and_then(|c| calls.get(&c)) {
        let _ = tx.try_send(CallMsg::AgentLegEnded {
            leg: handle,
            caller_stays,
        });
    }
}

/// What the ACD hears of a ring that was not answered.
fn unanswered(leg: &Leg, no_answer: bool) -> AcdInput {
    let agent = match &leg.role {
        Role::Agent { agent } | Role::CallbackAgent { agent } => agent.clone(),
        _ => String::new(),
    };
    let call = leg.call_id.clone();
    if no_answer {
        AcdInput::AgentNoAnswer { agent, call }
    } else {
        AcdInput::AgentRejected { agent, call }
    }
}

/// Feature codes may arrive escaped in the Request-URI (`%2A3`).
fn unescape_keys(user: &str) -> String {
    user.replace("%2A", "*")
        .replace("%2a", "*")
        .replace("%23", "#")
}

/// Usable as the user part of our From URI.
fn is_sip_user(user: &str) -> bool {
    !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-_.!~*'()&=$,".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_feature_codes_are_read_as_keyed() {
        assert_eq!(unescape_keys("%2A3"), "*3");
        assert_eq!(unescape_keys("*1"), "*1");
        assert_eq!(unescape_keys("%23%2a"), "#*");
    }

    #[test]
    fn only_plain_users_go_into_our_from() {
        assert!(is_sip_user("hotline"));
        assert!(is_sip_user("+15551234"));
        assert!(!is_sip_user(""));
        assert!(!is_sip_user("a@b"));
        assert!(!is_sip_user("a;b"));
    }
}
