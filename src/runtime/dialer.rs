//! `ivr dial`: a minimal SIP caller. Places one call, plays a WAV as the
//! caller's voice (paced 20 ms RTP), records what comes back, hangs up.
//! It also measures what a caller feels: the gap from the end of their
//! speech to the first sound of the answer (voice-to-voice).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tokio::net::UdpSocket;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use crate::media::vad::{Endpointer, VadConfig, VadEvent};
use crate::media::wav::{self, WavError};
use crate::rtp::jitter::MAX_PACKET_SAMPLES;
use crate::rtp::{G711, MediaReceiver, MediaSender, ReceiverConfig, RtpPacket};
use crate::runtime::clock::Clock;
use crate::runtime::pacing::Pacing;
use crate::runtime::rtp_leg::g711;
use crate::runtime::rtp_socket::RtpSocket;
use crate::sip::{Endpoint, EndpointConfig, Input, Output, Peer, SipError, SipEvent, Transport};

const FRAME: usize = 160;
/// Received audio louder than this (RMS of a 20 ms frame) counts as sound.
const SOUND_RMS: f64 = 120.0;
/// The caller's jitter buffer, as a phone on a quiet network would keep it.
pub const PLAYOUT_DELAY_MS: u32 = 40;

#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error(transparent)]
    Wav(#[from] WavError),
    #[error("{0}: dial plays 8 kHz WAV files")]
    SampleRate(String),
    #[error("bad target {0}: expected sip:user@host[:port]")]
    Target(String),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Sip(#[from] SipError),
    #[error("the call was not answered: {0}")]
    NotAnswered(String),
}

#[derive(Debug, Clone)]
pub struct DialOptions {
    pub target: String,
    pub play: PathBuf,
    pub local_ip: IpAddr,
    /// Wait for the greeting to finish (sound, then this much silence)
    /// before speaking; 0 speaks at once.
    pub wait_for_prompt_ms: u64,
    /// How long to keep listening after speaking.
    pub listen_ms: u64,
    /// Give up on an unanswered call after this long.
    pub answer_timeout_ms: u64,
    /// Digits to press (RFC 4733) after speaking, e.g. "0".
    pub dtmf: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DialReport {
    pub answered: bool,
    /// Setup time: INVITE sent to 200 OK received.
    pub setup_ms: f64,
    /// What the caller heard, 8 kHz.
    #[serde(skip)]
    pub heard: Vec<i16>,
    pub heard_ms: u64,
    /// End of the caller's speech to the first RTP packet of the answer
    /// (one with sound in it) at the caller's socket.
    pub voice_to_voice_ms: Option<f64>,
    /// The same to when the caller hears it: after this caller's own
    /// playout buffer ([`PLAYOUT_DELAY_MS`]) and 20 ms tick.
    pub voice_to_ear_ms: Option<f64>,
    /// Whether the engine hung up (BYE) before we did.
    pub remote_hung_up: bool,
    /// RTP packets received from the engine.
    pub packets: u64,
    /// Packets that arrived more than [`LATE_MS`](crate::runtime::pacing::LATE_MS) behind the sender's own
    /// schedule (its RTP timestamps): what a caller hears as a gap.
    pub late_packets: u64,
    pub max_lateness_ms: f64,
    /// Packets that never arrived (gaps in the sequence numbers).
    pub lost_packets: u64,
}

pub async fn dial(opts: &DialOptions) -> Result<DialReport, DialError> {
    let audio = wav::read_wav(&opts.play)?;
    if audio.sample_rate != 8000 {
        return Err(DialError::SampleRate(opts.play.display().to_string()));
    }
    let speech_end_ms = last_speech_end_ms(&audio.samples);
    let server = target_addr(&opts.target)?;
    let sip = UdpSocket::bind(SocketAddr::new(opts.local_ip, 0)).await?;
    // Read on the tick, with the kernel's arrival stamps: what a packet's
    // timing says is the engine's, not this caller's own scheduling.
    let mut rtp = RtpSocket::bind(SocketAddr::new(opts.local_ip, 0))?;
    // tokio's try_send_to fails until the reactor has seen the socket
    // writable once: without this the first INVITE waits for its retransmit.
    sip.writable().await?;
    let clock = Clock::new();
    let mut endpoint = caller_endpoint(sip.local_addr()?, "ivr-dial");
    let peer = Peer {
        transport: Transport::Udp,
        addr: server,
    };
    let call = endpoint.invite(
        clock.now_ms(),
        &opts.target,
        peer,
        "caller",
        rtp.local_addr()?,
        &[],
    )?;
    let invited = Instant::now();
    let mut link = SipLink {
        sip,
        endpoint,
        clock,
        events: Default::default(),
        buf: vec![0u8; 65_535],
    };
    let answer = link
        .until_answered(
            call,
            invited + Duration::from_millis(opts.answer_timeout_ms),
        )
        .await?;
    let setup_ms = invited.elapsed().as_secs_f64() * 1000.0;
    let mut receiver = MediaReceiver::new(ReceiverConfig {
        codec: g711(answer.codec),
        payload_type: answer.payload_type,
        dtmf_payload_type: answer.dtmf_payload_type,
        playout_delay_ms: PLAYOUT_DELAY_MS,
    });
    let codec = g711(answer.codec);
    let mut sender = MediaSender::new(0x1d1a_1e55, g711(answer.codec), answer.payload_type, 1, 0);
    if let Some(pt) = answer.dtmf_payload_type {
        sender.set_dtmf_payload_type(pt);
    }
    let mut tick = interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut phase = Phase::WaitPrompt {
        heard_sound: false,
        quiet_since: None,
    };
    let call_start = Instant::now();
    let wait_limit =
        call_start + Duration::from_millis(opts.wait_for_prompt_ms.max(1) * 4 + 15_000);
    let mut sent = 0usize;
    let mut speech_end_at: Option<Instant> = None;
    let mut first_answer: Option<Instant> = None;
    let mut first_answer_packet: Option<Instant> = None;
    // Sized for the whole call up front: regrowing it is a copy of
    // everything heard so far.
    let mut heard = Vec::with_capacity(
        audio.samples.len() + 8 * (opts.listen_ms + opts.wait_for_prompt_ms) as usize,
    );
    let mut remote_hung_up = false;
    let mut packet = Vec::with_capacity(12 + FRAME);
    let mut dtmf_sent = false;
    let mut ticks = 0u64;
    let mut pacing = Pacing::default();
    // The receiver's clock: packets and frames must be timed on the same one.
    let media_start = clock.now_ms();
    let mut dtmf_queue: std::collections::VecDeque<Vec<u8>> = Default::default();
    let sip_timer = sleep_until(link.wake_at());
    tokio::pin!(sip_timer);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                ticks += 1;
                let now = Instant::now();
                rtp.drain(|arrived, bytes| {
                    let arrival_ms = clock.ms_at(arrived);
                    let arrived = Instant::from_std(arrived);
                    if let Some(end) = speech_end_at
                        && first_answer_packet.is_none()
                        && arrived > end
                        && has_sound(bytes, codec, answer.payload_type)
                    {
                        first_answer_packet = Some(arrived);
                    }
                    pacing.packet(arrived.into_std(), bytes);
                    receiver.push_packet(arrival_ms, bytes);
                });
                let media_ms = media_start + ticks * 20;
                let frame = receiver.poll_frame(media_ms).unwrap_or([0; FRAME]);
                let loud = rms(&frame) > SOUND_RMS;
                heard.extend_from_slice(&frame);
                if let Some(end) = speech_end_at && first_answer.is_none() && loud && now > end {
                    first_answer = Some(now);
                }
                match &mut phase {
                    Phase::WaitPrompt { heard_sound, quiet_since } => {
                        *heard_sound |= loud;
                        if loud { *quiet_since = None } else if quiet_since.is_none() { *quiet_since = Some(now) }
                        let quiet_long = quiet_since.is_some_and(|q| now.duration_since(q).as_millis() as u64 >= opts.wait_for_prompt_ms);
                        if opts.wait_for_prompt_ms == 0 || (*heard_sound && quiet_long) || now > wait_limit {
                            phase = Phase::Speak;
                        }
                    }
                    Phase::Speak => {
                        if sent == 0 {
                            speech_end_at = speech_end_ms.map(|ms| now + Duration::from_millis(ms));
                        }
                        let mut frame = [0i16; FRAME];
                        let end = (sent + FRAME).min(audio.samples.len());
                        frame[..end - sent].copy_from_slice(&audio.samples[sent..end]);
                        packet.clear();
                        sender.packetize(&frame, &mut packet);
                        rtp.send_to(&packet, answer.remote_rtp);
                        sent = end;
                        if sent >= audio.samples.len() {
                            phase = Phase::Listen { until: now + Duration::from_millis(opts.listen_ms) };
                        }
                    }
                    Phase::Listen { until } => {
                        if !dtmf_sent && !opts.dtmf.is_empty() {
                            dtmf_sent = true;
                            for digit in opts.dtmf.chars() {
                                dtmf_queue.extend(sender.dtmf(digit, 160).unwrap_or_default());
                            }
                        }
                        // One event packet per 20 ms, in place of audio.
                        if let Some(p) = dtmf_queue.pop_front() {
                            rtp.send_to(&p, answer.remote_rtp);
                        }
                        if now >= *until && dtmf_queue.is_empty() { break; }
                    }
                }
            }
            // SIP read and timed in place: a fresh `next_event` per tick
            // cost more than the call's media (a timer entry each time).
            received = link.sip.recv_from(&mut link.buf) => {
                let (n, addr) = received?;
                link.receive(n, addr);
                if link.call_ended() {
                    remote_hung_up = true;
                    break;
                }
                sip_timer.as_mut().reset(link.wake_at());
            }
            () = &mut sip_timer => {
                link.endpoint.handle_timeout(link.clock.now_ms());
                if link.call_ended() {
                    remote_hung_up = true;
                    break;
                }
                sip_timer.as_mut().reset(link.wake_at());
            }
        }
    }
    if !remote_hung_up {
        link.endpoint.hangup(clock.now_ms(), call);
        link.flush();
        // Let the BYE transaction finish (or time out) briefly.
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until {
            tokio::select! {
                ev = link.next_event() => if let Some(SipEvent::CallEnded { .. }) = ev? { break },
                _ = sleep_until(until) => break,
            }
        }
    }
    let since_speech_end = |at: Option<Instant>| match (speech_end_at, at) {
        (Some(end), Some(at)) => Some(at.duration_since(end).as_secs_f64() * 1000.0),
        _ => None,
    };
    let voice_to_voice_ms = since_speech_end(first_answer_packet);
    let voice_to_ear_ms = since_speech_end(first_answer);
    let (late_packets, max_lateness_ms) = pacing.late();
    Ok(DialReport {
        packets: pacing.packets(),
        late_packets,
        max_lateness_ms,
        lost_packets: pacing.lost(),
        answered: true,
        setup_ms,
        heard_ms: heard.len() as u64 / 8,
        heard,
        voice_to_voice_ms,
        voice_to_ear_ms,
        remote_hung_up,
    })
}

