//! `ivr serve`: the SIP endpoint on UDP and TCP, one task per answered call.
//!
//! One task owns the sans-IO SIP [`Endpoint`]: it feeds it datagrams and TCP
//! messages, fires its timers, sends what it asks and turns its events into
//! call tasks. Shutdown stops new calls (503), hangs up the current ones and
//! waits until every call record is stored.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::sleep_until;

use crate::runtime::call_task::{CallMsg, CallSetup, CallTask, SipCommand};
use crate::runtime::clock::{Clock, unix_ms};
use crate::runtime::engine::SharedEngine;
use crate::runtime::rtp_ports::RtpPorts;
use crate::runtime::sip_tcp::{TcpConnections, TcpIn, accept_loop};
use crate::runtime::supervise::{SuperviseError, SuperviseRequest, Supervisor, SupervisorAction};
use crate::runtime::switchboard::Switchboard;
use crate::sip::{
    AgentCredential, CallHandle, Endpoint, EndpointConfig, Input, Output, Peer, SipEvent, Transport,
};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot bind SIP {transport} on {addr}: {source}")]
    Bind {
        transport: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// SIP over UDP; port 0 picks a free one (tests).
    pub sip_udp: SocketAddr,
    /// SIP over TCP; port 0 takes the UDP port.
    pub sip_tcp: Option<SocketAddr>,
    pub rtp_ip: std::net::IpAddr,
    pub rtp_ports: (u16, u16),
    pub max_calls: usize,
    /// Queues and agents (the ACD's settings).
    pub acd: crate::queue::AcdConfig,
    /// Where the HTTP API answers, for the Call-Info URL agents receive.
    pub http: Option<SocketAddr>,
    /// Agents' phones that may REGISTER (digest authentication).
    pub agents: Vec<AgentCredential>,
}

/// A server running in the background of a tokio runtime.
pub struct RunningServer {
    pub sip_udp: SocketAddr,
    pub sip_tcp: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Stops taking calls, hangs up the current ones and waits until their
    /// records are stored.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.done.await;
    }
}

pub async fn start(
    engine: SharedEngine,
    options: ServeOptions,
) -> Result<RunningServer, ServeError> {
    let udp = UdpSocket::bind(options.sip_udp)
        .await
        .map_err(|source| ServeError::Bind {
            transport: "UDP",
            addr: options.sip_udp,
            source,
        })?;
    let sip_udp = udp.local_addr().map_err(|source| ServeError::Bind {
        transport: "UDP",
        addr: options.sip_udp,
        source,
    })?;
    let (tcp_tx, tcp_rx) = mpsc::channel(1024);
    let connections = TcpConnections::default();
    let mut sip_tcp = None;
    if let Some(mut addr) = options.sip_tcp {
        if addr.port() == 0 {
            addr.set_port(sip_udp.port());
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind {
                transport: "TCP",
                addr,
                source,
            })?;
        sip_tcp = listener.local_addr().ok();
        tokio::spawn(accept_loop(listener, tcp_tx, connections.clone()));
    }
    let (stop, stop_rx) = watch::channel(false);
    let clock = Clock::new();
    let endpoint = Endpoint::new(EndpointConfig {
        local_addr: sip_udp,
        user_agent: format!("ivr/{}", env!("CARGO_PKG_VERSION")),
        codecs: vec![crate::sip::Codec::Pcmu, crate::sip::Codec::Pcma],
        seed: unix_ms() as u64,
        agents: options.agents.clone(),
        realm: "ivr".to_string(),
    });
    let (supervise_tx, supervise_rx) = mpsc::channel(64);
    // A second server on the same engine (tests) keeps the first's handle.
    let _ = engine.supervisor.set(Supervisor::new(supervise_tx));
    // Waits that cross their queue's target are flagged with no event.
    engine.live.spawn_alert_timer();
    let switchboard = Switchboard::new(
        engine.clone(),
        clock,
        options.acd.clone(),
        options.http.map(|a| format!("http://{a}")),
    );
    let sip = SipLoop {
        engine,
        supervise_rx,
        ids: HashMap::new(),
        clock,
        endpoint,
        udp: Arc::new(udp),
        tcp_rx,
        connections,
        ports: RtpPorts::new(options.rtp_ip, options.rtp_ports),
        calls: HashMap::new(),
        tasks: JoinSet::new(),
        max_calls: options.max_calls,
        stopping: false,
        switchboard,
    };
    let done = tokio::spawn(sip.run(stop_rx));
    tracing::info!(%sip_udp, ?sip_tcp, "SIP listening");
    Ok(RunningServer {
        sip_udp,
        sip_tcp,
        stop,
        done,
    })
}

