//! A whole call on fake time through the sans-IO cores only: a dialling SIP
//! endpoint calls the engine's endpoint, the caller waits for the greeting
//! to end and streams a recorded request as RTP, and every datagram (SIP and
//! RTP, both ways) crosses a network that loses 5% of them and delays each
//! by up to 60 ms more, so packets also overtake each other. The engine side
//! runs what the runtime's call task runs (20 ms tick, jitter buffer, sender,
//! call core), prompts come from the real renderer and the real Whisper model
//! transcribes. The call still goes where the recording's label says, and
//! the caller hears the engine's reply.
//!
//! No sockets, no clock, no sleeping: time is a number the loop advances to
//! the next thing due.

mod common;
#[path = "common/fake_network.rs"]
mod fake_network;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use fake_network::{FakeNetwork, FlowStats, Impairment, SplitMix};
use ivr::brain::asr::{TranscribeRequest, Transcript};
use ivr::call::{
    Call, CallConfig, CallEvent, FRAME_SAMPLES, Input as CallInput, Output as CallOutput,
};
use ivr::call_record::CallRecord;
use ivr::eval_fixtures::{Fixture, error_count};
use ivr::media::resample::upsample_8k_to_16k;
use ivr::media::wav;
use ivr::rtp::{MediaReceiver, MediaSender, ReceiverConfig, RtpPacket, RtpStats};
use ivr::runtime::engine::CallSettings;
use ivr::runtime::prompt_cache::PromptCache;
use ivr::runtime::replay::Brain;
use ivr::runtime::rtp_leg::g711;
use ivr::runtime::tts::PromptRenderer;
use ivr::session::{Decision, RouteKind};
use ivr::sip::{
    CallHandle, EndReason, Endpoint, EndpointConfig, Input as SipInput, MediaOffer,
    Output as SipOutput, Peer, SipEvent, Transport,
};

const TICK_MS: u64 = 20;
const FRAME: usize = FRAME_SAMPLES;
/// A call that has not finished after this much fake time is stuck.
const CALL_LIMIT_MS: u64 = 120_000;
/// Frame level (RMS) above which the caller counts what it hears as sound:
/// prompts and the hold chime are far above it, digital silence is 0.
const LOUD_RMS: f64 = 300.0;
/// The caller takes this much quiet after a prompt as its turn to speak.
const TURN_QUIET_MS: u64 = 1000;
/// How long the caller waits for the greeting, then for the reply.
const PATIENCE_MS: u64 = 30_000;

const CALLER_SIP: SocketAddr = addr(5070);
const ENGINE_SIP: SocketAddr = addr(5060);
const CALLER_RTP: SocketAddr = addr(40_000);
const ENGINE_RTP: SocketAddr = addr(20_000);

const fn addr(port: u16) -> SocketAddr {
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), port)
}

fn impairment() -> Impairment {
    Impairment {
        loss: 0.05,
        base_delay_ms: 5,
        max_jitter_ms: 60,
    }
}

fn udp(addr: SocketAddr) -> Peer {
    Peer {
        transport: Transport::Udp,
        addr,
    }
}

fn rms(frame: &[i16]) -> f64 {
    let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (energy / frame.len().max(1) as f64).sqrt()
}

/// Rendered prompts, shared by the tests of this binary (and, on disk, with
/// the other tests that render them).
fn prompts() -> Arc<PromptCache> {
    static CACHE: OnceLock<Arc<PromptCache>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            let dir = common::repo().join("target/test-prompts");
            Arc::new(PromptCache::new(PromptRenderer::new(dir)))
        })
        .clone()
}

fn endpoint(local: SocketAddr, seed: u64) -> Endpoint {
    let mut config = EndpointConfig::new(local);
    config.seed = seed;
    Endpoint::new(config)
}

/// What one side's SIP endpoint wants sent goes onto the network; its
/// events are returned.
fn flush_sip(
    sip: &mut Endpoint,
    from: SocketAddr,
    now: u64,
    net: &mut FakeNetwork,
) -> Vec<SipEvent> {
    let mut events = Vec::new();
    while let Some(out) = sip.poll_output() {
        match out {
            SipOutput::Transmit { peer, bytes } => net.send(now, from, peer.addr, bytes),
            SipOutput::Event(e) => events.push(e),
        }
    }
    events
}

// ---------------------------------------------------------------- engine side

