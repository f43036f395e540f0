//! Voice activity detection and endpointing: turns a stream of 16 kHz
//! samples into utterances.
//!
//! Each 10 ms frame is compared with the line's background level (the
//! median of the last 3 s outside speech, so it follows hiss, hum and
//! babble as they change) and checked for voicing with YIN. Speech has to be voiced: line
//! noise, clicks and coughs are broadband or too short, so they never start
//! an utterance, however loud. Unvoiced sounds next to voiced ones (the "s"
//! of "yes") still count, so ends are not clipped. Thresholds are relative
//! to the background, which makes quiet and loud callers alike. Time is counted
//! in samples, never read from a clock.

use std::collections::VecDeque;

use super::pitch::{FRAME_MS, Frame, FrameAnalyzer, SILENCE_DB};

const SAMPLES_PER_MS: u64 = 16;

/// Endpointer settings. Times are milliseconds of audio.
#[derive(Debug, Clone, PartialEq)]
pub struct VadConfig {
    /// Silence after the last speech before the utterance is closed.
    pub hangover_ms: u32,
    /// Silence after the last speech at which the open utterance is offered
    /// for early recognition ([`Endpointer::take_pause`]), so its transcript
    /// can be ready when the hangover ends. Never less than `tail_ms`: the
    /// early audio must be all the utterance's, tail included.
    pub early_ms: u32,
    /// Voiced speech needed before an utterance is started; shorter voiced
    /// bursts (a cough, "uh") are dropped.
    pub min_speech_ms: u32,
    /// Audio kept before the detected start.
    pub pre_roll_ms: u32,
    /// Audio kept after the detected end.
    pub tail_ms: u32,
    /// Longest utterance; longer speech is cut into pieces of this size.
    pub max_utterance_ms: u32,
    /// How far above the background level (dB) a voiced frame must be to start
    /// speech.
    pub onset_snr_db: f32,
    /// How far above the background level (dB) a frame must be to keep speech
    /// going.
    pub sustain_snr_db: f32,
    /// Frames quieter than this (band energy, dBFS) are never speech.
    pub min_level_dbfs: f32,
    /// A frame is voiced when YIN's aperiodicity is below this.
    pub max_aperiodicity: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            hangover_ms: 550,
            early_ms: 200,
            min_speech_ms: 120,
            pre_roll_ms: 300,
            tail_ms: 200,
            max_utterance_ms: 15_000,
            onset_snr_db: 10.0,
            sustain_snr_db: 6.0,
            min_level_dbfs: -55.0,
            max_aperiodicity: 0.45,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum VadEvent {
    /// Speech confirmed (after `min_speech_ms` of voicing); `at_ms` is where
    /// it began. The moment for barge-in.
    SpeechStarted {
        at_ms: u64,
    },
    Utterance(Utterance),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// Start of speech, ms from the start of the stream.
    pub start_ms: u64,
    /// End of speech (not of the hangover).
    pub end_ms: u64,
    /// The speech with `pre_roll_ms` before and `tail_ms` after, 16 kHz.
    pub pcm_16k: Vec<f32>,
}

/// Streaming endpointer over 16 kHz mono samples in -1..1.
pub struct Endpointer {
    analyzer: FrameAnalyzer,
    tracker: Tracker,
}

/// Everything but the frame analysis, so frames can be handled while the
/// analyzer is borrowed.
struct Tracker {
    cfg: VadConfig,
    background: Background,
    state: State,
    /// Per frame of the last [`BACKTRACK_FRAMES`]: was it above the sustain
    /// threshold? Used to move a start back over unvoiced onsets.
    recent_active: VecDeque<bool>,
    /// Buffered audio; `audio[0]` is stream sample `audio_start`.
    audio: Vec<f32>,
    audio_start: u64,
    /// No pre-roll reaches before this (the cut of a split utterance).
    pre_roll_limit_ms: u64,
    /// Speech end of the open utterance when its pause was last taken: one
    /// pause per stretch of silence.
    paused_at_end_ms: Option<u64>,
    /// The frames being pushed are no audio at all (no packet arrived), not
    /// a silent line: they must not teach the background anything.
    in_gap: bool,
    /// Frames of audio still to come before the background learned after a
    /// gap is trusted. A phone that suppresses silence sends nothing until
    /// its caller speaks, so its first frames may be speech already: for
    /// that long anything audible counts, as after digital silence.
    unlearned_frames: usize,
}

/// Longest unvoiced stretch (onset or coda) attached to voiced speech.
const UNVOICED_EDGE_MS: u64 = 200;
const BACKTRACK_FRAMES: usize = (UNVOICED_EDGE_MS / FRAME_MS) as usize;
/// Unvoiced sounds after voicing may be this far apart (a stop closure).
const MAX_CODA_GAP_MS: u64 = 50;
/// A loud unvoiced sound this soon after voicing still belongs to the word.
const CLOSURE_CODA_MS: u64 = 300;
/// A start that gathers no more voicing for this long is dropped.
const CANDIDATE_GAP_MS: u64 = 300;

#[derive(Debug, Clone, Copy)]
enum State {
    Idle,
    /// Voicing seen, not yet `min_speech_ms` of it.
    Candidate(Span),
    Speech(Span),
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start_ms: u64,
    /// End of the last speech frame.
    end_ms: u64,
    last_voiced_ms: u64,
    voiced_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Observation {
    /// Voiced and loud enough to start speech.
    onset: bool,
    /// Voiced and loud enough to continue speech.
    voiced: bool,
    /// Above the sustain threshold, voiced or not.
    active: bool,
    /// Above the onset threshold, voiced or not.
    strong: bool,
}

impl Endpointer {
    pub fn new(cfg: VadConfig) -> Self {
        Endpointer {
            analyzer: FrameAnalyzer::new(),
            tracker: Tracker {
                cfg,
                background: Background::new(),
                state: State::Idle,
                recent_active: VecDeque::with_capacity(BACKTRACK_FRAMES + 1),
                audio: Vec::new(),
                audio_start: 0,
                pre_roll_limit_ms: 0,
                paused_at_end_ms: None,
                in_gap: false,
                unlearned_frames: 0,
            },
        }
    }

