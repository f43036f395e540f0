//! Playout buffer: puts received audio back in timestamp order, hides lost
//! packets, and hands out exactly one 20 ms frame per 20 ms of caller time.
//!
//! Audio is decoded on arrival into a fixed ring of samples indexed by the
//! (wrap-extended) RTP timestamp, so packets of any length (10, 20, 30 ms)
//! land where they belong and a frame is read straight out of the ring. The
//! ring never grows: a flood of packets only overwrites it.
//!
//! Timing: frame k is due at `t0 + 20 k` ms, `t0` being the first call's
//! `now_ms`, and plays the next 160 samples of a local timeline. A stream is
//! mapped onto that timeline (an offset added to its timestamps) so that its
//! first packet plays `playout_delay` after it arrived, rounded up to the
//! frame grid; frames before that are silence. The mapping is re-anchored
//! the same way when a talkspurt starts (marker bit) with nothing left to
//! play and the delay has drifted off target, when the timestamp jumps, when
//! the SSRC changes, and after a run of late packets (the sender's clock
//! moved); audio still buffered then plays first. Audio buffered far beyond
//! the delay (sender clock faster than ours, a burst after a stall) is
//! skipped. Those are the only points where audio is skipped or stretched,
//! besides shedding delay (below).
//!
//! Shedding: the delay is a starting point, not a floor. The buffer keeps
//! the least slack (time from arrival to playout) packets had over the last
//! one to two seconds; while it exceeds a frame plus [`MIN_SLACK_MS`], a
//! quiet frame (the caller is not talking) is dropped, so playout moves 20 ms
//! closer to real time. On a steady link that leaves 20-40 ms of slack
//! instead of the configured 60; when the link gets worse, late packets
//! re-anchor at the full delay. Every millisecond shed is one less between
//! the end of the caller's words and the engine's answer.

use super::codec::G711;
use super::conceal::Concealer;

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
/// A packet this far (1 s) behind playout is a timestamp jump backwards.
const LATE_HORIZON: u64 = 8000;
/// Audio buffered more than this beyond the playout delay is skipped.
const MAX_EXTRA_DEPTH_MS: u64 = 200;
/// Least slack shedding leaves to the earliest-playing packet seen.
const MIN_SLACK_MS: i64 = 20;
/// Slack is tracked in blocks of this long; the last two count.
const SLACK_BLOCK_MS: u64 = 1000;
/// A frame this quiet (RMS) may be dropped to shed delay: well under
/// speech, above a phone line's idle noise.
const QUIET_RMS: f64 = 300.0;

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
    /// Position of the next frame's first sample on the local timeline,
    /// which advances 160 samples per frame whether audio came or not.
    play: u64,
    /// Added to the stream's RTP timestamps to put them on the local
    /// timeline; re-chosen at every anchoring.
    offset: u32,
    /// Whether `offset` maps the current stream (false before its first
    /// packet).
    anchored: bool,
    /// Newest accepted local position, to extend 32-bit timestamps.
    reference: u64,
    /// End (exclusive) of the newest buffered audio.
    buffered_end: u64,
    late_run: u32,
    concealer: Concealer,
    heard_audio: bool,
    /// The last frame played had nothing received in it and no audible
    /// concealment: before the first packet, or a gap past the fade.
    last_frame_empty: bool,
    resyncs: u64,
    concealed_frames: u64,
    slack: SlackWindow,
    shed_frames: u64,
}

/// The least slack packets had, over the current and the previous block.
#[derive(Debug, Clone, Copy)]
struct SlackWindow {
    block_start_ms: u64,
    current: Option<i64>,
    previous: Option<i64>,
}

impl SlackWindow {
    fn new(now_ms: u64) -> SlackWindow {
        SlackWindow {
            block_start_ms: now_ms,
            current: None,
            previous: None,
        }
    }

    fn observe(&mut self, now_ms: u64, slack_ms: i64) {
        if now_ms >= self.block_start_ms + SLACK_BLOCK_MS {
            self.previous = self.current;
            self.current = None;
            self.block_start_ms = now_ms;
        }
        self.current = Some(self.current.map_or(slack_ms, |m| m.min(slack_ms)));
    }

