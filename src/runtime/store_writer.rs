//! The call store on a thread of its own, so call tasks hand a record over
//! without waiting for SQLite's fsync.
//!
//! Saves are queued in order and written one by one. `flush` waits until
//! everything queued before it is on disk, which is what a clean shutdown
//! (SIGTERM) does last. `flush` and `close` block: call them from
//! `spawn_blocking` or a plain thread, never directly on an async task.

use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::call_record::CallRecord;
use crate::store::{Store, StoreError};

enum Command {
    Save(Box<CallRecord>),
    Flush(mpsc::SyncSender<Result<(), StoreError>>),
}

/// Shareable between tasks (`Arc<StoreWriter>`): it is `Send + Sync`.
pub struct StoreWriter {
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl StoreWriter {
    /// Move `store` onto a new thread that writes what it is sent.
    pub fn spawn(store: Store) -> std::io::Result<StoreWriter> {
        let (commands, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ivr-store".into())
            .spawn(move || write_loop(store, queue))?;
        Ok(StoreWriter {
            commands,
            thread: Some(thread),
        })
    }

    /// Queue `record` for saving and return at once. A failed save is
    /// logged and reported by the next [`StoreWriter::flush`].
    pub fn save(&self, record: CallRecord) -> Result<(), StoreError> {
        self.commands
            .send(Command::Save(Box::new(record)))
            .map_err(|_| StoreError::WriterStopped)
    }

    /// Wait until every record queued before this call is durable. Fails
    /// with [`StoreError::Unsaved`] if any save since the last flush failed.
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

fn write_loop(mut store: Store, queue: mpsc::Receiver<Command>) {
    let mut failed = 0usize;
    let mut first_failure = None;
    for command in queue {
        match command {
            Command::Save(record) => {
                if let Err(error) = store.save_call(&record) {
                    tracing::error!(call = %record.id, %error, "call record not saved");
                    failed += 1;
                    first_failure.get_or_insert(error);
                }
            }
            Command::Flush(done) => {
                let result = match first_failure.take() {
                    None => Ok(()),
                    Some(first) => Err(StoreError::Unsaved {
                        count: std::mem::take(&mut failed),
                        first: Box::new(first),
                    }),
                };
                // The flusher may have given up waiting; nothing to tell.
                let _ = done.send(result);
            }
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
