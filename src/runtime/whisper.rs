//! Whisper worker pool (whisper-rs): one loaded model shared by a few
//! decoder states, so several utterances can be transcribed at once.
//!
//! `transcribe` blocks the calling thread until a state is free and the
//! utterance is done. Around the model call it skips silence, shrinks the
//! encoder window to the utterance (the encoder otherwise always pays for
//! 30 s), and filters Whisper's known failure modes; see `asr_guards`.

use super::asr_guards::{
    self, AudioLevel, SAMPLE_RATE, collapse_repetition, is_hallucination, strip_annotations,
};
use crate::brain::asr::{Language, TranscribeRequest, Transcript};
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use whisper_rs::whisper_rs_sys::{whisper_context, whisper_state};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperError,
    WhisperState, WhisperTokenData,
};

/// Said before the caller's words when transcribing Mandarin: a simplified
/// Chinese sentence steers Whisper to simplified characters.
const ZH_PROMPT: &str = "以下是普通话的句子。";
/// Prompt tokens kept (Whisper allows half its 448-token text context).
const MAX_PROMPT_TOKENS: usize = 200;
/// Distinct prompts whose tokens are cached (one per dialplan state, say).
const PROMPT_CACHE: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("Whisper model {0} not found (run `ivr models install`)")]
    ModelMissing(PathBuf),
    #[error("could not load Whisper model {path}")]
    Load { path: PathBuf, source: WhisperError },
    #[error("could not allocate a Whisper decoder state")]
    State(#[source] WhisperError),
    #[error("the loaded Whisper model is English-only and cannot transcribe {0:?}")]
    LanguageUnsupported(Language),
    #[error("the transcription of utterance {0} was cancelled")]
    Cancelled(u32),
    #[error("Whisper failed on utterance {utterance}")]
    Decode {
        utterance: u32,
        source: WhisperError,
    },
}

/// How the pool runs the model.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolOptions {
    /// Utterances transcribed at once (one decoder state each).
    pub workers: usize,
    /// CPU threads per transcription.
    pub threads: usize,
    /// Shrink the encoder window to the utterance length.
    pub trim_audio_ctx: bool,
    /// 1 = greedy decoding; more = beam search of that width.
    pub beam_size: usize,
}

impl Default for PoolOptions {
    /// One single-threaded worker per core. ggml's threads spin-wait on each
    /// other at every graph node: when another call or process holds a core,
    /// a 2-thread transcription measured 10x slower (90% of the time in
    /// `ggml_barrier`). Single-threaded workers never wait on each other, so
    /// calls degrade gracefully under load; `IVR_ASR_THREADS` overrides it.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = std::env::var("IVR_ASR_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, cores);
        PoolOptions {
            workers: (cores / threads).max(1),
            threads,
            trim_audio_ctx: true,
            beam_size: 1,
        }
    }
}

pub struct WhisperPool {
    ctx: WhisperContext,
    idle: Mutex<Vec<WhisperState>>,
    freed: Condvar,
    options: PoolOptions,
    /// Decoding settings per language, built once: whisper-rs leaks the
    /// language string each time it is set, so it is set only here.
    params_en: FullParams<'static, 'static>,
    params_zh: FullParams<'static, 'static>,
    prompts: Mutex<HashMap<String, Arc<Vec<i32>>>>,
}

/// What one model run produced.
#[derive(Debug, Default)]
struct Decoded {
    text: String,
    /// Mean log-probability of the text tokens.
    avg_logprob: f32,
    hit_token_limit: bool,
    /// Decoding was stopped at a loop ([`stop_loops`]).
    stopped_loop: bool,
}

