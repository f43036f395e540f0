//! Drives one `ivr::call::Call` on fake time the way the runtime does: a
//! caller frame every 20 ms, prompt audio answered from a "cache" at once
//! (or after a delay), transcripts from the real Whisper model or from a
//! script, everything the call says logged per tick.
#![allow(dead_code)] // each test crate uses only some helpers

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use ivr::brain::asr::{Language, Transcript};
use ivr::brain::intent::Router;
use ivr::call::{Call, CallConfig, CallEvent, FRAME_SAMPLES, Input, Output};
use ivr::dialplan::{Dialplan, load_dialplan};
use ivr::media::wav;
use ivr::runtime::replay::Brain;
use ivr::session::Decision;

pub const RATE: usize = 8000;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled hotline and its router, built once per test binary.
pub fn hotline() -> (Arc<Dialplan>, Arc<Router>) {
    static HOTLINE: OnceLock<(Arc<Dialplan>, Arc<Router>)> = OnceLock::new();
    HOTLINE
        .get_or_init(|| {
            let plan =
                load_dialplan(&repo().join("dialplans/hotline.toml")).expect("hotline loads");
            let router = Router::new(&plan);
            (Arc::new(plan), Arc::new(router))
        })
        .clone()
}

/// A fixture's 8 kHz samples.
pub fn fixture(name: &str) -> Vec<i16> {
    let audio = wav::read_wav(&repo().join("audio-fixtures").join(format!("{name}.wav")))
        .expect("fixture reads");
    assert_eq!(audio.sample_rate, RATE as u32);
    audio.samples
}

/// Deterministic pseudo-random numbers in -1..1 (xorshift).
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed.max(1))
    }

    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Faint line hiss (about -62 dBFS): what an open, silent line sounds like.
pub fn hiss(ms: usize, seed: u64) -> Vec<i16> {
    let mut noise = Noise::new(seed);
    (0..ms * RATE / 1000)
        .map(|_| (noise.next() * 40.0) as i16)
        .collect()
}

/// Synthetic prompt audio: a soft tone as long as the text would take to say.
pub fn prompt_audio(text: &str) -> Arc<[i16]> {
    let cjk = text.chars().filter(|c| *c as u32 >= 0x4E00).count();
    let ms = (text.chars().count() - cjk) * 60 + cjk * 220;
    let len = ms.max(400) * RATE / 1000;
    (0..len)
        .map(|n| {
            let phase = std::f32::consts::TAU * 440.0 * n as f32 / RATE as f32;
            (3000.0 * phase.sin()) as i16
        })
        .collect()
}

pub enum Recogniser {
    Whisper(Arc<Brain>),
    /// The n-th utterance the call asks about is answered with the n-th line.
    Script(VecDeque<String>),
}

/// What the caller heard on one tick.
#[derive(Debug, Clone)]
pub struct Heard {
    pub at_ms: u64,
    /// The prompt the frame belongs to (`None`: the hold chime).
    pub key: Option<String>,
}

pub struct Harness {
    pub call: Call,
    pub now: u64,
    pub events: Vec<CallEvent>,
    pub heard: Vec<Heard>,
    pub rendered: Vec<String>,
    pub handoffs: Vec<Decision>,
    /// How many times the caller asked for a callback.
    pub callback_requests: usize,
    pub hangup: Option<String>,
    pub transcripts: Vec<String>,
    /// Transcripts are kept here until `release_transcripts` instead of
    /// being answered at once (a busy recogniser).
    pub hold_transcripts: bool,
    pub held: VecDeque<Transcript>,
    recogniser: Recogniser,
    /// Prompt audio is answered this many ticks after it is asked for.
    pub prompt_delay_ticks: u64,
    /// Recorded prompts (`wav: Some`) are loaded from their files the way
    /// the runtime loads them (empty audio when that fails) instead of
    /// being synthesised from their text.
    pub load_wavs: bool,
    /// The recordings asked for, in order.
    pub wavs: Vec<PathBuf>,
    due: Vec<(u64, String, Arc<[i16]>)>,
    playing: Option<String>,
    hiss_seed: u64,
}

impl Harness {
    pub fn scripted(said: &[&str]) -> Harness {
        Harness::scripted_with(said, CallConfig::default())
    }

    pub fn scripted_with(said: &[&str], config: CallConfig) -> Harness {
        let (plan, router) = hotline();
        let script = said.iter().map(|s| s.to_string()).collect();
        Harness::new(plan, router, config, Recogniser::Script(script))
    }

    /// On the real model (installed by `make test`).
    pub fn whisper(brain: Arc<Brain>) -> Harness {
        let config = CallConfig {
            language: brain.language,
            caller: "+15550100".into(),
            call_id: "test-call".into(),
            ..CallConfig::default()
        };
        Harness::new(
            brain.dialplan.clone(),
            brain.router.clone(),
            config,
            Recogniser::Whisper(brain),
        )
    }

    pub fn new(
        plan: Arc<Dialplan>,
        router: Arc<Router>,
        config: CallConfig,
        recogniser: Recogniser,
    ) -> Harness {
        Harness {
            call: Call::new(plan, router, config),
            now: 1000, // the runtime has been up for a while
            events: Vec::new(),
            heard: Vec::new(),
            rendered: Vec::new(),
            handoffs: Vec::new(),
            callback_requests: 0,
            hangup: None,
            transcripts: Vec::new(),
            hold_transcripts: false,
            held: VecDeque::new(),
            recogniser,
            prompt_delay_ticks: 0,
            load_wavs: false,
            wavs: Vec::new(),
            due: Vec::new(),
            playing: None,
            hiss_seed: 7,
        }
    }

