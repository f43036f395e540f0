//! One answered call in the runtime: its RTP socket, the 20 ms media clock,
//! the jitter buffer and sender, the recorder, and the sans-IO call core.
//!
//! Media never waits on recognition or rendering: both run elsewhere and come
//! back as messages, and the tick keeps sending audio meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{MissedTickBehavior, interval_at};
use tokio_util::sync::CancellationToken;

use crate::board::{CallPhase, LiveEvent, Speaker};
use crate::brain::asr::Transcript;
use crate::call::{Call, CallEvent, Input as CallInput, Output as CallOutput, decision_record};
use crate::call_record::{CallRecord, EventRecord};
use crate::rtp::ReceiverConfig;
use crate::runtime::clock::{Clock, unix_ms};
use crate::runtime::engine::{CallSettings, SharedEngine};
use crate::runtime::recorder::CallRecorder;
use crate::runtime::rtp_leg::{RtpLeg as Media, g711};
use crate::runtime::rtp_socket::RtpSocket;
use crate::session::{Decision, RouteKind};
use crate::sip::{CallHandle, EndReason, MediaOffer};

const FRAME: usize = 160;
const TICK_MS: u64 = 20;
/// How long a hang-up we asked for may take before the call is closed anyway.
const BYE_GRACE_MS: u64 = 4000;
/// How long a call may take to say goodbye when the engine stops.
const SHUTDOWN_GRACE_MS: u64 = 6000;

/// What the SIP side and helpers tell a call.
#[derive(Debug)]
pub enum CallMsg {
    Ended(EndReason),
    Media(MediaOffer),
    Transcript(Transcript),
    /// The transcript asked for is late: the recogniser is busy.
    RecognitionBusy,
    Prompt {
        key: String,
        pcm: Arc<[i16]>,
    },
    /// The engine is stopping: hang up now.
    Shutdown,
    /// A leg for the caller is ringing (an agent's phone, or an outside
    /// number the caller is put through to); this socket carries its audio.
    AgentRinging {
        leg: CallHandle,
        /// The agent, or the outside number.
        agent: String,
        socket: RtpSocket,
        /// From the queue decision to the INVITE leaving for the phone.
        after_ms: u64,
    },
    /// The leg answered: bridge the caller to it.
    AgentAnswered {
        leg: CallHandle,
        agent: String,
        offer: MediaOffer,
    },
    /// The leg is over (not answered, or the far end hung up). With
    /// `caller_stays` (the agent passed the caller on, or a transfer failed)
    /// the caller goes back on hold instead of being hung up.
    AgentLegEnded {
        leg: CallHandle,
        caller_stays: bool,
    },
    /// The caller's number called within the repeat window (from the store).
    RepeatCaller,
    /// A digit the caller keyed as SIP INFO (RFC 4733 digits come in RTP).
    Dtmf(char),
    /// A supervisor listens in: copy both sides of the call there.
    ListenIn(mpsc::Sender<crate::runtime::listen_in::Frame>),
    /// The queue's periodic news for the caller.
    QueuePosition {
        position: usize,
        expected_wait_ms: u64,
    },
    /// The wait is long: offer a callback.
    OfferCallback,
    /// The queue took the caller's callback request.
    CallbackAccepted,
}

/// What a call asks of the SIP side.
#[derive(Debug)]
pub enum SipCommand {
    Hangup(CallHandle),
    /// The caller waits for a person in a queue.
    Queued(QueuedCall),
    /// The waiting caller (engine call id) pressed 1 for a callback.
    CallbackRequested(String),
    /// The caller (engine call id) was re-routed out of their queue.
    LeftQueue(String),
    /// The agent keyed a digit during a bridged call (feature codes).
    AgentKeyed {
        agent: String,
        digit: char,
    },
}

/// What the queue and the agent's phone are told about a waiting caller.
#[derive(Debug, Clone)]
pub struct QueuedCall {
    pub handle: CallHandle,
    pub id: String,
    pub queue: String,
    pub caller: String,
    pub intent: Option<String>,
    pub agitated: bool,
    pub agitation: f32,
    pub agitation_level: String,
    pub summary: String,
    /// When the queue decision was made (runtime clock ms), to measure how
    /// soon an agent's phone rings.
    pub decided_at_ms: u64,
    /// Called within the repeat window (the store says so).
    pub repeat: bool,
    /// Where the caller's phone takes calls (their Contact), for a callback.
    pub reach: String,
    /// The number the caller dialled (the hotline), shown when calling back.
    pub called: String,
}

pub struct CallSetup {
    pub handle: CallHandle,
    pub id: String,
    pub sip_call_id: String,
    pub caller: String,
    pub called: String,
    pub offer: MediaOffer,
    pub socket: RtpSocket,
    /// Where the caller's phone takes calls (their Contact URI).
    pub reach: String,
    /// Earlier calls from the same number within this window make a repeat
    /// caller; 0: not looked up.
    pub repeat_window_ms: u64,
    /// Keep transcribing the caller once bridged to a person.
    pub transcribe_after_bridge: bool,
}