/// One answered call, run the way the runtime's call task runs it.
struct EngineCall {
    handle: CallHandle,
    core: Call,
    receiver: MediaReceiver,
    sender: MediaSender,
    remote_rtp: SocketAddr,
    on_hold: bool,
    started_ms: u64,
    ticks: u64,
    ended: Option<EndReason>,
    /// The engine asked its endpoint to hang up.
    hung_up: bool,
    /// Call events with the absolute time they came out.
    events: Vec<(u64, CallEvent)>,
    handoffs: Vec<Decision>,
    transcripts: Vec<String>,
    packet: Vec<u8>,
}

struct EngineSide {
    sip: Endpoint,
    brain: Arc<Brain>,
    prompts: Arc<PromptCache>,
    settings: CallSettings,
    call: Option<EngineCall>,
    sip_events: Vec<SipEvent>,
    seed: u64,
}

impl EngineSide {
    fn new(brain: Arc<Brain>, seed: u64) -> EngineSide {
        EngineSide {
            sip: endpoint(ENGINE_SIP, seed ^ 0xE),
            brain,
            prompts: prompts(),
            settings: CallSettings::default(),
            call: None,
            sip_events: Vec::new(),
            seed,
        }
    }

    fn next_tick(&self) -> Option<u64> {
        let call = self.call.as_ref().filter(|c| c.ended.is_none())?;
        Some(call.started_ms + call.ticks * TICK_MS)
    }

    fn flush(&mut self, now: u64, net: &mut FakeNetwork) {
        loop {
            let events = flush_sip(&mut self.sip, ENGINE_SIP, now, net);
            if events.is_empty() {
                return;
            }
            for event in events {
                self.on_sip_event(now, event);
            }
        }
    }

    fn on_sip_event(&mut self, now: u64, event: SipEvent) {
        self.sip_events.push(event.clone());
        match event {
            SipEvent::IncomingCall {
                call,
                from_uri,
                call_id,
                offer,
                ..
            } => {
                assert!(self.call.is_none(), "one call at a time in this test");
                self.sip.ringing(now, call);
                self.sip
                    .answer(now, call, ENGINE_RTP)
                    .expect("the engine answers");
                self.start_call(now, call, &from_uri, &call_id, &offer);
            }
            SipEvent::MediaChanged { offer, .. } => {
                if let Some(c) = self.call.as_mut() {
                    c.remote_rtp = offer.remote_rtp;
                    c.on_hold = offer.on_hold;
                }
            }
            SipEvent::CallEnded { reason, .. } => {
                if let Some(c) = self.call.as_mut().filter(|c| c.ended.is_none()) {
                    c.ended = Some(reason);
                    let call_ms = c.ticks * TICK_MS;
                    c.core.handle_input(call_ms, CallInput::Hangup);
                    drain(c, call_ms, &self.brain, &self.prompts);
                }
            }
            _ => {}
        }
    }

    /// What the runtime does on an answered call: a receiver and sender for
    /// the negotiated codec, the call core, the greeting.
    fn start_call(
        &mut self,
        now: u64,
        handle: CallHandle,
        from: &str,
        call_id: &str,
        offer: &MediaOffer,
    ) {
        let receiver = MediaReceiver::new(ReceiverConfig {
            codec: g711(offer.codec),
            payload_type: offer.payload_type,
            dtmf_payload_type: offer.dtmf_payload_type,
            playout_delay_ms: self.settings.playout_delay_ms,
        });
        let sender = MediaSender::new(
            (self.seed >> 3) as u32,
            g711(offer.codec),
            offer.payload_type,
            (self.seed >> 8) as u16,
            (self.seed >> 16) as u32,
        );
        let mut core = Call::new(
            self.brain.dialplan.clone(),
            self.brain.router.clone(),
            // As the engine configures a call, without recorded announcements.
            CallConfig {
                sounds_dir: None,
                ..self.settings.call_config(
                    self.brain.language,
                    ivr::runtime::server::user_of(from),
                    call_id.to_string(),
                )
            },
        );
        core.start(0);
        let mut call = EngineCall {
            handle,
            core,
            receiver,
            sender,
            remote_rtp: offer.remote_rtp,
            on_hold: offer.on_hold,
            started_ms: now,
            ticks: 0,
            ended: None,
            hung_up: false,
            events: Vec::new(),
            handoffs: Vec::new(),
            transcripts: Vec::new(),
            packet: Vec::with_capacity(12 + FRAME),
        };
        drain(&mut call, 0, &self.brain, &self.prompts);
        self.call = Some(call);
    }