struct SipLoop {
    engine: SharedEngine,
    supervise_rx: mpsc::Receiver<SuperviseRequest>,
    /// Live calls by engine call id, for supervisors' actions.
    ids: HashMap<String, CallHandle>,
    clock: Clock,
    endpoint: Endpoint,
    udp: Arc<UdpSocket>,
    tcp_rx: mpsc::Receiver<TcpIn>,
    connections: TcpConnections,
    ports: RtpPorts,
    calls: HashMap<CallHandle, mpsc::Sender<CallMsg>>,
    tasks: JoinSet<()>,
    max_calls: usize,
    stopping: bool,
    switchboard: Switchboard,
}

impl SipLoop {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let (cmd_tx, mut cmd_rx) = mpsc::channel::<SipCommand>(1024);
        let mut buf = vec![0u8; 65_535];
        // After shutdown starts, how long calls get to hang up cleanly.
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let due = match (
                self.endpoint.poll_timeout(),
                self.switchboard.poll_timeout(),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let timer = due.map(|ms| self.clock.instant_at(ms));
            let far = tokio::time::Instant::now() + Duration::from_secs(3600);
            let mut wake: tokio::time::Instant = timer.map_or(far, Into::into);
            // A stopping engine must wake for its deadline even when idle.
            if let Some(d) = deadline {
                wake = wake.min(d);
            }
            tokio::select! {
                received = self.udp.recv_from(&mut buf) => {
                    if let Ok((n, addr)) = received {
                        let peer = Peer { transport: Transport::Udp, addr };
                        self.endpoint.handle_input(self.clock.now_ms(), Input::Received { peer, bytes: &buf[..n] });
                    }
                }
                Some(TcpIn { addr, bytes }) = self.tcp_rx.recv() => {
                    let peer = Peer { transport: Transport::Tcp, addr };
                    self.endpoint.handle_input(self.clock.now_ms(), Input::Received { peer, bytes: &bytes });
                }
                Some(cmd) = cmd_rx.recv() => {
                    let now = self.clock.now_ms();
                    match cmd {
                        SipCommand::Hangup(call) => self.endpoint.hangup(now, call),
                        SipCommand::Queued(q) => self.switchboard.caller_queued(now, q, &self.calls),
                        SipCommand::CallbackRequested(id) => self.switchboard.callback_requested(now, id),
                        SipCommand::LeftQueue(id) => {
                            self.switchboard.caller_left_queue(now, &mut self.endpoint, &id)
                        }
                        SipCommand::AgentKeyed { agent, digit } => {
                            self.switchboard.agent_keyed(now, &agent, digit)
                        }
                    }
                }
                Some(req) = self.supervise_rx.recv() => {
                    let result = self.supervise(req.action);
                    let _ = req.reply.send(result);
                }
                _ = sleep_until(wake) => {
                    let now = self.clock.now_ms();
                    self.endpoint.handle_timeout(now);
                    self.switchboard.handle_timeout(now, &mut self.endpoint);
                }
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
                _ = self.switchboard.join_next(), if self.switchboard.tasks_running() > 0 => {}
                changed = stop.changed(), if !self.stopping => {
                    if changed.is_err() || *stop.borrow() {
                        self.begin_shutdown();
                        deadline = Some(tokio::time::Instant::now() + Duration::from_secs(10));
                    }
                }
            }
            self.flush_outputs(&cmd_tx).await;
            // Ringing an agent sends SIP; what that brings is flushed too.
            self.switchboard
                .drain(
                    self.clock.now_ms(),
                    &mut self.endpoint,
                    &self.ports,
                    &self.calls,
                )
                .await;
            self.flush_outputs(&cmd_tx).await;
            if self.stopping
                && self.tasks.is_empty()
                && self.switchboard.tasks_running() == 0
                && (self.endpoint.active_calls() == 0
                    || deadline.is_some_and(|d| tokio::time::Instant::now() >= d))
            {
                break;
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                break;
            }
        }
        // Calls still running past the deadline are told again and awaited:
        // their records must reach the store.
        for tx in self.calls.values() {
            let _ = tx.try_send(CallMsg::Shutdown);
        }
        while self.tasks.join_next().await.is_some() {}
        while self.switchboard.tasks_running() > 0 {
            self.switchboard.join_next().await;
        }
        tracing::info!("SIP stopped");
    }

    fn supervise(&mut self, action: SupervisorAction) -> Result<(), SuperviseError> {
        let now = self.clock.now_ms();
        match action {
            SupervisorAction::EndCall { call } => {
                let handle = self
                    .ids
                    .get(&call)
                    .ok_or_else(|| SuperviseError::Refused(format!("no live call {call:?}")))?;
                self.endpoint.hangup(now, *handle);
                Ok(())
            }
            SupervisorAction::ListenIn { call, frames } => {
                let tx = self
                    .ids
                    .get(&call)
                    .and_then(|h| self.calls.get(h))
                    .ok_or_else(|| SuperviseError::Refused(format!("no live call {call:?}")))?;
                tx.try_send(CallMsg::ListenIn(frames))
                    .map_err(|_| SuperviseError::Refused("the call is busy; try again".into()))
            }
            other => self.switchboard.supervise(now, other),
        }
    }

    fn begin_shutdown(&mut self) {
        self.stopping = true;
        self.endpoint.set_accepting(false);
        self.switchboard
            .shutdown(self.clock.now_ms(), &mut self.endpoint);
        for tx in self.calls.values() {
            let _ = tx.try_send(CallMsg::Shutdown);
        }
    }

    async fn flush_outputs(&mut self, cmd_tx: &mpsc::Sender<SipCommand>) {
        while let Some(out) = self.endpoint.poll_output() {
            match out {
                Output::Transmit { peer, bytes } => self.transmit(peer, bytes).await,
                Output::Event(event) => self.on_event(event, cmd_tx).await,
            }
        }
    }

    async fn transmit(&self, peer: Peer, bytes: Vec<u8>) {
        if let Some(code) = response_code(&bytes) {
            self.engine.metrics.sip_response(code);
        }
        match peer.transport {
            Transport::Udp => {
                if let Err(e) = self.udp.send_to(&bytes, peer.addr).await {
                    tracing::debug!(to = %peer.addr, "SIP send failed: {e}");
                }
            }
            Transport::Tcp => self.connections.send(peer.addr, bytes).await,
        }
    }

    async fn on_event(&mut self, event: SipEvent, cmd_tx: &mpsc::Sender<SipCommand>) {
        let now = self.clock.now_ms();
        let Some(event) = self
            .switchboard
            .sip_event(now, &mut self.endpoint, &self.calls, event)
        else {
            return;
        };
        match event {
            SipEvent::IncomingCall {
                call,
                from_uri,
                to_uri,
                call_id,
                offer,
                headers,
                ..
            } => {
                if let Some(line) =
                    self.switchboard
                        .feature_code(now, &self.endpoint, call, &from_uri, &to_uri)
                {
                    self.answer_feature_code(now, call, offer, line, cmd_tx)
                        .await;
                    return;
                }
                if self.calls.len() >= self.max_calls {
                    self.endpoint.reject(now, call, 486);
                    return;
                }
                let Some(socket) = self.ports.bind() else {
                    tracing::warn!("no free RTP port");
                    self.endpoint.reject(now, call, 503);
                    return;
                };
                let Ok(local_rtp) = socket.local_addr() else {
                    self.endpoint.reject(now, call, 503);
                    return;
                };
                let setup = CallSetup {
                    handle: call,
                    id: format!("c{}-{}", unix_ms(), call.0),
                    sip_call_id: call_id,
                    caller: user_of(&from_uri),
                    called: user_of(&to_uri),
                    offer,
                    socket,
                    reach: contact_of(&headers).unwrap_or_else(|| from_uri.clone()),
                    repeat_window_ms: self.switchboard.repeat_window_ms(),
                    transcribe_after_bridge: self.switchboard.transcribe_after_bridge(),
                };
                if let Err(e) = self.endpoint.answer(now, call, local_rtp) {
                    tracing::warn!("cannot answer: {e}");
                    return;
                }
                self.ids.insert(setup.id.clone(), call);
                let (task, tx) =
                    CallTask::new(self.engine.clone(), self.clock, setup, cmd_tx.clone());
                self.calls.insert(call, tx);
                self.tasks.spawn(task.run());
            }
            SipEvent::Info { call, dtmf } => {
                if let Some(tx) = self.calls.get(&call) {
                    let _ = tx.send(CallMsg::Dtmf(dtmf)).await;
                }
            }
            SipEvent::MediaChanged { call, offer } => {
                if let Some(tx) = self.calls.get(&call) {
                    let _ = tx.send(CallMsg::Media(offer)).await;
                }
            }
            SipEvent::CallEnded { call, reason } => {
                self.switchboard.caller_ended(now, &mut self.endpoint, call);
                self.ids.retain(|_, h| *h != call);
                if let Some(tx) = self.calls.remove(&call) {
                    let _ = tx.send(CallMsg::Ended(reason)).await;
                }
            }
            other => tracing::debug!(?other, "SIP event"),
        }
    }
}