    /// True while confirmed speech is going on (from `SpeechStarted` until
    /// its utterance is emitted).
    pub fn speech_started(&self) -> bool {
        matches!(self.tracker.state, State::Speech(_))
    }

    /// Audio consumed so far, in ms (whole frames).
    pub fn position_ms(&self) -> u64 {
        self.analyzer.frames() * FRAME_MS
    }

    /// Feed the next samples (any chunk size); returns what they completed.
    pub fn push(&mut self, pcm_16k: &[f32]) -> Vec<VadEvent> {
        self.tracker.audio.extend_from_slice(pcm_16k);
        let mut events = Vec::new();
        self.analyzer
            .push(pcm_16k, |frame| self.tracker.step(frame, &mut events));
        self.tracker.trim_audio(self.analyzer.frames() * FRAME_MS);
        events
    }

    /// `samples` (16 kHz) of time in which no audio arrived: a phone that
    /// suppresses silence, or a line not sending yet. They are silence for
    /// the endpoints, but say nothing about the line's background, so they
    /// are not learned as one: zeros taken for the line's level would make
    /// any noise that comes with the caller's voice count as speech and hold
    /// the end of every utterance open.
    pub fn push_gap(&mut self, samples: usize) -> Vec<VadEvent> {
        const ZEROS: [f32; 320] = [0.0; 320];
        self.tracker.in_gap = true;
        let mut events = Vec::new();
        let mut left = samples;
        while left > 0 {
            let n = left.min(ZEROS.len());
            events.extend(self.push(&ZEROS[..n]));
            left -= n;
        }
        self.tracker.in_gap = false;
        events
    }

    /// End of stream: an open utterance is closed and returned.
    pub fn finish(&mut self) -> Vec<VadEvent> {
        let mut events = Vec::new();
        if let State::Speech(span) = self.tracker.state {
            events.push(self.tracker.utterance(span.start_ms, span.end_ms));
        }
        self.tracker.state = State::Idle;
        events
    }

