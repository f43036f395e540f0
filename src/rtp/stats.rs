//! Receive statistics: the counters a call reports and the per-stream
//! sequence tracking behind them (RFC 3550 appendix A.1, A.3 and A.8).

/// What the receiver has seen so far. Counters are cumulative over the
/// whole call, across SSRC changes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RtpStats {
    /// Well-formed packets with a negotiated payload type, duplicates and
    /// late ones included (RFC 3550 counts them the same way).
    pub received: u64,
    /// Expected minus distinct received packets (RFC 3550 A.3), never
    /// negative; a late packet arrived, so it is not lost.
    pub lost: u64,
    /// Audio that came after its playout time, and packets of a replaced SSRC.
    pub late: u64,
    /// Packets whose sequence number was already seen.
    pub duplicate: u64,
    /// Datagrams that are not RTP (bad version, lengths that do not add up)
    /// or whose payload cannot be used (empty, oversized, short event).
    pub malformed: u64,
    /// Well-formed packets with a payload type that was not negotiated.
    pub wrong_payload_type: u64,
    /// Times the sender's SSRC changed (each one restarts the stream).
    pub ssrc_changes: u64,
    /// Times the playout clock was re-anchored on the stream after a
    /// timestamp jump, a run of late packets or a buffer overflow.
    pub resyncs: u64,
    /// 20 ms frames in which some audio was missing and was replaced by
    /// faded repetition of earlier audio.
    pub concealed_frames: u64,
    /// Quiet frames dropped to bring playout closer to real time.
    pub shed_frames: u64,
    /// Interarrival jitter (RFC 3550 A.8), milliseconds.
    pub jitter_ms: f64,
}

/// Verdict of the sequence tracker on one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceVerdict {
    /// First time this sequence number is seen.
    New,
    /// Already seen: drop it.
    Duplicate,
}

/// RFC 3550 A.1: a jump this far ahead is a restart, not loss...
const MAX_DROPOUT: u16 = 3000;
/// ...and one this far behind is not reordering.
const MAX_MISORDER: u16 = 100;
/// Sequence numbers remembered for duplicate detection (a power of two).
const SEEN_WINDOW: u64 = 1024;

/// Sequence numbers, loss and jitter of one SSRC.
#[derive(Debug, Clone)]
pub struct SequenceTracker {
    /// Extended (wrap-counted) highest sequence number.
    highest: u64,
    /// Extended sequence number of the first packet (since the last restart).
    base: u64,
    /// Distinct packets counted since `base`.
    distinct: u64,
    /// Expected/received of segments before a restart, for cumulative loss.
    earlier_lost: u64,
    /// Candidate restart point after a big jump (RFC 3550 `bad_seq`).
    bad_seq: Option<u16>,
    /// Bit `s % SEEN_WINDOW` set when extended sequence `s` was seen, for
    /// `s` in `highest - SEEN_WINDOW + 1 ..= highest`.
    seen: [u64; (SEEN_WINDOW / 64) as usize],
    /// RFC 3550 A.8 state, in timestamp units.
    last_transit: Option<i32>,
    jitter: f64,
}

impl SequenceTracker {
    /// Start tracking a stream whose first packet is `first_sequence`;
    /// pass that packet to `on_sequence` too.
    pub fn new(first_sequence: u16) -> SequenceTracker {
        let mut tracker = SequenceTracker {
            highest: 0,
            base: 0,
            distinct: 0,
            earlier_lost: 0,
            bad_seq: None,
            seen: [0; (SEEN_WINDOW / 64) as usize],
            last_transit: None,
            jitter: 0.0,
        };
        tracker.restart(first_sequence);
        // The placeholder state above is not a segment that lost anything.
        tracker.earlier_lost = 0;
        tracker
    }

    /// Begin a new numbering segment whose first packet is `sequence` (not
    /// yet counted: `on_sequence` counts it).
    fn restart(&mut self, sequence: u16) {
        self.earlier_lost += self.lost();
        // Start one cycle up so reordered packets just before the first
        // one still get an extended number.
        self.base = (1 << 16) | u64::from(sequence);
        self.highest = self.base - 1;
        self.distinct = 0;
        self.bad_seq = None;
        self.seen = [0; (SEEN_WINDOW / 64) as usize];
    }

    /// Account for a packet's sequence number.
    pub fn on_sequence(&mut self, sequence: u16) -> SequenceVerdict {
        let delta = sequence.wrapping_sub(self.highest as u16);
        let extended = if delta < MAX_DROPOUT {
            // In order, possibly with a gap: forget the window slots the
            // new highest number moves over.
            let new_highest = self.highest + u64::from(delta);
            let cleared = (new_highest - self.highest).min(SEEN_WINDOW);
            for s in new_highest + 1 - cleared..=new_highest {
                self.set_seen(s, false);
            }
            self.highest = new_highest;
            new_highest
        } else if delta <= u16::MAX - MAX_MISORDER {
            // A big jump: restart only when the next packet follows it, so
            // one stray packet cannot reset the statistics.
            if self.bad_seq == Some(sequence) {
                self.restart(sequence);
                self.highest = self.base;
                self.base
            } else {
                // Passed on, but neither counted nor remembered.
                self.bad_seq = Some(sequence.wrapping_add(1));
                return SequenceVerdict::New;
            }
        } else {
            // Reordered or duplicated, at most MAX_MISORDER behind.
            let behind = (self.highest as u16).wrapping_sub(sequence);
            self.highest - u64::from(behind)
        };
        if self.highest - extended < SEEN_WINDOW && self.is_seen(extended) {
            return SequenceVerdict::Duplicate;
        }
        self.set_seen(extended, true);
        // A packet reordered ahead of the first one received starts the
        // count, so a gap before it counts as loss too.
        self.base = self.base.min(extended);
        self.distinct += 1;
        SequenceVerdict::New
    }