    /// The least slack, once a whole block has been seen.
    fn least(&self) -> Option<i64> {
        let previous = self.previous?;
        Some(self.current.map_or(previous, |c| c.min(previous)))
    }

    /// Everything now plays `ms` sooner.
    fn shift(&mut self, ms: i64) {
        self.current = self.current.map(|m| m - ms);
        self.previous = self.previous.map(|m| m - ms);
    }
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
            // Well above zero, so positions before an anchor still exist.
            play: 1 << 32,
            offset: 0,
            anchored: false,
            reference: 0,
            buffered_end: 0,
            late_run: 0,
            concealer: Concealer::default(),
            heard_audio: false,
            last_frame_empty: true,
            resyncs: 0,
            concealed_frames: 0,
            slack: SlackWindow::new(0),
            shed_frames: 0,
        }
    }

    /// Quiet frames dropped to bring playout closer to real time.
    pub fn shed_frames(&self) -> u64 {
        self.shed_frames
    }

    /// Change the codec of the packets that follow (a re-INVITE).
    pub fn set_codec(&mut self, codec: G711) {
        self.codec = codec;
    }

    /// A new stream (SSRC) follows: its first packet anchors playout
    /// afresh, after what is still buffered of the old one.
    pub fn reset(&mut self) {
        self.anchored = false;
        self.late_run = 0;
    }

    /// Re-anchorings after the first packet (jumps, late runs, overflow).
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// Whether the last frame polled carried no audio at all: nothing had
    /// arrived for it, and concealment had faded to silence. A phone that
    /// suppresses silence sends nothing between talkspurts.
    pub fn last_frame_empty(&self) -> bool {
        self.last_frame_empty
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
        if !self.anchored {
            self.anchor(now_ms, timestamp, payload);
            return Arrival::Buffered;
        }
        let play = self.play;
        let start = self.extend(timestamp.wrapping_add(self.offset));
        let end = start + payload.len() as u64;
        if marker && self.buffered_end <= play && self.off_target(now_ms, play, start) {
            // A new talkspurt with nothing left to play: bring the delay back
            // to target while the caller hears silence anyway. This also
            // follows senders whose timestamps stood still during a pause.
            self.anchor(now_ms, timestamp, payload);
            return Arrival::Buffered;
        }
        if end <= play {
            self.late_run += 1;
            // Far behind is a timestamp jump backwards, not lateness.
            if self.late_run < LATE_RUN_RESYNC && play - end < LATE_HORIZON {
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
        self.late_run = 0;
        if let Some(slack) = self.slack_of(now_ms, play, start) {
            self.slack.observe(now_ms, slack);
        }
        // A packet straddling the playout point keeps its in-time part.
        let skip = play.saturating_sub(start);
        self.write(start + skip, &payload[skip as usize..]);
        self.reference = self.reference.max(start);
        self.buffered_end = self.buffered_end.max(end);
        let max_depth = (self.delay_ms + MAX_EXTRA_DEPTH_MS) * SAMPLES_PER_MS;
        if self.buffered_end - play > max_depth {
            let target = self.buffered_end - (self.delay_ms + FRAME_MS) * SAMPLES_PER_MS;
            self.clear_filled(play, target - play);
            self.play = target;
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
        self.shed_quiet_frame();
        let mut frame = [0i16; FRAME_SAMPLES];
        let play = self.play;
        let mut any_real = false;
        let mut repeated = false;
        if self.all_filled(play, FRAME_SAMPLES as u64) {
            // The usual case, a whole frame received: copied in one go.
            let slot = (play & self.mask) as usize;
            let first = FRAME_SAMPLES.min(self.ring.len() - slot);
            frame[..first].copy_from_slice(&self.ring[slot..slot + first]);
            frame[first..].copy_from_slice(&self.ring[..FRAME_SAMPLES - first]);
            any_real = self.concealer.received_frame(&frame);
        }
        if !any_real {
            for (j, out) in frame.iter_mut().enumerate() {
                let slot = ((play + j as u64) & self.mask) as usize;
                if self.is_filled(slot) {
                    any_real = true;
                    *out = self.concealer.received(self.ring[slot]);
                } else {
                    let (sample, audible) = self.concealer.missing();
                    repeated |= audible;
                    *out = sample;
                }
            }
        }
        self.clear_filled(play, FRAME_SAMPLES as u64);
        self.play = play + FRAME_SAMPLES as u64;
        if any_real {
            self.heard_audio = true;
        }
        // Concealing before anything was heard repeats nothing.
        let concealed = repeated && self.heard_audio;
        self.last_frame_empty = !any_real && !concealed;
        if repeated && self.heard_audio {
            self.concealed_frames += 1;
        }
        Some(frame)
    }

    fn start_clock(&mut self, now_ms: u64) {
        self.next_due_ms.get_or_insert(now_ms);
    }

    fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// Extend a local 32-bit timestamp to the position nearest the newest
    /// accepted one.
    fn extend(&self, local: u32) -> u64 {
        let delta = local.wrapping_sub(self.reference as u32) as i32;
        self.reference.saturating_add_signed(i64::from(delta))
    }

    /// How long before its playout a packet starting at `start` arrived.
    fn slack_of(&self, now_ms: u64, play: u64, start: u64) -> Option<i64> {
        let next_due = self.next_due_ms?;
        let plays_at = next_due + start.saturating_sub(play) / SAMPLES_PER_MS;
        Some(plays_at as i64 - now_ms as i64)
    }

    /// Would a packet starting at `start` play off the target delay?
    fn off_target(&self, now_ms: u64, play: u64, start: u64) -> bool {
        let Some(slack) = self.slack_of(now_ms, play, start) else {
            return true;
        };
        let delay = self.delay_ms as i64;
        slack < delay || slack >= delay + 2 * FRAME_MS as i64
    }

    /// Drops the frame about to play if it is quiet, fully received, not the
    /// last audio buffered, and every recent packet would still have been
    /// in time with 20 ms less delay (see the module notes).
    fn shed_quiet_frame(&mut self) {
        let frame = FRAME_SAMPLES as u64;
        let spare = self
            .slack
            .least()
            .is_some_and(|least| least - FRAME_MS as i64 >= MIN_SLACK_MS);
        if !spare || self.buffered_end < self.play + 2 * frame || !self.is_quiet(self.play) {
            return;
        }
        self.clear_filled(self.play, frame);
        self.play += frame;
        self.slack.shift(FRAME_MS as i64);
        self.shed_frames += 1;
    }

    /// A whole frame of received audio from `start`, below speech level.
    fn is_quiet(&self, start: u64) -> bool {
        let mut power = 0.0;
        for t in start..start + FRAME_SAMPLES as u64 {
            let slot = (t & self.mask) as usize;
            if !self.is_filled(slot) {
                return false;
            }
            power += f64::from(self.ring[slot]).powi(2);
        }
        (power / FRAME_SAMPLES as f64).sqrt() < QUIET_RMS
    }

    /// Map the stream onto the local timeline so this packet plays `delay`
    /// after now (on the frame grid), or right after the audio still
    /// buffered if that ends later, and store it.
    fn anchor(&mut self, now_ms: u64, timestamp: u32, payload: &[u8]) {
        self.anchored = true;
        self.late_run = 0;
        // Slack seen before no longer says anything about the new mapping.
        self.slack = SlackWindow::new(now_ms);
        let next_due = self.next_due_ms.unwrap_or(now_ms);
        let wait_ms = (now_ms + self.delay_ms).saturating_sub(next_due);
        // After a long stall without polling, play sooner rather than let
        // the packet fall outside the ring.
        let max_lead = (self.capacity() - MAX_PACKET_SAMPLES as u64) / 2;
        let lead = (wait_ms.div_ceil(FRAME_MS) * FRAME_SAMPLES as u64).min(max_lead);
        let start = (self.play + lead).max(self.buffered_end);
        self.offset = (start as u32).wrapping_sub(timestamp);
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

    fn all_filled(&self, start: u64, len: u64) -> bool {
        bit_words(self.mask, start, len).all(|(w, bits)| self.filled[w] & bits == bits)
    }

    fn set_filled(&mut self, start: u64, len: u64) {
        for (w, bits) in bit_words(self.mask, start, len) {
            self.filled[w] |= bits;
        }
    }

    fn clear_filled(&mut self, start: u64, len: u64) {
        if len >= self.capacity() {
            self.filled.fill(0);
            return;
        }
        for (w, bits) in bit_words(self.mask, start, len) {
            self.filled[w] &= !bits;
        }
    }
}

/// The words of the `filled` bitmap covering `len` slots from timeline
/// position `start`, each with the bits of those slots: whole words at a
/// time rather than bit by bit. The ring holds a whole number of words, so
/// no word straddles its wrap.
fn bit_words(mask: u64, start: u64, len: u64) -> impl Iterator<Item = (usize, u64)> {
    let end = start + len;
    let mut t = start;
    std::iter::from_fn(move || {
        if t >= end {
            return None;
        }
        let slot = t & mask;
        let bit = slot % 64;
        let n = (64 - bit).min(end - t);
        let bits = if n == 64 {
            u64::MAX
        } else {
            ((1 << n) - 1) << bit
        };
        t += n;
        Some(((slot / 64) as usize, bits))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711;

    #[test]
    fn bitmap_words_cover_exactly_the_range_even_across_the_wrap() {
        let mask = 1023;
        for start in [0u64, 5, 63, 64, 100, 960, 1000, 1023, (1 << 32) + 1010] {
            for len in [0u64, 1, 63, 64, 65, 160, 200] {
                let mut words = [0u64; 16];
                for (w, bits) in bit_words(mask, start, len) {
                    assert_eq!(words[w] & bits, 0, "a slot is covered twice");
                    words[w] |= bits;
                }
                let mut expected = [0u64; 16];
                for t in start..start + len {
                    let slot = (t & mask) as usize;
                    expected[slot / 64] |= 1 << (slot % 64);
                }
                assert_eq!(words, expected, "start {start} len {len}");
            }
        }
    }

    /// A packet as the network delivers it.
    #[derive(Clone)]
    struct Delivery {
        arrival_ms: u64,
        timestamp: u32,
        marker: bool,
        payload: Vec<u8>,
    }

    /// Two tones, loud enough that mu-law keeps them well.
    fn tone(samples: usize) -> Vec<i16> {
        (0..samples)
            .map(|n| {
                let t = n as f32 / 8000.0;
                let x = (t * 440.0 * std::f32::consts::TAU).sin() * 6000.0
                    + (t * 1230.0 * std::f32::consts::TAU).sin() * 3000.0;
                x as i16
            })
            .collect()
    }

    /// Packets of `per_packet` samples sent every packet length from
    /// `first_ts`, arriving `delays[i]` ms after they were sent.
    fn deliveries(pcm: &[i16], per_packet: usize, first_ts: u32, delays: &[u64]) -> Vec<Delivery> {
        pcm.chunks(per_packet)
            .enumerate()
            .map(|(i, chunk)| Delivery {
                arrival_ms: (i * per_packet / 8) as u64 + delays[i % delays.len()],
                timestamp: first_ts.wrapping_add((i * per_packet) as u32),
                marker: i == 0,
                payload: g711::encode_ulaw(chunk),
            })
            .collect()
    }

    /// Drive a buffer millisecond by millisecond: arrivals first, then every
    /// frame due. Returns all frames, concatenated.
    fn drive(buffer: &mut JitterBuffer, packets: &[Delivery], until_ms: u64) -> Vec<i16> {
        let mut packets = packets.to_vec();
        packets.sort_by_key(|p| p.arrival_ms);
        let mut next = 0;
        let mut out = Vec::new();
        for now in 0..until_ms {
            while next < packets.len() && packets[next].arrival_ms <= now {
                let p = &packets[next];
                buffer.push(now, p.timestamp, p.marker, &p.payload);
                next += 1;
            }
            while let Some(frame) = buffer.poll_frame(now) {
                out.extend_from_slice(&frame);
            }
        }
        out
    }

    /// Compare without printing thousands of samples on failure.
    #[track_caller]
    fn assert_same(actual: &[i16], expected: &[i16]) {
        assert_eq!(actual.len(), expected.len());
        if let Some(i) = actual.iter().zip(expected).position(|(a, e)| a != e) {
            panic!(
                "first difference at sample {i}: {} vs {}",
                actual[i], expected[i]
            );
        }
    }

    fn decoded(pcm: &[i16]) -> Vec<i16> {
        g711::decode_ulaw(&g711::encode_ulaw(pcm))
    }

    fn energy(samples: &[i16]) -> f64 {
        samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64
    }

    const LEAD: usize = (DEFAULT_PLAYOUT_DELAY_MS as usize / 20) * FRAME_SAMPLES;

    #[test]
    fn frames_with_nothing_received_are_marked_empty() {
        // One second of talk, then the phone stops sending.
        let mut packets = deliveries(&tone(8000), 160, 42, &[0]);
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        let mut empty = Vec::new();
        for now in 0..2500 {
            while packets.first().is_some_and(|p| p.arrival_ms <= now) {
                let p = packets.remove(0);
                buffer.push(now, p.timestamp, p.marker, &p.payload);
            }
            while buffer.poll_frame(now).is_some() {
                empty.push(buffer.last_frame_empty());
            }
        }
        let runs: Vec<(bool, usize)> = empty
            .chunk_by(|a, b| a == b)
            .map(|r| (r[0], r.len()))
            .collect();
        // Empty before the first packet plays, audio (then its concealment
        // fading out) for the talk, empty once the fade is over.
        assert_eq!(runs.len(), 3, "{runs:?}");
        assert!(runs[0].0 && runs[2].0 && !runs[1].0, "{runs:?}");
        assert!((50..=56).contains(&runs[1].1), "{runs:?}");
    }

    #[test]
    fn in_order_packets_play_after_the_delay_unchanged() {
        let pcm = tone(8000);
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        let out = drive(&mut buffer, &deliveries(&pcm, 160, 1234, &[0]), 1060);
        // One frame per 20 ms: 1060 ms polled from 0 gives 53 frames.
        assert_eq!(out.len(), 53 * FRAME_SAMPLES);
        assert!(out[..LEAD].iter().all(|&s| s == 0));
        assert_same(&out[LEAD..LEAD + 8000], &decoded(&pcm)[..]);
        assert_eq!(buffer.concealed_frames(), 0);
    }

    /// A quiet line (a faint hum) for `quiet_ms`, then speech (the tone).
    fn quiet_then_speech(quiet_ms: usize, speech_ms: usize) -> (Vec<i16>, usize) {
        let mut pcm: Vec<i16> = (0..quiet_ms * 8)
            .map(|n| ((n as f32 * 0.3).sin() * 80.0) as i16)
            .collect();
        pcm.extend(tone(speech_ms * 8));
        (pcm, quiet_ms * 8)
    }

    #[test]
    fn a_steady_link_sheds_delay_while_the_caller_is_quiet() {
        let (pcm, speech_at) = quiet_then_speech(3000, 1000);
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        let out = drive(&mut buffer, &deliveries(&pcm, 160, 99, &[0]), 4200);
        let shed = buffer.shed_frames() as usize;
        assert!((1..=2).contains(&shed), "shed {shed} frames");
        // The speech starts that much sooner than the configured delay
        // would play it, and comes out whole.
        let onset = out
            .iter()
            .position(|&s| s.abs() > 1000)
            .expect("speech plays");
        let expected = &decoded(&pcm)[speech_at..];
        let onset_in_tone = expected.iter().position(|&s| s.abs() > 1000).unwrap();
        let played_at = onset - onset_in_tone;
        assert_eq!(played_at, speech_at + LEAD - shed * FRAME_SAMPLES);
        assert_same(
            &out[played_at..played_at + 8000 - 160],
            &expected[..8000 - 160],
        );
    }

    #[test]
    fn speech_and_a_jittery_link_keep_the_delay() {
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        drive(
            &mut buffer,
            &deliveries(&tone(8000 * 4), 160, 7, &[0]),
            4100,
        );
        assert_eq!(buffer.shed_frames(), 0, "nothing quiet to drop");

        let (pcm, _) = quiet_then_speech(4000, 100);
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        drive(&mut buffer, &deliveries(&pcm, 160, 7, &[0, 45, 10]), 4200);
        assert_eq!(buffer.shed_frames(), 0, "the slack is needed");
    }

    #[test]
    fn reordered_and_jittered_packets_come_out_in_order() {
        let pcm = tone(8000);
        // Up to 55 ms of jitter, so neighbours overtake each other.
        let delays = [0, 55, 10, 40, 5, 30, 50, 20, 0, 45];
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        let out = drive(&mut buffer, &deliveries(&pcm, 160, 7, &delays), 1200);
        assert_same(&out[LEAD..LEAD + 8000], &decoded(&pcm)[..]);
        assert_eq!(buffer.resyncs(), 0);
    }

    #[test]
    fn thirty_ms_packets_and_timestamp_wrap_play_continuously() {
        let pcm = tone(240 * 30);
        let first_ts = u32::MAX - 1000;
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        let out = drive(
            &mut buffer,
            &deliveries(&pcm, 240, first_ts, &[0, 25]),
            1200,
        );
        assert_same(&out[LEAD..LEAD + pcm.len()], &decoded(&pcm)[..]);
        assert_eq!(buffer.resyncs(), 0);
    }

    #[test]
    fn a_lost_frame_is_repeated_faded_and_a_long_gap_goes_silent() {
        let pcm = tone(8000);
        let mut packets = deliveries(&pcm, 160, 0, &[0]);
        // Lose packet 10, then packets 20..30 (200 ms).
        packets.retain(|p| p.timestamp != 1600 && !(3200..4800).contains(&p.timestamp));
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        let out = drive(&mut buffer, &packets, 1060);
        let frame = |ts: usize| &out[LEAD + ts..LEAD + ts + FRAME_SAMPLES];
        let before = energy(frame(1440));
        let concealed = energy(frame(1600));
        assert!(
            concealed > 0.2 * before && concealed < before,
            "{concealed} vs {before}"
        );
        // The frame after the loss is real audio again, eased in.
        let reference = decoded(&pcm);
        assert_same(&frame(1760)[40..], &reference[1800..1920]);
        // 60 ms into the long gap the repetition has faded out.
        assert!(frame(3200 + 480).iter().all(|&s| s == 0));
        assert!(frame(4480).iter().all(|&s| s == 0));
        assert_same(frame(4800), &reference[4800..4960]);
        // Frames with audible repetition: one for the single loss, three
        // fading over the long gap.
        assert_eq!(buffer.concealed_frames(), 4);
    }

    #[test]
    fn late_packets_are_refused_and_a_run_of_them_resyncs() {
        let pcm = tone(160 * 10);
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        let payload = |i: usize| g711::encode_ulaw(&pcm[i * 160..(i + 1) * 160]);
        assert_eq!(buffer.push(0, 0, true, &payload(0)), Arrival::Buffered);
        for now in (0..=200).step_by(20) {
            buffer.poll_frame(now);
        }
        // Playout is past timestamp 1000 now; packets 1 and 2 are too late.
        assert_eq!(buffer.push(200, 160, false, &payload(1)), Arrival::Late);
        assert_eq!(buffer.push(201, 320, false, &payload(2)), Arrival::Late);
        // A third in a row: the sender's timeline moved, follow it.
        assert_eq!(buffer.push(202, 480, false, &payload(3)), Arrival::Resynced);
        assert_eq!(buffer.resyncs(), 1);
        let mut out = Vec::new();
        for now in (220..=400).step_by(20) {
            out.extend(buffer.poll_frame(now).unwrap());
        }
        let start = out.iter().position(|&s| s != 0).unwrap();
        assert_same(&out[start..start + 160], &decoded(&pcm)[480..640]);
    }

    #[test]
    fn a_timestamp_jump_resyncs_instead_of_waiting() {
        let pcm = tone(160 * 20);
        let mut packets = deliveries(&pcm, 160, 0, &[0]);
        for p in &mut packets[10..] {
            p.timestamp = p.timestamp.wrapping_add(3_000_000);
        }
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        let out = drive(&mut buffer, &packets, 460);
        assert_eq!(buffer.resyncs(), 1);
        // The jumped packets follow the buffered ones without a gap.
        assert_same(&out[LEAD..LEAD + 3200], &decoded(&pcm));
        assert_eq!(buffer.concealed_frames(), 0);
    }

    #[test]
    fn a_talkspurt_after_silence_resets_the_delay() {
        let pcm = tone(160 * 20);
        let mut packets = deliveries(&pcm, 160, 0, &[0]);
        // The sender paused 500 ms but its timestamps did not move on (some
        // do that): the talkspurt's marker lets playout follow at once.
        for p in &mut packets[10..] {
            p.arrival_ms += 500;
        }
        packets[10].marker = true;
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        let out = drive(&mut buffer, &packets, 1000);
        let reference = decoded(&pcm);
        let second = 700 * 8 + LEAD;
        assert_same(&out[second..second + 1600], &reference[1600..3200]);
        assert_eq!(buffer.resyncs(), 0);
    }

    #[test]
    fn a_fast_sender_clock_cannot_grow_the_buffer() {
        // Packets arrive every 19 ms: 5% more audio than playout consumes.
        let pcm = tone(160 * 500);
        let mut packets = deliveries(&pcm, 160, 0, &[0]);
        for (i, p) in packets.iter_mut().enumerate() {
            p.arrival_ms = i as u64 * 19;
        }
        let mut buffer = JitterBuffer::new(G711::Pcmu, DEFAULT_PLAYOUT_DELAY_MS);
        drive(&mut buffer, &packets, 9500);
        let depth = buffer.buffered_end - buffer.play;
        assert!(
            depth <= (60 + MAX_EXTRA_DEPTH_MS) * SAMPLES_PER_MS,
            "{depth}"
        );
        assert!(buffer.resyncs() >= 1);
    }

    #[test]
    fn a_flood_of_random_packets_keeps_one_frame_per_tick() {
        let mut buffer = JitterBuffer::new(G711::Pcma, DEFAULT_PLAYOUT_DELAY_MS);
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut frames = 0;
        for now in 0..2000u64 {
            for _ in 0..50 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let len = (state % 400) as usize;
                let arrival = buffer.push(now, state as u32, state & 1 == 0, &vec![0x55; len]);
                assert!(matches!(
                    arrival,
                    Arrival::Buffered | Arrival::Late | Arrival::Resynced
                ));
            }
            while buffer.poll_frame(now).is_some() {
                frames += 1;
            }
        }
        assert_eq!(frames, 100);
        assert_eq!(
            buffer.push(2000, 0, false, &[0; MAX_PACKET_SAMPLES + 1]),
            Arrival::TooLong
        );
    }

    #[test]
    fn exactly_one_frame_per_twenty_ms_whatever_the_polling() {
        let mut buffer = JitterBuffer::new(G711::Pcmu, 40);
        let mut frames = 0;
        // Irregular polling, including a 300 ms stall.
        let mut now = 5u64;
        while now < 3000 {
            while buffer.poll_frame(now).is_some() {
                frames += 1;
            }
            now += if now > 1000 && now < 1010 { 300 } else { 7 };
        }
        let last = now - if now > 1310 { 7 } else { 300 };
        assert_eq!(frames, (last - 5) / 20 + 1);
    }
}
