//! Runs the core's "transcribe this" requests on the Whisper pool, off the
//! async threads, at most one per pool worker at a time so media tasks never
//! wait behind recognition, waiting callers first ([`AsrQueue`]). Shared by
//! everything that uses the same pool, so two engines on one model (tests)
//! never oversubscribe the cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::brain::asr::{TranscribeRequest, Transcript};
use crate::runtime::asr_queue::{AsrQueue, Workers};
use crate::runtime::whisper::{AsrError, WhisperPool};

/// Workers a lone utterance may use at once. Twice the threads cut the
/// median from 508 to 294 ms and the p95 from 1506 to 742 ms on tiny.en
/// (2 cores, `ivr bench asr --threads 2`); beyond two, whisper.cpp scales
/// worse and a lone job would hold up more of the next callers.
const WIDE: usize = 2;

#[derive(Clone)]
pub struct AsrService {
    pool: Arc<WhisperPool>,
    queue: Arc<AsrQueue>,
    waiting: Arc<AtomicUsize>,
    workers: usize,
}

impl AsrService {
    pub fn new(pool: Arc<WhisperPool>) -> AsrService {
        let workers = pool.options().workers.max(1);
        AsrService {
            pool,
            queue: AsrQueue::new(workers),
            waiting: Arc::new(AtomicUsize::new(0)),
            workers,
        }
    }

    /// Utterances queued or being transcribed right now.
    pub fn backlog(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Transcribes `req` unless `cancel` fires first; a cancelled request
    /// (queued or running) answers [`Transcript::skipped`] at once.
    /// `waited_for` is `true` once the caller has stopped and waits for the
    /// answer: from the start for a request made at the endpoint, from
    /// [`ConfirmTranscribe`](crate::session::Output::ConfirmTranscribe) for
    /// a guess made at a pause. A guess still queued goes after every
    /// request a caller waits for, so it never delays them; one the caller
    /// talks past is cancelled, which takes it out of the queue.
    pub async fn transcribe(
        &self,
        req: TranscribeRequest,
        cancel: CancellationToken,
        waited_for: watch::Receiver<bool>,
    ) -> Result<Transcript, AsrError> {
        let utterance = req.utterance;
        if cancel.is_cancelled() {
            return Ok(Transcript::skipped(utterance));
        }
        // Counted until answered, or until dropped while still queued (a
        // caller given up on leaves the queue). Once a worker runs it, the
        // run owns the count and the permits: it cannot be stopped half
        // way, and no other utterance may start on its cores meanwhile.
        let waiting = Waiting::enter(self.waiting.clone());
        // For the trace below (IVR_LOG=ivr::runtime::asr_service=debug):
        // where a slow answer's time went, queue or run.
        let asked = Instant::now();
        let guess = !*waited_for.borrow();
        let (permit, threads) = match self.wide() {
            Some(permit) => (permit, self.pool.options().threads * WIDE),
            None => tokio::select! {
                permit = self.queue.take(waited_for) => (permit, self.pool.options().threads),
                () = cancel.cancelled() => return Ok(Transcript::skipped(utterance)),
            },
        };
        let pool = self.pool.clone();
        let answer = tokio::task::spawn_blocking(move || {
            let _running = (waiting, permit);
            let started = Instant::now();
            let out = pool.transcribe_on(&req, threads, Some(&cancel));
            tracing::debug!(
                utterance,
                threads,
                audio_ms = req.pcm_16k.len() / 16,
                queued_ms = started.duration_since(asked).as_millis() as u64,
                run_ms = started.elapsed().as_millis() as u64,
                guess,
                cancelled = cancel.is_cancelled(),
                "recognised"
            );
            out
        })
        .await
        .unwrap_or_else(|_| Ok(Transcript::heard(utterance, "", 0.0)));
        match answer {
            Err(AsrError::Cancelled(_)) => Ok(Transcript::skipped(utterance)),
            other => other,
        }
    }

    /// Two workers' cores for an utterance nobody else is waiting for: the
    /// idle core speeds it up instead of sitting idle. ggml's threads
    /// spin-wait on each other, so this is only done when both cores are
    /// ours (see `PoolOptions::default`).
    fn wide(&self) -> Option<Workers> {
        if self.workers < WIDE || self.backlog() > 1 {
            return None;
        }
        self.queue.try_take_idle(WIDE)
    }

    /// A queued request's caller now waits for it (its `waited_for` turned
    /// `true`): it moves ahead of the guesses.
    pub fn reorder(&self) {
        self.queue.reorder();
    }
}

/// One utterance in the backlog, for as long as it lives.
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn enter(count: Arc<AtomicUsize>) -> Waiting {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
