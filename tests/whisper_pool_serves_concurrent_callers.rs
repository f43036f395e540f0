//! One `WhisperPool` serves several calling threads at once: each caller
//! gets its own utterance's transcript back.

#[path = "common/model.rs"]
mod model;

use ivr::brain::asr::{Language, TranscribeRequest};
use ivr::runtime::whisper::{PoolOptions, WhisperPool};

#[test]
fn concurrent_callers_each_get_their_own_transcript() {
    let path = model::install_model("tiny.en");
    let options = PoolOptions {
        workers: 2,
        threads: 1,
        ..PoolOptions::default()
    };
    let pool = WhisperPool::open(&path, options).expect("model loads");
    let sentences = [
        "please transfer me to the billing department",
        "I want to speak to a real person",
        "my card was stolen yesterday",
    ];

    std::thread::scope(|scope| {
        let calls: Vec<_> = sentences
            .iter()
            .enumerate()
            .map(|(i, sentence)| {
                let pool = &pool;
                scope.spawn(move || {
                    let request = TranscribeRequest {
                        utterance: i as u32,
                        pcm_16k: model::speak("en-us", sentence),
                        language: Language::En,
                        prompt: String::new(),
                        speculative: false,
                    };
                    (sentence, pool.transcribe(&request).expect("transcribes"))
                })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            let (sentence, transcript) = call.join().expect("caller thread");
            assert_eq!(transcript.utterance, i as u32);
            let wer = model::word_error_rate(sentence, &transcript.text);
            assert!(wer <= 0.34, "{sentence:?} heard as {:?}", transcript.text);
        }
    });
}