    /// End of the open utterance's speech so far; `None` outside confirmed
    /// speech. Moves on when the caller speaks again after a pause.
    pub fn speech_end_ms(&self) -> Option<u64> {
        match self.tracker.state {
            State::Speech(span) => Some(span.end_ms),
            State::Idle | State::Candidate(_) => None,
        }
    }

    /// The open utterance so far, once its speech has been followed by
    /// `early_ms` (and `tail_ms`) of silence, and only once per pause: a caller who speaks
    /// again and pauses again gives a new one. Call after [`push`](Self::push);
    /// its events come first. Pulled rather than pushed as a [`VadEvent`] so
    /// listeners that only want utterances are not handed pauses.
    pub fn take_pause(&mut self) -> Option<Utterance> {
        let State::Speech(span) = self.tracker.state else {
            return None;
        };
        let silence_ms = self.position_ms().saturating_sub(span.end_ms);
        let cfg = &self.tracker.cfg;
        if silence_ms < u64::from(cfg.early_ms.max(cfg.tail_ms))
            || self.tracker.paused_at_end_ms == Some(span.end_ms)
        {
            return None;
        }
        self.tracker.paused_at_end_ms = Some(span.end_ms);
        Some(self.tracker.cut(span.start_ms, span.end_ms))
    }

    /// Closes the open utterance now, as if its hangover had run out (the
    /// caller is known to be done); speech after this is a new utterance.
    pub fn close_utterance(&mut self) -> Option<Utterance> {
        let State::Speech(span) = self.tracker.state else {
            return None;
        };
        self.tracker.state = State::Idle;
        let utterance = self.tracker.cut(span.start_ms, span.end_ms);
        // The next utterance's pre-roll must not hear this one again.
        self.tracker.pre_roll_limit_ms = self.tracker.pre_roll_limit_ms.max(span.end_ms);
        Some(utterance)
    }
}

impl Tracker {
    fn observe(&self, frame: &Frame) -> Observation {
        let level = if self.unlearned_frames > 0 {
            Some(SILENCE_DB)
        } else {
            self.background.level_db()
        };
        let snr = match level {
            Some(level) => frame.band_db - level,
            None => f32::NEG_INFINITY,
        };
        let active = snr > self.cfg.sustain_snr_db && frame.band_db > self.cfg.min_level_dbfs;
        // YIN only where speech is possible: silence costs nothing.
        let voiced = active && frame.pitch().aperiodicity < self.cfg.max_aperiodicity;
        Observation {
            onset: voiced && snr > self.cfg.onset_snr_db,
            voiced,
            active,
            strong: active && snr > self.cfg.onset_snr_db,
        }
    }

    fn step(&mut self, frame: &Frame, events: &mut Vec<VadEvent>) {
        let obs = self.observe(frame);
        // Confirmed speech is kept out of the background, but the pauses
        // and consonants inside it are not, so a background that rises
        // during an utterance is still followed.
        if self.in_gap {
            if self.background.warming_up() {
                self.unlearned_frames = GAP_PRIOR_FRAMES;
            }
        } else {
            self.unlearned_frames = self.unlearned_frames.saturating_sub(1);
            if !obs.voiced || !matches!(self.state, State::Speech(_)) {
                self.background.add(frame.band_db);
            }
        }
        let frame_start = frame.index * FRAME_MS;
        let frame_end = frame_start + FRAME_MS;
        let backtrack = self.onset_backtrack();
        self.remember_activity(obs.active);
        self.state = match self.state {
            State::Idle if obs.onset => {
                let span = Span {
                    start_ms: frame_start - backtrack * FRAME_MS,
                    end_ms: frame_end,
                    last_voiced_ms: frame_end,
                    voiced_ms: FRAME_MS,
                };
                self.confirm_or_wait(span, events)
            }
            State::Idle => State::Idle,
            State::Candidate(mut span) => {
                extend(&mut span, &obs, frame_start, frame_end);
                if frame_end - span.end_ms > CANDIDATE_GAP_MS {
                    State::Idle
                } else {
                    self.confirm_or_wait(span, events)
                }
            }
            State::Speech(mut span) => {
                extend(&mut span, &obs, frame_start, frame_end);
                if frame_end - span.end_ms >= u64::from(self.cfg.hangover_ms) {
                    events.push(self.utterance(span.start_ms, span.end_ms));
                    State::Idle
                } else if frame_end - span.start_ms >= u64::from(self.cfg.max_utterance_ms) {
                    // Too long: cut here; speech that goes on has to be
                    // confirmed again and becomes the next utterance.
                    events.push(self.utterance(span.start_ms, frame_end));
                    self.pre_roll_limit_ms = frame_end;
                    State::Candidate(Span {
                        start_ms: frame_end,
                        end_ms: frame_end,
                        last_voiced_ms: frame_end,
                        voiced_ms: 0,
                    })
                } else {
                    State::Speech(span)
                }
            }
        };
    }

