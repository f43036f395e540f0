//! A speculative transcription the caller talked past is stopped where it
//! stands: the recogniser answers "skipped" at once and is free for the
//! caller's real utterance, which is transcribed in full.

#[path = "common/model.rs"]
mod model;

use std::sync::Arc;
use std::time::Duration;

use ivr::brain::asr::{Language, TranscribeRequest, Transcript};
use ivr::media::wav;
use ivr::runtime::asr_service::AsrService;
use ivr::runtime::whisper::{PoolOptions, WhisperPool};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn request(utterance: u32, pcm_16k: Vec<f32>, speculative: bool) -> TranscribeRequest {
    TranscribeRequest {
        utterance,
        pcm_16k,
        language: Language::En,
        prompt: String::new(),
        speculative,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_transcription_stops_and_frees_the_recogniser() {
    let path = model::install_model("tiny.en");
    let pool = WhisperPool::open(&path, PoolOptions::default()).expect("model loads");
    let asr = AsrService::new(Arc::new(pool));
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("audio-fixtures/en_dispute_04.wav");
    let pcm = wav::to_16k_f32(&wav::read_wav(&fixture).expect("fixture reads"));

    // Seven seconds of speech take far longer than this to transcribe, so
    // the cancel lands while Whisper runs.
    let cancel = CancellationToken::new();
    let guess = tokio::spawn({
        let asr = asr.clone();
        let (pcm, cancel) = (pcm.clone(), cancel.clone());
        let guess = watch::channel(false).1;
        async move { asr.transcribe(request(1, pcm, true), cancel, guess).await }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    cancel.cancel();
    let answer = guess.await.expect("task").expect("no engine error");
    assert_eq!(answer, Transcript::skipped(1), "the run was stopped");
    assert_eq!(asr.backlog(), 0, "the stopped run left the recogniser");

    let heard = asr
        .transcribe(
            request(2, pcm, false),
            CancellationToken::new(),
            watch::channel(true).1,
        )
        .await
        .expect("transcribes");
    assert!(
        heard.text.to_lowercase().contains("this month"),
        "the next utterance is heard in full: {:?}",
        heard.text
    );
}