    fn receive_rtp(&mut self, now: u64, bytes: &[u8]) {
        if let Some(c) = self.call.as_mut().filter(|c| c.ended.is_none()) {
            c.receiver.push_packet(now, bytes);
        }
    }

    /// One 20 ms step: the caller's next frame in, the engine's next frame out.
    fn tick(&mut self, now: u64, net: &mut FakeNetwork) {
        let Some(c) = self.call.as_mut() else { return };
        let call_ms = c.ticks * TICK_MS;
        let media_ms = c.started_ms + call_ms;
        c.ticks += 1;
        let polled = c.receiver.poll_frame(media_ms);
        let frame = polled.unwrap_or([0; FRAME]);
        if polled.is_none() || c.receiver.last_frame_empty() {
            c.core.handle_input(call_ms, CallInput::NoCallerAudio);
        } else {
            c.core.handle_input(call_ms, CallInput::CallerFrame(&frame));
        }
        while let Some(digit) = c.receiver.poll_dtmf() {
            c.core.handle_input(call_ms, CallInput::Dtmf(digit));
        }
        let (played, hangup) = drain(c, call_ms, &self.brain, &self.prompts);
        let out = played.unwrap_or([0; FRAME]);
        if c.on_hold || c.remote_rtp.ip().is_unspecified() {
            c.sender.skip(FRAME as u32);
        } else {
            c.sender.packetize(&out, &mut c.packet);
            net.send(now, ENGINE_RTP, c.remote_rtp, c.packet.clone());
        }
        if hangup && !c.hung_up {
            c.hung_up = true;
            let handle = c.handle;
            self.sip.hangup(now, handle);
        }
    }
}

/// Carries out what the call core asked for, as the call task does; prompts
/// and transcripts are answered at once (fake time stands still meanwhile).
/// Returns the frame to play and whether the engine hangs up.
fn drain(
    c: &mut EngineCall,
    call_ms: u64,
    brain: &Brain,
    prompts: &PromptCache,
) -> (Option<[i16; FRAME]>, bool) {
    let mut played = None;
    let mut hangup = false;
    let at = c.started_ms + call_ms;
    while let Some(out) = c.core.poll_output() {
        match out {
            CallOutput::Play(frame) => played = Some(frame),
            CallOutput::RenderPrompt {
                key,
                text,
                language,
                wav,
            } => {
                let pcm_8k = prompts
                    .render(&key, &text, language, wav.as_deref())
                    .unwrap_or_else(|e| panic!("prompt {key} renders: {e}"));
                c.core
                    .handle_input(call_ms, CallInput::PromptAudio { key, pcm_8k });
            }
            CallOutput::Transcribe(req) => {
                let transcript: Transcript = brain.pool.transcribe(&req).expect("whisper");
                c.transcripts.push(transcript.text.clone());
                c.core
                    .handle_input(call_ms, CallInput::Transcript(transcript));
            }
            CallOutput::Event(event) => c.events.push((at, event)),
            CallOutput::Handoff(decision) => c.handoffs.push(decision),
            // Answered at once above: nothing left to stop or wait for.
            CallOutput::CallbackRequested
            | CallOutput::CancelTranscribe { .. }
            | CallOutput::ConfirmTranscribe { .. } => {}
            CallOutput::Hangup { .. } => hangup = true,
        }
    }
    (played, hangup)
}

// ---------------------------------------------------------------- caller side

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Listening until the greeting has played and gone quiet.
    AwaitGreeting,
    Speaking,
    /// Listening until the reply has played and gone quiet.
    AwaitReply,
    HungUp,
}

/// An RTP packet as it reached the caller.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload_type: u8,
}

/// A phone: places the call, plays its recording when the greeting is
/// over, listens to the reply and hangs up.
struct CallerSide {
    sip: Endpoint,
    handle: Option<CallHandle>,
    receiver: Option<MediaReceiver>,
    sender: Option<MediaSender>,
    answer: Option<MediaOffer>,
    speech: Vec<i16>,
    said: usize,
    phase: Phase,
    phase_since: u64,
    answered_ms: u64,
    ticks: u64,
    hiss: SplitMix,
    /// Frames with sound in the current phase, and quiet since the last one.
    loud_frames: u64,
    quiet_ms: u64,
    /// Every 20 ms the caller heard, with its absolute time.
    heard: Vec<(u64, [i16; FRAME])>,
    arrivals: Vec<Arrival>,
    spoke_at: Option<u64>,
    sip_events: Vec<SipEvent>,
    packet: Vec<u8>,
}