    fn confirm_or_wait(&self, span: Span, events: &mut Vec<VadEvent>) -> State {
        if span.voiced_ms >= u64::from(self.cfg.min_speech_ms) {
            events.push(VadEvent::SpeechStarted {
                at_ms: span.start_ms,
            });
            State::Speech(span)
        } else {
            State::Candidate(span)
        }
    }

    /// How many frames right before the current one were active.
    fn onset_backtrack(&self) -> u64 {
        self.recent_active.iter().rev().take_while(|a| **a).count() as u64
    }

    fn remember_activity(&mut self, active: bool) {
        if self.recent_active.len() == BACKTRACK_FRAMES {
            self.recent_active.pop_front();
        }
        self.recent_active.push_back(active);
    }

    fn utterance(&self, start_ms: u64, end_ms: u64) -> VadEvent {
        VadEvent::Utterance(self.cut(start_ms, end_ms))
    }

    /// The span's audio with pre-roll and tail, as far as it is buffered.
    fn cut(&self, start_ms: u64, end_ms: u64) -> Utterance {
        let from_ms = start_ms
            .saturating_sub(u64::from(self.cfg.pre_roll_ms))
            .max(self.pre_roll_limit_ms);
        let to_ms = end_ms + u64::from(self.cfg.tail_ms);
        let available_end = self.audio_start + self.audio.len() as u64;
        let from = (from_ms * SAMPLES_PER_MS).clamp(self.audio_start, available_end);
        let to = (to_ms * SAMPLES_PER_MS).clamp(from, available_end);
        let pcm_16k = self.audio
            [(from - self.audio_start) as usize..(to - self.audio_start) as usize]
            .to_vec();
        Utterance {
            start_ms,
            end_ms,
            pcm_16k,
        }
    }

    /// Drop audio no future utterance can include.
    fn trim_audio(&mut self, now_ms: u64) {
        let keep_from_ms = match self.state {
            State::Idle => now_ms.saturating_sub(UNVOICED_EDGE_MS + FRAME_MS),
            State::Candidate(span) | State::Speech(span) => span.start_ms,
        }
        .saturating_sub(u64::from(self.cfg.pre_roll_ms));
        let keep_from = keep_from_ms * SAMPLES_PER_MS;
        // Trim in steps of a second or more, so the copy is amortised.
        if keep_from > self.audio_start + 16_000 {
            let drop = ((keep_from - self.audio_start) as usize).min(self.audio.len());
            self.audio.drain(..drop);
            self.audio_start += drop as u64;
        }
    }
}

/// Move a span's end forward with this frame, if it is speech. Weak frames
/// count only while they continue the speech without a gap: speech fades
/// out continuously, while background talkers pop up after gaps.
fn extend(span: &mut Span, obs: &Observation, frame_start: u64, frame_end: u64) {
    let contiguous = span.end_ms == frame_start;
    let since_voiced = frame_end - span.last_voiced_ms;
    if obs.voiced && (contiguous || obs.strong) {
        span.end_ms = frame_end;
        span.last_voiced_ms = frame_end;
        span.voiced_ms += FRAME_MS;
    } else if !obs.voiced
        // Unvoiced sounds right after voicing ("s" of "yes"), or a loud
        // one after a short closure (the "t" of "next").
        && ((obs.active && frame_start - span.end_ms <= MAX_CODA_GAP_MS && since_voiced <= UNVOICED_EDGE_MS)
            || (obs.strong && since_voiced <= CLOSURE_CODA_MS))
    {
        span.end_ms = frame_end;
    }
}

/// The line's background level: the median frame energy over the last 3 s
/// spent outside speech. The median, not the minimum, because background
/// babble is itself speech-like and fluctuates: its quiet moments say
/// nothing about how loud it gets. Frames of confirmed speech are left out
/// so a long utterance does not raise its own threshold; a start that is
/// never confirmed (a steady tone, say) is absorbed within 1.5 s.
struct Background {
    /// Histogram of the windowed frames, 1 dB bins from `SILENCE_DB` to 0.
    counts: [u16; BINS],
    window: VecDeque<u8>,
}

const BINS: usize = (-SILENCE_DB) as usize + 1;
const BACKGROUND_FRAMES: usize = 300;
/// A new line is not known yet: the reference starts at the quietest frame
/// heard and moves to the median over this many frames. A caller who talks
/// from the first packet is then caught as soon as the voice rises 10 dB
/// over its own quiet moments, and a noisy line soon gets its true level.
const WARMUP_FRAMES: usize = 50;
/// After a gap with nothing learned, audio for this long is judged as if the
/// line were digitally silent, while the background learns from it. Long
/// enough for a warm-up; short enough that noise coming with the caller's
/// voice is soon known as noise and stops holding utterances open.
const GAP_PRIOR_FRAMES: usize = 2 * WARMUP_FRAMES;

impl Background {
    fn new() -> Self {
        Background {
            counts: [0; BINS],
            window: VecDeque::with_capacity(BACKGROUND_FRAMES),
        }
    }

