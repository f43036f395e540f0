//! Playout buffer: puts received audio back in timestamp order, hides lost
//! packets, and hands out exactly one 20 ms frame per 20 ms of caller time.
//!
//! Audio is decoded on arrival into a fixed ring of samples indexed by the
//! (wrap-extended) RTP timestamp, so packets of any length (10, 20, 30 ms)
//! land where they belong and a frame is read straight out of the ring. The
//! ring never grows: a flood of packets only overwrites it.
//!
//! Timing: frame k is due at `t0 + 20 k` ms, `t0` being the first call's
//! `now_ms`. The first packet is placed so that it plays `playout_delay`
//! after it arrived, rounded up to the frame grid; frames before that are
//! silence. The mapping is re-anchored the same way when a talkspurt starts
//! (marker bit) with nothing left to play and the delay has drifted off
//! target, when the timestamp jumps out of the ring, after a run of late
//! packets (the sender's clock moved), and when buffered audio grows far
//! beyond the delay (sender clock faster than ours, or a burst after a
//! stall): these are the only points where audio is skipped or stretched.

use super::codec::G711;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Playout delay when the configuration does not say otherwise.
pub const DEFAULT_PLAYOUT_DELAY_MS: u32 = 60;
/// Longer delays are clamped: beyond this the caller hears an echo-like lag.
pub const MAX_PLAYOUT_DELAY_MS: u32 = 1000;
/// Longest packet accepted (256 ms), beyond any ptime in use.
pub const MAX_PACKET_SAMPLES: usize = 2048;

const FRAME_MS: u64 = 20;
const SAMPLES_PER_MS: u64 = 8;
/// This many late packets in a row mean the stream moved, not jitter.
const LATE_RUN_RESYNC: u32 = 3;
/// Concealment fades the repeated audio to silence over 60 ms.
const FADE_SAMPLES: u32 = 480;
/// Real audio after concealment fades in over 4 ms, avoiding a click.
const CROSSFADE_SAMPLES: u32 = 32;
/// Audio buffered more than this beyond the playout delay is skipped.
const MAX_EXTRA_DEPTH_MS: u64 = 200;

/// What became of a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Stored for playout (also: an empty payload, which carries nothing).
    Buffered,
    /// Its playout time had passed: dropped.
    Late,
    /// Stored after re-anchoring the playout clock on it.
    Resynced,
    /// Longer than [`MAX_PACKET_SAMPLES`]: dropped.
    TooLong,
}

/// Reorders, conceals and paces the decoded audio of one stream.
#[derive(Debug)]
pub struct JitterBuffer {
    codec: G711,
    delay_ms: u64,
    /// Decoded samples; sample at extended timestamp `t` lives at `t & mask`.
    ring: Box<[i16]>,
    /// One bit per ring slot: holds audio not yet played.
    filled: Box<[u64]>,
    mask: u64,
    /// When the next frame is due (set by the first call).
    next_due_ms: Option<u64>,
    /// Extended timestamp of the next frame's first sample; `None` until the
    /// first packet.
    play: Option<u64>,
    /// Newest accepted extended timestamp, to extend 32-bit timestamps.
    reference: u64,
    /// End (exclusive) of the newest buffered audio.
    buffered_end: u64,
    late_run: u32,
    /// The last frame played with real audio, repeated to hide loss.
    history: [i16; FRAME_SAMPLES],
    /// Missing samples in a row, for the concealment fade.
    missing_run: u32,
    crossfade_left: u32,
    crossfade_gain: f32,
    heard_audio: bool,
    resyncs: u64,
    concealed_frames: u64,
}

impl JitterBuffer {
    pub fn new(codec: G711, playout_delay_ms: u32) -> JitterBuffer {
        let delay_ms = u64::from(playout_delay_ms.min(MAX_PLAYOUT_DELAY_MS));
        let needed = (delay_ms + MAX_EXTRA_DEPTH_MS + 3 * FRAME_MS) * SAMPLES_PER_MS
            + MAX_PACKET_SAMPLES as u64;
        let capacity = needed.next_power_of_two();
        JitterBuffer {
            codec,
            delay_ms,
            ring: vec![0; capacity as usize].into_boxed_slice(),
            filled: vec![0; (capacity / 64) as usize].into_boxed_slice(),
            mask: capacity - 1,
            next_due_ms: None,
            play: None,
            reference: 0,
            buffered_end: 0,
            late_run: 0,
            history: [0; FRAME_SAMPLES],
            missing_run: 0,
            crossfade_left: 0,
            crossfade_gain: 0.0,
            heard_audio: false,
            resyncs: 0,
            concealed_frames: 0,
        }
    }

