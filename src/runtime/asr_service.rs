//! Runs the core's "transcribe this" requests on the Whisper pool, off the
//! async threads, at most one per pool worker at a time so media tasks never
//! wait behind recognition.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::brain::asr::{TranscribeRequest, Transcript};
use crate::runtime::whisper::{AsrError, WhisperPool};

#[derive(Clone)]
pub struct AsrService {
    pool: Arc<WhisperPool>,
    running: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    workers: usize,
}

impl AsrService {
    pub fn new(pool: Arc<WhisperPool>) -> AsrService {
        let workers = pool.options().workers.max(1);
        AsrService {
            pool,
            running: Arc::new(Semaphore::new(workers)),
            waiting: Arc::new(AtomicUsize::new(0)),
            workers,
        }
    }

    /// Utterances queued or being transcribed right now.
    pub fn backlog(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub async fn transcribe(&self, req: TranscribeRequest) -> Result<Transcript, AsrError> {
        // A guess made before the caller finished is only worth running on
        // an idle worker: under load it would delay other callers' real
        // utterances. The session then asks again when the utterance ends.
        if req.speculative && self.backlog() >= self.workers {
            return Ok(Transcript::skipped(req.utterance));
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let result = async {
            // Closed only if the service is dropped, which outlives its callers.
            let _permit = self.running.acquire().await.ok();
            let pool = self.pool.clone();
            let utterance = req.utterance;
            tokio::task::spawn_blocking(move || pool.transcribe(&req))
                .await
                .unwrap_or_else(|_| {
                    Ok(Transcript {
                        utterance,
                        text: String::new(),
                        asr_ms: 0.0,
                    })
                })
        }
        .await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        result
    }
}