/// The leg the caller talks to: an agent, or an outside number.
struct Bridge {
    leg: CallHandle,
    agent: String,
    media: Media,
}

pub struct CallTask {
    engine: SharedEngine,
    clock: Clock,
    handle: CallHandle,
    call: Call,
    media: Media,
    recorder: Option<CallRecorder>,
    record_base: CallRecord,
    sip: mpsc::Sender<SipCommand>,
    inbox: mpsc::Receiver<CallMsg>,
    outbox: mpsc::Sender<CallMsg>,
    /// Call time (ms) at which our own hang-up gives up waiting for the BYE.
    hanging_up_until: Option<u64>,
    /// Call time by which a call told to shut down is hung up regardless.
    shutdown_by: Option<u64>,
    /// A leg ringing for this caller: its handle, who, its RTP socket.
    ringing: Option<(CallHandle, String, RtpSocket)>,
    /// The agent (or outside number) the caller is bridged to.
    bridge: Option<Bridge>,
    /// An agent who answered while the caller still hears the transfer
    /// line: bridged when it ends.
    answered_early: Option<Bridge>,
    /// Whether the transfer line has been said (the core's Handoff).
    handed_off: bool,
    /// The queue the caller waits in, as last told to the ACD.
    queued_to: Option<String>,
    /// Where the call stands on the supervisors' board.
    phase: CallPhase,
    /// Supervisors listening in.
    listeners: Vec<mpsc::Sender<crate::runtime::listen_in::Frame>>,
    started_ms: u64,
    reach: String,
    repeat_window_ms: u64,
    transcribe_after_bridge: bool,
    /// The store found an earlier call from this number.
    repeat: bool,
    /// The agent (or outside number) hung up, so the engine hung up.
    far_end_left: bool,
    /// How far our own 20 ms sends fell behind their schedule: the
    /// engine-side view of capacity (a peer sees the same as late packets).
    pacing: SendPacing,
    /// Speculative transcriptions not yet answered, to cancel when the
    /// caller talks past them or to wait for when their utterance ends.
    speculating: HashMap<u32, Guess>,
}

/// A speculative transcription in the recogniser.
struct Guess {
    cancel: CancellationToken,
    /// Set when the caller stops where the guess ends and waits for it.
    waited_for: watch::Sender<bool>,
}

/// Send slots that ran late, counted by the call that ran them.
#[derive(Debug, Default, Clone, Copy)]
struct SendPacing {
    late: u64,
    worst_ms: u64,
}

impl SendPacing {
    /// A send slot behind its schedule by more than this is late: the
    /// caller's playout buffer would likely have run dry.
    const LATE_MS: u64 = 40;

    fn sent(&mut self, call_ms: u64, behind_ms: u64) {
        if behind_ms > Self::LATE_MS {
            // When in the call, to tell a stall of the whole engine (every
            // call late at the same moment) from one call's.
            tracing::debug!(call_ms, behind_ms, "sent late");
            self.late += 1;
        }
        self.worst_ms = self.worst_ms.max(behind_ms);
    }
}

impl CallTask {
    pub fn new(
        engine: SharedEngine,
        clock: Clock,
        setup: CallSetup,
        sip: mpsc::Sender<SipCommand>,
    ) -> (CallTask, mpsc::Sender<CallMsg>) {
        let (outbox, inbox) = mpsc::channel(64);
        let settings = engine.calls.clone();
        let call = Call::new(
            engine.dialplan.clone(),
            engine.router.clone(),
            settings.call_config(engine.language, setup.caller.clone(), setup.id.clone()),
        );
        let recorder = settings.recordings.as_ref().and_then(|dir| {
            CallRecorder::create(dir, &setup.id)
                .map_err(|e| tracing::warn!(call = %setup.id, "not recording: {e}"))
                .ok()
        });
        let seed = seed_of(&setup.id) ^ clock.now_ms();
        let record_base = CallRecord {
            id: setup.id.clone(),
            sip_call_id: setup.sip_call_id.clone(),
            caller: setup.caller.clone(),
            called: setup.called.clone(),
            language: engine.language.code().to_string(),
            started_unix_ms: unix_ms(),
            answered_unix_ms: Some(unix_ms()),
            ..CallRecord::default()
        };
        let task = CallTask {
            media: Media::new(setup.socket, &setup.offer, settings.playout_delay_ms, seed),
            engine,
            clock,
            handle: setup.handle,
            call,
            recorder,
            record_base,
            sip,
            inbox,
            outbox: outbox.clone(),
            hanging_up_until: None,
            shutdown_by: None,
            ringing: None,
            bridge: None,
            answered_early: None,
            handed_off: false,
            queued_to: None,
            phase: CallPhase::InMenu,
            listeners: Vec::new(),
            started_ms: clock.now_ms(),
            reach: setup.reach,
            repeat_window_ms: setup.repeat_window_ms,
            transcribe_after_bridge: setup.transcribe_after_bridge,
            pacing: SendPacing::default(),
            speculating: HashMap::new(),
            repeat: false,
            far_end_left: false,
        };
        (task, outbox)
    }