impl CallerSide {
    fn new(speech: Vec<i16>, seed: u64) -> CallerSide {
        CallerSide {
            sip: endpoint(CALLER_SIP, seed ^ 0xC),
            handle: None,
            receiver: None,
            sender: None,
            answer: None,
            speech,
            said: 0,
            phase: Phase::AwaitGreeting,
            phase_since: 0,
            answered_ms: 0,
            ticks: 0,
            hiss: SplitMix(seed),
            loud_frames: 0,
            quiet_ms: 0,
            heard: Vec::new(),
            arrivals: Vec::new(),
            spoke_at: None,
            sip_events: Vec::new(),
            packet: Vec::with_capacity(12 + FRAME),
        }
    }

    fn dial(&mut self, now: u64) {
        let handle = self
            .sip
            .invite(
                now,
                "sip:hotline@127.0.0.1:5060",
                udp(ENGINE_SIP),
                "5551234",
                CALLER_RTP,
                &[],
            )
            .expect("the caller dials");
        self.handle = Some(handle);
    }

    fn next_tick(&self) -> Option<u64> {
        (self.sender.is_some() && self.phase != Phase::HungUp)
            .then_some(self.answered_ms + self.ticks * TICK_MS)
    }

    fn flush(&mut self, now: u64, net: &mut FakeNetwork) {
        for event in flush_sip(&mut self.sip, CALLER_SIP, now, net) {
            if let SipEvent::Answered { answer, .. } = &event
                && self.sender.is_none()
            {
                self.receiver = Some(MediaReceiver::new(ReceiverConfig {
                    codec: g711(answer.codec),
                    payload_type: answer.payload_type,
                    dtmf_payload_type: answer.dtmf_payload_type,
                    playout_delay_ms: 60,
                }));
                self.sender = Some(MediaSender::new(
                    0xCA11_E500,
                    g711(answer.codec),
                    answer.payload_type,
                    1000,
                    50_000,
                ));
                self.answer = Some(answer.clone());
                self.answered_ms = now;
                self.phase_since = now;
            }
            if matches!(event, SipEvent::CallEnded { .. } | SipEvent::Failed { .. }) {
                self.phase = Phase::HungUp;
            }
            self.sip_events.push(event);
        }
    }

    fn receive_rtp(&mut self, now: u64, bytes: &[u8]) {
        let Some(receiver) = self.receiver.as_mut() else {
            return;
        };
        receiver.push_packet(now, bytes);
        if let Ok(p) = RtpPacket::parse(bytes) {
            self.arrivals.push(Arrival {
                sequence: p.sequence,
                timestamp: p.timestamp,
                ssrc: p.ssrc,
                payload_type: p.payload_type,
            });
        }
    }

    fn tick(&mut self, now: u64, net: &mut FakeNetwork) {
        let (Some(receiver), Some(answer)) = (self.receiver.as_mut(), self.answer.as_ref()) else {
            return;
        };
        let remote_rtp = answer.remote_rtp;
        self.ticks += 1;
        let heard = receiver.poll_frame(now).unwrap_or([0; FRAME]);
        self.heard.push((now, heard));
        if rms(&heard) > LOUD_RMS {
            self.loud_frames += 1;
            self.quiet_ms = 0;
        } else {
            self.quiet_ms += TICK_MS;
        }
        let mut frame = [0i16; FRAME];
        match self.phase {
            Phase::Speaking => {
                let end = (self.said + FRAME).min(self.speech.len());
                frame[..end - self.said].copy_from_slice(&self.speech[self.said..end]);
                self.said = end;
                if end == self.speech.len() {
                    self.next_phase(now, Phase::AwaitReply);
                }
            }
            _ => {
                // An open line is never digitally silent: faint hiss.
                for s in frame.iter_mut() {
                    *s = ((self.hiss.unit() * 2.0 - 1.0) * 40.0) as i16;
                }
            }
        }
        if let Some(sender) = self.sender.as_mut() {
            sender.packetize(&frame, &mut self.packet);
            net.send(now, CALLER_RTP, remote_rtp, self.packet.clone());
        }

        let turn_over = self.loud_frames >= 25 && self.quiet_ms >= TURN_QUIET_MS;
        let waited_too_long = now - self.phase_since > PATIENCE_MS;
        match self.phase {
            Phase::AwaitGreeting if turn_over || waited_too_long => {
                self.spoke_at = Some(now);
                self.next_phase(now, Phase::Speaking);
            }
            Phase::AwaitReply if turn_over || waited_too_long => {
                self.next_phase(now, Phase::HungUp);
                let handle = self.handle.expect("a call");
                self.sip.hangup(now, handle);
            }
            _ => {}
        }
    }

