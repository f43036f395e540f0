//! Audio without speech (silence, hiss, a steady hum) gives an empty
//! transcript rather than one of Whisper's invented captions.

#[path = "common/model.rs"]
mod model;

use ivr::brain::asr::{Language, TranscribeRequest};
use ivr::runtime::whisper::{PoolOptions, WhisperPool};

fn request(pcm_16k: Vec<f32>) -> TranscribeRequest {
    TranscribeRequest {
        utterance: 1,
        pcm_16k,
        language: Language::En,
        prompt: String::new(),
        speculative: false,
    }
}

#[test]
fn silence_hiss_and_hum_transcribe_to_nothing() {
    let path = model::install_model("tiny.en");
    let pool = WhisperPool::open(&path, PoolOptions::default()).expect("model loads");

    // Deterministic white noise around -30 dBFS, like a noisy line.
    let mut seed = 12345u32;
    let hiss: Vec<f32> = (0..48_000)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((seed >> 8) as f32 / 16_777_216.0 - 0.5) * 0.1
        })
        .collect();
    let hum: Vec<f32> = (0..48_000)
        .map(|i| 0.2 * (2.0 * std::f32::consts::PI * 100.0 * i as f32 / 16_000.0).sin())
        .collect();

    for (name, pcm) in [("silence", vec![0.0; 32_000]), ("hiss", hiss), ("hum", hum)] {
        let transcript = pool.transcribe(&request(pcm)).expect("transcribes");
        assert_eq!(transcript.text, "", "{name} gave {:?}", transcript.text);
    }
}
