//! Maps the caller stream's own time (ms of audio fed to the session, which
//! is what utterance times are measured in) to the runtime's `now_ms` at
//! which that audio arrived. The two drift apart when frames start late or
//! the line stalls, and voice-to-voice must be measured on the runtime clock.

use std::collections::VecDeque;

/// Frames remembered: 20 s, longer than the longest utterance (15 s) plus
/// the hangover and recognition.
const REMEMBERED_FRAMES: usize = 1000;

#[derive(Debug, Default)]
pub(crate) struct StreamClock {
    samples: u64,
    /// (stream ms at the end of a frame, `now_ms` it arrived at), oldest first.
    frames: VecDeque<(u64, u64)>,
}

impl StreamClock {
    /// A frame of `samples` 8 kHz samples arrived at `now_ms`.
    pub fn push(&mut self, samples: usize, now_ms: u64) {
        self.samples += samples as u64;
        if self.frames.len() == REMEMBERED_FRAMES {
            self.frames.pop_front();
        }
        self.frames.push_back((self.stream_ms(), now_ms));
    }

    /// Audio fed so far, in ms.
    pub fn stream_ms(&self) -> u64 {
        self.samples / 8
    }

    /// When the audio at `stream_ms` arrived, on the runtime clock.
    pub fn to_now(&self, stream_ms: u64) -> u64 {
        let at = self.frames.partition_point(|&(end, _)| end < stream_ms);
        let (end, now) = match self.frames.get(at).or(self.frames.back()) {
            Some(&f) => f,
            None => return stream_ms,
        };
        // Outside the remembered frames (or inside a long frame): assume
        // the audio ran in real time from the nearest frame.
        (now + stream_ms).saturating_sub(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_late_start_and_stalls() {
        let mut clock = StreamClock::default();
        for i in 0..10 {
            clock.push(160, 500 + i * 20); // frames start 500 ms late
        }
        for i in 0..10 {
            clock.push(160, 1000 + i * 20); // after a 300 ms stall
        }
        assert_eq!(clock.stream_ms(), 400);
        assert_eq!(clock.to_now(100), 580);
        assert_eq!(clock.to_now(300), 1080);
        assert_eq!(clock.to_now(450), 1230, "past the end: real time");
    }

    #[test]
    fn forgets_old_frames_but_still_answers() {
        let mut clock = StreamClock::default();
        for i in 0..(REMEMBERED_FRAMES as u64 + 50) {
            clock.push(160, 100 + i * 20);
        }
        assert_eq!(clock.to_now(0), 80);
        assert_eq!(clock.to_now(20), 100);
    }
}
