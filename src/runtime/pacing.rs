//! What a bench caller measures of the engine's RTP stream: how far each
//! packet arrived behind the schedule its RTP timestamp implies, and how
//! many never came (gaps in the sequence numbers).

use std::time::Instant;

use crate::rtp::RtpPacket;

/// How far behind schedule a packet may arrive before it counts as late:
/// two frames, what a small jitter buffer still absorbs.
pub const LATE_MS: f64 = 40.0;

/// One stream's arrivals, relative to the earliest packet seen.
#[derive(Debug, Default)]
pub struct Pacing {
    first: Option<(Instant, u32)>,
    /// The smallest arrival offset seen (ms): the schedule's baseline.
    best: f64,
    offsets: Vec<f64>,
    /// First and highest sequence number, extended past wrap-around.
    first_seq: Option<i64>,
    highest_seq: i64,
}

impl Pacing {
    /// A datagram that arrived `at`; what is not RTP is not counted.
    pub fn packet(&mut self, at: Instant, bytes: &[u8]) {
        if let Ok(p) = RtpPacket::parse(bytes) {
            self.parsed(at, &p);
        }
    }

    /// An RTP packet the caller has parsed already.
    pub fn parsed(&mut self, at: Instant, p: &RtpPacket<'_>) {
        let (t0, ts0) = *self.first.get_or_insert((at, p.timestamp));
        let media_ms = f64::from(p.timestamp.wrapping_sub(ts0) as i32) / 8.0;
        let offset = at.duration_since(t0).as_secs_f64() * 1000.0 - media_ms;
        self.best = self.best.min(offset);
        self.offsets.push(offset);
        self.sequence(p.sequence);
    }

    fn sequence(&mut self, seq: u16) {
        let Some(first) = self.first_seq else {
            self.first_seq = Some(i64::from(seq));
            self.highest_seq = i64::from(seq);
            return;
        };
        // The extension of `seq` nearest to the highest seen so far; one
        // from before the first packet seen moves the start back.
        let step = i64::from(seq.wrapping_sub(self.highest_seq as u16) as i16);
        let extended = self.highest_seq + step;
        self.highest_seq = self.highest_seq.max(extended);
        self.first_seq = Some(first.min(extended));
    }

    /// Packets received.
    pub fn packets(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// Packets more than [`LATE_MS`] behind schedule, and the worst delay.
    pub fn late(&self) -> (u64, f64) {
        let mut late = 0;
        let mut worst: f64 = 0.0;
        for o in &self.offsets {
            let behind = o - self.best;
            worst = worst.max(behind);
            if behind > LATE_MS {
                late += 1;
            }
        }
        (late, worst)
    }

    /// Packets missing between the first and the last sequence number.
    pub fn lost(&self) -> u64 {
        let Some(first) = self.first_seq else {
            return 0;
        };
        let expected = (self.highest_seq - first + 1) as u64;
        expected.saturating_sub(self.packets())
    }
}

/// How far behind schedule (ms) all but `1 - q` of the packets of
/// `streams` arrived, each stream against its own best packet; `None`
/// without packets. Steadier than a count of late packets, which only
/// sees the tail past [`LATE_MS`].
pub fn behind_quantile<'a>(streams: impl Iterator<Item = &'a Pacing>, q: f64) -> Option<f64> {
    let mut behind: Vec<f64> = streams
        .flat_map(|p| p.offsets.iter().map(|o| o - p.best))
        .collect();
    if behind.is_empty() {
        return None;
    }
    let rank = ((behind.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    Some(*behind.select_nth_unstable_by(rank, f64::total_cmp).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn packet(seq: u16, ts: u32) -> Vec<u8> {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p[4..8].copy_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&[0xFF; 160]);
        p
    }

    #[test]
    fn a_packet_behind_its_timestamp_is_late() {
        let t0 = Instant::now();
        let mut pacing = Pacing::default();
        for n in 0..10u16 {
            // The fifth packet comes 50 ms behind, the rest on time.
            let extra = if n == 5 { 50 } else { 0 };
            let at = t0 + Duration::from_millis(u64::from(n) * 20 + extra);
            pacing.packet(at, &packet(n, u32::from(n) * 160));
        }
        let (late, worst) = pacing.late();
        assert_eq!((pacing.packets(), late, pacing.lost()), (10, 1, 0));
        assert!((worst - 50.0).abs() < 1e-6, "worst {worst}");
    }

    #[test]
    fn the_quantile_is_over_every_streams_packets() {
        let t0 = Instant::now();
        let (mut a, mut b) = (Pacing::default(), Pacing::default());
        for n in 0..100u16 {
            // Stream a is always on time; b is 10 ms behind on every
            // tenth packet, whatever its clock's offset from a's.
            let at = t0 + Duration::from_millis(u64::from(n) * 20);
            a.packet(at, &packet(n, u32::from(n) * 160));
            let extra = if n % 10 == 9 { 10 } else { 0 };
            let at = at + Duration::from_millis(7 + extra);
            b.packet(at, &packet(n, 5_000 + u32::from(n) * 160));
        }
        let q = |q| behind_quantile([&a, &b].into_iter(), q).unwrap();
        assert!(q(0.9).abs() < 1e-6, "{}", q(0.9));
        assert!((q(0.99) - 10.0).abs() < 1e-6, "{}", q(0.99));
        assert_eq!(behind_quantile(std::iter::empty(), 0.5), None);
    }

    #[test]
    fn gaps_in_the_sequence_are_lost_across_wrap_around() {
        let t0 = Instant::now();
        let mut pacing = Pacing::default();
        let seqs = [65_533u16, 65_534, 0, 1, 3, 2, 6];
        for (i, seq) in seqs.into_iter().enumerate() {
            let at = t0 + Duration::from_millis(i as u64 * 20);
            pacing.packet(at, &packet(seq, i as u32 * 160));
        }
        // 65,533 to 6 is 10 numbers; 65,535, 4 and 5 never came.
        assert_eq!((pacing.packets(), pacing.lost()), (7, 3));
    }

    #[test]
    fn what_is_not_rtp_is_not_counted() {
        let mut pacing = Pacing::default();
        pacing.packet(Instant::now(), b"hello");
        assert_eq!(
            (pacing.packets(), pacing.lost(), pacing.late().0),
            (0, 0, 0)
        );
    }
}