    /// Change the codec of the packets that follow (a re-INVITE).
    pub fn set_codec(&mut self, codec: G711) {
        self.codec = codec;
    }

    /// Forget the stream (new SSRC): the next packet anchors playout
    /// afresh. The frame clock and the concealment history carry on.
    pub fn reset(&mut self) {
        self.play = None;
        self.late_run = 0;
        self.filled.fill(0);
    }

    /// Re-anchorings after the first packet (jumps, late runs, overflow).
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// Frames in which missing audio was replaced by repeated audio.
    pub fn concealed_frames(&self) -> u64 {
        self.concealed_frames
    }

    /// Store one packet's payload (G.711 codes starting at `timestamp`).
    pub fn push(&mut self, now_ms: u64, timestamp: u32, marker: bool, payload: &[u8]) -> Arrival {
        if payload.len() > MAX_PACKET_SAMPLES {
            return Arrival::TooLong;
        }
        self.start_clock(now_ms);
        if payload.is_empty() {
            return Arrival::Buffered;
        }
        let Some(play) = self.play else {
            self.anchor(now_ms, timestamp, payload);
            return Arrival::Buffered;
        };
        let start = self.extend(timestamp);
        let end = start + payload.len() as u64;
        if end <= play {
            self.late_run += 1;
            if self.late_run < LATE_RUN_RESYNC {
                return Arrival::Late;
            }
            self.resyncs += 1;
            self.anchor(now_ms, timestamp, payload);
            return Arrival::Resynced;
        }
        if end > play + self.capacity() {
            self.resyncs += 1;
            self.anchor(now_ms, timestamp, payload);
            return Arrival::Resynced;
        }
        if marker && self.buffered_end <= play && self.off_target(now_ms, play, start) {
            // A new talkspurt with nothing left to play: move the delay back
            // to target while the caller hears silence anyway.
            self.anchor(now_ms, timestamp, payload);
            return Arrival::Buffered;
        }
        self.late_run = 0;
        // A packet straddling the playout point keeps its in-time part.
        let skip = play.saturating_sub(start);
        self.write(start + skip, &payload[skip as usize..]);
        self.reference = self.reference.max(start);
        self.buffered_end = self.buffered_end.max(end);
        let max_depth = (self.delay_ms + MAX_EXTRA_DEPTH_MS) * SAMPLES_PER_MS;
        if self.buffered_end - play > max_depth {
            let target = self.buffered_end - (self.delay_ms + FRAME_MS) * SAMPLES_PER_MS;
            self.clear_filled(play, target - play);
            self.play = Some(target);
            self.resyncs += 1;
        }
        Arrival::Buffered
    }

    /// The next 20 ms of audio if one is due at `now_ms`: call until `None`
    /// to catch up after a late tick. Silence before the first packet.
    pub fn poll_frame(&mut self, now_ms: u64) -> Option<[i16; FRAME_SAMPLES]> {
        self.start_clock(now_ms);
        let due = self.next_due_ms?;
        if now_ms < due {
            return None;
        }
        self.next_due_ms = Some(due + FRAME_MS);
        let mut frame = [0i16; FRAME_SAMPLES];
        let Some(play) = self.play else {
            return Some(frame);
        };
        let mut any_real = false;
        let mut repeated = false;
        for (j, out) in frame.iter_mut().enumerate() {
            let slot = ((play + j as u64) & self.mask) as usize;
            if self.is_filled(slot) {
                any_real = true;
                *out = self.real_sample(self.ring[slot], self.history[j]);
            } else {
                let gain = fade_gain(self.missing_run);
                repeated |= gain > 0.0;
                *out = scale(self.history[j], gain);
                self.missing_run = self.missing_run.saturating_add(1);
                self.crossfade_left = 0;
            }
        }
        self.clear_filled(play, FRAME_SAMPLES as u64);
        self.play = Some(play + FRAME_SAMPLES as u64);
        if any_real {
            self.heard_audio = true;
            self.history = frame;
        }
        if repeated && self.heard_audio {
            self.concealed_frames += 1;
        }
        Some(frame)
    }

