//! One call's conversation, sans-IO: prompts, listening, barge-in, the dialplan flow.
//!
//! A [`Call`] wraps the caller's [`crate::session::Session`] and is driven
//! one 20 ms tick at a time: every [`Input::CallerFrame`] is a tick, and
//! while something plays it answers each tick with exactly one
//! [`Output::Play`] frame (the runtime sends one RTP packet per frame).
//! Prompt audio comes from the runtime: the call asks with
//! [`Output::RenderPrompt`] and plays a prompt once [`Input::PromptAudio`]
//! for its key arrived. Times passed in are the runtime's `now_ms`; times
//! in events are the same clock, times in the call record are ms from the
//! start of the call.
//!
//! Once handed to a queue the caller hears the hold chime and, between
//! chimes, what the queue reports ([`Input::QueuePosition`],
//! [`Input::OfferCallback`]); pressing 1 asks for a callback
//! ([`Output::CallbackRequested`]) and an accepted one ends the call.

mod announce;
mod closing;
mod conversation;
mod hold;
mod playout;
mod prompts;
mod record;
mod stream_clock;

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::brain::asr::{Language, TranscribeRequest, Transcript};
use crate::session::{Decision, EarlyDecision, UtteranceReport};

pub use announce::{announcement_sounds, queue_prompts};
pub use conversation::Call;
pub use prompts::{clarify_prompts, static_prompts};
/// A decision as the call record and the board name it.
pub(crate) use record::decision as decision_record;

/// Samples in one 20 ms frame at 8 kHz: what one RTP packet carries.
pub const FRAME_SAMPLES: usize = 160;

/// Per-call settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CallConfig {
    pub language: Language,
    /// Silence after a prompt ends before the caller is prompted again.
    pub no_input_ms: u64,
    /// Silent timeouts in a row before the engine says goodbye.
    pub max_no_input: u32,
    /// Whether the caller's speech (and DTMF) stops a prompt.
    pub barge_in: bool,
    /// The caller's number or SIP user.
    pub caller: String,
    /// The engine's id for the call; it becomes the record's `id`.
    pub call_id: String,
    /// A folder of recorded queue prompts laid out like Asterisk's core
    /// sounds (see [`announcement_sounds`]); `None`: queue announcements
    /// are rendered from text.
    pub sounds_dir: Option<PathBuf>,
    /// Transcribe at the caller's first pause, so the answer is ready when
    /// the endpoint fires (see `SessionConfig::early_recognition`). Off by
    /// default here because scripted tests answer requests in order; the
    /// engine turns it on.
    pub early_recognition: bool,
    /// End an utterance at a pause, before the hangover, when its early
    /// transcript is a complete, confidently routed request (see
    /// [`EarlyDecision`]). `None`: always wait for the hangover.
    pub early_decision: Option<EarlyDecision>,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            language: Language::En,
            no_input_ms: 6000,
            max_no_input: 2,
            barge_in: true,
            caller: String::new(),
            call_id: String::new(),
            sounds_dir: None,
            early_recognition: false,
            early_decision: None,
        }
    }
}

/// What the runtime feeds into a call.
#[derive(Debug)]
pub enum Input<'a> {
    /// The next 20 ms (160 samples) of 8 kHz caller audio, one per tick, in
    /// order. Every frame is a tick: playout and timers advance with it.
    CallerFrame(&'a [i16]),
    /// A tick (20 ms) in which no caller audio arrived: the phone suppresses
    /// silence or has not started sending. Counts as silence, but is not
    /// taken for the line's background noise.
    NoCallerAudio,
    Dtmf(char),
    /// The answer to an [`Output::Transcribe`].
    Transcript(Transcript),
    /// The answer to an [`Output::RenderPrompt`] with the same key. Empty
    /// audio means the prompt could not be rendered: it is skipped.
    PromptAudio {
        key: String,
        pcm_8k: Arc<[i16]>,
    },
    /// The caller is `position`-th in their queue (1: next) with about
    /// `expected_wait_ms` to wait: they hear it between hold chimes, after
    /// whatever already plays. Ignored unless the caller is queued.
    QueuePosition {
        position: usize,
        expected_wait_ms: u64,
    },
    /// The queue offers a callback: the caller hears "press 1". Ignored
    /// unless the caller is queued.
    OfferCallback,
    /// The queue took the caller's callback request: they hear the
    /// confirmation, then the engine hangs up with reason `callback`.
    CallbackAccepted,
    /// The caller is now connected to a person (an agent or a transfer
    /// target): nothing plays, keys are theirs, and decisions are no longer
    /// acted on. Caller frames fed from here on are still transcribed into
    /// the record (the runtime feeds them only when configured to).
    Bridged,
    /// The person left while the caller stays (a transfer rings onward):
    /// back on hold in the same queue.
    Unbridged,
    /// The recogniser is behind: the transcript of the caller's last
    /// utterance waits for other callers' first. The caller hears "one
    /// moment" once, if nothing else plays, instead of silence.
    RecognitionBusy,
    /// The caller hung up.
    Hangup,
    /// The engine is shutting down: say goodbye, then hang up.
    Shutdown,
}

