//! The tiny.en CTranslate2 wheel, converted to ggml by `ivr models install`,
//! loads in whisper.cpp and transcribes clean English speech; so does the
//! 8-bit (Q8_0) twin the install writes beside it, which the engine runs.

#[path = "common/model.rs"]
mod model;

use ivr::brain::asr::{Language, TranscribeRequest};
use ivr::runtime::whisper::{PoolOptions, WhisperPool};

#[test]
fn converted_tiny_en_transcribes_an_english_sentence() {
    hears_the_sentence(&model::install_model("tiny.en"));
}

#[test]
fn quantized_twin_transcribes_an_english_sentence() {
    let path = model::install_model("tiny.en");
    let twin = ivr::models::install::quantized_path(&path);
    assert!(twin.is_file(), "{} was not written", twin.display());
    let f16 = std::fs::metadata(&path).unwrap().len();
    let q8 = std::fs::metadata(&twin).unwrap().len();
    assert!(q8 < f16 * 2 / 3, "Q8_0 model is {q8} bytes, f16 {f16}");
    hears_the_sentence(&twin);
}

fn hears_the_sentence(path: &std::path::Path) {
    let options = PoolOptions {
        workers: 1,
        threads: 2,
        ..PoolOptions::default()
    };
    let pool = WhisperPool::open(path, options).expect("converted model loads");

    let sentence = "I would like to check the balance of my savings account";
    let request = TranscribeRequest {
        utterance: 7,
        pcm_16k: model::speak("en-us", sentence),
        language: Language::En,
        prompt: String::new(),
        speculative: false,
    };
    let transcript = pool.transcribe(&request).expect("transcribes");

    assert_eq!(transcript.utterance, 7);
    let wer = model::word_error_rate(sentence, &transcript.text);
    assert!(wer <= 0.2, "heard {:?} (WER {wer:.2})", transcript.text);
}
