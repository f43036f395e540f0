//! Replaying a recorded caller through the whole pipeline on the real model.
//!
//! This is the offline runtime: it reads the WAV, feeds it to a
//! [`Session`] in 20 ms frames as a phone line would, runs Whisper on what
//! the session asks for, and measures how long each decision took on the
//! wall clock (the only place here that reads it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::brain::asr::{Language, TranscribeRequest, Transcript};
use crate::brain::intent::Router;
use crate::dialplan::{Dialplan, DialplanError, load_dialplan};
use crate::media::wav::{self, CallerAudio};
use crate::runtime::asr_service::AsrService;
use crate::runtime::whisper::{AsrError, PoolOptions, WhisperPool};
use crate::session::{
    Decision, Input, Output, Session, SessionConfig, SpeculationStats, UtteranceReport,
};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Wav(#[from] wav::WavError),
    #[error(transparent)]
    Asr(#[from] AsrError),
    #[error(transparent)]
    Dialplan(#[from] DialplanError),
    #[error("model {name} is not installed at {path}: run `ivr models install {name}`")]
    ModelMissing { name: String, path: String },
}

/// What to load for a brain.
#[derive(Debug, Clone)]
pub struct BrainOptions {
    pub dialplan: PathBuf,
    /// Whisper model name; `None` picks the language's default.
    pub model: Option<String>,
    /// Recognition language; `None` takes the dialplan's.
    pub language: Option<Language>,
    pub models_dir: PathBuf,
    /// Whisper beam width; 1 is greedy.
    pub beam_size: usize,
    /// Always run the encoder over the full 30 s window (slower; for
    /// measuring what trimming costs in accuracy).
    pub full_window: bool,
}

/// The model a language needs when none is named: tiny.en is English only.
/// English runs the 8-bit twin `ivr models install` writes beside it: in
/// `ivr bench asr` it is about a quarter faster at the same word error rate.
pub fn default_model(language: Language) -> &'static str {
    match language {
        Language::En => "tiny.en-q8_0",
        Language::Zh => "base",
    }
}

pub fn model_path(models_dir: &Path, name: &str) -> PathBuf {
    models_dir.join(format!("ggml-{name}.bin"))
}

/// Everything one replayed call produced.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub utterances: Vec<UtteranceReport>,
    pub decision: Decision,
    /// Every decision in order (a call may be clarified, then routed).
    pub decisions: Vec<Decision>,
    /// For each decision, the time from its utterance's endpoint (the moment
    /// the engine knew the caller had stopped) to the decision.
    pub decision_ms: Vec<f64>,
    /// For each decision, the time from the end of the caller's speech to
    /// the decision: what the caller waits before the answer can start.
    pub speech_end_ms: Vec<f64>,
    pub speculation: SpeculationStats,
    pub audio_ms: u64,
}

/// Shared, loaded parts reused across many replays.
pub struct Brain {
    pub dialplan: Arc<Dialplan>,
    pub router: Arc<Router>,
    pub pool: Arc<WhisperPool>,
    /// Live calls' way onto `pool`: one per pool, so every engine on this
    /// brain shares its admission to the cores.
    pub asr: AsrService,
    pub language: Language,
}

impl Brain {
    pub fn load(opts: &BrainOptions) -> Result<Brain, ReplayError> {
        let dialplan = load_dialplan(&opts.dialplan)?;
        let language = opts.language.unwrap_or(dialplan.language);
        let name = opts
            .model
            .clone()
            .unwrap_or_else(|| default_model(language).to_string());
        let path = model_path(&opts.models_dir, &name);
        if !path.exists() {
            return Err(ReplayError::ModelMissing {
                name,
                path: path.display().to_string(),
            });
        }
        let pool = WhisperPool::open(
            &path,
            PoolOptions {
                beam_size: opts.beam_size.max(1),
                trim_audio_ctx: !opts.full_window,
                ..PoolOptions::default()
            },
        )?;
        let pool = Arc::new(pool);
        Ok(Brain {
            router: Arc::new(Router::new(&dialplan)),
            dialplan: Arc::new(dialplan),
            asr: AsrService::new(pool.clone()),
            pool,
            language,
        })
    }