    /// The window's median in dBFS (a lower percentile while warming up);
    /// `None` before the first frame.
    fn level_db(&self) -> Option<f32> {
        let n = self.window.len();
        let rank = (n * n.min(WARMUP_FRAMES))
            .div_ceil(2 * WARMUP_FRAMES)
            .max(1);
        let mut seen = 0;
        let bin = self.counts.iter().position(|&count| {
            seen += usize::from(count);
            seen >= rank
        })?;
        Some(SILENCE_DB + bin as f32)
    }

    /// Fewer frames heard than the warm-up takes.
    fn warming_up(&self) -> bool {
        self.window.len() < WARMUP_FRAMES
    }

    fn add(&mut self, energy_db: f32) {
        if self.window.len() == BACKGROUND_FRAMES
            && let Some(old) = self.window.pop_front()
        {
            self.counts[usize::from(old)] -= 1;
        }
        let bin = (energy_db - SILENCE_DB)
            .round()
            .clamp(0.0, (BINS - 1) as f32) as u8;
        self.counts[usize::from(bin)] += 1;
        self.window.push_back(bin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    const RATE: f32 = 16000.0;

    fn silence(seconds: f32) -> Vec<f32> {
        vec![0.0; (seconds * RATE) as usize]
    }

    /// A vowel-like buzz: harmonics of a gliding F0 with a smooth envelope.
    fn buzz(seconds: f32, amplitude: f32) -> Vec<f32> {
        let n = (seconds * RATE) as usize;
        let mut phase = 0.0f32;
        (0..n)
            .map(|i| {
                let t = i as f32 / RATE;
                let f0 = 120.0 + 20.0 * (2.0 * PI * 1.5 * t).sin();
                phase += 2.0 * PI * f0 / RATE;
                let envelope = (PI * i as f32 / n as f32).sin().powf(0.3);
                let voice: f32 = (1..=20)
                    .filter(|k| *k as f32 * f0 < 3400.0)
                    .map(|k| (k as f32 * phase).sin() / k as f32)
                    .sum();
                amplitude * envelope * voice
            })
            .collect()
    }

    fn noise(seconds: f32, amplitude: f32, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..(seconds * RATE) as usize)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                amplitude * (state as f32 / u32::MAX as f32 * 2.0 - 1.0)
            })
            .collect()
    }

    fn mix(signal: &mut [f32], other: &[f32]) {
        for (s, o) in signal.iter_mut().zip(other) {
            *s += o;
        }
    }