impl WhisperPool {
    pub fn open(model: &Path, options: PoolOptions) -> Result<WhisperPool, AsrError> {
        // Keep whisper.cpp's and ggml's chatter off stderr.
        whisper_rs::install_logging_hooks();
        if !model.is_file() {
            return Err(AsrError::ModelMissing(model.to_path_buf()));
        }
        let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default())
            .map_err(|source| AsrError::Load {
                path: model.to_path_buf(),
                source,
            })?;
        let options = PoolOptions {
            workers: options.workers.max(1),
            threads: options.threads.max(1),
            beam_size: options.beam_size.max(1),
            ..options
        };
        let idle = (0..options.workers)
            .map(|_| ctx.create_state().map_err(AsrError::State))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WhisperPool {
            ctx,
            idle: Mutex::new(idle),
            freed: Condvar::new(),
            params_en: base_params(Language::En, &options),
            params_zh: base_params(Language::Zh, &options),
            options,
            prompts: Mutex::new(HashMap::new()),
        })
    }

    pub fn options(&self) -> &PoolOptions {
        &self.options
    }

    /// Whether the model can transcribe languages other than English.
    pub fn is_multilingual(&self) -> bool {
        self.ctx.is_multilingual()
    }

    /// Transcribes one utterance; callable from several threads at once.
    pub fn transcribe(&self, req: &TranscribeRequest) -> Result<Transcript, AsrError> {
        self.transcribe_on(req, self.options.threads, None)
    }

    /// Transcribes one utterance on `threads` CPU threads instead of the
    /// pool's own number; the caller makes sure the cores are free.
    /// Once `cancel` fires, the model run stops within one graph node and
    /// the answer is [`AsrError::Cancelled`].
    pub fn transcribe_on(
        &self,
        req: &TranscribeRequest,
        threads: usize,
        cancel: Option<&CancellationToken>,
    ) -> Result<Transcript, AsrError> {
        let started = Instant::now();
        let run = Run {
            req,
            threads: threads.max(1),
            cancel,
        };
        let text = self.recognise(&run)?;
        Ok(Transcript::heard(
            req.utterance,
            text,
            started.elapsed().as_secs_f64() * 1000.0,
        ))
    }

    fn recognise(&self, run: &Run<'_>) -> Result<String, AsrError> {
        let (req, threads) = (run.req, run.threads);
        if req.language != Language::En && !self.is_multilingual() {
            return Err(AsrError::LanguageUnsupported(req.language));
        }
        let level = AudioLevel::measure(&req.pcm_16k);
        if level.is_silence() {
            return Ok(String::new());
        }
        // whisper.cpp skips anything under 100 ms; pad short clips with silence.
        let mut pcm = req.pcm_16k.clone();
        if pcm.len() < SAMPLE_RATE {
            pcm.resize(SAMPLE_RATE, 0.0);
        }

        let full_ctx = usize::try_from(self.ctx.model_n_audio_ctx()).unwrap_or(1500);
        let trimmed = self
            .options
            .trim_audio_ctx
            .then(|| asr_guards::trimmed_audio_ctx(level.duration_s, full_ctx))
            .flatten();

        let mut state = self.checkout();
        let mut out = self.decode(state.get(), run, &pcm, trimmed, level.duration_s)?;
        let mut no_speech_prob = self.no_speech_prob(state.get(), req.utterance, threads)?;
        let runaway = out.hit_token_limit || out.stopped_loop || collapse_repetition(&out.text).1;
        if trimmed.is_some() && runaway && no_speech_prob <= asr_guards::NO_SPEECH {
            // A shortened window can make Whisper loop, sometimes after
            // dropping the first words: redo with a wider one (see
            // `retry_audio_ctx`), far cheaper than the full 30 s window.
            let wider = asr_guards::retry_audio_ctx(level.duration_s, full_ctx);
            tracing::debug!(utterance = req.utterance, text = %out.text, ?wider, "retrying with a wider window");
            out = self.decode(state.get(), run, &pcm, wider, level.duration_s)?;
            no_speech_prob = self.no_speech_prob(state.get(), req.utterance, threads)?;
        }
        drop(state);
        tracing::debug!(
            utterance = req.utterance,
            text = %out.text,
            no_speech_prob,
            avg_logprob = out.avg_logprob,
            audio_ctx = trimmed,
            "whisper result"
        );

        if asr_guards::is_no_speech(no_speech_prob, out.avg_logprob) {
            tracing::debug!(utterance = req.utterance, text = %out.text, "no speech");
            return Ok(String::new());
        }
        let text = asr_guards::to_simplified(&out.text, req.language);
        let text = strip_annotations(&collapse_repetition(&text).0);
        if is_hallucination(&text, &level, no_speech_prob) {
            tracing::debug!(utterance = req.utterance, %text, "dropped likely hallucination");
            return Ok(String::new());
        }
        Ok(text)
    }

    fn decode(
        &self,
        state: &mut WhisperState,
        run: &Run<'_>,
        pcm: &[f32],
        audio_ctx: Option<usize>,
        duration_s: f32,
    ) -> Result<Decoded, AsrError> {
        let (req, threads) = (run.req, run.threads);
        let prompt = self.prompt_tokens(&req.prompt, req.language);
        let limit = asr_guards::max_tokens(duration_s);
        let mut params = match req.language {
            Language::En => self.params_en.clone(),
            Language::Zh => self.params_zh.clone(),
        };
        params.set_tokens(&prompt);
        params.set_audio_ctx(audio_ctx.unwrap_or(0) as i32);
        params.set_max_tokens(limit as i32);
        params.set_n_threads(threads as i32);
        let mut stop = LoopStop {
            eot: self.ctx.token_eot(),
            n_vocab: usize::try_from(self.ctx.n_vocab()).unwrap_or(0),
            stopped: false,
        };
        // SAFETY: `stop` outlives `full`, which is the only caller of the
        // callback, and nothing else touches it meanwhile.
        unsafe {
            params.set_filter_logits_callback(Some(stop_loops));
            params.set_filter_logits_callback_user_data((&raw mut stop).cast::<c_void>());
            if let Some(token) = run.cancel {
                params.set_abort_callback(Some(is_cancelled));
                params.set_abort_callback_user_data(
                    std::ptr::from_ref(token).cast_mut().cast::<c_void>(),
                );
            }
        }

        let failed = |source| match run.cancel {
            Some(token) if token.is_cancelled() => AsrError::Cancelled(req.utterance),
            _ => AsrError::Decode {
                utterance: req.utterance,
                source,
            },
        };
        state.full(params, pcm).map_err(failed)?;

        let eot = self.ctx.token_eot();
        let mut text = String::new();
        let mut logprobs = Vec::new();
        for segment in state.as_iter() {
            text.push_str(&segment.to_str_lossy().map_err(failed)?);
            logprobs.extend(
                (0..segment.n_tokens())
                    .filter_map(|i| segment.get_token(i))
                    .filter(|t| t.token_id() < eot)
                    .map(|t| t.token_data().plog),
            );
        }
        Ok(Decoded {
            text: text.trim().to_string(),
            avg_logprob: logprobs.iter().sum::<f32>() / logprobs.len().max(1) as f32,
            hit_token_limit: logprobs.len() >= limit,
            stopped_loop: stop.stopped,
        })
    }

    /// Probability of Whisper's no-speech token right after start-of-
    /// transcript, on the audio last encoded by `state`. This is where the
    /// model was trained to predict it; whisper.cpp reports it after the
    /// whole prompt instead, where it stays near zero without timestamps.
    fn no_speech_prob(
        &self,
        state: &mut WhisperState,
        utterance: u32,
        threads: usize,
    ) -> Result<f32, AsrError> {
        let failed = |source| AsrError::Decode { utterance, source };
        state
            .decode(&[self.ctx.token_sot()], 0, threads)
            .map_err(failed)?;
        let logits = state.get_logits().map_err(failed)?;
        let Some(&nosp) = logits.get(self.ctx.token_nosp() as usize) else {
            return Ok(0.0);
        };
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let total: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
        Ok((nosp - max).exp() / total)
    }

    /// The bias prompt as tokens, cached: whisper.cpp's tokenizer is slow.
    fn prompt_tokens(&self, prompt: &str, language: Language) -> Arc<Vec<i32>> {
        let text = prompt_text(prompt, language);
        let mut cache = self.prompts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tokens) = cache.get(&text) {
            return tokens.clone();
        }
        // Every token covers at least one byte, so `len + 1` always fits.
        let mut tokens = if text.is_empty() {
            Vec::new()
        } else {
            self.ctx.tokenize(&text, text.len() + 1).unwrap_or_default()
        };
        if tokens.len() > MAX_PROMPT_TOKENS {
            tokens.drain(..tokens.len() - MAX_PROMPT_TOKENS);
        }
        if cache.len() >= PROMPT_CACHE {
            cache.clear();
        }
        let tokens = Arc::new(tokens);
        cache.insert(text, tokens.clone());
        tokens
    }

    /// Waits for an idle decoder state; it goes back when the guard drops.
    fn checkout(&self) -> Checkout<'_> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(state) = idle.pop() {
                return Checkout {
                    pool: self,
                    state: Some(state),
                };
            }
            idle = self
                .freed
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