    /// How the engine sets up a caller's session.
    pub fn session_config(&self) -> SessionConfig {
        SessionConfig::new(self.language)
    }

    pub fn replay_file(&self, path: &Path) -> Result<ReplayReport, ReplayError> {
        self.replay_file_with(path, self.session_config())
    }

    pub fn replay_file_with(
        &self,
        path: &Path,
        config: SessionConfig,
    ) -> Result<ReplayReport, ReplayError> {
        let audio = wav::read_wav(path)?;
        self.replay_with(&audio, config)
    }

    pub fn replay(&self, audio: &CallerAudio) -> Result<ReplayReport, ReplayError> {
        self.replay_with(audio, self.session_config())
    }

    /// Replays on a simulated clock, as a live call would unfold: audio
    /// arrives in real time (a 20 ms frame is there when its last sample has
    /// been spoken), the pool's workers take the requests in order, each
    /// taking as long as it really took here (run one at a time), and a
    /// transcript reaches the session when it would be ready. So a speculative transcription only
    /// helps when it would really have finished in time.
    pub fn replay_with(
        &self,
        audio: &CallerAudio,
        config: SessionConfig,
    ) -> Result<ReplayReport, ReplayError> {
        let hangover_ms = f64::from(config.vad.hangover_ms);
        let mut session = Session::new(self.dialplan.clone(), self.router.clone(), config);
        let mut run = Run::default();
        let frame = audio.sample_rate as usize / 50; // 20 ms, as RTP delivers it
        let wide = audio.sample_rate == 16_000;
        let wide_pcm: Vec<f32> = if wide {
            audio.samples.iter().map(|&s| s as f32 / 32768.0).collect()
        } else {
            Vec::new()
        };
        for (i, chunk) in audio.samples.chunks(frame).enumerate() {
            let now_ms = (i as u64 + 1) * 20;
            self.deliver(&mut session, &mut run, now_ms as f64)?;
            let input = if wide {
                let start = i * frame;
                Input::Audio16k(&wide_pcm[start..start + chunk.len()])
            } else {
                Input::Audio8k(chunk)
            };
            self.step(&mut session, &mut run, now_ms as f64, input)?;
        }
        let audio_ms = audio.samples.len() as u64 * 1000 / audio.sample_rate as u64;
        let end = (audio_ms as f64).max(run.now_ms);
        self.deliver(&mut session, &mut run, end)?;
        self.step(&mut session, &mut run, end, Input::EndOfAudio)?;
        self.deliver(&mut session, &mut run, f64::INFINITY)?;
        let decision = session.outcome();
        let (decision_ms, speech_end_ms) = run.latencies(hangover_ms);
        Ok(ReplayReport {
            utterances: run.utterances,
            decision,
            decisions: run.decisions.into_iter().map(|(_, d)| d).collect(),
            decision_ms,
            speech_end_ms,
            speculation: session.speculation_stats(),
            audio_ms,
        })
    }

    /// Feeds one input at `now_ms` and carries out what the session asks.
    /// The session's own work counts as time spent (wall time).
    fn step(
        &self,
        session: &mut Session,
        run: &mut Run,
        now_ms: f64,
        input: Input<'_>,
    ) -> Result<(), ReplayError> {
        let is_audio = !matches!(input, Input::Transcript(_));
        let started = Instant::now();
        session.handle_input(now_ms as u64, input);
        let done_ms = now_ms + started.elapsed().as_secs_f64() * 1000.0;
        run.now_ms = run.now_ms.max(now_ms);
        if is_audio {
            for id in session.awaiting() {
                run.endpoints.entry(id).or_insert(now_ms);
            }
        }
        while let Some(out) = session.poll_output() {
            match out {
                Output::SpeechStarted { .. } => {}
                Output::Transcribe(req) => self.recognise(run, done_ms, &req)?,
                Output::CancelTranscribe { utterance } => run.cancel(utterance, done_ms),
                // One caller: nobody else's request to let it past.
                Output::ConfirmTranscribe { .. } => {}
                Output::Utterance(u) => run.utterances.push(u),
                Output::Decision(d) => {
                    // Decided on audio alone: the endpoint found a transcript
                    // waiting.
                    if is_audio && let Some(id) = d.utterance {
                        run.endpoints.entry(id).or_insert(now_ms);
                    }
                    run.decisions.push((done_ms, d));
                }
            }
        }
        Ok(())
    }