    fn run(pcm: &[f32], chunk: usize, cfg: VadConfig) -> Vec<VadEvent> {
        let mut vad = Endpointer::new(cfg);
        let mut events = Vec::new();
        for part in pcm.chunks(chunk) {
            events.extend(vad.push(part));
        }
        events.extend(vad.finish());
        events
    }

    fn utterances(events: &[VadEvent]) -> Vec<&Utterance> {
        events
            .iter()
            .filter_map(|e| match e {
                VadEvent::Utterance(u) => Some(u),
                VadEvent::SpeechStarted { .. } => None,
            })
            .collect()
    }

    #[test]
    fn silence_and_noise_give_nothing() {
        assert!(run(&silence(3.0), 320, VadConfig::default()).is_empty());
        let hiss = noise(5.0, 0.01, 1);
        assert!(run(&hiss, 320, VadConfig::default()).is_empty());
        let loud = noise(3.0, 0.5, 2);
        assert!(run(&loud, 320, VadConfig::default()).is_empty());
    }

    #[test]
    fn a_noise_burst_or_click_is_not_speech() {
        let mut pcm = noise(3.0, 0.003, 3);
        let burst = noise(0.15, 0.6, 4);
        mix(&mut pcm[16000..], &burst);
        pcm[32000] = 0.9;
        pcm[32001] = -0.9;
        assert!(run(&pcm, 320, VadConfig::default()).is_empty());
    }

    #[test]
    fn a_short_voiced_grunt_is_not_speech() {
        let mut pcm = silence(2.0);
        mix(&mut pcm[8000..], &buzz(0.1, 0.1));
        assert!(run(&pcm, 320, VadConfig::default()).is_empty());
    }

    #[test]
    fn one_vowel_gives_one_utterance_with_its_timing() {
        let mut pcm = noise(3.0, 0.002, 5);
        mix(&mut pcm[16000..], &buzz(0.8, 0.05));
        let events = run(&pcm, 320, VadConfig::default());
        let VadEvent::SpeechStarted { at_ms } = events[0] else {
            panic!("{events:?}")
        };
        let found = utterances(&events);
        assert_eq!(found.len(), 1);
        let u = found[0];
        assert_eq!(u.start_ms, at_ms);
        assert!(u.start_ms.abs_diff(1000) <= 60, "start {}", u.start_ms);
        assert!(u.end_ms.abs_diff(1800) <= 60, "end {}", u.end_ms);
        let expected_len = (u.end_ms + 200 - (u.start_ms - 300)) * 16;
        assert_eq!(u.pcm_16k.len() as u64, expected_len);
    }

    #[test]
    fn chunk_size_does_not_change_the_result() {
        let mut pcm = noise(4.0, 0.002, 6);
        mix(&mut pcm[8000..], &buzz(0.6, 0.05));
        mix(&mut pcm[40000..], &buzz(0.5, 0.2));
        let reference = run(&pcm, pcm.len(), VadConfig::default());
        assert_eq!(utterances(&reference).len(), 2);
        for chunk in [1, 160, 320, 999] {
            assert_eq!(run(&pcm, chunk, VadConfig::default()), reference);
        }
    }

    #[test]
    fn speech_started_tracks_the_open_utterance() {
        let mut pcm = silence(3.0);
        mix(&mut pcm[8000..], &buzz(1.0, 0.05));
        let mut vad = Endpointer::new(VadConfig::default());
        let mut seen_speech = false;
        for part in pcm.chunks(320) {
            let events = vad.push(part);
            if events
                .iter()
                .any(|e| matches!(e, VadEvent::SpeechStarted { .. }))
            {
                assert!(vad.speech_started());
                seen_speech = true;
            }
            if events.iter().any(|e| matches!(e, VadEvent::Utterance(_))) {
                assert!(!vad.speech_started());
            }
        }
        assert!(seen_speech);
        assert_eq!(vad.position_ms(), 3000);
    }