/// What a call asks the runtime to do or tells it.
#[derive(Debug, Clone)]
pub enum Output {
    /// Render this prompt (or load its recording) and answer with
    /// [`Input::PromptAudio`] under the same key; keys are stable, so a
    /// cache keyed by them answers at once.
    RenderPrompt {
        key: String,
        text: String,
        language: Language,
        wav: Option<PathBuf>,
    },
    /// Transcribe this utterance and answer with [`Input::Transcript`].
    Transcribe(TranscribeRequest),
    /// Stop a speculative [`Output::Transcribe`] if it still runs: the
    /// caller went on, so its answer will be ignored.
    CancelTranscribe { utterance: u32 },
    /// A speculative [`Output::Transcribe`] now stands for a finished
    /// utterance: the caller waits for its answer as for any other.
    ConfirmTranscribe { utterance: u32 },
    /// The next 20 ms the caller hears; at most one per caller frame, none
    /// while nothing plays.
    Play([i16; FRAME_SAMPLES]),
    /// For the call record and the dashboard.
    Event(CallEvent),
    /// Put the caller in the decision's queue; the call then waits on hold.
    Handoff(Decision),
    /// The queued caller pressed 1: they would rather be called back. The
    /// queue decides; if it agrees, answer with [`Input::CallbackAccepted`].
    CallbackRequested,
    /// The engine hangs up (after the goodbye has played).
    Hangup { reason: String },
}

/// Why a prompt stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The caller spoke or pressed a key over it.
    BargeIn,
    /// The call has something else to say at once (the reply to a
    /// decision, the goodbye on shutdown).
    Decision,
    /// The caller hung up.
    Hangup,
}

/// Something that happened on the call. Times are the runtime's `now_ms`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallEvent {
    PromptStarted {
        key: String,
        text: String,
        at_ms: u64,
    },
    PromptFinished {
        key: String,
        at_ms: u64,
    },
    PromptStopped {
        key: String,
        why: StopReason,
        at_ms: u64,
    },
    /// The prompt's audio never came (or came empty): it was skipped.
    PromptMissing {
        key: String,
        at_ms: u64,
    },
    /// Confirmed caller speech stopped a prompt; `speech_ms` is where the
    /// speech began.
    BargeIn {
        key: String,
        speech_ms: u64,
        at_ms: u64,
    },
    Dtmf {
        digit: char,
        at_ms: u64,
    },
    Utterance(UtteranceReport),
    Decision(Decision),
    /// The first frame of the reply to a decision went out: voice-to-voice
    /// is `first_frame_ms - speech_end_ms` (`speech_end_ms` is `None` when a
    /// key press, not speech, was answered).
    AnswerStarted {
        key: String,
        speech_end_ms: Option<u64>,
        decided_ms: u64,
        first_frame_ms: u64,
    },
    /// The caller was silent for `no_input_ms`; `count` in a row.
    NoInput {
        count: u32,
        at_ms: u64,
    },
    /// The caller said there is nothing else ("no, that's all").
    CallerDone {
        text: String,
        at_ms: u64,
    },
    /// Handed to a queue; the caller is on hold.
    Queued {
        queue: String,
        at_ms: u64,
    },
    /// The queue reported the caller's place; the announcement follows.
    QueuePosition {
        position: usize,
        expected_wait_ms: u64,
        at_ms: u64,
    },
    CallbackOffered {
        at_ms: u64,
    },
    /// The caller pressed 1 while queued.
    CallbackRequested {
        at_ms: u64,
    },
    /// The queue will call back; the engine hangs up after the confirmation.
    CallbackAccepted {
        at_ms: u64,
    },
    /// A re-routed caller left the queue for self-service.
    LeftQueue {
        queue: String,
        at_ms: u64,
    },
    Ended {
        reason: String,
        at_ms: u64,
    },
}