    /// Update interarrival jitter with an audio packet (RFC 3550 A.8).
    /// `arrival` is the arrival time in timestamp units (8 per ms).
    pub fn on_audio_arrival(&mut self, arrival: u32, timestamp: u32) {
        let transit = arrival.wrapping_sub(timestamp) as i32;
        if let Some(last) = self.last_transit {
            let d = f64::from(transit.wrapping_sub(last)).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    /// Packets lost so far (cumulative over restarts).
    pub fn total_lost(&self) -> u64 {
        self.earlier_lost + self.lost()
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    fn lost(&self) -> u64 {
        let expected = self.highest + 1 - self.base;
        expected.saturating_sub(self.distinct)
    }

    fn is_seen(&self, extended: u64) -> bool {
        let bit = extended % SEEN_WINDOW;
        self.seen[(bit / 64) as usize] & (1 << (bit % 64)) != 0
    }

    fn set_seen(&mut self, extended: u64, seen: bool) {
        let bit = extended % SEEN_WINDOW;
        let word = &mut self.seen[(bit / 64) as usize];
        if seen {
            *word |= 1 << (bit % 64);
        } else {
            *word &= !(1 << (bit % 64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tracker that has seen its first packet.
    fn started(first: u16) -> SequenceTracker {
        let mut tracker = SequenceTracker::new(first);
        assert_eq!(tracker.on_sequence(first), SequenceVerdict::New);
        tracker
    }

    fn feed(tracker: &mut SequenceTracker, sequences: &[u16]) -> Vec<SequenceVerdict> {
        sequences.iter().map(|&s| tracker.on_sequence(s)).collect()
    }

    #[test]
    fn gaps_count_as_lost_and_late_arrivals_fill_them() {
        let mut tracker = started(100);
        feed(&mut tracker, &[101, 104, 105]);
        assert_eq!(tracker.total_lost(), 2);
        feed(&mut tracker, &[103]);
        assert_eq!(tracker.total_lost(), 1);
    }

    #[test]
    fn duplicates_are_flagged_and_do_not_hide_loss() {
        let mut tracker = started(7);
        let verdicts = feed(&mut tracker, &[8, 8, 10, 7, 10]);
        use SequenceVerdict::*;
        assert_eq!(verdicts, vec![New, Duplicate, New, Duplicate, Duplicate]);
        assert_eq!(tracker.total_lost(), 1);
    }

    #[test]
    fn sequence_wrap_is_continuous() {
        let mut tracker = started(65_534);
        let verdicts = feed(&mut tracker, &[65_535, 0, 1, 65_535, 3]);
        assert_eq!(verdicts[3], SequenceVerdict::Duplicate);
        assert_eq!(tracker.total_lost(), 1);
    }

    #[test]
    fn packets_reordered_before_the_first_one_extend_the_count() {
        let mut tracker = started(50);
        assert_eq!(tracker.on_sequence(49), SequenceVerdict::New);
        assert_eq!(tracker.total_lost(), 0);
        assert_eq!(tracker.on_sequence(47), SequenceVerdict::New);
        assert_eq!(tracker.total_lost(), 1);
        assert_eq!(tracker.on_sequence(49), SequenceVerdict::Duplicate);
    }

    #[test]
    fn one_stray_jump_is_ignored_two_in_a_row_restart() {
        let mut tracker = started(10);
        feed(&mut tracker, &[11, 12]);
        // A stray packet far ahead does not count 20 000 losses...
        feed(&mut tracker, &[20_000, 13]);
        assert_eq!(tracker.total_lost(), 0);
        // ...but a sender that restarted its numbering is followed.
        feed(&mut tracker, &[40_000, 40_001, 40_003]);
        assert_eq!(tracker.total_lost(), 1);
    }

    #[test]
    fn jitter_follows_rfc3550_estimator() {
        let mut tracker = started(0);
        // Packets 160 units apart arriving alternately 0 and 80 units late.
        for i in 0..400u32 {
            let arrival = i * 160 + if i % 2 == 1 { 80 } else { 0 };
            tracker.on_audio_arrival(arrival, i * 160);
        }
        // |D| is always 80, so the estimate converges to 80.
        assert!(
            (tracker.jitter() - 80.0).abs() < 0.5,
            "{}",
            tracker.jitter()
        );
    }
}