    /// A received sample, faded in if it ends a stretch of concealment.
    fn real_sample(&mut self, real: i16, repeated: i16) -> i16 {
        if self.missing_run > 0 {
            self.crossfade_gain = fade_gain(self.missing_run);
            self.crossfade_left = if self.crossfade_gain > 0.0 {
                CROSSFADE_SAMPLES
            } else {
                0
            };
            self.missing_run = 0;
        }
        if self.crossfade_left == 0 {
            return real;
        }
        let old = self.crossfade_left as f32 / (CROSSFADE_SAMPLES + 1) as f32;
        self.crossfade_left -= 1;
        let mixed = f32::from(real) * (1.0 - old) + f32::from(repeated) * self.crossfade_gain * old;
        mixed.round().clamp(-32768.0, 32767.0) as i16
    }

    fn start_clock(&mut self, now_ms: u64) {
        self.next_due_ms.get_or_insert(now_ms);
    }

    fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// Extend a 32-bit timestamp to the one nearest the newest accepted.
    fn extend(&self, timestamp: u32) -> u64 {
        let delta = timestamp.wrapping_sub(self.reference as u32) as i32;
        self.reference.saturating_add_signed(i64::from(delta))
    }

    /// Would a packet starting at `start` play off the target delay?
    fn off_target(&self, now_ms: u64, play: u64, start: u64) -> bool {
        let Some(next_due) = self.next_due_ms else {
            return true;
        };
        let plays_at = next_due + start.saturating_sub(play) / SAMPLES_PER_MS;
        let slack = plays_at as i64 - now_ms as i64;
        let delay = self.delay_ms as i64;
        slack < delay || slack >= delay + 2 * FRAME_MS as i64
    }

    /// Map the timeline so this packet plays `delay` after now, on the frame
    /// grid, and store it. Everything buffered is dropped.
    fn anchor(&mut self, now_ms: u64, timestamp: u32, payload: &[u8]) {
        self.filled.fill(0);
        self.late_run = 0;
        // A fresh origin well above zero, so earlier packets still extend.
        let start = (1u64 << 32) + u64::from(timestamp);
        let next_due = self.next_due_ms.unwrap_or(now_ms);
        let wait_ms = (now_ms + self.delay_ms).saturating_sub(next_due);
        let lead_frames = wait_ms.div_ceil(FRAME_MS);
        // After a long stall without polling, play sooner rather than let
        // the packet fall outside the ring.
        let max_lead = (self.capacity() - payload.len() as u64) / FRAME_SAMPLES as u64 - 1;
        let play = start - lead_frames.min(max_lead) * FRAME_SAMPLES as u64;
        self.play = Some(play);
        self.reference = start;
        self.buffered_end = start + payload.len() as u64;
        self.write(start, payload);
    }

    /// Decode `payload` into the ring from extended timestamp `start`.
    fn write(&mut self, start: u64, payload: &[u8]) {
        let slot = (start & self.mask) as usize;
        let first = payload.len().min(self.ring.len() - slot);
        self.codec
            .decode_into(&payload[..first], &mut self.ring[slot..slot + first]);
        self.codec
            .decode_into(&payload[first..], &mut self.ring[..payload.len() - first]);
        self.set_filled(start, payload.len() as u64);
    }

    fn is_filled(&self, slot: usize) -> bool {
        self.filled[slot / 64] & (1 << (slot % 64)) != 0
    }

    fn set_filled(&mut self, start: u64, len: u64) {
        for t in start..start + len {
            let slot = (t & self.mask) as usize;
            self.filled[slot / 64] |= 1 << (slot % 64);
        }
    }

    fn clear_filled(&mut self, start: u64, len: u64) {
        if len >= self.capacity() {
            self.filled.fill(0);
            return;
        }
        for t in start..start + len {
            let slot = (t & self.mask) as usize;
            self.filled[slot / 64] &= !(1 << (slot % 64));
        }
    }
}

/// Gain of the repeated audio after `missing` concealed samples: from full
/// to silence over [`FADE_SAMPLES`], so a lost packet or two sounds like a
/// held sound and a long gap like silence rather than a buzzing loop.
fn fade_gain(missing: u32) -> f32 {
    1.0 - (missing as f32 / FADE_SAMPLES as f32).min(1.0)
}

fn scale(sample: i16, gain: f32) -> i16 {
    (f32::from(sample) * gain).round() as i16
}
