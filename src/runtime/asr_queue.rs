//! Who gets the next free recogniser worker. An utterance whose caller has
//! stopped and waits goes before a guess made at a pause, and within each
//! kind the one asked first goes first. So a guess only takes a worker no
//! waiting caller needs, and once its utterance ends where the guess does
//! (the caller now waits for it), it keeps the place it was asked in, ahead
//! of utterances that ended later.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, watch};

pub struct AsrQueue {
    state: Mutex<State>,
    /// A worker came free, or the queue changed: waiters look again.
    changed: Notify,
}

struct State {
    free: usize,
    next_seq: u64,
    waiting: Vec<Entry>,
}

struct Entry {
    seq: u64,
    /// `true` once a caller waits for the answer.
    waited_for: watch::Receiver<bool>,
}

/// Workers held; they come free when this is dropped.
pub struct Workers {
    queue: Arc<AsrQueue>,
    count: usize,
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.queue.lock().free += self.count;
        self.queue.changed.notify_waiters();
    }
}

impl AsrQueue {
    pub fn new(workers: usize) -> Arc<AsrQueue> {
        Arc::new(AsrQueue {
            state: Mutex::new(State {
                free: workers,
                next_seq: 0,
                waiting: Vec::new(),
            }),
            changed: Notify::new(),
        })
    }

    /// `count` workers at once, only if they are free and nobody waits.
    pub fn try_take_idle(self: &Arc<Self>, count: usize) -> Option<Workers> {
        let mut state = self.lock();
        if state.free < count || !state.waiting.is_empty() {
            return None;
        }
        state.free -= count;
        Some(Workers {
            queue: self.clone(),
            count,
        })
    }

    /// One worker, when this request's turn comes. Dropping the future
    /// leaves the queue.
    pub async fn take(self: &Arc<Self>, waited_for: watch::Receiver<bool>) -> Workers {
        let seq = {
            let mut state = self.lock();
            let seq = state.next_seq;
            state.next_seq += 1;
            state.waiting.push(Entry { seq, waited_for });
            seq
        };
        let mut place = Place {
            queue: self,
            seq: Some(seq),
        };
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so no wake-up is missed between.
            changed.as_mut().enable();
            {
                let mut state = self.lock();
                if state.ahead_of(seq) < state.free {
                    state.waiting.retain(|e| e.seq != seq);
                    state.free -= 1;
                    place.seq = None;
                    return Workers {
                        queue: self.clone(),
                        count: 1,
                    };
                }
            }
            changed.await;
        }
    }

    /// Call when a queued request's caller starts waiting for it: the order
    /// changed.
    pub fn reorder(&self) {
        self.changed.notify_waiters();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements: a panic elsewhere
        // while holding the lock leaves nothing half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Requests that go before `seq`.
    fn ahead_of(&self, seq: u64) -> usize {
        let key = |e: &Entry| (!*e.waited_for.borrow(), e.seq);
        let Some(mine) = self.waiting.iter().find(|e| e.seq == seq).map(key) else {
            return 0;
        };
        self.waiting.iter().filter(|e| key(e) < mine).count()
    }
}

/// A request's place in the queue, given up if its future is dropped.
struct Place<'a> {
    queue: &'a Arc<AsrQueue>,
    seq: Option<u64>,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Some(seq) = self.seq {
            self.queue.lock().waiting.retain(|e| e.seq != seq);
            self.queue.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;

    /// Queues one request per entry of `waited`, in that order (`true` if a
    /// caller waits for it), behind a busy single worker; returns the held
    /// worker, the order (by index) in which the queued requests get the
    /// worker, and the senders that make a guess waited for.
    async fn queue_behind_busy_worker(
        waited: &[bool],
    ) -> (
        Arc<AsrQueue>,
        Workers,
        mpsc::UnboundedReceiver<usize>,
        Vec<watch::Sender<bool>>,
    ) {
        let queue = AsrQueue::new(1);
        let busy = queue.try_take_idle(1).expect("idle");
        let (order_tx, order) = mpsc::unbounded_channel();
        let mut senders = Vec::new();
        for (i, &w) in waited.iter().enumerate() {
            let (tx, rx) = watch::channel(w);
            senders.push(tx);
            let (waiter, order_tx) = (queue.clone(), order_tx.clone());
            tokio::spawn(async move {
                let worker = waiter.take(rx).await;
                let _ = order_tx.send(i);
                // Holds the worker briefly so the next must wait for it.
                tokio::task::yield_now().await;
                drop(worker);
            });
            wait_until_queued(&queue, i + 1).await;
        }
        (queue, busy, order, senders)
    }

    async fn wait_until_queued(queue: &AsrQueue, n: usize) {
        for _ in 0..1000 {
            if queue.lock().waiting.len() == n {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("{n} requests never queued");
    }

    async fn collect(order: &mut mpsc::UnboundedReceiver<usize>, n: usize) -> Vec<usize> {
        let mut got = Vec::new();
        for _ in 0..n {
            let next = tokio::time::timeout(Duration::from_secs(5), order.recv()).await;
            got.push(next.expect("a worker came").expect("sender alive"));
        }
        got
    }

    #[tokio::test]
    async fn waited_for_requests_go_before_guesses_and_in_order() {
        let (_queue, busy, mut order, _senders) =
            queue_behind_busy_worker(&[false, true, false, true]).await;
        drop(busy);
        assert_eq!(collect(&mut order, 4).await, [1, 3, 0, 2]);
    }

    #[tokio::test]
    async fn a_guess_waited_for_keeps_the_place_it_was_asked_in() {
        let (queue, busy, mut order, senders) =
            queue_behind_busy_worker(&[true, false, true]).await;
        senders[1].send_replace(true);
        queue.reorder();
        drop(busy);
        assert_eq!(collect(&mut order, 3).await, [0, 1, 2]);
    }

    #[tokio::test]
    async fn a_request_dropped_from_the_queue_lets_the_next_one_go() {
        let queue = AsrQueue::new(1);
        let busy = queue.try_take_idle(1).expect("idle");
        let (_tx, rx) = watch::channel(true);
        let first = tokio::spawn({
            let queue = queue.clone();
            async move { queue.take(rx).await }
        });
        wait_until_queued(&queue, 1).await;
        let (_tx2, rx2) = watch::channel(true);
        let second = tokio::spawn({
            let queue = queue.clone();
            async move { queue.take(rx2).await }
        });
        wait_until_queued(&queue, 2).await;
        first.abort();
        let _ = first.await;
        assert_eq!(queue.lock().waiting.len(), 1, "the dropped one left");
        drop(busy);
        let worker = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the second got the worker")
            .expect("task ran");
        assert_eq!(queue.lock().free, 0);
        drop(worker);
        assert_eq!(queue.lock().free, 1, "nothing leaked");
    }

    #[tokio::test]
    async fn both_workers_are_taken_together_only_when_idle() {
        let queue = AsrQueue::new(2);
        let one = queue.try_take_idle(1).expect("idle");
        assert!(queue.try_take_idle(2).is_none(), "one is busy");
        drop(one);
        let both = queue.try_take_idle(2).expect("both free");
        assert_eq!(queue.lock().free, 0);
        drop(both);
        assert_eq!(queue.lock().free, 2);
    }
}