impl SipLoop {
    /// An agent's phone dialled a feature code (already applied): answer,
    /// say the agent's new state, hang up.
    async fn answer_feature_code(
        &mut self,
        now: u64,
        call: CallHandle,
        offer: crate::sip::MediaOffer,
        line: (String, String),
        cmd_tx: &mpsc::Sender<SipCommand>,
    ) {
        let Some(socket) = self.ports.bind() else {
            self.endpoint.reject(now, call, 503);
            return;
        };
        let answered = socket
            .local_addr()
            .map_err(|e| e.to_string())
            .and_then(|local| {
                self.endpoint
                    .answer(now, call, local)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = answered {
            tracing::warn!("cannot answer a feature code: {e}");
            self.endpoint.reject(now, call, 500);
            return;
        }
        let (tx, rx) = mpsc::channel(8);
        self.calls.insert(call, tx);
        self.tasks.spawn(crate::runtime::feature_call::run(
            self.engine.clone(),
            call,
            socket,
            offer,
            line,
            cmd_tx.clone(),
            rx,
        ));
    }
}

/// The Contact URI of an INVITE: where the caller's phone takes requests.
fn contact_of(headers: &[(String, String)]) -> Option<String> {
    let (_, value) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Contact") || n == "m")?;
    crate::sip::header::parse_name_addr(value)
        .ok()
        .map(|a| a.uri)
        .filter(|uri| crate::sip::uri::is_sip_scheme(uri))
}

/// The status code of a SIP response about to be sent.
fn response_code(bytes: &[u8]) -> Option<u16> {
    let rest = bytes.strip_prefix(b"SIP/2.0 ")?;
    std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()
}

/// The user part of a SIP URI (the caller's number), or the URI itself.
pub fn user_of(uri: &str) -> String {
    let rest = uri
        .trim_start_matches('<')
        .trim_start_matches("sips:")
        .trim_start_matches("sip:")
        .trim_start_matches("tel:");
    let user = rest.split(['@', ';', '>']).next().unwrap_or(rest);
    user.to_string()
}
