//! Packet loss concealment, in the spirit of ITU-T G.711 Appendix I: a
//! missing stretch continues the last pitch period of what was played,
//! fading to silence over 60 ms, and real audio coming back is cross-faded
//! in. Repeating a whole period keeps the waveform's phase, so a lost 20 ms
//! packet in voiced speech sounds held rather than clicked or buzzed, and a
//! long gap becomes silence rather than a loop.

/// Played samples remembered for the pitch search (a power of two).
const HISTORY: usize = 256;
/// Pitch periods searched: 5 to 15 ms (200 to 67 Hz); a higher voice is
/// repeated two or three periods at a time, which keeps it in phase too.
const MIN_PERIOD: usize = 40;
const MAX_PERIOD: usize = 120;
/// Samples compared at each candidate period.
const WINDOW: usize = 100;
/// Concealment fades the repeated audio to silence over 60 ms.
const FADE_SAMPLES: u32 = 480;
/// Real audio after concealment is cross-faded in over 4 ms.
const CROSSFADE_SAMPLES: u32 = 32;

/// Sample-by-sample concealment state of one stream's playout.
#[derive(Debug, Clone)]
pub struct Concealer {
    history: [i16; HISTORY],
    /// Where the next played sample goes in `history`.
    position: usize,
    /// The pitch period repeated during the current or last loss.
    period: [i16; MAX_PERIOD],
    period_len: usize,
    /// Missing samples in a row so far.
    missing_run: u32,
    /// Cross-fade from the repetition into real audio: samples left, the
    /// repetition's index and gain when real audio came back.
    crossfade_left: u32,
    crossfade_index: u32,
    crossfade_gain: f32,
}

impl Default for Concealer {
    fn default() -> Self {
        Concealer {
            history: [0; HISTORY],
            position: 0,
            period: [0; MAX_PERIOD],
            period_len: MIN_PERIOD,
            missing_run: 0,
            crossfade_left: 0,
            crossfade_index: 0,
            crossfade_gain: 0.0,
        }
    }
}

impl Concealer {
    /// A received sample: what to play for it.
    pub fn received(&mut self, sample: i16) -> i16 {
        if self.missing_run > 0 {
            self.crossfade_gain = fade_gain(self.missing_run);
            self.crossfade_index = self.missing_run;
            self.crossfade_left = if self.crossfade_gain > 0.0 {
                CROSSFADE_SAMPLES
            } else {
                0
            };
            self.missing_run = 0;
        }
        let out = if self.crossfade_left > 0 {
            let old = self.crossfade_left as f32 / (CROSSFADE_SAMPLES + 1) as f32;
            let repeated = f32::from(self.continuation(self.crossfade_index)) * self.crossfade_gain;
            self.crossfade_left -= 1;
            self.crossfade_index += 1;
            let mixed = f32::from(sample) * (1.0 - old) + repeated * old;
            mixed.round().clamp(-32768.0, 32767.0) as i16
        } else {
            sample
        };
        self.remember(out);
        out
    }

    /// A whole frame received with no loss to recover from: played as it
    /// is, and remembered in one go. False (and nothing done) when the
    /// frame must go sample by sample through [`received`](Self::received).
    pub fn received_frame(&mut self, frame: &[i16]) -> bool {
        if self.missing_run > 0 || self.crossfade_left > 0 || frame.len() > HISTORY {
            return false;
        }
        let first = frame.len().min(HISTORY - self.position);
        self.history[self.position..self.position + first].copy_from_slice(&frame[..first]);
        let rest = frame.len() - first;
        self.history[..rest].copy_from_slice(&frame[first..]);
        self.position = (self.position + frame.len()) % HISTORY;
        true
    }

    /// A missing sample: what to play instead, and whether it is audible
    /// repetition (false once faded to silence).
    pub fn missing(&mut self) -> (i16, bool) {
        if self.missing_run >= FADE_SAMPLES {
            // Faded out: a long gap (a silent or held phone) costs nothing.
            self.missing_run = self.missing_run.saturating_add(1);
            self.crossfade_left = 0;
            self.remember(0);
            return (0, false);
        }
        if self.missing_run == 0 {
            self.take_period();
        }
        let gain = fade_gain(self.missing_run);
        let out = (f32::from(self.continuation(self.missing_run)) * gain).round() as i16;
        self.missing_run = self.missing_run.saturating_add(1);
        self.crossfade_left = 0;
        self.remember(out);
        (out, gain > 0.0)
    }