struct Checkout<'p> {
    pool: &'p WhisperPool,
    state: Option<WhisperState>,
}

impl Checkout<'_> {
    fn get(&mut self) -> &mut WhisperState {
        self.state.as_mut().expect("state is held until drop")
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            let mut idle = self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            idle.push(state);
            self.pool.freed.notify_one();
        }
    }
}

/// One transcription: the request, its CPU threads, and what cancels it.
struct Run<'a> {
    req: &'a TranscribeRequest,
    threads: usize,
    cancel: Option<&'a CancellationToken>,
}

/// The text before the caller's words, built as Whisper's reference
/// decoder and faster-whisper build it: trimmed and led by a space, so its
/// first word is tokenized as a word inside a sentence (` Balance`, not
/// `Balance`).
fn prompt_text(prompt: &str, language: Language) -> String {
    let prompt = prompt.replace('\0', " ");
    let prompt = prompt.trim();
    match language {
        Language::Zh => format!("{ZH_PROMPT}{prompt}"),
        Language::En if prompt.is_empty() => String::new(),
        Language::En => format!(" {prompt}"),
    }
}

/// whisper.cpp's abort callback, polled between graph nodes.
unsafe extern "C" fn is_cancelled(user_data: *mut c_void) -> bool {
    // SAFETY: `decode` passes the run's token, which outlives the run.
    !user_data.is_null() && unsafe { &*user_data.cast::<CancellationToken>() }.is_cancelled()
}