enum Phase {
    WaitPrompt {
        heard_sound: bool,
        quiet_since: Option<Instant>,
    },
    Speak,
    Listen {
        until: Instant,
    },
}

/// The SIP side of the dialer: one socket, one endpoint.
struct SipLink {
    sip: UdpSocket,
    endpoint: Endpoint,
    clock: Clock,
    events: std::collections::VecDeque<SipEvent>,
    /// Receive buffer, allocated once per call.
    buf: Vec<u8>,
}

impl SipLink {
    /// Sends what the endpoint asks and keeps its events. Synchronous, so a
    /// cancelled `select!` branch never loses an event half-way.
    fn flush(&mut self) {
        while let Some(out) = self.endpoint.poll_output() {
            match out {
                Output::Transmit { peer, bytes } => {
                    // A full socket buffer loses the message; SIP retransmits.
                    let _ = self.sip.try_send_to(&bytes, peer.addr);
                }
                Output::Event(e) => self.events.push_back(e),
            }
        }
    }

    /// Runs the endpoint until it reports something.
    async fn next_event(&mut self) -> Result<Option<SipEvent>, DialError> {
        loop {
            self.flush();
            if let Some(e) = self.events.pop_front() {
                return Ok(Some(e));
            }
            let wake = self.wake_at();
            tokio::select! {
                r = self.sip.recv_from(&mut self.buf) => {
                    let (n, addr) = r?;
                    self.receive(n, addr);
                }
                _ = sleep_until(wake) => self.endpoint.handle_timeout(self.clock.now_ms()),
            }
        }
    }

