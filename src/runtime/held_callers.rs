//! `ivr bench hold`: many callers who only listen, their phones sending
//! silence as a muted phone does, all driven by one task on one SIP socket
//! and one RTP socket.
//!
//! Why not one `dial` per caller: the load generator runs on the same two
//! cores as the engine it measures, and a thousand callers each waking on
//! their own 20 ms timer and socket cost nearly as much CPU as the engine
//! itself; what the generator takes, the engine cannot have. Here one tick
//! sends every caller's packet and reads every packet the engine sent. The
//! engine gives each call its own SSRC, which tells its streams apart on
//! the shared port; gaps in their sequence numbers count as lost, so a
//! packet the shared port dropped is never mistaken for one on time.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use crate::rtp::{MediaSender, RtpPacket};
use crate::runtime::clock::Clock;
use crate::runtime::dialer::{DialError, caller_endpoint, target_addr, timers_due};
use crate::runtime::load::{LoadReport, Watch};
use crate::runtime::pacing::{Pacing, behind_quantile};
use crate::runtime::rtp_leg::g711;
use crate::runtime::rtp_socket::RtpSocket;
use crate::sip::{CallHandle, Endpoint, Input, Output, Peer, SipEvent, Transport};

#[derive(Debug, Clone)]
pub struct HoldOptions {
    pub target: String,
    /// Simultaneous calls per round.
    pub calls: usize,
    /// Delay between call starts.
    pub stagger_ms: u64,
    /// How long each call lasts once answered.
    pub hold_ms: u64,
    /// Batches of `calls`, one after the other.
    pub rounds: usize,
    /// The engine's process, watched for memory and CPU.
    pub watch_pid: Option<u32>,
}

const FRAME: usize = 160;
/// Kernel receive buffer for the shared RTP port: a tick's packets from a
/// few thousand calls (about 1 KiB each in the kernel), with room to spare
/// for a tick that runs late.
const RECEIVE_BUFFER: usize = 32 << 20;
/// How long after the last call should have ended the run gives up on
/// calls that never finish (unanswered INVITE, lost BYE).
const GRACE: Duration = Duration::from_secs(45);

/// A caller placed but not yet ended.
struct Held {
    invited: Instant,
    /// Set once answered, cleared once we hang up.
    media: Option<Media>,
}

struct Media {
    remote: SocketAddr,
    sender: MediaSender,
    hang_up_at: Instant,
}

/// What the rounds measured together.
#[derive(Default)]
struct Tally {
    streams: HashMap<u32, Pacing>,
    setup_ms: Vec<f64>,
    failures: Vec<String>,
}

pub async fn hold_calls(opts: &HoldOptions) -> Result<LoadReport, DialError> {
    let server = target_addr(&opts.target)?;
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let sip = UdpSocket::bind(loopback).await?;
    // tokio's try_send_to fails until the reactor has seen the socket
    // writable once.
    sip.writable().await?;
    let mut rtp = RtpSocket::bind(loopback)?;
    rtp.set_receive_buffer(RECEIVE_BUFFER)?;
    let clock = Clock::new();
    let mut caller = Callers {
        endpoint: caller_endpoint(sip.local_addr()?, "ivr-bench-hold"),
        sip,
        clock,
        server,
        rtp_addr: rtp.local_addr()?,
        calls: HashMap::new(),
        answered: 0,
    };
    let watch = Watch::start(opts.watch_pid);
    let mut tally = Tally::default();
    for _ in 0..opts.rounds.max(1) {
        caller.round(opts, &mut rtp, &mut tally).await?;
    }
    let mut report = watch.finish(
        opts.calls,
        opts.rounds.max(1),
        tally.failures,
        &tally.setup_ms,
    );
    for pacing in tally.streams.values() {
        let (late, worst) = pacing.late();
        report.packets += pacing.packets();
        report.late_packets += late;
        report.lost_packets += pacing.lost();
        report.max_lateness_ms = report.max_lateness_ms.max(worst);
    }
    report.behind_p99_ms = behind_quantile(tally.streams.values(), 0.99);
    Ok(report)
}

/// The callers' side of SIP: one socket, one endpoint for every call.
struct Callers {
    endpoint: Endpoint,
    sip: UdpSocket,
    clock: Clock,
    server: SocketAddr,
    rtp_addr: SocketAddr,
    calls: HashMap<CallHandle, Held>,
    /// Calls answered so far, over all rounds: each sends its own SSRC.
    answered: u32,
}