    #[test]
    fn long_speech_is_cut_at_max_utterance() {
        // Half a second of line, then 5.5 s of 150 ms syllables with 100 ms
        // gaps.
        let mut pcm = noise(0.5, 0.001, 7);
        for i in 0..22 {
            pcm.extend(buzz(0.15, 0.05));
            pcm.extend(noise(0.1, 0.001, 8 + i));
        }
        let cfg = VadConfig {
            max_utterance_ms: 2000,
            ..VadConfig::default()
        };
        let events = run(&pcm, 320, cfg);
        let found = utterances(&events);
        let spans: Vec<_> = found.iter().map(|u| (u.start_ms, u.end_ms)).collect();
        assert!(found.len() >= 2, "{spans:?}");
        assert!(found.iter().all(|u| u.end_ms - u.start_ms <= 2000));
        assert!(found.windows(2).all(|w| w[1].start_ms >= w[0].end_ms));
        // All of the speech is covered.
        assert!(found[0].start_ms.abs_diff(500) <= 60);
        assert!(
            found.last().unwrap().end_ms.abs_diff(5900) <= 60,
            "{spans:?}"
        );
    }

    /// Pushes in 20 ms chunks, taking a pause after each; every pause with
    /// the position it was taken at, and the events.
    fn run_with_pauses(pcm: &[f32], cfg: VadConfig) -> (Vec<(u64, Utterance)>, Vec<VadEvent>) {
        let mut vad = Endpointer::new(cfg);
        let mut pauses = Vec::new();
        let mut events = Vec::new();
        for part in pcm.chunks(320) {
            events.extend(vad.push(part));
            if let Some(p) = vad.take_pause() {
                pauses.push((vad.position_ms(), p));
            }
        }
        events.extend(vad.finish());
        (pauses, events)
    }

    #[test]
    fn a_pause_comes_once_before_the_endpoint_with_the_utterance_audio() {
        let mut pcm = noise(3.0, 0.002, 9);
        mix(&mut pcm[16000..], &buzz(0.8, 0.05));
        let cfg = VadConfig::default();
        let (pauses, events) = run_with_pauses(&pcm, cfg.clone());
        let found = utterances(&events);
        assert_eq!(found.len(), 1);
        assert_eq!(pauses.len(), 1, "one pause per silence");
        let (at_ms, pause) = &pauses[0];
        assert_eq!(pause, found[0], "same span and audio as the utterance");
        let silence = at_ms - pause.end_ms;
        assert!(silence >= u64::from(cfg.early_ms) && silence < u64::from(cfg.hangover_ms));
        // Taking pauses changes nothing else.
        assert_eq!(events, run(&pcm, 320, cfg));
    }

    #[test]
    fn speech_after_a_pause_gives_a_new_pause_for_the_longer_utterance() {
        let mut pcm = noise(0.5, 0.002, 10);
        pcm.extend(buzz(0.6, 0.05));
        pcm.extend(noise(0.35, 0.002, 11));
        pcm.extend(buzz(0.6, 0.05));
        pcm.extend(noise(1.0, 0.002, 12));
        let (pauses, events) = run_with_pauses(&pcm, VadConfig::default());
        let found = utterances(&events);
        assert_eq!(found.len(), 1, "a 350 ms pause does not end the utterance");
        assert_eq!(pauses.len(), 2);
        assert!(pauses[0].1.end_ms < found[0].end_ms);
        assert_eq!(&pauses[1].1, found[0]);
    }

    #[test]
    fn a_pause_waits_for_the_whole_tail() {
        let mut pcm = noise(3.0, 0.002, 18);
        mix(&mut pcm[16000..], &buzz(0.8, 0.05));
        let cfg = VadConfig {
            early_ms: 100,
            ..VadConfig::default()
        };
        let (pauses, events) = run_with_pauses(&pcm, cfg.clone());
        assert_eq!(pauses.len(), 1);
        let (at_ms, pause) = &pauses[0];
        assert!(at_ms - pause.end_ms >= u64::from(cfg.tail_ms));
        assert_eq!(pause, utterances(&events)[0]);
    }

    #[test]
    fn a_pause_longer_than_the_hangover_is_never_taken() {
        let mut pcm = noise(2.0, 0.002, 13);
        mix(&mut pcm[8000..], &buzz(0.6, 0.05));
        let cfg = VadConfig {
            early_ms: 600,
            ..VadConfig::default()
        };
        let (pauses, events) = run_with_pauses(&pcm, cfg);
        assert!(pauses.is_empty());
        assert_eq!(utterances(&events).len(), 1);
    }

