//! The call store on a thread of its own, so call tasks hand a record over
//! without waiting for SQLite's fsync, and without a blocking thread each.
//!
//! Saves are written in the order queued. Whatever has queued while the
//! thread was writing goes into the next transaction together (group
//! commit): one fsync for a burst of calls starting or ending at once,
//! where a save per transaction queued them behind one fsync each.
//! `flush` waits until everything queued before it is on disk, which is
//! what a clean shutdown (SIGTERM) does last. `flush` and `close` block:
//! call them from `spawn_blocking` or a plain thread, never directly on an
//! async task; an async task awaits [`StoreWriter::saved`] instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::call_record::CallRecord;
use crate::store::{Store, StoreError};

/// Most saves in one transaction: a bound on how long a flush queued
/// behind a flood waits.
const MAX_BATCH: usize = 256;

type Ack = oneshot::Sender<Result<(), StoreError>>;

enum Command {
    Save(Box<CallRecord>, Option<Ack>),
    Flush(mpsc::SyncSender<Result<(), StoreError>>),
}

/// Shareable between tasks (`Arc<StoreWriter>`): it is `Send + Sync`.
pub struct StoreWriter {
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
    batches: Arc<AtomicU64>,
}

impl StoreWriter {
    /// Move `store` onto a new thread that writes what it is sent.
    pub fn spawn(store: Store) -> std::io::Result<StoreWriter> {
        let (commands, queue) = mpsc::channel();
        let batches = Arc::new(AtomicU64::new(0));
        let counted = batches.clone();
        let thread = std::thread::Builder::new()
            .name("ivr-store".into())
            .spawn(move || write_loop(store, queue, &counted))?;
        Ok(StoreWriter {
            commands,
            thread: Some(thread),
            batches,
        })
    }

    /// Batches of saves written so far, each one transaction (the first
    /// try; a failed batch is retried record by record).
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Queue `record` for saving and return at once. A failed save is
    /// logged and reported by the next [`StoreWriter::flush`].
    pub fn save(&self, record: CallRecord) -> Result<(), StoreError> {
        self.commands
            .send(Command::Save(Box::new(record), None))
            .map_err(|_| StoreError::WriterStopped)
    }

    /// Queue `record` and wait, without blocking a thread, until it is
    /// durable. Its failure is reported here, not by the next flush.
    pub async fn saved(&self, record: CallRecord) -> Result<(), StoreError> {
        let done = self.queue_acked(record)?;
        done.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// [`StoreWriter::saved`] for a plain thread: blocks until `record` is
    /// durable. Never call it on an async task.
    pub fn save_and_wait(&self, record: CallRecord) -> Result<(), StoreError> {
        let done = self.queue_acked(record)?;
        done.blocking_recv()
            .map_err(|_| StoreError::WriterStopped)?
    }

    fn queue_acked(
        &self,
        record: CallRecord,
    ) -> Result<oneshot::Receiver<Result<(), StoreError>>, StoreError> {
        let (ack, done) = oneshot::channel();
        self.commands
            .send(Command::Save(Box::new(record), Some(ack)))
            .map_err(|_| StoreError::WriterStopped)?;
        Ok(done)
    }

    /// Wait until every record queued before this call is durable. Fails
    /// with [`StoreError::Unsaved`] if any save since the last flush failed
    /// (other than those whose callers waited for them).
    pub fn flush(&self) -> Result<(), StoreError> {
        let (done, wait) = mpsc::sync_channel(1);
        self.commands
            .send(Command::Flush(done))
            .map_err(|_| StoreError::WriterStopped)?;
        wait.recv().map_err(|_| StoreError::WriterStopped)?
    }

    /// Flush, then stop the thread and close the database.
    pub fn close(mut self) -> Result<(), StoreError> {
        let flushed = self.flush();
        self.stop();
        flushed
    }

    fn stop(&mut self) {
        // The thread ends when the queue is closed and drained.
        let (closed, _) = mpsc::channel();
        self.commands = closed;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the call store thread panicked");
        }
    }
}

impl Drop for StoreWriter {
    /// Saves already queued are written before the thread ends.
    fn drop(&mut self) {
        self.stop();
    }
}

/// Failed saves no caller waited for, until a flush reports them.
#[derive(Default)]
struct Unreported {
    count: usize,
    first: Option<StoreError>,
}

impl Unreported {
    fn add(&mut self, error: StoreError) {
        self.count += 1;
        self.first.get_or_insert(error);
    }

    fn take(&mut self) -> Result<(), StoreError> {
        match self.first.take() {
            None => Ok(()),
            Some(first) => Err(StoreError::Unsaved {
                count: std::mem::take(&mut self.count),
                first: Box::new(first),
            }),
        }
    }
}

fn write_loop(mut store: Store, queue: mpsc::Receiver<Command>, batches: &AtomicU64) {
    let mut unreported = Unreported::default();
    while let Ok(first) = queue.recv() {
        let mut saves = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(command) = next {
            match command {
                Command::Save(record, ack) => saves.push((record, ack)),
                Command::Flush(done) => flushes.push(done),
            }
            next = if saves.len() < MAX_BATCH {
                queue.try_recv().ok()
            } else {
                None
            };
        }
        if !saves.is_empty() {
            write_batch(&mut store, saves, &mut unreported);
            batches.fetch_add(1, Ordering::Relaxed);
        }
        for done in flushes {
            // The flusher may have given up waiting; nothing to tell.
            let _ = done.send(unreported.take());
        }
    }
}

fn write_batch(
    store: &mut Store,
    saves: Vec<(Box<CallRecord>, Option<Ack>)>,
    unreported: &mut Unreported,
) {
    let results: Vec<Result<(), StoreError>> =
        match store.save_calls(saves.iter().map(|(record, _)| &**record)) {
            Ok(()) => saves.iter().map(|_| Ok(())).collect(),
            Err(error) if saves.len() == 1 => vec![Err(error)],
            // The transaction failed as a whole. Alone, each record that can
            // be saved still is, and each failure is told to whoever asks.
            Err(_) => saves
                .iter()
                .map(|(record, _)| store.save_call(record))
                .collect(),
        };
    for ((record, ack), result) in saves.into_iter().zip(results) {
        if let Err(error) = &result {
            tracing::error!(call = %record.id, %error, "call record not saved");
        }
        match (ack, result) {
            (Some(ack), result) => {
                let _ = ack.send(result);
            }
            (None, Err(error)) => unreported.add(error),
            (None, Ok(())) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_is_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<StoreWriter>();
    }
}