/// What [`stop_loops`] needs from the decode it watches.
struct LoopStop {
    eot: i32,
    n_vocab: usize,
    stopped: bool,
}

/// whisper.cpp's logits filter, called before each token is picked: once
/// the tokens so far end in a loop, only end-of-text may follow. A runaway
/// then costs one extra copy of the loop instead of the whole token budget,
/// which bounds the worst case on long utterances.
unsafe extern "C" fn stop_loops(
    _ctx: *mut whisper_context,
    _state: *mut whisper_state,
    tokens: *const WhisperTokenData,
    n_tokens: c_int,
    logits: *mut f32,
    user_data: *mut c_void,
) {
    let Ok(n_tokens) = usize::try_from(n_tokens) else {
        return;
    };
    if user_data.is_null() || tokens.is_null() || logits.is_null() || n_tokens < 2 {
        return;
    }
    // SAFETY: `user_data` is the `LoopStop` that `decode` set for this run;
    // whisper.cpp passes its `n_tokens` tokens and `n_vocab` logits.
    let (stop, tokens) = unsafe {
        (
            &mut *user_data.cast::<LoopStop>(),
            std::slice::from_raw_parts(tokens, n_tokens),
        )
    };
    let ids: Vec<i32> = tokens.iter().map(|t| t.id).collect();
    if !asr_guards::loops_at_tail(&ids) {
        return;
    }
    // SAFETY: as above.
    let logits = unsafe { std::slice::from_raw_parts_mut(logits, stop.n_vocab) };
    for (id, logit) in logits.iter_mut().enumerate() {
        if i32::try_from(id) != Ok(stop.eot) {
            *logit = f32::NEG_INFINITY;
        }
    }
    stop.stopped = true;
}

/// Decoding settings shared by every call in one language.
fn base_params(language: Language, options: &PoolOptions) -> FullParams<'static, 'static> {
    let strategy = match options.beam_size {
        1 => SamplingStrategy::Greedy { best_of: 1 },
        n => SamplingStrategy::BeamSearch {
            beam_size: n as i32,
            patience: -1.0,
        },
    };
    let mut p = FullParams::new(strategy);
    p.set_language(Some(language.code()));
    p.set_n_threads(options.threads as i32);
    p.set_translate(false);
    p.set_no_context(true);
    p.set_no_timestamps(true);
    p.set_single_segment(true);
    p.set_print_special(false);
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_timestamps(false);
    p.set_suppress_blank(true);
    p.set_suppress_nst(true);
    // No temperature fallback: it multiplies the worst-case latency and
    // adds sampling noise; runaway output is handled by the retry above.
    p.set_temperature(0.0);
    p.set_temperature_inc(0.0);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_is_a_clear_error() {
        let err = WhisperPool::open(Path::new("/nonexistent/ggml.bin"), PoolOptions::default());
        assert!(matches!(err, Err(AsrError::ModelMissing(_))));
    }

    #[test]
    fn garbage_model_file_is_a_load_error() {
        let path = std::env::temp_dir().join(format!("ivr-not-a-model-{}.bin", std::process::id()));
        std::fs::write(&path, b"definitely not ggml").unwrap();
        let err = WhisperPool::open(&path, PoolOptions::default());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(err, Err(AsrError::Load { .. })));
    }

    #[test]
    fn prompt_is_led_by_one_space_like_the_reference_decoder() {
        assert_eq!(
            prompt_text("  Balance, refund. ", Language::En),
            " Balance, refund."
        );
        assert_eq!(prompt_text(" \n", Language::En), "");
        assert_eq!(prompt_text("a\0b", Language::En), " a b");
        assert_eq!(
            prompt_text("余额", Language::Zh),
            format!("{ZH_PROMPT}余额")
        );
    }

    #[test]
    fn default_options_fit_the_machine() {
        let o = PoolOptions::default();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(o.workers >= 1 && o.threads >= 1);
        assert!(o.workers * o.threads <= cores.max(1));
        assert_eq!(o.beam_size, 1);
    }
}
