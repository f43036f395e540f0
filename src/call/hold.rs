//! What a queued caller hears: a soft two-note chime every few seconds, and
//! nothing in between, so the line is plainly alive without being tiresome.

use std::sync::OnceLock;

use super::FRAME_SAMPLES;

const RATE: f32 = 8000.0;
/// One chime and the quiet after it.
const CYCLE_MS: usize = 4000;
const CYCLE_FRAMES: usize = CYCLE_MS / 20;
/// Peak level of the chime: about -24 dBFS, well below speech.
const AMPLITUDE: f32 = 2000.0;
/// (frequency Hz, length ms) of each note; a rising major third.
const NOTES: [(f32, usize); 2] = [(523.25, 260), (659.25, 360)];
const FADE_MS: usize = 30;
/// Quiet after a prompt on hold before the chime comes back.
const RESUME_QUIET_MS: usize = 1000;

/// Position in the repeating hold pattern.
#[derive(Debug, Default)]
pub(crate) struct Hold {
    frame: usize,
}

impl Hold {
    /// The next hold frame, or `None` in the quiet part of the cycle.
    pub fn tick(&mut self) -> Option<[i16; FRAME_SAMPLES]> {
        let chime = chime();
        let start = self.frame * FRAME_SAMPLES;
        self.frame = (self.frame + 1) % CYCLE_FRAMES;
        if start >= chime.len() {
            return None;
        }
        let mut frame = [0i16; FRAME_SAMPLES];
        let end = (start + FRAME_SAMPLES).min(chime.len());
        frame[..end - start].copy_from_slice(&chime[start..end]);
        Some(frame)
    }

    /// Whether the chime has started and not ended: a prompt waits for it
    /// rather than cutting it off.
    pub fn is_chiming(&self) -> bool {
        self.frame > 0 && self.frame * FRAME_SAMPLES < chime().len()
    }

    /// After a prompt: a short quiet, then the chime again.
    pub fn resume(&mut self) {
        self.frame = CYCLE_FRAMES - RESUME_QUIET_MS / 20;
    }
}

/// The notes, each with a raised-cosine fade in and out (no clicks).
fn chime() -> &'static [i16] {
    static CHIME: OnceLock<Vec<i16>> = OnceLock::new();
    CHIME.get_or_init(|| {
        let fade = FADE_MS * 8;
        let mut out = Vec::new();
        for (freq, ms) in NOTES {
            let len = ms * 8;
            for n in 0..len {
                let edge = n.min(len - 1 - n);
                let gain = if edge < fade {
                    0.5 - 0.5 * (std::f32::consts::PI * edge as f32 / fade as f32).cos()
                } else {
                    1.0
                };
                let phase = std::f32::consts::TAU * freq * n as f32 / RATE;
                out.push((AMPLITUDE * gain * phase.sin()) as i16);
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chime_then_quiet_repeating() {
        let mut hold = Hold::default();
        let cycle: Vec<_> = (0..CYCLE_FRAMES).map(|_| hold.tick()).collect();
        let sounding = cycle.iter().filter(|f| f.is_some()).count();
        let chime_frames = chime().len().div_ceil(FRAME_SAMPLES);
        assert_eq!(sounding, chime_frames);
        assert!(cycle[..chime_frames].iter().all(Option::is_some));
        let peak = chime().iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak > 1000 && peak <= AMPLITUDE as u16, "{peak}");
        assert_eq!(hold.tick(), cycle[0], "the cycle repeats");
    }

    #[test]
    fn chiming_only_between_the_first_and_last_chime_frame() {
        let mut hold = Hold::default();
        assert!(!hold.is_chiming(), "about to start is not under way");
        let chime_frames = chime().len().div_ceil(FRAME_SAMPLES);
        for _ in 0..chime_frames - 1 {
            hold.tick();
            assert!(hold.is_chiming());
        }
        hold.tick();
        assert!(!hold.is_chiming());
        hold.resume();
        let quiet = (0..).take_while(|_| hold.tick().is_none()).count();
        assert_eq!(quiet, RESUME_QUIET_MS / 20);
    }
}