    pub async fn run(mut self) {
        let nth = self.engine.calls_started.fetch_add(1, Ordering::Relaxed);
        let start = first_tick_ms(self.clock.now_ms(), nth);
        self.started_ms = start;
        self.engine.live.publish(LiveEvent::CallStarted {
            call: self.record_base.id.clone(),
            caller: self.record_base.caller.clone(),
            called: self.record_base.called.clone(),
        });
        self.save(None, None);
        self.look_up_repeat_caller();
        self.call.start(0);
        self.drain(0);
        let mut ticker = interval_at(
            self.clock.instant_at(start).into(),
            Duration::from_millis(TICK_MS),
        );
        // Late ticks are caught up, not skipped: the RTP clock must not drift.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut ticks: u64 = 0;
        let end = loop {
            tokio::select! {
                // The tick first: under load, audio goes out before news.
                biased;
                _ = ticker.tick() => {
                    let call_ms = ticks * TICK_MS;
                    ticks += 1;
                    let now = self.clock.now_ms();
                    self.pacing.sent(call_ms, now.saturating_sub(start + call_ms));
                    self.tick(start + call_ms, call_ms);
                    if let Some(until) = self.hanging_up_until && call_ms >= until {
                        break "engine_hung_up".to_string();
                    }
                    if let Some(by) = self.shutdown_by && call_ms >= by {
                        let _ = self.sip.send(SipCommand::Hangup(self.handle)).await;
                        break "shutdown".to_string();
                    }
                }
                msg = self.inbox.recv() => match msg {
                    Some(CallMsg::Ended(reason)) => break end_reason(&reason),
                    Some(CallMsg::Media(offer)) => {
                        let format = (offer.codec, offer.payload_type, offer.dtmf_payload_type);
                        // Hold and unhold keep the stream; only a new format resets it.
                        if format != self.media.format {
                            self.media.format = format;
                            self.media.receiver.reconfigure(ReceiverConfig {
                                codec: g711(offer.codec),
                                payload_type: offer.payload_type,
                                dtmf_payload_type: offer.dtmf_payload_type,
                                playout_delay_ms: self.engine.calls.playout_delay_ms,
                            });
                        }
                        self.media.remote = offer.remote_rtp;
                        self.media.on_hold = offer.on_hold;
                        let ms = ticks * TICK_MS;
                        self.call_event(ms, "hold", if offer.on_hold { "on" } else { "off" });
                    }
                    Some(CallMsg::RecognitionBusy) => {
                        let ms = ticks * TICK_MS;
                        self.call.handle_input(ms, CallInput::RecognitionBusy);
                        self.drain(ms);
                    }
                    Some(CallMsg::Transcript(t)) => {
                        self.speculating.remove(&t.utterance);
                        let ms = ticks * TICK_MS;
                        self.call.handle_input(ms, CallInput::Transcript(t));
                        self.drain(ms);
                    }
                    Some(CallMsg::Prompt { key, pcm }) => {
                        let ms = ticks * TICK_MS;
                        self.call.handle_input(ms, CallInput::PromptAudio { key, pcm_8k: pcm });
                        self.drain(ms);
                    }
                    Some(CallMsg::Shutdown) => {
                        // The caller hears goodbye; the core then asks to hang up.
                        let ms = ticks * TICK_MS;
                        self.call.handle_input(ms, CallInput::Shutdown);
                        self.drain(ms);
                        self.shutdown_by.get_or_insert(ms + SHUTDOWN_GRACE_MS);
                    }
                    Some(CallMsg::AgentRinging { leg, agent, socket, after_ms }) => {
                        let ms = ticks * TICK_MS;
                        let detail = format!("{agent}, rung {after_ms} ms after the queue decision");
                        self.call_event(ms, "agent_ringing", &detail);
                        if self.bridge.is_none() {
                            self.set_phase(CallPhase::Ringing, Some(agent.clone()));
                        }
                        self.ringing = Some((leg, agent, socket));
                    }
                    Some(CallMsg::AgentAnswered { leg, agent, offer }) => {
                        let ms = ticks * TICK_MS;
                        if let Some((_, _, socket)) = self.ringing.take_if(|r| r.0 == leg) {
                            let seed = seed_of(&agent) ^ self.clock.now_ms();
                            let media = Media::new(socket, &offer, self.engine.calls.playout_delay_ms, seed);
                            self.call_event(ms, "agent_answered", &agent);
                            let bridge = Bridge { leg, agent, media };
                            if self.handed_off {
                                self.start_bridge(ms, bridge);
                                self.drain(ms);
                            } else {
                                self.answered_early = Some(bridge);
                            }
                        }
                    }
                    Some(CallMsg::AgentLegEnded { leg, caller_stays }) => {
                        let ms = ticks * TICK_MS;
                        if self.ringing.take_if(|r| r.0 == leg).is_some() && self.phase == CallPhase::Ringing {
                            // Not answered: the caller waits for the next agent.
                            self.set_phase(CallPhase::Waiting, None);
                        }
                        let bridged = self.bridge.take_if(|b| b.leg == leg);
                        let early = self.answered_early.take_if(|b| b.leg == leg);
                        if let Some(b) = bridged.or(early) {
                            if caller_stays {
                                // Passed on: back on hold while the next leg rings.
                                self.call_event(ms, "agent_left", &b.agent);
                                self.call.handle_input(ms, CallInput::Unbridged);
                                self.drain(ms);
                                let next = self.ringing.as_ref().map(|r| r.1.clone());
                                match next {
                                    Some(next) => self.set_phase(CallPhase::Ringing, Some(next)),
                                    None => self.set_phase(CallPhase::Waiting, None),
                                }
                            } else {
                                // The agent hung up: the call is over for the caller too.
                                self.call_event(ms, "agent_hung_up", &b.agent);
                                self.far_end_left = true;
                                let _ = self.sip.send(SipCommand::Hangup(self.handle)).await;
                                self.hanging_up_until.get_or_insert(ms + BYE_GRACE_MS);
                            }
                        }
                    }
                    Some(CallMsg::Dtmf(digit)) => {
                        // Keyed to the person once bridged, not to the menu.
                        if self.bridge.is_none() {
                            let ms = ticks * TICK_MS;
                            self.call_event(ms, "dtmf", &digit.to_string());
                            self.call.handle_input(ms, CallInput::Dtmf(digit));
                            self.drain(ms);
                        }
                    }
                    Some(CallMsg::RepeatCaller) => {
                        self.repeat = true;
                        let ms = ticks * TICK_MS;
                        self.call_event(ms, "repeat_caller", "called before within the repeat window");
                        // Already waiting: the queue hears it now.
                        if self.queued_to.is_some()
                            && let Some(decision) = self.call.last_decision().cloned()
                        {
                            self.queue_caller(&decision);
                        }
                    }
                    Some(CallMsg::QueuePosition { position, expected_wait_ms }) => {
                        let ms = ticks * TICK_MS;
                        self.call.handle_input(ms, CallInput::QueuePosition { position, expected_wait_ms });
                        self.drain(ms);
                    }
                    Some(CallMsg::ListenIn(frames)) => {
                        let ms = ticks * TICK_MS;
                        self.call_event(ms, "listen_in", "a supervisor listens");
                        self.listeners.push(frames);
                    }
                    Some(CallMsg::OfferCallback) => {
                        let ms = ticks * TICK_MS;
                        self.call.handle_input(ms, CallInput::OfferCallback);
                        self.drain(ms);
                    }
                    Some(CallMsg::CallbackAccepted) => {
                        let ms = ticks * TICK_MS;
                        self.call.handle_input(ms, CallInput::CallbackAccepted);
                        self.drain(ms);
                    }
                    None => {
                        let _ = self.sip.send(SipCommand::Hangup(self.handle)).await;
                        break "shutdown".to_string();
                    }
                },
            }
        };
        self.finish(end).await;
    }