    fn remember(&mut self, sample: i16) {
        self.history[self.position] = sample;
        self.position = (self.position + 1) % HISTORY;
    }

    /// The played sample `back` samples ago (1: the last one).
    fn played(&self, back: usize) -> i16 {
        self.history[(self.position + HISTORY - back) % HISTORY]
    }

    /// Sample `index` of the repetition since the loss began.
    fn continuation(&self, index: u32) -> i16 {
        self.period[index as usize % self.period_len]
    }

    /// Find the pitch period of the last played audio (the lag whose
    /// earlier stretch best predicts the latest one) and keep that period.
    fn take_period(&mut self) {
        let latest = |n: usize| f64::from(self.played(WINDOW - n));
        let mut best = (f64::MIN, MIN_PERIOD);
        for lag in MIN_PERIOD..=MAX_PERIOD {
            let (mut cross, mut energy) = (0.0, 0.0);
            for n in 0..WINDOW {
                let earlier = f64::from(self.played(WINDOW - n + lag));
                cross += latest(n) * earlier;
                energy += earlier * earlier;
            }
            let score = if energy > 0.0 {
                cross / energy.sqrt()
            } else {
                0.0
            };
            if score > best.0 {
                best = (score, lag);
            }
        }
        self.period_len = best.1;
        for i in 0..self.period_len {
            self.period[i] = self.played(self.period_len - i);
        }
    }
}

/// Gain of the repetition after `missing` concealed samples: full, then
/// falling linearly to silence at [`FADE_SAMPLES`].
fn fade_gain(missing: u32) -> f32 {
    1.0 - (missing as f32 / FADE_SAMPLES as f32).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voiced(n: usize, period: f32) -> i16 {
        let phase = n as f32 / period * std::f32::consts::TAU;
        (phase.sin() * 5000.0 + (2.0 * phase).sin() * 2000.0) as i16
    }

    #[test]
    fn a_gap_in_a_periodic_sound_continues_it_in_phase() {
        let mut concealer = Concealer::default();
        // 140 Hz voice: period 57.14 samples.
        let period = 8000.0 / 140.0;
        for n in 0..400 {
            concealer.received(voiced(n, period));
        }
        // The first 5 ms of concealment track the true waveform closely.
        let mut error = 0.0;
        let mut signal = 0.0;
        for n in 400..440 {
            let (out, audible) = concealer.missing();
            assert!(audible);
            let truth = f64::from(voiced(n, period));
            error += (f64::from(out) - truth).powi(2);
            signal += truth.powi(2);
        }
        assert!(error < 0.05 * signal, "error {error} vs signal {signal}");
    }

    #[test]
    fn a_whole_frame_plays_and_is_remembered_as_sample_by_sample() {
        let mut by_frame = Concealer::default();
        let mut by_sample = Concealer::default();
        for block in 0..5 {
            let frame: Vec<i16> = (0..160).map(|n| voiced(block * 160 + n, 57.0)).collect();
            assert!(by_frame.received_frame(&frame));
            for &s in &frame {
                by_sample.received(s);
            }
        }
        assert_eq!(by_frame.history, by_sample.history);
        assert_eq!(by_frame.position, by_sample.position);
        // After a loss the frame needs cross-fading: not taken whole.
        by_frame.missing();
        assert!(!by_frame.received_frame(&[0; 160]));
    }

    #[test]
    fn a_long_gap_fades_to_silence_and_audio_returns_eased_in() {
        let mut concealer = Concealer::default();
        for n in 0..400 {
            concealer.received(voiced(n, 60.0));
        }
        let concealed: Vec<(i16, bool)> = (0..600).map(|_| concealer.missing()).collect();
        assert!(concealed[..480].iter().all(|&(_, audible)| audible));
        assert!(
            concealed[480..]
                .iter()
                .all(|&(s, audible)| s == 0 && !audible)
        );
        // Back from silence: nothing to cross-fade from.
        assert_eq!(concealer.received(1234), 1234);
    }

    #[test]
    fn recovery_after_a_short_loss_is_cross_faded() {
        let mut concealer = Concealer::default();
        for _ in 0..300 {
            concealer.received(8000);
        }
        for _ in 0..160 {
            concealer.missing();
        }
        // Real audio jumps to -8000: the first samples ease towards it.
        let first = concealer.received(-8000);
        assert!(first > -8000 && first < 8000, "{first}");
        let later: Vec<i16> = (0..40).map(|_| concealer.received(-8000)).collect();
        assert_eq!(*later.last().unwrap(), -8000);
    }
}