    /// When the endpoint next needs its timers run.
    fn wake_at(&self) -> Instant {
        timers_due(&self.endpoint, &self.clock)
    }

    /// A datagram of `n` bytes in `buf` from `addr`.
    fn receive(&mut self, n: usize, addr: SocketAddr) {
        let peer = Peer {
            transport: Transport::Udp,
            addr,
        };
        let bytes = &self.buf[..n];
        self.endpoint
            .handle_input(self.clock.now_ms(), Input::Received { peer, bytes });
    }

    /// Whether the events so far (others are dropped) end the call.
    fn call_ended(&mut self) -> bool {
        self.flush();
        let mut ended = false;
        while let Some(e) = self.events.pop_front() {
            ended |= matches!(e, SipEvent::CallEnded { .. });
        }
        ended
    }

    async fn until_answered(
        &mut self,
        call: crate::sip::CallHandle,
        deadline: Instant,
    ) -> Result<crate::sip::MediaOffer, DialError> {
        loop {
            tokio::select! {
                ev = self.next_event() => match ev? {
                    Some(SipEvent::Answered { call: c, answer }) if c == call => return Ok(answer),
                    Some(SipEvent::Failed { status, .. }) => return Err(DialError::NotAnswered(format!("SIP {status}"))),
                    Some(SipEvent::CallEnded { reason, .. }) => return Err(DialError::NotAnswered(format!("{reason:?}"))),
                    _ => {}
                },
                _ = sleep_until(deadline) => return Err(DialError::NotAnswered("timed out".into())),
            }
        }
    }
}

