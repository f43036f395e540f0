//! The multilingual base model, converted from its two-part CTranslate2
//! wheels, transcribes Mandarin speech into simplified characters when the
//! dialplan's vocabulary is given as the prompt.

#[path = "common/model.rs"]
mod model;

use ivr::brain::asr::{Language, TranscribeRequest};
use ivr::runtime::whisper::{PoolOptions, WhisperPool};

#[test]
fn converted_base_transcribes_mandarin_in_simplified_characters() {
    let path = model::install_model("base");
    let options = PoolOptions {
        workers: 1,
        threads: 2,
        ..PoolOptions::default()
    };
    let pool = WhisperPool::open(&path, options).expect("converted model loads");
    assert!(pool.is_multilingual());

    let sentence = "请帮我查一下上个月的话费";
    let request = TranscribeRequest {
        utterance: 3,
        pcm_16k: model::speak("cmn-latn-pinyin", sentence),
        language: Language::Zh,
        // Vocabulary of a telecom hotline, as a dialplan would give it.
        prompt: "话费，账单，余额，套餐，流量，人工客服，信用卡，挂失".to_string(),
        speculative: false,
    };
    let heard = pool.transcribe(&request).expect("transcribes").text;

    // Robotic synthetic Mandarin is hard for a 74M model: ask for most
    // characters right, in Chinese script, not a perfect transcript.
    let cer = model::char_error_rate(sentence, &heard);
    assert!(cer <= 0.5, "heard {heard:?} (CER {cer:.2})");
    let han = heard
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    assert!(
        han * 2 >= heard.chars().count(),
        "not Chinese script: {heard:?}"
    );
    assert_eq!(
        fast2s::convert(&heard),
        heard,
        "traditional characters in {heard:?}"
    );
}
