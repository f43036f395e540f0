//! RFC 4733 telephone-events: DTMF digits sent as RTP packets instead of
//! tones. Receiving turns each event into exactly one digit; sending builds
//! the packet train a receiver expects.

use std::collections::VecDeque;

use super::error::RtpError;

/// The dynamic payload type most peers offer for telephone-event/8000.
pub const DEFAULT_DTMF_PAYLOAD_TYPE: u8 = 101;
/// Volume sent in our events: -10 dBm0, what phones commonly use.
const SEND_VOLUME: u8 = 10;
/// Digits waiting for `poll_digit`; a flood of events cannot grow memory.
const MAX_QUEUED_DIGITS: usize = 32;
/// A long key press is sent as segments whose timestamps follow the
/// previous segment's duration (RFC 4733 2.5.1.3); this much extra (in
/// timestamp units, 200 ms) is allowed for packets lost between them.
const CONTINUATION_SLACK: u32 = 1600;

/// The DTMF character of an event code (0-9, *, #, A-D), `None` for the
/// other events (flash, tones), which are not digits.
pub fn digit_for_event(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// The event code of a DTMF character (lower-case a-d accepted).
pub fn event_for_digit(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// One telephone-event payload (RFC 4733 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    /// The E bit: this is (a retransmission of) the event's last packet.
    pub end: bool,
    /// Power level, 0 to 63 meaning 0 to -63 dBm0.
    pub volume: u8,
    /// Duration so far, in timestamp units from the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parse the first event of a payload (more than one is only sent with
    /// RFC 2198 redundancy, which is a different payload type).
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, RtpError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(RtpError::ShortTelephoneEvent(payload.len()));
        };
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d0,
            d1,
        ]
    }
}

/// The event the detector is in (or last was in).
#[derive(Debug, Clone, Copy)]
struct CurrentEvent {
    timestamp: u32,
    event: u8,
    duration: u16,
    ended: bool,
}

/// Turns received telephone-event packets into digits: one per event,
/// whatever the number of update and end packets, their retransmissions,
/// reordering, or the loss of the first packet.
#[derive(Debug, Default)]
pub struct DtmfDetector {
    current: Option<CurrentEvent>,
    digits: VecDeque<char>,
}

impl DtmfDetector {
    pub fn new() -> DtmfDetector {
        DtmfDetector::default()
    }

    /// Feed one telephone-event packet (already known to be of the
    /// negotiated payload type and the current SSRC).
    pub fn push(&mut self, marker: bool, timestamp: u32, payload: &[u8]) -> Result<(), RtpError> {
        let packet = TelephoneEvent::parse(payload)?;
        let Some(digit) = digit_for_event(packet.event) else {
            return Ok(());
        };
        if let Some(current) = &mut self.current {
            // All packets of one event share its timestamp.
            if timestamp == current.timestamp && packet.event == current.event {
                current.duration = current.duration.max(packet.duration);
                current.ended |= packet.end;
                return Ok(());
            }
            let ahead = timestamp.wrapping_sub(current.timestamp);
            if (ahead as i32) < 0 {
                // A packet of an earlier event arriving late.
                return Ok(());
            }
            // A segment that ran to the longest duration ends (E bit or not)
            // only because the field is full: the key is still held.
            let segment_full = current.duration == u16::MAX;
            let continues = !marker
                && (!current.ended || segment_full)
                && packet.event == current.event
                && ahead <= u32::from(current.duration) + CONTINUATION_SLACK;
            if continues {
                *current = CurrentEvent {
                    timestamp,
                    event: packet.event,
                    duration: packet.duration,
                    ended: packet.end,
                };
                return Ok(());
            }
        }
        self.current = Some(CurrentEvent {
            timestamp,
            event: packet.event,
            duration: packet.duration,
            ended: packet.end,
        });
        if self.digits.len() < MAX_QUEUED_DIGITS {
            self.digits.push_back(digit);
        }
        Ok(())
    }

    /// The next detected digit, in order of arrival.
    pub fn poll_digit(&mut self) -> Option<char> {
        self.digits.pop_front()
    }