    #[test]
    fn closing_early_gives_the_utterance_the_hangover_would_have() {
        let mut pcm = noise(1.0, 0.002, 14);
        pcm.extend(buzz(0.8, 0.05));
        pcm.extend(noise(0.4, 0.002, 15));
        let mut later = buzz(0.8, 0.05);
        later.extend(noise(1.0, 0.002, 16));
        let mut whole = pcm.clone();
        whole.extend(noise(1.0, 0.002, 17));
        let reference = run(&whole, 320, VadConfig::default());

        let mut vad = Endpointer::new(VadConfig::default());
        let mut events = Vec::new();
        for part in pcm.chunks(320) {
            events.extend(vad.push(part));
        }
        assert!(utterances(&events).is_empty(), "hangover not over yet");
        assert!(vad.speech_end_ms().is_some());
        let closed = vad.close_utterance().expect("an open utterance");
        assert_eq!(&closed, utterances(&reference)[0]);
        assert_eq!(vad.speech_end_ms(), None);
        assert_eq!(vad.close_utterance(), None);
        // Speech after the close is an utterance of its own.
        let mut after = Vec::new();
        for part in later.chunks(320) {
            after.extend(vad.push(part));
        }
        let next = utterances(&after);
        assert_eq!(next.len(), 1);
        assert!(next[0].start_ms >= closed.end_ms + 400 - 60);
    }

    #[test]
    fn end_of_stream_closes_an_open_utterance() {
        let mut pcm = silence(1.0);
        pcm.extend(buzz(1.0, 0.05));
        let mut vad = Endpointer::new(VadConfig::default());
        let pushed = vad.push(&pcm);
        assert!(utterances(&pushed).is_empty());
        let finished = vad.finish();
        let found = utterances(&finished);
        assert_eq!(found.len(), 1);
        assert!(found[0].end_ms.abs_diff(2000) <= 60);
    }

    /// Noise, then speech over it, then the noise again.
    fn noisy_speech() -> Vec<f32> {
        let mut speech = buzz(1.0, 0.3);
        mix(&mut speech, &noise(1.0, 0.01, 0x2545_f491));
        let mut pcm = noise(1.2, 0.01, 0x2545_f491);
        pcm.extend(speech);
        pcm.extend(noise(1.5, 0.01, 0x2545_f491));
        pcm
    }

    #[test]
    fn speech_right_after_a_gap_is_heard() {
        // A silence-suppressing phone starts sending with the voice.
        let mut vad = Endpointer::new(VadConfig::default());
        let mut events = vad.push_gap(3 * 16_000);
        events.extend(vad.push(&buzz(1.0, 0.3)));
        events.extend(vad.push_gap(16_000));
        assert!(
            matches!(events.first(), Some(VadEvent::SpeechStarted { at_ms }) if *at_ms < 3100),
            "{events:?}"
        );
        let found = utterances(&events);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].end_ms.abs_diff(4000) <= 60,
            "{:?}",
            found[0].end_ms
        );
    }

    #[test]
    fn a_gap_is_not_learned_as_the_line_level() {
        let alone = {
            let mut vad = Endpointer::new(VadConfig::default());
            let mut events = vad.push(&noisy_speech());
            events.extend(vad.finish());
            utterances(&events)
                .iter()
                .map(|u| u.end_ms)
                .collect::<Vec<_>>()
        };
        let after_gap = {
            let mut vad = Endpointer::new(VadConfig::default());
            let mut events = vad.push_gap(3 * 16_000);
            events.extend(vad.push(&noisy_speech()));
            events.extend(vad.finish());
            utterances(&events)
                .iter()
                .map(|u| u.end_ms)
                .collect::<Vec<_>>()
        };
        assert_eq!(alone.len(), 1, "{alone:?}");
        assert_eq!(after_gap.len(), 1, "{after_gap:?}");
        // Taken for digital silence, the gap made the hiss after the voice
        // count as its tail.
        assert!(
            (after_gap[0] - 3000).abs_diff(alone[0]) <= 20,
            "{} ms after the gap, {} ms alone",
            after_gap[0] - 3000,
            alone[0]
        );
    }
}
