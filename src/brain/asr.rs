//! Recognition requests and results. The core emits a [`TranscribeRequest`];
//! the runtime runs Whisper on it and feeds a [`Transcript`] back. No Whisper
//! code lives here so the core stays deterministic and testable.

use serde::Serialize;

/// Languages the recogniser is asked to transcribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Zh,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
        }
    }

    pub fn parse(s: &str) -> Option<Language> {
        match s.to_ascii_lowercase().as_str() {
            "en" | "english" => Some(Language::En),
            "zh" | "cmn" | "mandarin" | "chinese" => Some(Language::Zh),
            _ => None,
        }
    }
}

/// "Transcribe this utterance": 16 kHz mono f32 samples in -1..1.
#[derive(Debug, Clone)]
pub struct TranscribeRequest {
    pub utterance: u32,
    pub pcm_16k: Vec<f32>,
    pub language: Language,
    /// Vocabulary bias from the active dialplan (Whisper initial prompt).
    pub prompt: String,
    /// Asked at a pause, before the caller is known to be done: the answer
    /// is wasted if they go on. A busy recogniser may skip it by answering
    /// [`Transcript::skipped`] at once; the session then asks again, not
    /// speculatively, when the utterance ends.
    pub speculative: bool,
}

/// The recogniser's answer for one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub utterance: u32,
    pub text: String,
    /// Wall time Whisper took, measured by the runtime (not by the core).
    pub asr_ms: f64,
    /// The recogniser gave up on this utterance: it waited too long behind
    /// other callers' speech. The session hands the caller to a person
    /// rather than keep them waiting or make them repeat themselves.
    pub overloaded: bool,
}

impl Transcript {
    /// The answer to a speculative request the recogniser chose not to run
    /// (it is busy): nothing heard, so the session asks again at the endpoint.
    pub fn skipped(utterance: u32) -> Transcript {
        Transcript {
            utterance,
            text: String::new(),
            asr_ms: 0.0,
            overloaded: false,
        }
    }

    /// What was heard, as the recogniser found it.
    pub fn heard(utterance: u32, text: impl Into<String>, asr_ms: f64) -> Transcript {
        Transcript {
            utterance,
            text: text.into(),
            asr_ms,
            overloaded: false,
        }
    }

    /// The answer when the recogniser is too far behind to transcribe this
    /// utterance in time.
    pub fn overloaded(utterance: u32) -> Transcript {
        Transcript {
            overloaded: true,
            ..Transcript::skipped(utterance)
        }
    }
}
