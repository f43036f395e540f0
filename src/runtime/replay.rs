//! Replaying a recorded caller through the whole pipeline on the real model.
//!
//! This is the offline runtime: it reads the WAV, feeds it to a
//! [`Session`] in 20 ms frames as a phone line would, runs Whisper on what
//! the session asks for, and measures how long each decision took on the
//! wall clock (the only place here that reads it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::brain::asr::Language;
use crate::brain::intent::Router;
use crate::dialplan::{Dialplan, DialplanError, load_dialplan};
use crate::media::wav::{self, CallerAudio};
use crate::runtime::whisper::{AsrError, PoolOptions, WhisperPool};
use crate::session::{Decision, Input, Output, Session, SessionConfig, UtteranceReport};

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
pub fn default_model(language: Language) -> &'static str {
    match language {
        Language::En => "tiny.en",
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
    /// Wall time from the endpoint of each utterance (the moment the engine
    /// knew the caller had stopped) to its routing result.
    pub decision_ms: Vec<f64>,
    pub audio_ms: u64,
}

/// Shared, loaded parts reused across many replays.
pub struct Brain {
    pub dialplan: Arc<Dialplan>,
    pub router: Arc<Router>,
    pub pool: Arc<WhisperPool>,
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
        Ok(Brain {
            router: Arc::new(Router::new(&dialplan)),
            dialplan: Arc::new(dialplan),
            pool: Arc::new(pool),
            language,
        })
    }

    pub fn replay_file(&self, path: &Path) -> Result<ReplayReport, ReplayError> {
        let audio = wav::read_wav(path)?;
        self.replay(&audio)
    }

    pub fn replay(&self, audio: &CallerAudio) -> Result<ReplayReport, ReplayError> {
        let config = SessionConfig::new(self.language);
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
            let now_ms = i as u64 * 20;
            if wide {
                let start = i * frame;
                session.handle_input(
                    now_ms,
                    Input::Audio16k(&wide_pcm[start..start + chunk.len()]),
                );
            } else {
                session.handle_input(now_ms, Input::Audio8k(chunk));
            }
            self.drain(&mut session, &mut run, now_ms)?;
        }
        let audio_ms = audio.samples.len() as u64 * 1000 / audio.sample_rate as u64;
        session.handle_input(audio_ms, Input::EndOfAudio);
        self.drain(&mut session, &mut run, audio_ms)?;
        let decision = session.outcome();
        Ok(ReplayReport {
            utterances: run.utterances,
            decision,
            decisions: run.decisions,
            decision_ms: run.decision_ms,
            audio_ms,
        })
    }

    /// Carries out what the session asks until it has nothing more to say.
    /// Recognition runs inline: offline there is nothing else to wait for.
    fn drain(&self, session: &mut Session, run: &mut Run, now_ms: u64) -> Result<(), ReplayError> {
        while let Some(out) = session.poll_output() {
            match out {
                Output::SpeechStarted { .. } => {}
                Output::Transcribe(req) => {
                    let started = Instant::now();
                    let transcript = self.pool.transcribe(&req)?;
                    session.handle_input(now_ms, Input::Transcript(transcript));
                    // Routing happened inside handle_input; its output is queued.
                    run.decision_ms
                        .push(started.elapsed().as_secs_f64() * 1000.0);
                }
                Output::Utterance(u) => run.utterances.push(u),
                Output::Decision(d) => run.decisions.push(d),
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Run {
    utterances: Vec<UtteranceReport>,
    decisions: Vec<Decision>,
    decision_ms: Vec<f64>,
}