    /// One 20 ms step: the caller's next frame in, our next frame out.
    /// `media_ms` is when this step was due.
    fn tick(&mut self, media_ms: u64, call_ms: u64) {
        self.media.receive(&self.clock);
        if let Some(b) = self.bridge.as_mut() {
            b.media.receive(&self.clock);
        }
        let polled = self.media.receiver.poll_frame(media_ms);
        // A gap in the caller's audio is not a silent line: the core must
        // not learn its zeros as the caller's background noise.
        let heard_nothing = polled.is_none() || self.media.receiver.last_frame_empty();
        let frame = polled.unwrap_or([0; FRAME]);
        let caller_input = |frame| {
            if heard_nothing {
                CallInput::NoCallerAudio
            } else {
                CallInput::CallerFrame(frame)
            }
        };
        self.record_audio(|rec| rec.caller(&frame));
        if let Some(b) = self.bridge.as_mut() {
            // Bridged: caller and agent hear each other; the recording goes
            // on. The brain listens only if the config says so (privacy by
            // default), and never answers: the core knows it is bridged.
            b.media.send(&frame);
            let heard = b.media.receiver.poll_frame(media_ms).unwrap_or([0; FRAME]);
            let keyed: Vec<char> = std::iter::from_fn(|| b.media.receiver.poll_dtmf()).collect();
            let agent = b.agent.clone();
            self.media.send(&heard);
            self.record_audio(|rec| rec.engine(&heard));
            self.feed_listeners(&frame, &heard);
            for digit in keyed {
                // The agent's keys are for the engine (feature codes).
                self.call_event(call_ms, "agent_dtmf", &digit.to_string());
                let agent = agent.clone();
                let _ = self.sip.try_send(SipCommand::AgentKeyed { agent, digit });
            }
            // The caller's keys are for the agent, not the menu.
            while self.media.receiver.poll_dtmf().is_some() {}
            if self.transcribe_after_bridge {
                self.call.handle_input(call_ms, caller_input(&frame));
                self.drain(call_ms);
            }
            return;
        }
        self.call.handle_input(call_ms, caller_input(&frame));
        while let Some(digit) = self.media.receiver.poll_dtmf() {
            self.call_event(call_ms, "dtmf", &digit.to_string());
            self.call.handle_input(call_ms, CallInput::Dtmf(digit));
        }
        let played = self.drain(call_ms);
        let out = played.unwrap_or([0; FRAME]);
        self.media.send(&out);
        self.record_audio(|rec| rec.engine(&out));
        self.feed_listeners(&frame, &out);
    }