    /// Forget the current event (the stream restarted with a new SSRC);
    /// digits already detected stay queued.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

/// Telephone-event payloads for one key press of `duration` timestamp units,
/// one every `interval` units (the packetisation interval): updates with a
/// growing duration, the first flagged as the start (marker bit), then the
/// final packet three times (RFC 4733 2.5.1.4). Returns `(marker, payload)`
/// pairs, each due `interval` after the previous one.
pub fn event_packets(event: u8, duration: u16, interval: u16) -> Vec<(bool, [u8; 4])> {
    let interval = interval.max(1);
    let duration = duration.max(1);
    let updates = duration.div_ceil(interval);
    let mut packets = Vec::with_capacity(usize::from(updates) + 2);
    for k in 1..=updates {
        let last = k == updates;
        let payload = TelephoneEvent {
            event,
            end: last,
            volume: SEND_VOLUME,
            duration: if last { duration } else { k * interval },
        }
        .to_bytes();
        packets.push((k == 1, payload));
    }
    let end = packets[packets.len() - 1].1;
    packets.extend([(false, end), (false, end)]);
    packets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    fn digits(detector: &mut DtmfDetector) -> String {
        std::iter::from_fn(|| detector.poll_digit()).collect()
    }

    #[test]
    fn every_digit_maps_both_ways() {
        for (code, digit) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(digit_for_event(code as u8), Some(digit));
            assert_eq!(event_for_digit(digit), Some(code as u8));
        }
        assert_eq!(event_for_digit('b'), Some(13));
        assert_eq!(digit_for_event(16), None);
        assert_eq!(event_for_digit('E'), None);
    }

    #[test]
    fn a_packet_train_gives_one_digit() {
        let mut detector = DtmfDetector::new();
        for (marker, payload) in event_packets(5, 800, 160) {
            detector.push(marker, 1000, &payload).unwrap();
        }
        assert_eq!(digits(&mut detector), "5");
    }

    #[test]
    fn repeated_key_gives_two_digits_even_without_markers() {
        let mut detector = DtmfDetector::new();
        detector.push(true, 1000, &event(1, false, 160)).unwrap();
        detector.push(false, 1000, &event(1, true, 320)).unwrap();
        // Second press: its start packet was lost.
        detector.push(false, 3000, &event(1, false, 320)).unwrap();
        detector.push(false, 3000, &event(1, true, 480)).unwrap();
        assert_eq!(digits(&mut detector), "11");
    }

    #[test]
    fn lost_start_and_late_packets_still_give_one_digit_each() {
        let mut detector = DtmfDetector::new();
        detector.push(false, 500, &event(7, false, 320)).unwrap();
        detector.push(true, 2000, &event(3, false, 160)).unwrap();
        // A late retransmission of the first event.
        detector.push(false, 500, &event(7, true, 640)).unwrap();
        detector.push(false, 2000, &event(3, true, 480)).unwrap();
        assert_eq!(digits(&mut detector), "73");
    }

    #[test]
    fn a_long_press_split_into_segments_is_one_digit() {
        let mut detector = DtmfDetector::new();
        detector.push(true, 0, &event(9, false, 65_000)).unwrap();
        detector.push(false, 0, &event(9, true, 65_535)).unwrap();
        detector.push(false, 65_535, &event(9, false, 800)).unwrap();
        detector.push(false, 65_535, &event(9, true, 1600)).unwrap();
        assert_eq!(digits(&mut detector), "9");
    }

    #[test]
    fn timestamp_wrap_between_events() {
        let mut detector = DtmfDetector::new();
        detector
            .push(true, u32::MAX - 100, &event(2, true, 800))
            .unwrap();
        detector.push(true, 2000, &event(4, true, 800)).unwrap();
        assert_eq!(digits(&mut detector), "24");
    }

    #[test]
    fn short_payload_is_an_error_and_non_digits_are_ignored() {
        let mut detector = DtmfDetector::new();
        assert_eq!(
            detector.push(true, 0, &[1, 2, 3]),
            Err(RtpError::ShortTelephoneEvent(3))
        );
        detector.push(true, 0, &event(16, true, 800)).unwrap();
        assert_eq!(detector.poll_digit(), None);
    }

    #[test]
    fn sent_train_is_start_updates_then_three_ends() {
        let packets = event_packets(11, 800, 160);
        let parsed: Vec<_> = packets
            .iter()
            .map(|(marker, p)| (*marker, TelephoneEvent::parse(p).unwrap()))
            .collect();
        assert_eq!(parsed.len(), 5 + 2);
        assert!(parsed[0].0 && parsed[1..].iter().all(|(m, _)| !m));
        let durations: Vec<u16> = parsed.iter().map(|(_, e)| e.duration).collect();
        assert_eq!(durations, vec![160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = parsed.iter().map(|(_, e)| e.end).collect();
        assert_eq!(ends, vec![false, false, false, false, true, true, true]);
        assert!(parsed.iter().all(|(_, e)| e.event == 11 && e.volume == 10));
    }
}