    /// Runs Whisper now, and schedules its answer for when the engine's
    /// recognisers (one per pool worker, first free first) would have it.
    /// A speculative request waits its turn like any other: with one caller
    /// there is nobody else's waited-for request to go first.
    fn recognise(
        &self,
        run: &mut Run,
        asked_ms: f64,
        req: &TranscribeRequest,
    ) -> Result<(), ReplayError> {
        if run.recognisers_free_ms.is_empty() {
            run.recognisers_free_ms = vec![0.0; self.pool.options().workers.max(1)];
        }
        let (worker, free_ms) = run
            .recognisers_free_ms
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        let started = Instant::now();
        let transcript = self.pool.transcribe(req)?;
        let took_ms = started.elapsed().as_secs_f64() * 1000.0;
        let start_ms = free_ms.max(asked_ms);
        let ready_ms = start_ms + took_ms;
        run.recognisers_free_ms[worker] = ready_ms;
        run.runs.insert(req.utterance, (worker, start_ms, ready_ms));
        run.in_flight.push((ready_ms, transcript));
        Ok(())
    }

    /// Hands the session every transcript ready by `until_ms`, each at the
    /// moment it is ready.
    fn deliver(
        &self,
        session: &mut Session,
        run: &mut Run,
        until_ms: f64,
    ) -> Result<(), ReplayError> {
        while let Some(next) = run
            .in_flight
            .iter()
            .enumerate()
            .filter(|(_, (ready, _))| *ready <= until_ms)
            .min_by(|a, b| a.1.0.total_cmp(&b.1.0))
            .map(|(i, _)| i)
        {
            let (ready_ms, transcript) = run.in_flight.remove(next);
            self.step(session, run, ready_ms, Input::Transcript(transcript))?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Run {
    utterances: Vec<UtteranceReport>,
    /// Each decision with the simulated time it was made.
    decisions: Vec<(f64, Decision)>,
    /// When each utterance's endpoint was reached, by utterance id.
    endpoints: HashMap<u32, f64>,
    /// Answers not yet handed to the session, with when they are ready.
    in_flight: Vec<(f64, Transcript)>,
    /// When each recogniser is next free.
    recognisers_free_ms: Vec<f64>,
    /// Each request run: its recogniser, start and end.
    runs: HashMap<u32, (usize, f64, f64)>,
    /// The latest audio time fed.
    now_ms: f64,
}

impl Run {
    /// A request withdrawn at `now_ms`: unfinished, it gives its recogniser
    /// back then (as the engine aborts the run) and never answers.
    fn cancel(&mut self, utterance: u32, now_ms: f64) {
        let Some(&(worker, start_ms, ready_ms)) = self.runs.get(&utterance) else {
            return;
        };
        if ready_ms <= now_ms {
            return;
        }
        self.in_flight
            .retain(|(ready, t)| !(t.utterance == utterance && *ready == ready_ms));
        // Only when nothing was queued behind it on that recogniser.
        if self.recognisers_free_ms[worker] == ready_ms {
            self.recognisers_free_ms[worker] = start_ms.max(now_ms);
        }
    }

    /// For each decision on an utterance: time from its endpoint and from
    /// the end of its speech.
    fn latencies(&self, hangover_ms: f64) -> (Vec<f64>, Vec<f64>) {
        let mut from_endpoint = Vec::new();
        let mut from_speech_end = Vec::new();
        for (at_ms, d) in &self.decisions {
            let Some(id) = d.utterance else { continue };
            let Some(u) = self.utterances.iter().find(|u| u.id == id) else {
                continue;
            };
            let speech_end = u.end_ms as f64;
            let endpoint = self
                .endpoints
                .get(&id)
                .copied()
                .unwrap_or(speech_end + hangover_ms);
            from_endpoint.push((at_ms - endpoint).max(0.0));
            from_speech_end.push(at_ms - speech_end);
        }
        (from_endpoint, from_speech_end)
    }
}