    /// Both sides mixed; a listener that falls behind loses frames, never
    /// delays the call, and one that left is forgotten.
    fn feed_listeners(&mut self, caller: &[i16; FRAME], other: &[i16; FRAME]) {
        if self.listeners.is_empty() {
            return;
        }
        let mut mixed = [0i16; FRAME];
        for (m, (a, b)) in mixed.iter_mut().zip(caller.iter().zip(other)) {
            *m = a.saturating_add(*b);
        }
        self.listeners.retain(|tx| {
            !matches!(
                tx.try_send(mixed),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }

    /// A recording that fails (disk full) stops; the call goes on.
    fn record_audio(
        &mut self,
        write: impl FnOnce(&mut CallRecorder) -> Result<(), crate::runtime::recorder::RecorderError>,
    ) {
        if let Some(rec) = self.recorder.as_mut()
            && let Err(e) = write(rec)
        {
            tracing::warn!(call = %self.record_base.id, "recording stopped: {e}");
            self.recorder = None;
        }
    }

    /// Carries out everything the core asked for; returns the frame to play.
    fn drain(&mut self, call_ms: u64) -> Option<[i16; FRAME]> {
        let mut played = None;
        while let Some(out) = self.call.poll_output() {
            match out {
                CallOutput::Play(frame) => played = Some(frame),
                CallOutput::RenderPrompt {
                    key,
                    text,
                    language,
                    wav,
                } => match self.engine.prompts.get(&key) {
                    Some(pcm) => self
                        .call
                        .handle_input(call_ms, CallInput::PromptAudio { key, pcm_8k: pcm }),
                    None => {
                        let engine = self.engine.clone();
                        let outbox = self.outbox.clone();
                        tokio::task::spawn_blocking(move || {
                            match engine.prompts.render(&key, &text, language, wav.as_deref()) {
                                Ok(pcm) => {
                                    let _ = outbox.blocking_send(CallMsg::Prompt { key, pcm });
                                }
                                Err(e) => {
                                    tracing::warn!(%key, "prompt failed: {e}");
                                    // Empty audio: the call skips the prompt now
                                    // instead of waiting for it.
                                    let pcm: Arc<[i16]> = Arc::from(Vec::new());
                                    let _ = outbox.blocking_send(CallMsg::Prompt { key, pcm });
                                }
                            }
                        });
                    }
                },
                CallOutput::CancelTranscribe { utterance } => {
                    if let Some(guess) = self.speculating.remove(&utterance) {
                        guess.cancel.cancel();
                    }
                }
                CallOutput::ConfirmTranscribe { utterance } => {
                    if let Some(guess) = self.speculating.remove(&utterance) {
                        guess.waited_for.send_replace(true);
                        self.engine.asr.reorder();
                    }
                }
                CallOutput::Transcribe(req) => {
                    let cancel = CancellationToken::new();
                    let (waited_tx, waited_for) = watch::channel(!req.speculative);
                    if req.speculative {
                        let guess = Guess {
                            cancel: cancel.clone(),
                            waited_for: waited_tx,
                        };
                        self.speculating.insert(req.utterance, guess);
                    }
                    let asr = self.engine.asr.clone();
                    let engine = self.engine.clone();
                    let outbox = self.outbox.clone();
                    let patience = Patience::of(&self.engine.calls);
                    tokio::spawn(async move {
                        let utterance = req.utterance;
                        let asked = std::time::Instant::now();
                        let work = asr.transcribe(req, cancel, waited_for.clone());
                        let transcript = match patience.wait(work, waited_for, &outbox).await {
                            Some(Ok(t)) => t,
                            Some(Err(e)) => {
                                tracing::warn!("recognition failed: {e}");
                                Transcript::heard(utterance, "", 0.0)
                            }
                            None => {
                                tracing::warn!(
                                    utterance,
                                    "recogniser overloaded: utterance given up"
                                );
                                engine.metrics.asr_given_up();
                                Transcript::overloaded(utterance)
                            }
                        };
                        if transcript.asr_ms > 0.0 {
                            engine.metrics.asr_latency_ms(transcript.asr_ms);
                        }
                        tracing::debug!(
                            utterance,
                            asr_ms = transcript.asr_ms,
                            total_ms = asked.elapsed().as_secs_f64() * 1000.0,
                            "transcribed"
                        );
                        let _ = outbox.send(CallMsg::Transcript(transcript)).await;
                    });
                }
                // Queued at the decision, not after the transfer line: the
                // agent's phone rings while the caller hears it. Later
                // decisions (rising agitation, another queue) update the ACD.
                CallOutput::Event(event) => {
                    self.show(&event);
                    if let CallEvent::Decision(decision) = &event
                        && decision.route.kind == RouteKind::Queue
                    {
                        self.queue_caller(decision);
                    }
                }
                CallOutput::Handoff(decision) => {
                    tracing::info!(call = %self.record_base.id, queue = ?decision.route.target, "handed off");
                    self.queue_caller(&decision);
                    self.handed_off = true;
                    if let Some(early) = self.answered_early.take() {
                        self.start_bridge(call_ms, early);
                    }
                    self.save(None, None);
                }
                CallOutput::CallbackRequested => {
                    self.call_event(call_ms, "callback_requested", "");
                    let _ = self
                        .sip
                        .try_send(SipCommand::CallbackRequested(self.record_base.id.clone()));
                }
                CallOutput::Hangup { reason } => {
                    if self.hanging_up_until.is_none() {
                        self.call_event(call_ms, "hangup", &reason);
                        self.hanging_up_until = Some(call_ms + BYE_GRACE_MS);
                        let _ = self.sip.try_send(SipCommand::Hangup(self.handle));
                    }
                }
            }
        }
        played
    }

    fn queue_caller(&mut self, decision: &Decision) {
        let queued = QueuedCall {
            handle: self.handle,
            id: self.record_base.id.clone(),
            queue: decision
                .route
                .target
                .clone()
                .unwrap_or_else(|| self.engine.dialplan.default_queue.clone()),
            caller: self.record_base.caller.clone(),
            intent: decision.intent.clone(),
            agitated: decision.agitated,
            agitation: decision.summary.agitation,
            agitation_level: decision.summary.agitation_level.clone(),
            summary: decision.summary.sentence.clone(),
            decided_at_ms: self.clock.now_ms(),
            repeat: self.repeat,
            reach: self.reach.clone(),
            called: self.record_base.called.clone(),
        };
        self.queued_to = Some(queued.queue.clone());
        self.engine.live.publish(LiveEvent::Handoff {
            call: queued.id.clone(),
            queue: queued.queue.clone(),
            summary: queued.summary.clone(),
            details: serde_json::to_value(&decision.summary).unwrap_or_default(),
        });
        if self.phase == CallPhase::InMenu {
            self.set_phase(CallPhase::Waiting, None);
        }
        let _ = self.sip.try_send(SipCommand::Queued(queued));
    }

    /// Connects the caller to the leg that answered.
    fn start_bridge(&mut self, call_ms: u64, bridge: Bridge) {
        self.set_phase(CallPhase::WithAgent, Some(bridge.agent.clone()));
        self.bridge = Some(bridge);
        // Its outputs are drained by the caller of this.
        self.call.handle_input(call_ms, CallInput::Bridged);
    }

    /// Asks the store, off the async threads, whether this number called
    /// within the repeat window; the answer comes back as a message, long
    /// before the caller is queued (the greeting takes seconds).
    fn look_up_repeat_caller(&self) {
        let caller = self.record_base.caller.trim().to_string();
        if self.repeat_window_ms == 0
            || caller.is_empty()
            || caller.eq_ignore_ascii_case("anonymous")
        {
            return;
        }
        let since = self.record_base.started_unix_ms - self.repeat_window_ms as i64;
        let id = self.record_base.id.clone();
        let engine = self.engine.clone();
        let outbox = self.outbox.clone();
        tokio::task::spawn_blocking(move || {
            let store = engine.store.lock().unwrap_or_else(|p| p.into_inner());
            match store.called_since(&caller, since, &id) {
                Ok(true) => {
                    drop(store);
                    let _ = outbox.blocking_send(CallMsg::RepeatCaller);
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(call = %id, "repeat caller look-up: {e}"),
            }
        });
    }

    fn set_phase(&mut self, phase: CallPhase, agent: Option<String>) {
        self.phase = phase;
        self.engine.live.publish(LiveEvent::CallPhase {
            call: self.record_base.id.clone(),
            phase,
            queue: self.queued_to.clone(),
            agent,
        });
    }

    /// Shows what the caller and the engine said and decided on the board.
    fn show(&mut self, event: &CallEvent) {
        let call = self.record_base.id.clone();
        let live = match event {
            CallEvent::PromptStarted { text, .. } if !text.trim().is_empty() => LiveEvent::Said {
                call,
                who: Speaker::Engine,
                text: text.clone(),
            },
            CallEvent::Utterance(u) => {
                self.engine.live.publish(LiveEvent::Said {
                    call: call.clone(),
                    who: Speaker::Caller,
                    text: u.text.clone(),
                });
                LiveEvent::Agitation {
                    call,
                    score: u.agitation,
                    level: u.agitation_level.to_string(),
                    reasons: u.reasons.clone(),
                }
            }
            CallEvent::Decision(d) => {
                let record = decision_record(d, 0);
                LiveEvent::Routed {
                    call,
                    intent: record.intent,
                    confidence: record.confidence,
                    route: record.route,
                    reason: record.reason,
                }
            }
            CallEvent::LeftQueue { .. } => {
                // Re-routed to self-service: out of the queue, and an agent
                // ringing or already answering is let go.
                self.queued_to = None;
                self.ringing = None;
                self.answered_early = None;
                self.handed_off = false;
                self.set_phase(CallPhase::InMenu, None);
                let id = self.record_base.id.clone();
                let _ = self.sip.try_send(SipCommand::LeftQueue(id));
                return;
            }
            _ => return,
        };
        self.engine.live.publish(live);
    }

    fn call_event(&mut self, at_ms: u64, kind: &str, detail: &str) {
        self.record_base.events.push(EventRecord {
            at_ms,
            kind: kind.to_string(),
            detail: detail.to_string(),
        });
    }

    fn snapshot(&self, end_reason: Option<String>, ended: Option<i64>) -> CallRecord {
        let core = self.call.record();
        let mut events = core.events;
        events.extend(self.record_base.events.iter().cloned());
        events.sort_by_key(|e| e.at_ms);
        CallRecord {
            id: self.record_base.id.clone(),
            sip_call_id: self.record_base.sip_call_id.clone(),
            caller: self.record_base.caller.clone(),
            called: self.record_base.called.clone(),
            language: self.record_base.language.clone(),
            started_unix_ms: self.record_base.started_unix_ms,
            answered_unix_ms: self.record_base.answered_unix_ms,
            ended_unix_ms: ended,
            // When we hung up, the core knows why (goodbye, no input,
            // shutdown), unless the person the caller talked to left first.
            end_reason: match (end_reason.as_deref(), self.far_end_left) {
                (Some("engine_hung_up"), true) => Some("agent_hung_up".to_string()),
                (Some("engine_hung_up") | None, _) => core.end_reason.or(end_reason),
                (Some(_), _) => end_reason,
            },
            events,
            rtp_stats: Some(rtp_stats_json(&self.media.receiver.stats(), self.pacing)),
            queue: core.queue.clone().or_else(|| self.queued_to.clone()),
            recording_caller: self.record_base.recording_caller.clone(),
            recording_engine: self.record_base.recording_engine.clone(),
            ..core
        }
    }

    /// Stores the call as it stands, off the async threads.
    fn save(&self, end_reason: Option<String>, ended: Option<i64>) {
        let record = self.snapshot(end_reason, ended);
        if let Err(e) = self.engine.writer.save(record) {
            tracing::error!(call = %self.record_base.id, "call record not saved: {e}");
        }
    }

    async fn finish(mut self, reason: String) {
        let now = self.clock.now_ms().saturating_sub(self.started_ms);
        self.call.handle_input(now, CallInput::Hangup);
        self.drain(now);
        if let Some(rec) = self.recorder.take() {
            match rec.finish() {
                Ok(paths) => {
                    self.record_base.recording_caller = file_name(&paths.caller);
                    self.record_base.recording_engine = file_name(&paths.engine);
                }
                Err(e) => tracing::warn!(call = %self.record_base.id, "recording: {e}"),
            }
        }
        let record = self.snapshot(Some(reason.clone()), Some(unix_ms()));
        let stats = self.media.receiver.stats();
        self.engine.metrics.rtp_packets(stats.lost, stats.late);
        self.engine.metrics.rtp_sent_late(self.pacing.late);
        self.engine.live.publish(LiveEvent::CallEnded {
            call: self.record_base.id.clone(),
            reason,
        });
        // Awaited: a clean shutdown must not lose the final record.
        if let Err(e) = self.engine.writer.saved(record).await {
            tracing::error!(call = %self.record_base.id, "call record not saved: {e}");
        }
    }
}

fn end_reason(reason: &EndReason) -> String {
    match reason {
        EndReason::RemoteBye => "caller_hung_up".into(),
        EndReason::LocalBye => "engine_hung_up".into(),
        EndReason::Cancelled => "cancelled".into(),
        EndReason::NoAck => "no_ack".into(),
        EndReason::Failed(code) => format!("failed_{code}"),
    }
}

/// Calls tick in this many groups, spread evenly over the 20 ms.
///
/// Why: with every call on one grid, one timer wake-up ran them all, but
/// each tick then sent every call's packet in one burst, and a call's place
/// in the burst changed from tick to tick: its stream jittered by the
/// whole burst. At 1,000 held calls, 99% of packets arrived within 15-55 ms
/// of schedule on one grid and 7-11 ms in four groups, at the same engine
/// CPU (BENCHMARKS.md). Few groups keep the timer wake-ups few.
const TICK_PHASES: u64 = 4;

/// When the `nth` call since the engine started (from 0) first ticks, on
/// or after `now_ms`: the next slot of its group's 20 ms grid.
fn first_tick_ms(now_ms: u64, nth: u64) -> u64 {
    let phase = nth % TICK_PHASES * (TICK_MS / TICK_PHASES);
    now_ms.saturating_sub(phase).next_multiple_of(TICK_MS) + phase
}

fn seed_of(text: &str) -> u64 {
    // FNV-1a: a cheap, stable spread of the call id into RTP identifiers.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Recordings are stored relative to the recordings folder.
fn file_name(path: &std::path::Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

fn rtp_stats_json(s: &crate::rtp::RtpStats, sent: SendPacing) -> serde_json::Value {
    serde_json::json!({
        "received": s.received,
        "lost": s.lost,
        "late": s.late,
        "duplicate": s.duplicate,
        "malformed": s.malformed,
        "wrong_payload_type": s.wrong_payload_type,
        "concealed_frames": s.concealed_frames,
        "shed_frames": s.shed_frames,
        "jitter_ms": s.jitter_ms,
        "sent_late": sent.late,
        "sent_worst_lateness_ms": sent.worst_ms,
    })
}

/// How long a call waits for its transcript before it says "one moment",
/// and before it gives up on the recogniser.
#[derive(Clone, Copy)]
struct Patience {
    one_moment: Option<Duration>,
    give_up: Option<Duration>,
}

impl Patience {
    fn of(settings: &CallSettings) -> Patience {
        Patience {
            one_moment: settings.one_moment_after_ms.map(Duration::from_millis),
            give_up: settings.give_up_after_ms.map(Duration::from_millis),
        }
    }

    /// The recogniser's answer, or `None` once it is given up. The clock
    /// starts when the caller waits (`waited_for`): a guess at a pause is
    /// no wait of theirs until their utterance ends there. Giving up drops
    /// `work`, which takes the utterance out of the recogniser's queue if
    /// no worker has started on it: the backlog shrinks.
    async fn wait<R>(
        self,
        work: impl std::future::Future<Output = R>,
        mut waited_for: watch::Receiver<bool>,
        outbox: &mpsc::Sender<CallMsg>,
    ) -> Option<R> {
        tokio::pin!(work);
        let waited = async { waited_for.wait_for(|w| *w).await.is_ok() };
        tokio::select! {
            r = &mut work => return Some(r),
            waited = waited => if !waited {
                // Never waited for (void, or the call ended): no clock.
                return Some(work.await);
            },
        }
        let moment = tokio::time::sleep(self.one_moment.unwrap_or_default());
        let give_up = tokio::time::sleep(self.give_up.unwrap_or_default());
        tokio::pin!(moment, give_up);
        let mut said = self.one_moment.is_none();
        loop {
            tokio::select! {
                r = &mut work => return Some(r),
                () = &mut moment, if !said => {
                    said = true;
                    let _ = outbox.send(CallMsg::RecognitionBusy).await;
                }
                () = &mut give_up, if self.give_up.is_some() => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_tick_in_groups_spread_over_the_frame() {
        let starts: Vec<u64> = (0..8).map(|nth| first_tick_ms(1001, nth)).collect();
        // Each the earliest slot of its group at or after 1001 ms.
        assert_eq!(starts, [1020, 1005, 1010, 1015, 1020, 1005, 1010, 1015]);
        assert_eq!(first_tick_ms(1005, 1), 1005, "a slot that is now is taken");
        assert_eq!(first_tick_ms(3, 3), 15, "no underflow near zero");
    }
}
