//! Transcribes what a caller heard (the engine's prompts, as recorded on the
//! caller's side) with the engine's own recogniser: how `ivr dial` and the
//! tests check what a call sounded like.

use serde::Serialize;

use crate::brain::asr::{Language, TranscribeRequest};
use crate::media::vad::{Endpointer, VadConfig, VadEvent};
use crate::media::wav::{CallerAudio, Encoding, to_16k_f32};
use crate::runtime::whisper::{AsrError, WhisperPool};

#[derive(Debug, Clone, Serialize)]
pub struct HeardLine {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// Splits 8 kHz audio into spoken stretches and transcribes each.
pub fn transcribe_heard(
    pool: &WhisperPool,
    pcm_8k: &[i16],
    language: Language,
) -> Result<Vec<HeardLine>, AsrError> {
    let audio = CallerAudio {
        sample_rate: 8000,
        encoding: Encoding::Pcm16,
        samples: pcm_8k.to_vec(),
    };
    let wide = to_16k_f32(&audio);
    // Prompts have short pauses between sentences; keep a sentence together.
    let mut vad = Endpointer::new(VadConfig {
        hangover_ms: 700,
        ..VadConfig::default()
    });
    let mut events = vad.push(&wide);
    events.extend(vad.finish());
    let mut lines = Vec::new();
    for (i, event) in events.into_iter().enumerate() {
        let VadEvent::Utterance(u) = event else {
            continue;
        };
        let transcript = pool.transcribe(&TranscribeRequest {
            utterance: i as u32,
            pcm_16k: u.pcm_16k,
            language,
            prompt: String::new(),
            speculative: false,
        })?;
        if !transcript.text.trim().is_empty() {
            lines.push(HeardLine {
                start_ms: u.start_ms,
                end_ms: u.end_ms,
                text: transcript.text.trim().to_string(),
            });
        }
    }
    Ok(lines)
}