/// A SIP endpoint that places calls from `local_addr`, offering G.711.
pub fn caller_endpoint(local_addr: SocketAddr, agent: &str) -> Endpoint {
    Endpoint::new(EndpointConfig {
        local_addr,
        user_agent: format!("{agent}/{}", env!("CARGO_PKG_VERSION")),
        codecs: vec![crate::sip::Codec::Pcmu, crate::sip::Codec::Pcma],
        seed: crate::runtime::clock::unix_ms() as u64,
        agents: Vec::new(),
        realm: "ivr".to_string(),
    })
}

/// When `endpoint` next needs its timers run, on `clock`.
pub fn timers_due(endpoint: &Endpoint, clock: &Clock) -> Instant {
    endpoint
        .poll_timeout()
        .map_or(Instant::now() + Duration::from_secs(3600), |ms| {
            clock.instant_at(ms).into()
        })
}

/// Where the caller's speech in a file ends, by the engine's own endpointer.
fn last_speech_end_ms(samples: &[i16]) -> Option<u64> {
    let audio = wav::CallerAudio {
        sample_rate: 8000,
        encoding: wav::Encoding::Pcm16,
        samples: samples.to_vec(),
    };
    let wide = wav::to_16k_f32(&audio);
    let mut vad = Endpointer::new(VadConfig::default());
    let mut events = vad.push(&wide);
    events.extend(vad.finish());
    events
        .into_iter()
        .rev()
        .filter_map(|e| match e {
            VadEvent::Utterance(u) => Some(u.end_ms),
            VadEvent::SpeechStarted { .. } => None,
        })
        .next()
}

/// Whether an RTP packet carries audible audio in the call's codec.
fn has_sound(bytes: &[u8], codec: G711, payload_type: u8) -> bool {
    let Ok(packet) = RtpPacket::parse(bytes) else {
        return false;
    };
    if packet.payload_type != payload_type || packet.payload.len() > MAX_PACKET_SAMPLES {
        return false;
    }
    let mut pcm = [0i16; MAX_PACKET_SAMPLES];
    let n = codec.decode_into(packet.payload, &mut pcm);
    n > 0 && rms(&pcm[..n]) > SOUND_RMS
}

fn rms(frame: &[i16]) -> f64 {
    let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / frame.len() as f64).sqrt()
}

/// The host and port a `sip:` URI points at (port 5060 when absent).
pub fn target_addr(target: &str) -> Result<SocketAddr, DialError> {
    let bad = || DialError::Target(target.to_string());
    let rest = target.strip_prefix("sip:").ok_or_else(bad)?;
    let host = rest.rsplit('@').next().ok_or_else(bad)?;
    let host = host.split(';').next().ok_or_else(bad)?;
    let with_port = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5060")
    };
    with_port.parse().map_err(|_| bad())
}