    fn next_phase(&mut self, now: u64, phase: Phase) {
        self.phase = phase;
        self.phase_since = now;
        self.loud_frames = 0;
        self.quiet_ms = 0;
    }

    fn ended(&self) -> bool {
        self.sip_events
            .iter()
            .any(|e| matches!(e, SipEvent::CallEnded { .. } | SipEvent::Failed { .. }))
    }
}

// ---------------------------------------------------------------- the call

/// Everything a finished call left behind.
struct Outcome {
    fixture: Fixture,
    finished_ms: u64,
    caller: CallerSide,
    engine_events: Vec<(u64, CallEvent)>,
    engine_sip: Vec<SipEvent>,
    engine_ended: Option<EndReason>,
    handoffs: Vec<Decision>,
    transcripts: Vec<String>,
    engine_rtp: RtpStats,
    record: CallRecord,
    caller_to_engine: FlowStats,
    engine_to_caller: FlowStats,
}

fn run_call(fixture_id: &str, seed: u64) -> Outcome {
    let fixture = common::fixtures()
        .into_iter()
        .find(|f| f.id == fixture_id)
        .unwrap_or_else(|| panic!("fixture {fixture_id}"));
    let audio = wav::read_wav(&fixture.wav).expect("fixture reads");
    assert_eq!(audio.sample_rate, 8000, "{fixture_id} is 8 kHz");
    let brain = common::brain(fixture.language);

    let mut net = FakeNetwork::new(seed, impairment());
    let mut caller = CallerSide::new(audio.samples, seed);
    let mut engine = EngineSide::new(brain, seed);
    let mut now = 0;
    caller.dial(now);
    loop {
        while let Some(d) = net.receive(now) {
            let peer = udp(d.from);
            match d.to {
                ENGINE_SIP => engine.sip.handle_input(
                    now,
                    SipInput::Received {
                        peer,
                        bytes: &d.bytes,
                    },
                ),
                CALLER_SIP => caller.sip.handle_input(
                    now,
                    SipInput::Received {
                        peer,
                        bytes: &d.bytes,
                    },
                ),
                ENGINE_RTP => engine.receive_rtp(now, &d.bytes),
                CALLER_RTP => caller.receive_rtp(now, &d.bytes),
                other => panic!("a datagram to {other}, where nobody listens"),
            }
        }
        if engine.sip.poll_timeout().is_some_and(|t| t <= now) {
            engine.sip.handle_timeout(now);
        }
        if caller.sip.poll_timeout().is_some_and(|t| t <= now) {
            caller.sip.handle_timeout(now);
        }
        engine.flush(now, &mut net);
        caller.flush(now, &mut net);
        if engine.next_tick().is_some_and(|t| t <= now) {
            engine.tick(now, &mut net);
        }
        if caller.next_tick().is_some_and(|t| t <= now) {
            caller.tick(now, &mut net);
        }
        engine.flush(now, &mut net);
        caller.flush(now, &mut net);

        let engine_done = engine.call.as_ref().is_some_and(|c| c.ended.is_some());
        if (caller.ended() && engine_done) || now > CALL_LIMIT_MS {
            break;
        }
        let next = [
            net.next_arrival(),
            engine.sip.poll_timeout(),
            caller.sip.poll_timeout(),
            engine.next_tick(),
            caller.next_tick(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now + TICK_MS);
        now = next.max(now + 1);
    }

    let call = engine.call.take().expect("the engine got the call");
    Outcome {
        finished_ms: now,
        caller_to_engine: net.flow(CALLER_RTP, ENGINE_RTP),
        engine_to_caller: net.flow(ENGINE_RTP, CALLER_RTP),
        engine_rtp: call.receiver.stats(),
        record: call.core.record(),
        engine_events: call.events,
        engine_sip: engine.sip_events,
        engine_ended: call.ended,
        handoffs: call.handoffs,
        transcripts: call.transcripts,
        caller,
        fixture,
    }
}

// ---------------------------------------------------------------- checks

/// Word error rate of the engine's own recogniser on `pcm` against `text`,
/// with what it heard.
fn word_error_rate(text: &str, pcm: &[i16], language: ivr::brain::asr::Language) -> (f64, String) {
    let heard = common::brain(language)
        .pool
        .transcribe(&TranscribeRequest {
            utterance: 1,
            pcm_16k: upsample_8k_to_16k(pcm),
            language,
            prompt: String::new(),
            speculative: false,
        })
        .expect("whisper")
        .text;
    let (errors, words) = error_count(text, &heard, language);
    (errors as f64 / words.max(1) as f64, heard)
}

impl Outcome {
    fn decisions(&self) -> Vec<(u64, &Decision)> {
        self.engine_events
            .iter()
            .filter_map(|(at, e)| match e {
                CallEvent::Decision(d) => Some((*at, d)),
                _ => None,
            })
            .collect()
    }

    /// The first prompt the engine started after `at`: its key and text.
    fn prompt_after(&self, at: u64) -> Option<(String, String)> {
        self.engine_events.iter().find_map(|(t, e)| match e {
            CallEvent::PromptStarted { key, text, .. } if *t >= at => {
                Some((key.clone(), text.clone()))
            }
            _ => None,
        })
    }

    /// What the caller heard from `from` for `ms`, as one recording.
    fn heard_between(&self, from: u64, ms: u64) -> Vec<i16> {
        self.caller
            .heard
            .iter()
            .filter(|(t, _)| *t >= from && *t < from + ms)
            .flat_map(|(_, f)| f.iter().copied())
            .collect()
    }
}

fn context(o: &Outcome) -> String {
    format!(
        "fixture {} at {} ms: transcripts {:?}, decisions {:?}, caller SIP {:?}, engine SIP {:?}",
        o.fixture.id,
        o.finished_ms,
        o.transcripts,
        o.decisions()
            .iter()
            .map(|(at, d)| (*at, d.intent.clone(), d.route.kind))
            .collect::<Vec<_>>(),
        o.caller.sip_events,
        o.engine_sip,
    )
}

/// The engine's stream as the caller got it: one SSRC, the negotiated
/// payload type, and timestamps 160 apart per sequence number, whatever
/// order the packets came in.
fn check_engine_stream(o: &Outcome) {
    let arrivals = &o.caller.arrivals;
    let answer = o.caller.answer.as_ref().expect("answered");
    assert!(!arrivals.is_empty());
    let ssrc = arrivals[0].ssrc;
    assert!(arrivals.iter().all(|a| a.ssrc == ssrc), "one SSRC");
    assert!(
        arrivals
            .iter()
            .all(|a| a.payload_type == answer.payload_type),
        "negotiated payload type"
    );
    let first = arrivals[0];
    for a in arrivals {
        let steps = a.sequence.wrapping_sub(first.sequence) as i16 as i64;
        let ticks = a.timestamp.wrapping_sub(first.timestamp) as i32 as i64;
        assert_eq!(
            ticks,
            steps * FRAME as i64,
            "timestamp follows sequence: {a:?} vs {first:?}"
        );
    }
    let mut in_order = 0;
    for pair in arrivals.windows(2) {
        if pair[1].sequence.wrapping_sub(pair[0].sequence) as i16 > 0 {
            in_order += 1;
        }
    }
    assert!(
        in_order < arrivals.len() - 1,
        "the network reordered the engine's packets too"
    );
}

fn check(o: &Outcome) {
    let ctx = context(o);
    let expected = o.fixture.intent.clone();

    // The SIP dialog: answered, confirmed, ended by the caller's BYE.
    assert!(
        o.caller
            .sip_events
            .iter()
            .any(|e| matches!(e, SipEvent::Answered { .. })),
        "{ctx}"
    );
    assert!(
        o.engine_sip
            .iter()
            .any(|e| matches!(e, SipEvent::CallConfirmed { .. })),
        "{ctx}"
    );
    assert_eq!(o.engine_ended, Some(EndReason::RemoteBye), "{ctx}");
    assert!(
        o.caller.sip_events.iter().any(|e| matches!(
            e,
            SipEvent::CallEnded {
                reason: EndReason::LocalBye,
                ..
            }
        )),
        "{ctx}"
    );

    // The network really was bad, both ways.
    for flow in [o.caller_to_engine, o.engine_to_caller] {
        assert!(flow.sent > 200, "{flow:?}");
        assert!(flow.lost > 0 && flow.overtaken > 0, "{flow:?}");
    }
    assert!(o.engine_rtp.lost > 0, "{:?}", o.engine_rtp);

    // The caller waited for the greeting, then spoke.
    let greeting_ended = o.engine_events.iter().find_map(|(at, e)| match e {
        CallEvent::PromptFinished { key, .. } if key.ends_with(":greeting") => Some(*at),
        _ => None,
    });
    let spoke_at = o.caller.spoke_at.expect("the caller spoke");
    assert!(
        greeting_ended.is_some_and(|g| g <= spoke_at),
        "greeting {greeting_ended:?}, caller spoke at {spoke_at}: {ctx}"
    );

    // Routed as labelled.
    let decisions = o.decisions();
    let (decided_at, first) = *decisions
        .first()
        .unwrap_or_else(|| panic!("no decision: {ctx}"));
    assert_eq!(first.intent, expected, "{ctx}");
    let last = o.record.final_decision.as_ref().expect("a final decision");
    assert_eq!(last.intent, expected, "{ctx}");
    match first.route.kind {
        RouteKind::Queue => assert!(
            o.handoffs.iter().any(|h| h.intent == expected),
            "handed to a queue: {ctx}"
        ),
        RouteKind::SelfService => assert!(
            o.engine_events
                .iter()
                .any(|(_, e)| matches!(e, CallEvent::AnswerStarted { .. })),
            "answered: {ctx}"
        ),
        other => panic!("{other:?} is no routing: {ctx}"),
    }
    assert!(
        !o.record.turns.is_empty() && o.record.turns[0].end_ms > o.record.turns[0].start_ms,
        "{ctx}"
    );

    // The caller heard the reply: sound after the decision, and the
    // engine's own recogniser understands it as the prompt it played.
    let loud_after = o
        .caller
        .heard
        .iter()
        .filter(|(t, f)| *t > decided_at && rms(f) > LOUD_RMS)
        .count();
    assert!(
        loud_after >= 25,
        "{loud_after} loud frames after the decision: {ctx}"
    );
    let (key, text) = o.prompt_after(decided_at).expect("a reply prompt");
    let prompt_ms = prompts().get(&key).expect("rendered").len() as u64 / 8;
    // Up to a tick, the network and the caller's playout delay later.
    let reply = o.heard_between(decided_at, prompt_ms + 300);
    let wer_heard = word_error_rate(&text, &reply, o.fixture.language);
    let clean = prompts().get(&key).expect("rendered");
    let wer_clean = word_error_rate(&text, &clean, o.fixture.language);
    println!(
        "{}: decided at {decided_at} ms, {key}: WER as heard {:.2} ({:?}), WER of the clean prompt {:.2}; \
         caller->engine {:?}, engine->caller {:?}, engine RTP {:?}",
        o.fixture.id,
        wer_heard.0,
        wer_heard.1,
        wer_clean.0,
        o.caller_to_engine,
        o.engine_to_caller,
        o.engine_rtp
    );
    assert!(
        wer_heard.0 <= wer_clean.0 + 0.2,
        "{key}: {text:?} heard as {:?}, clean as {:?}: {ctx}",
        wer_heard.1,
        wer_clean.1
    );

    check_engine_stream(o);
}

#[test]
fn paying_a_bill_routes_through_loss_and_jitter() {
    check(&run_call("en_pay_01", 11));
}

#[test]
fn asking_for_a_person_is_queued_through_loss_and_jitter() {
    check(&run_call("en_agent_02", 12));
}

#[test]
fn roaming_question_is_answered_through_loss_and_jitter() {
    check(&run_call("en_roaming_01", 13));
}

#[test]
fn internet_outage_is_routed_through_loss_and_jitter() {
    check(&run_call("en_outage_01", 14));
}

#[test]
fn balance_question_is_answered_through_loss_and_jitter() {
    check(&run_call("en_balance_01", 15));
}