impl Callers {
    /// Places `opts.calls` calls, holds each for `opts.hold_ms` once
    /// answered, hangs up, and returns when every call has ended.
    async fn round(
        &mut self,
        opts: &HoldOptions,
        rtp: &mut RtpSocket,
        tally: &mut Tally,
    ) -> Result<(), DialError> {
        let started = Instant::now();
        let stagger = Duration::from_millis(opts.stagger_ms);
        let give_up =
            started + stagger * opts.calls as u32 + Duration::from_millis(opts.hold_ms) + GRACE;
        let mut to_place = opts.calls;
        let mut tick = interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut buf = vec![0u8; 65_535];
        let mut packet = Vec::with_capacity(12 + FRAME);
        let sip_timer = sleep_until(self.wake_at());
        tokio::pin!(sip_timer);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let now = Instant::now();
                    rtp.drain_all(|arrived, bytes| {
                        if let Ok(p) = RtpPacket::parse(bytes) {
                            tally.streams.entry(p.ssrc).or_default().parsed(arrived, &p);
                        }
                    });
                    self.send_or_hang_up(now, rtp, &mut packet);
                    // After the media, so a call's setup time starts when
                    // its INVITE leaves, not a tick's worth of packets before.
                    while to_place > 0 && started + stagger * (opts.calls - to_place) as u32 <= now {
                        self.invite(&opts.target, tally);
                        to_place -= 1;
                    }
                }
                received = self.sip.recv_from(&mut buf) => {
                    let (n, addr) = received?;
                    let peer = Peer { transport: Transport::Udp, addr };
                    self.endpoint.handle_input(
                        self.clock.now_ms(),
                        Input::Received { peer, bytes: &buf[..n] },
                    );
                }
                () = &mut sip_timer => self.endpoint.handle_timeout(self.clock.now_ms()),
            }
            self.flush(opts, tally);
            sip_timer.as_mut().reset(self.wake_at());
            if to_place == 0 && self.calls.is_empty() {
                return Ok(());
            }
            if Instant::now() > give_up {
                let stuck = self.calls.drain().count();
                tally
                    .failures
                    .extend((0..stuck).map(|_| "the call never ended".to_string()));
                return Ok(());
            }
        }
    }

    fn invite(&mut self, target: &str, tally: &mut Tally) {
        let peer = Peer {
            transport: Transport::Udp,
            addr: self.server,
        };
        match self.endpoint.invite(
            self.clock.now_ms(),
            target,
            peer,
            "caller",
            self.rtp_addr,
            &[],
        ) {
            Ok(call) => {
                self.calls.insert(
                    call,
                    Held {
                        invited: Instant::now(),
                        media: None,
                    },
                );
            }
            Err(e) => tally.failures.push(e.to_string()),
        }
    }

    /// Each answered caller's next 20 ms of silence, or its BYE once its
    /// time is up.
    fn send_or_hang_up(&mut self, now: Instant, rtp: &RtpSocket, packet: &mut Vec<u8>) {
        let now_ms = self.clock.now_ms();
        for (call, held) in &mut self.calls {
            let Some(media) = held.media.as_mut() else {
                continue;
            };
            if now >= media.hang_up_at {
                self.endpoint.hangup(now_ms, *call);
                held.media = None;
                continue;
            }
            packet.clear();
            media.sender.packetize(&[0; FRAME], packet);
            rtp.send_to(packet, media.remote);
        }
    }

    /// Sends what the endpoint asks and acts on its events.
    fn flush(&mut self, opts: &HoldOptions, tally: &mut Tally) {
        while let Some(out) = self.endpoint.poll_output() {
            match out {
                Output::Transmit { peer, bytes } => {
                    // A full socket buffer loses the message; SIP retransmits.
                    let _ = self.sip.try_send_to(&bytes, peer.addr);
                }
                Output::Event(SipEvent::Answered { call, answer }) => {
                    let Some(held) = self.calls.get_mut(&call) else {
                        continue;
                    };
                    let now = Instant::now();
                    tally
                        .setup_ms
                        .push(now.duration_since(held.invited).as_secs_f64() * 1000.0);
                    self.answered += 1;
                    let mut sender = MediaSender::new(
                        0x1d1a_0000 ^ self.answered,
                        g711(answer.codec),
                        answer.payload_type,
                        1,
                        0,
                    );
                    if let Some(pt) = answer.dtmf_payload_type {
                        sender.set_dtmf_payload_type(pt);
                    }
                    held.media = Some(Media {
                        remote: answer.remote_rtp,
                        sender,
                        hang_up_at: now + Duration::from_millis(opts.hold_ms),
                    });
                }
                Output::Event(SipEvent::Failed { call, status }) => {
                    self.calls.remove(&call);
                    tally.failures.push(format!("SIP {status}"));
                }
                Output::Event(SipEvent::CallEnded { call, .. }) => {
                    self.calls.remove(&call);
                }
                Output::Event(_) => {}
            }
        }
    }

    /// When the endpoint next needs its timers run.
    fn wake_at(&self) -> Instant {
        timers_due(&self.endpoint, &self.clock)
    }
}