    pub fn start(&mut self) {
        self.call.start(self.now);
        self.drain();
    }

    /// Feeds caller audio, one 20 ms tick per frame.
    pub fn feed(&mut self, pcm: &[i16]) {
        for frame in pcm.chunks(FRAME_SAMPLES) {
            self.tick(frame);
        }
    }

    pub fn tick(&mut self, frame: &[i16]) {
        self.now += 20;
        let ticks = self.now / 20;
        let (ready, later): (Vec<_>, Vec<_>) =
            self.due.drain(..).partition(|(due, _, _)| *due <= ticks);
        self.due = later;
        for (_, key, pcm_8k) in ready {
            self.call
                .handle_input(self.now, Input::PromptAudio { key, pcm_8k });
        }
        let plays_before = self.heard.len();
        self.call.handle_input(self.now, Input::CallerFrame(frame));
        self.drain();
        assert!(
            self.heard.len() - plays_before <= 1,
            "more than one frame on one tick"
        );
    }

    /// A silent (hissing) line for `ms`.
    pub fn silence(&mut self, ms: usize) {
        self.hiss_seed += 1;
        let pcm = hiss(ms, self.hiss_seed);
        self.feed(&pcm);
    }

    /// Silence until `done` holds or `max_ms` passed; whether it held.
    pub fn wait_for(&mut self, max_ms: u64, done: impl Fn(&Harness) -> bool) -> bool {
        let until = self.now + max_ms;
        while !done(self) {
            if self.now >= until {
                return false;
            }
            self.silence(20);
        }
        true
    }

    /// Answers the transcripts held so far, in order.
    pub fn release_transcripts(&mut self) {
        while let Some(t) = self.held.pop_front() {
            self.call.handle_input(self.now, Input::Transcript(t));
            self.drain();
        }
    }

    pub fn dtmf(&mut self, digit: char) {
        self.call.handle_input(self.now, Input::Dtmf(digit));
        self.drain();
    }

    pub fn drain(&mut self) {
        while let Some(out) = self.call.poll_output() {
            match out {
                Output::RenderPrompt { key, text, wav, .. } => {
                    self.rendered.push(key.clone());
                    let pcm_8k = match wav {
                        Some(path) if self.load_wavs => {
                            self.wavs.push(path.clone());
                            ivr::runtime::tts::load_wav(&path)
                                .unwrap_or_else(|_| Arc::from(Vec::new()))
                        }
                        Some(path) => {
                            self.wavs.push(path);
                            prompt_audio(&text)
                        }
                        None => prompt_audio(&text),
                    };
                    if self.prompt_delay_ticks == 0 {
                        self.call
                            .handle_input(self.now, Input::PromptAudio { key, pcm_8k });
                    } else {
                        let due = self.now / 20 + self.prompt_delay_ticks;
                        self.due.push((due, key, pcm_8k));
                    }
                }
                Output::Transcribe(req) => {
                    let transcript = match &mut self.recogniser {
                        Recogniser::Whisper(brain) => brain.pool.transcribe(&req).expect("whisper"),
                        Recogniser::Script(said) => Transcript::heard(
                            req.utterance,
                            said.pop_front().unwrap_or_default(),
                            0.0,
                        ),
                    };
                    self.transcripts.push(transcript.text.clone());
                    if self.hold_transcripts {
                        self.held.push_back(transcript);
                    } else {
                        self.call
                            .handle_input(self.now, Input::Transcript(transcript));
                    }
                }
                // Answered at once above: nothing left to stop or wait for.
                Output::CancelTranscribe { .. } | Output::ConfirmTranscribe { .. } => {}
                Output::Play(_) => self.heard.push(Heard {
                    at_ms: self.now,
                    key: self.playing.clone(),
                }),
                Output::Event(event) => {
                    match &event {
                        CallEvent::PromptStarted { key, .. } => self.playing = Some(key.clone()),
                        CallEvent::PromptFinished { .. } | CallEvent::PromptStopped { .. } => {
                            self.playing = None
                        }
                        _ => {}
                    }
                    self.events.push(event);
                }
                Output::Handoff(d) => self.handoffs.push(d),
                Output::CallbackRequested => self.callback_requests += 1,
                Output::Hangup { reason } => self.hangup = Some(reason),
            }
        }
    }

    /// Keys of the prompts that started, in order.
    pub fn started(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                CallEvent::PromptStarted { key, .. } => Some(key.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn finished(&self, key: &str) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, CallEvent::PromptFinished { key: k, .. } if k == key))
    }

    pub fn barge_ins(&self) -> Vec<&CallEvent> {
        self.events
            .iter()
            .filter(|e| matches!(e, CallEvent::BargeIn { .. }))
            .collect()
    }

    /// Frames the caller heard of prompt `key`.
    pub fn frames_of(&self, key: &str) -> usize {
        self.heard
            .iter()
            .filter(|h| h.key.as_deref() == Some(key))
            .count()
    }

    pub fn is_playing(&self) -> bool {
        self.playing.is_some()
    }

    /// Lets the greeting play out in silence and returns when it ended.
    pub fn hear_greeting(&mut self) {
        let lang = match self.call.record().language.as_str() {
            "zh" => Language::Zh,
            _ => Language::En,
        };
        let key = format!("{}:greeting", lang.code());
        assert!(
            self.wait_for(30_000, |h| h.finished(&key)),
            "the greeting played to its end"
        );
    }
}
