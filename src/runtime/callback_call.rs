//! A booked callback being carried out: the agent answered, the engine
//! dials the caller's number and bridges the two with an RTP relay, as it
//! bridges a caller to an agent. Until the caller picks up the agent hears
//! a ringback tone. Both sides are recorded and the callback gets a call
//! record of its own that names the call that booked it.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval};

use crate::board::{CallPhase, LiveEvent};
use crate::call_record::{CallRecord, EventRecord};
use crate::runtime::clock::{Clock, unix_ms};
use crate::runtime::engine::SharedEngine;
use crate::runtime::recorder::CallRecorder;
use crate::runtime::rtp_leg::RtpLeg;
use crate::runtime::rtp_socket::RtpSocket;
use crate::sip::MediaOffer;

const FRAME: usize = 160;

/// What the switchboard tells a callback in progress.
#[derive(Debug)]
pub enum CallbackMsg {
    /// The caller's number is being dialled; its audio comes on `socket`.
    CallerRinging {
        socket: RtpSocket,
        target: String,
    },
    CallerAnswered {
        offer: MediaOffer,
    },
    /// It is over (a leg ended or the caller did not answer); the
    /// switchboard hangs up whatever leg is left.
    Ended {
        reason: String,
    },
}

pub struct CallbackSetup {
    /// The callback's own record id.
    pub id: String,
    /// The call that booked it.
    pub of_call: String,
    /// The number called back.
    pub caller: String,
    pub agent: String,
    pub queue: String,
    pub summary: String,
    pub agent_socket: RtpSocket,
    pub agent_offer: MediaOffer,
}

/// Relays audio between the agent and the caller until told it ended.
pub async fn run(
    engine: SharedEngine,
    clock: Clock,
    setup: CallbackSetup,
    mut inbox: mpsc::Receiver<CallbackMsg>,
) {
    let started = clock.now_ms();
    let at = move || clock.now_ms().saturating_sub(started);
    let delay = engine.calls.playout_delay_ms;
    let mut agent = RtpLeg::new(
        setup.agent_socket,
        &setup.agent_offer,
        delay,
        seed(&setup.id),
    );
    let mut caller: Option<RtpLeg> = None;
    let mut ringing: Option<RtpSocket> = None;
    let mut record = CallRecord {
        id: setup.id.clone(),
        caller: setup.caller.clone(),
        called: setup.agent.clone(),
        language: engine.language.code().to_string(),
        started_unix_ms: unix_ms(),
        queue: Some(setup.queue.clone()),
        summary: Some(setup.summary.clone()),
        ..CallRecord::default()
    };
    let event = |record: &mut CallRecord, kind: &str, detail: &str| {
        record.events.push(EventRecord {
            at_ms: at(),
            kind: kind.to_string(),
            detail: detail.to_string(),
        })
    };
    event(&mut record, "callback_of", &setup.of_call);
    event(&mut record, "agent_answered", &setup.agent);
    let mut recorder = engine.calls.recordings.as_ref().and_then(|dir| {
        CallRecorder::create(dir, &setup.id)
            .map_err(|e| tracing::warn!(call = %setup.id, "not recording: {e}"))
            .ok()
    });
    engine.live.publish(LiveEvent::CallStarted {
        call: setup.id.clone(),
        caller: setup.caller.clone(),
        called: setup.agent.clone(),
    });
    let phase = |phase| LiveEvent::CallPhase {
        call: setup.id.clone(),
        phase,
        queue: Some(setup.queue.clone()),
        agent: Some(setup.agent.clone()),
    };
    engine.live.publish(phase(CallPhase::Ringing));
    save(&engine, record.clone()).await;

    let mut ticker = interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut tone = Ringback::default();
    let reason = loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = clock.now_ms();
                agent.receive(&clock);
                if let Some(c) = caller.as_mut() {
                    c.receive(&clock);
                }
                let from_agent = agent.receiver.poll_frame(now).unwrap_or([0; FRAME]);
                while agent.receiver.poll_dtmf().is_some() {}
                match caller.as_mut() {
                    Some(c) => {
                        let from_caller = c.receiver.poll_frame(now).unwrap_or([0; FRAME]);
                        c.send(&from_agent);
                        agent.send(&from_caller);
                        if let Some(rec) = recorder.as_mut() {
                            let written = rec.caller(&from_caller).and_then(|_| rec.engine(&from_agent));
                            if let Err(e) = written {
                                tracing::warn!(call = %setup.id, "recording stopped: {e}");
                                recorder = None;
                            }
                        }
                    }
                    None => agent.send(&tone.frame()),
                }
            }
            msg = inbox.recv() => match msg {
                Some(CallbackMsg::CallerRinging { socket, target }) => {
                    event(&mut record, "caller_ringing", &target);
                    ringing = Some(socket);
                }
                Some(CallbackMsg::CallerAnswered { offer }) => {
                    if let Some(socket) = ringing.take() {
                        caller = Some(RtpLeg::new(socket, &offer, delay, seed(&setup.caller)));
                        record.answered_unix_ms = Some(unix_ms());
                        event(&mut record, "caller_answered", &setup.caller);
                        engine.live.publish(phase(CallPhase::WithAgent));
                    }
                }
                Some(CallbackMsg::Ended { reason }) => break reason,
                None => break "shutdown".to_string(),
            },
        }
    };
    if let Some(rec) = recorder.take() {
        match rec.finish() {
            Ok(paths) => {
                record.recording_caller = file_name(&paths.caller);
                record.recording_engine = file_name(&paths.engine);
            }
            Err(e) => tracing::warn!(call = %setup.id, "recording: {e}"),
        }
    }
    if let Some(c) = caller.as_ref() {
        let s = c.receiver.stats();
        record.rtp_stats = Some(serde_json::json!({
            "received": s.received,
            "lost": s.lost,
            "late": s.late,
        }));
    }
    event(&mut record, "ended", &reason);
    record.end_reason = Some(reason.clone());
    record.ended_unix_ms = Some(unix_ms());
    engine.live.publish(LiveEvent::CallEnded {
        call: setup.id.clone(),
        reason,
    });
    save(&engine, record).await;
}

async fn save(engine: &SharedEngine, record: CallRecord) {
    if let Err(e) = engine.writer.saved(record).await {
        tracing::error!("callback record not saved: {e}");
    }
}

/// What the agent hears while the caller's phone rings: 440 + 480 Hz, two
/// seconds on, four off (the North American ringback cadence).
#[derive(Default)]
struct Ringback {
    sample: u64,
}

impl Ringback {
    fn frame(&mut self) -> [i16; FRAME] {
        let mut out = [0i16; FRAME];
        for s in out.iter_mut() {
            let t = self.sample;
            self.sample += 1;
            if t % 48_000 < 16_000 {
                let secs = t as f64 / 8000.0;
                let tau = std::f64::consts::TAU;
                let v = (tau * 440.0 * secs).sin() + (tau * 480.0 * secs).sin();
                *s = (v * 2500.0) as i16;
            }
        }
        out
    }
}

fn seed(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn file_name(path: &std::path::Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ringback_is_two_seconds_of_tone_then_four_of_silence() {
        let mut tone = Ringback::default();
        let frames: Vec<[i16; FRAME]> = (0..300).map(|_| tone.frame()).collect();
        let loud = |f: &[i16; FRAME]| f.iter().any(|s| s.unsigned_abs() > 1000);
        assert!(frames[..100].iter().all(loud), "first 2 s ring");
        assert!(!frames[100..300].iter().any(loud), "then 4 s of silence");
    }
}
